"""What the multi-language sandbox image costs: its build time from nothing (as on a fresh CI
machine), what it downloads, what it weighs, and which toolchain takes how much of it.

    sudo python benchmarks/sandbox_image.py [--keep-cache]
    python benchmarks/sandbox_image.py --existing evolinstruct-sandbox:TAG   # sizes of a build already made

Builds the image offline (debootstrap from this machine's Debian mirror, the path a machine
without a registry takes) into an empty temporary cache, under a throwaway tag that is removed
afterwards, so nothing another build relies on is touched. Needs root and the Docker engine.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

from wizardcoder.sandbox.image import build_image
from wizardcoder.sandbox.libraries import DEBIAN_PACKAGES, NPM_PACKAGES
from wizardcoder.sandbox.apt_sources import debian_mirror, os_codename
from wizardcoder.sandbox.rootfs import PACKAGES, RootfsSpec, default_cache_dir, host_arch

# Where each toolchain lives in the root filesystem (Debian bookworm, amd64 or arm64).
PARTS = {
    "Rust (rustc, its standard library, LLVM)": ["usr/lib/rustlib", "usr/lib/*/libLLVM-*.so*", "usr/lib/*/librustc_driver-*.so",
                                                 "usr/lib/*/libstd-*.so", "usr/bin/rustc", "usr/bin/rustdoc"],
    "Java (OpenJDK 17, headless)": ["usr/lib/jvm"],
    "Go (compiler, linker, standard library)": ["usr/lib/go-*"],
    "C and C++ (GCC 12, binutils, headers)": ["usr/lib/gcc", "usr/libexec/gcc", "usr/include", "usr/bin/x86_64-linux-gnu-*",
                                              "usr/bin/aarch64-linux-gnu-*", "usr/lib/*/libbfd*", "usr/lib/*/libstdc++*"],
    "JavaScript and TypeScript (Node.js 18, tsc)": ["usr/share/nodejs", "usr/lib/*/libnode.so*", "usr/lib/*/libicu*",
                                                    "usr/bin/node"],
    "Python 3.11 (and SQLite)": ["usr/lib/python3.11", "usr/lib/*/libpython3*", "usr/lib/*/libsqlite3*"],
    # The libraries real answers import (libraries.py): Python's, Boost and OpenSSL, the Rust
    # crates' sources and their compiled form, testify, the npm packages, and cargo (used to build them).
    "Libraries: numpy, pandas, sympy, regex, sortedcontainers": ["usr/lib/python3/dist-packages", "usr/lib/*/libopenblas*",
                                                                 "usr/lib/*/libgfortran*", "usr/lib/*/liblapack*",
                                                                 "usr/lib/*/libblas*"],
    "Libraries: Boost headers, OpenSSL": ["usr/include/boost", "usr/include/openssl", "usr/lib/*/libcrypto*",
                                          "usr/lib/*/libssl*", "usr/lib/*/libboost*"],
    "Libraries: Rust crates (sources, compiled), cargo": ["usr/share/cargo", "opt/evol-libs/rust", "usr/bin/cargo",
                                                         "usr/lib/*/libgit2*", "usr/lib/*/libcurl*"],
    "Libraries: testify, npm packages": ["usr/share/gocode", "opt/evol-libs/go", "opt/evol-libs/node_modules"],
}


def du(paths: list[Path]) -> int:
    if not paths:
        return 0
    done = subprocess.run(["du", "-scb", *map(str, paths)], capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1].split()[0])


def print_sizes(client: docker.DockerClient, tag: str, root: Path) -> None:
    """The image's size and what each toolchain and library set takes of its root filesystem."""
    image = client.images.get(tag)
    total = du([root])
    print(f"image: {image.attrs['Size'] / 1e9:.2f} GB; root filesystem {total / 1e9:.2f} GB")
    print("| part | MB |")
    print("|---|---|")
    everything: set[Path] = set()
    for name, patterns in PARTS.items():
        paths = {path for pattern in patterns for path in root.glob(pattern)}
        everything |= paths
        print(f"| {name} | {du(sorted(paths)) / 1e6:.0f} |")
    # Parts overlap (C and C++'s /usr/include holds Boost's and OpenSSL's headers): du counts each
    # file once over all of them.
    print(f"| the rest (Debian's base system, shared libraries) | {(total - du(sorted(everything))) / 1e6:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-cache", action="store_true", help="leave the temporary cache (debs, root filesystem) in place")
    parser.add_argument("--existing", metavar="TAG", help="measure an image already built offline (and its cached root "
                        "filesystem) instead of building one: sizes only, no build time")
    args = parser.parse_args()
    client = docker.from_env()
    print(f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"Docker {client.version().get('Version')}; packages: {', '.join(PACKAGES)}; libraries: "
          f"{', '.join(DEBIAN_PACKAGES)}; npm: {', '.join(f'{name}@{version}' for name, version in NPM_PACKAGES)}")
    if args.existing:
        suite = os_codename()
        spec = RootfsSpec(suite=suite, mirror=debian_mirror(suite), arch=host_arch())
        root = default_cache_dir() / f"rootfs-{spec.suite}-{spec.arch}-{spec.key()}"
        print_sizes(client, args.existing, root)
        return
    if os.geteuid() != 0:
        sys.exit("needs root: the offline build runs debootstrap")

    tag = f"evolinstruct-sandbox:benchmark-{secrets.token_hex(3)}"
    cache = Path(tempfile.mkdtemp(prefix="evol-sandbox-image-"))
    try:
        started = time.perf_counter()
        report = build_image(client, tag, method="offline", force=True, cache_dir=cache, log=lambda line: print(f"  {line}"))
        seconds = time.perf_counter() - started
        root = next(cache.glob("rootfs-*"))
        downloaded = du([cache / "debs"])
        print(f"build from an empty cache ({report.path} path): {seconds:.0f} s; downloaded {downloaded / 1e6:.0f} MB of packages "
              "(debootstrap's; the library packages apt installs after it are not counted)")
        print_sizes(client, tag, root)
    finally:
        try:
            client.images.remove(tag)
        except docker.errors.DockerException:
            pass
        if not args.keep_cache:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
