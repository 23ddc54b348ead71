"""A minimal Debian root filesystem with the toolchains of every sandbox language, made by
debootstrap: the offline image base.

Where no registry can be reached, debootstrap still can: it fetches packages from the same Debian
mirror apt uses. The result is cached, keyed by everything that shapes it, so only the first
build pays the minute or two debootstrap takes (benchmarks/README.md has the measured time).

debootstrap installs the listed packages with what they depend on and nothing they merely
recommend, the equivalent of ``apt-get install --no-install-recommends``; the headless JDK, the
compilers without their documentation. Then parts nothing in the sandbox uses are removed (TRIM).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import libraries
from .limits import SANDBOX_UID

SANDBOX_USER = "sandbox"
# Bump when the recipe below changes, so cached root filesystems are rebuilt.
RECIPE = "4"
# One Debian package (with its dependencies) per toolchain; bash and SQLite (through Python's
# sqlite3 module) come with the base system and python3.
PACKAGES = (
    "python3",
    "nodejs",
    "node-typescript",
    "g++",  # and gcc, for C
    "default-jdk-headless",
    "golang-go",
    "rustc",
)
# Space we do not ship (glob patterns): documentation, manuals, translations, apt's downloads,
# and what no sandbox language uses: the Go sources and the Go tools' own packages (programs are
# built with the compiler and linker alone, against the precompiled standard library), the
# JDK's modules for jlink, GCC's link-time optimiser and the sanitizer runtimes.
TRIM = (
    "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
    "var/cache/apt", "var/lib/apt/lists", "var/log",
    "usr/share/go-*", "usr/lib/go-*/pkg/*/cmd",
    "usr/lib/go-*/pkg/tool/*/[!cl]*", "usr/lib/go-*/pkg/tool/*/cover", "usr/lib/go-*/pkg/tool/*/cgo",
    "usr/lib/jvm/*/jmods", "usr/lib/gcc/*/*/lto1",
    "usr/lib/*/libasan.so*", "usr/lib/*/libtsan.so*", "usr/lib/*/liblsan.so*", "usr/lib/*/libubsan.so*",
    "usr/lib/*/libhwasan.so*",
)
# Directories that must exist even when emptied (tools look for them).
KEEP_DIRS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
             "var/cache/apt", "var/lib/apt/lists", "var/log")
MARKER = ".evol-rootfs.json"
# What decides the libraries' build besides the packages: the build script and the npm set.
LIBRARIES_RECIPE = hashlib.sha256(
    (Path(__file__).parent / "build-libraries.sh").read_bytes() + repr(libraries.NPM_PACKAGES).encode()
).hexdigest()[:12]


@dataclass(frozen=True)
class RootfsSpec:
    suite: str
    mirror: str
    arch: str
    packages: tuple[str, ...] = PACKAGES
    # Installed by apt inside the new root: debootstrap's resolver does not follow the virtual
    # packages the librust-*-dev packages depend on (librust-itoa-1+default-dev...).
    libraries: tuple[str, ...] = libraries.DEBIAN_PACKAGES
    trim: tuple[str, ...] = TRIM

    def key(self) -> str:
        data = json.dumps({**asdict(self), "recipe": RECIPE, "libraries_recipe": LIBRARIES_RECIPE}, sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()[:12]


def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def default_cache_dir() -> Path:
    override = os.environ.get("EVOL_SANDBOX_CACHE")
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/var/cache/evolinstruct/sandbox")
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "evolinstruct" / "sandbox"


def _add_user(root: Path) -> None:
    # Written directly rather than by useradd in a chroot: no chroot, no mounted /proc needed.
    entries = {
        "etc/passwd": f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:/work:/usr/sbin/nologin\n",
        "etc/group": f"{SANDBOX_USER}:x:{SANDBOX_UID}:\n",
        "etc/shadow": f"{SANDBOX_USER}:!:19000::::::\n",
    }
    for name, line in entries.items():
        path = root / name
        text = path.read_text() if path.exists() else ""
        if not any(row.startswith(f"{SANDBOX_USER}:") for row in text.splitlines()):
            path.write_text(text + line)


def _trim(root: Path, patterns: tuple[str, ...]) -> None:
    for pattern in patterns:
        for name in glob.glob(str(root / pattern)):
            path = Path(name)
            if not os.path.lexists(path):
                continue  # reached twice, through a symbolic link (/usr/lib/jvm/default-java)
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    for name in KEEP_DIRS:
        (root / name).mkdir(parents=True, exist_ok=True)


def _build_libraries(root: Path, packages: tuple[str, ...], cache_dir: Path, log: Callable[[str], None]) -> None:
    """The library packages installed by apt inside the new root (from the mirror debootstrap
    used), then build-libraries.sh run there (chroot, its own /proc): the Rust crates and Go
    packages compiled by the image's own compilers, the npm packages unpacked. Before the trim,
    which removes the Go sources the Go command builds from."""
    npm_dir = root / "tmp" / "evol-npm"
    libraries.fetch_npm_packages(npm_dir)
    script = root / "tmp" / "build-libraries.sh"
    script.write_bytes((Path(__file__).parent / "build-libraries.sh").read_bytes())
    log_path = cache_dir / "libraries.log"
    log(f"compiling the libraries (Rust crates, Go packages), log: {log_path}")
    proc = root / "proc"
    install = f"apt-get update -q && apt-get install -y -q --no-install-recommends {' '.join(packages)}"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    try:
        with open(log_path, "w") as handle:
            done = subprocess.run(["chroot", str(root), "/bin/sh", "-c", f"{install} && sh /tmp/build-libraries.sh /tmp/evol-npm"],
                                  stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    finally:
        subprocess.run(["umount", "-l", str(proc)], check=False)
    if done.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-15:])
        raise RuntimeError(f"building the libraries failed (exit {done.returncode}); last lines of {log_path}:\n{tail}")
    script.unlink()
    shutil.rmtree(npm_dir)


def ensure_rootfs(spec: RootfsSpec, cache_dir: Path, log: Callable[[str], None]) -> Path:
    """The cached root filesystem for `spec`, made by debootstrap when missing."""
    target = cache_dir / f"rootfs-{spec.suite}-{spec.arch}-{spec.key()}"
    if (target / MARKER).exists():
        log(f"reusing the cached root filesystem {target}")
        return target
    if os.geteuid() != 0:
        raise RuntimeError("debootstrap needs root: run `evol sandbox build` as root (or with sudo)")
    if shutil.which("debootstrap") is None:
        raise RuntimeError("debootstrap is not installed. Fix: run: bash scripts/install-docker.sh")

    cache_dir.mkdir(parents=True, exist_ok=True)
    debs = cache_dir / "debs"
    debs.mkdir(exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    log_path = cache_dir / "debootstrap.log"
    log(f"debootstrap {spec.suite} ({spec.arch}) from {spec.mirror}, log: {log_path}")
    command = [
        "debootstrap", "--variant=minbase", f"--arch={spec.arch}",
        f"--include={','.join(spec.packages)}", f"--cache-dir={debs}",
        spec.suite, str(partial), spec.mirror,
    ]
    with open(log_path, "w") as handle:
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-15:])
        raise RuntimeError(f"debootstrap failed (exit {done.returncode}); last lines of {log_path}:\n{tail}")

    _build_libraries(partial, spec.libraries, cache_dir, log)
    _trim(partial, spec.trim)
    _add_user(partial)
    for directory in ("work", "opt/sandbox"):
        (partial / directory).mkdir(parents=True, exist_ok=True)
    os.chown(partial / "work", SANDBOX_UID, SANDBOX_UID)
    (partial / MARKER).write_text(json.dumps({**asdict(spec), "recipe": RECIPE}, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target
