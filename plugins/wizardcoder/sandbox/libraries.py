"""The libraries shipped in the sandbox image beside each language's standard library: what real
answers import (numpy, Boost, OpenSSL, the crates rand and regex, lodash...). A job never
downloads anything; all of it is in the image, compiled there once where it is compiled at all.

Debian packages come from the same mirror as the toolchains (rootfs.py, the Dockerfile). The
npm packages are fetched with npm from its registry when the image is built, pinned by version,
and unpacked into /opt/evol-libs/node_modules by build-libraries.sh, which also compiles the Rust
crates and Go packages (toolchains.py tells the compilers where they are).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

# Debian packages, by language. The Rust crates' sources and Go's testify are compiled by
# build-libraries.sh, with cargo (against Debian's vendored registry; cargo stays in the image).
DEBIAN_PACKAGES = (
    # Python
    "python3-numpy", "python3-pandas", "python3-sympy", "python3-regex", "python3-sortedcontainers",
    # C and C++
    "libboost-dev", "libssl-dev",
    # Rust (the crate set is the [dependencies] of build-libraries.sh; a +feature package brings
    # the optional crates a default or named feature needs: regex's aho-corasick, serde_derive)
    "cargo", "librust-rand-dev", "librust-regex+default-dev", "librust-serde-dev", "librust-serde+serde-derive-dev",
    "librust-serde-json-dev", "librust-itertools-dev", "librust-md5-dev",
    # Go
    "golang-github-stretchr-testify-dev",
)
# npm packages (name, version): none of them has dependencies of its own.
NPM_PACKAGES = (("lodash", "4.17.21"), ("underscore", "1.13.7"), ("js-md5", "0.8.3"))


def fetch_npm_packages(destination: Path) -> None:
    """Each npm package as `destination/<name>.tgz`, fetched with npm (which checks the
    registry's integrity hash of what it downloads)."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: the sandbox image ships npm packages "
                           f"({', '.join(name for name, _ in NPM_PACKAGES)}). Fix: apt-get install npm")
    destination.mkdir(parents=True, exist_ok=True)
    for name, version in NPM_PACKAGES:
        done = subprocess.run([npm, "pack", "--silent", f"{name}@{version}", "--pack-destination", str(destination)],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {name}@{version} failed: {done.stderr.strip()[-500:]}")
        packed = destination / done.stdout.strip().splitlines()[-1]
        packed.rename(destination / f"{name}.tgz")
