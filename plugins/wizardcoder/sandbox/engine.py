"""Reaching the Docker engine and the sandbox image, with errors that say how to fix them."""

from __future__ import annotations

import os
import socket
from importlib import metadata

import docker
import docker.errors

from evolinstruct import EvolError

LABEL = "evolinstruct.sandbox"
OWNER_LABEL = "evolinstruct.sandbox.owner"
POOL_LABEL = "evolinstruct.sandbox.pool"
HARNESS_LABEL = "evolinstruct.sandbox.harness"
BUILD_LABEL = "evolinstruct.sandbox.build"

FIX_ENGINE = "run: bash scripts/install-docker.sh (as root), or start the Docker engine"


class SandboxUnavailable(EvolError):
    """The engine or the image is missing; the message says what to run."""


def versioned_image() -> str:
    """Our image for this version of the project."""
    try:
        version = metadata.version("evolinstruct")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"evolinstruct-sandbox:{version}"


def default_image() -> str:
    """The image pools use unless told otherwise: $EVOL_SANDBOX_IMAGE, else ours for this version."""
    return os.environ.get("EVOL_SANDBOX_IMAGE") or versioned_image()


def build_fix(image: str) -> str:
    """The command that builds `image`, whatever the environment of whoever runs it."""
    return "run: evol sandbox build" + ("" if image == versioned_image() else f" --tag {image}")


def connect(timeout_s: float = 60.0) -> docker.DockerClient:
    """A client whose engine answered a ping; SandboxUnavailable otherwise."""
    try:
        client = docker.from_env(timeout=int(timeout_s), max_pool_size=64)
        client.ping()
    except docker.errors.DockerException as error:
        raise SandboxUnavailable(f"the Docker engine is not reachable ({error}). Fix: {FIX_ENGINE}") from error
    return client


def require_image(client: docker.DockerClient, image: str) -> docker.models.images.Image:
    """The image, present locally. Never pulls: a pull would hide a missing build for minutes."""
    try:
        return client.images.get(image)
    except docker.errors.ImageNotFound as error:
        raise SandboxUnavailable(f"the sandbox image {image} is not built. Fix: {build_fix(image)}") from error
    except docker.errors.DockerException as error:
        raise SandboxUnavailable(f"cannot inspect the sandbox image {image} ({error}). Fix: {FIX_ENGINE}") from error


def owner_tag() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's, or unknown: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(client: docker.DockerClient) -> int:
    """Remove sandbox containers whose owning process is gone (a run killed with SIGKILL).

    Containers normally go by themselves: they run with auto-remove and leave when their stdin,
    held by the owner, closes. This catches what that misses.
    """
    removed = 0
    # A sparse listing: a full one inspects every container and fails with NotFound when one of
    # them removes itself in between, which auto-removed containers do all the time.
    for container in client.containers.list(all=True, filters={"label": LABEL}, sparse=True):
        owner = (container.attrs.get("Labels") or {}).get(OWNER_LABEL, "")
        if container.attrs.get("State") in ("running", "created") and _owner_alive(owner):
            continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            if "already in progress" not in str(error):
                raise
    return removed
