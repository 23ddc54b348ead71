"""Building the sandbox image: from the Dockerfile where the base can be pulled, else offline.

Both paths give the same layout: the toolchains of every sandbox language, the harness (the
``harness`` folder: the supervisor and each language's helpers) in /opt/sandbox, user 10001, work
dir /work, and a label with a hash of what went in, so an image that is already current is not
rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import docker
import requests
import docker.errors

from . import libraries, rootfs
from .apt_sources import debian_mirror, os_codename
from .engine import BUILD_LABEL, HARNESS_LABEL, LABEL

BASE_IMAGE = "python:3.11-slim"
HARNESS_DIR = "/opt/sandbox"
SUPERVISOR_PATH = f"{HARNESS_DIR}/supervisor.py"
# The same runtime settings the Dockerfile declares, for the imported (offline) image.
IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV PYTHONDONTWRITEBYTECODE=1",
    f"USER {rootfs.SANDBOX_UID}:{rootfs.SANDBOX_UID}",
    "WORKDIR /work",
    f'CMD ["python3", "-I", "{SUPERVISOR_PATH}"]',
)
Method = Literal["auto", "pull", "offline"]


@dataclass(frozen=True)
class BuildReport:
    tag: str
    path: str  # "dockerfile", "offline" or "current" (nothing to do)
    seconds: float
    detail: str = ""


def _package_file(name: str) -> bytes:
    return resources.files("wizardcoder.sandbox").joinpath(name).read_bytes()


def harness_files() -> dict[str, bytes]:
    """The files copied to /opt/sandbox: everything in the harness folder but Python caches."""
    folder = resources.files("wizardcoder.sandbox").joinpath("harness")
    return {
        entry.name: entry.read_bytes()
        for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if entry.is_file() and entry.name != "__init__.py" and not entry.name.endswith((".pyc", ".pyo"))
    }


def harness_hash() -> str:
    """What decides whether an image is current: the harness, the Dockerfile, the recipes."""
    digest = hashlib.sha256()
    for name, data in [*harness_files().items(), ("Dockerfile", _package_file("Dockerfile"))]:
        digest.update(name.encode() + b"\0" + data + b"\0")
    recipe = [*IMPORT_CHANGES, rootfs.RECIPE, rootfs.LIBRARIES_RECIPE, *rootfs.PACKAGES, *rootfs.TRIM]
    digest.update("\0".join(recipe).encode())
    return digest.hexdigest()[:16]


def image_state(client: docker.DockerClient, tag: str) -> Literal["missing", "stale", "current"]:
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return "missing"
    return "current" if image.labels.get(HARNESS_LABEL) == harness_hash() else "stale"


def _can_pull(client: docker.DockerClient, log: Callable[[str], None]) -> tuple[bool, str]:
    try:
        client.images.get(BASE_IMAGE)
        return True, f"{BASE_IMAGE} is present locally"
    except docker.errors.ImageNotFound:
        pass
    log(f"pulling {BASE_IMAGE}")
    try:
        repository, _, tag = BASE_IMAGE.partition(":")
        client.images.pull(repository, tag=tag)
        return True, f"pulled {BASE_IMAGE}"
    except docker.errors.DockerException as error:
        reason = getattr(error, "explanation", None) or str(error)
        return False, f"cannot pull {BASE_IMAGE} ({str(reason).splitlines()[0][:160]})"


def _labels(path: str) -> dict[str, str]:
    return {LABEL: "1", HARNESS_LABEL: harness_hash(), BUILD_LABEL: path}


def _build_dockerfile(client: docker.DockerClient, tag: str, log: Callable[[str], None]) -> None:
    context = io.BytesIO()
    files = {"Dockerfile": _package_file("Dockerfile"), "build-libraries.sh": _package_file("build-libraries.sh"),
             **{f"harness/{n}": d for n, d in harness_files().items()}}
    with tempfile.TemporaryDirectory(prefix="evol-npm-") as npm_dir:
        libraries.fetch_npm_packages(Path(npm_dir))
        files.update({f"npm/{tarball.name}": tarball.read_bytes() for tarball in sorted(Path(npm_dir).glob("*.tgz"))})
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    for chunk in client.api.build(
        fileobj=context, custom_context=True, tag=tag, labels=_labels("dockerfile"),
        pull=False, rm=True, forcerm=True, decode=True,
    ):
        if "error" in chunk:
            raise RuntimeError(f"docker build failed: {chunk['error'].strip()}")
        line = chunk.get("stream", "").strip()
        if line.startswith("Step "):
            log(line)


def _skip_special(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    # The engine provides /dev, /proc and /sys at run time; device nodes from debootstrap would
    # only clash with them.
    parts = info.name.split("/")
    if len(parts) > 2 and parts[1] in ("dev", "proc", "sys"):
        return None
    if info.ischr() or info.isblk() or info.isfifo() or info.name == f"./{rootfs.MARKER}":
        return None
    return info


def _write_image_tar(root: Path, out: Path) -> None:
    with tarfile.open(out, "w") as tar:
        tar.add(root, arcname=".", filter=_skip_special)
        for name, data in harness_files().items():
            info = tarfile.TarInfo(f".{HARNESS_DIR}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tar.addfile(info, io.BytesIO(data))


def _build_offline(
    client: docker.DockerClient, tag: str, cache_dir: Path, mirror: str | None, log: Callable[[str], None]
) -> str:
    suite = os_codename()
    spec = rootfs.RootfsSpec(suite=suite, mirror=mirror or debian_mirror(suite), arch=rootfs.host_arch())
    root = rootfs.ensure_rootfs(spec, cache_dir, log)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix="image-") as scratch:
        archive = Path(scratch) / "rootfs.tar"
        log("packing the root filesystem with the harness")
        _write_image_tar(root, archive)
        changes = [*IMPORT_CHANGES, *(f"LABEL {k}={v}" for k, v in _labels("offline").items())]
        repository, _, version = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
        log(f"importing as {tag}")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version, changes=changes)
    return f"debootstrap {spec.suite} from {spec.mirror}"


def build_image(
    client: docker.DockerClient,
    tag: str,
    *,
    method: Method = "auto",
    force: bool = False,
    cache_dir: Path | None = None,
    mirror: str | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> BuildReport:
    started = time.monotonic()
    if not force and image_state(client, tag) == "current":
        return BuildReport(tag, "current", time.monotonic() - started, "already built from this harness")
    previous = _image_id(client, tag)
    reason = ""
    path, detail = "offline", ""
    if method in ("auto", "pull"):
        pullable, reason = _can_pull(client, log)
        if pullable:
            _build_dockerfile(client, tag, log)
            path, detail = "dockerfile", reason
        elif method == "pull":
            raise RuntimeError(f"{reason}. Build offline instead: evol sandbox build --offline")
        else:
            log(f"{reason}; building offline")
    if path == "offline":
        detail = _build_offline(client, tag, cache_dir or rootfs.default_cache_dir(), mirror, log)
        detail = f"{reason}; {detail}" if reason else detail
    _drop_replaced(client, previous, _image_id(client, tag))
    return BuildReport(tag, path, time.monotonic() - started, detail)


def _image_id(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return client.images.get(tag).id
    except docker.errors.ImageNotFound:
        return None


def _drop_replaced(client: docker.DockerClient, old: str | None, new: str | None) -> None:
    # A rebuild moves the tag; the old image would linger untagged, a few hundred MB each time.
    if old and old != new:
        try:
            client.images.remove(old, noprune=False)
        except docker.errors.APIError:
            pass  # still used by a running container: the engine keeps it, harmless
        except requests.exceptions.ReadTimeout:
            pass  # a busy engine is still deleting its layers; the new image is in place
