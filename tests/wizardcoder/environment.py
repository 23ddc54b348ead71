"""What the sandbox tests need from their environment: a current image, and its name passed on
to the `evol` subprocesses they start."""

from __future__ import annotations

import functools
import os

import pytest

from wizardcoder.sandbox import SandboxUnavailable, default_image


def sandbox_env() -> dict[str, str]:
    """The sandbox image this test run uses, for subprocesses started through `evol()` (which
    drops EVOL_* variables): without it they would look for the default image."""
    return {key: os.environ[key] for key in ("EVOL_SANDBOX_IMAGE",) if os.environ.get(key)}


@functools.lru_cache(maxsize=1)
def _docker_problem() -> str | None:
    from wizardcoder.sandbox.engine import build_fix, connect, require_image
    from wizardcoder.sandbox.image import image_state

    image = default_image()
    try:
        client = connect(timeout_s=10)
        require_image(client, image)
    except SandboxUnavailable as error:
        return str(error)
    if image_state(client, image) != "current":
        return f"the sandbox image {image} was built from another version of the harness. Fix: {build_fix(image)}"
    return None


def require_docker() -> None:
    problem = _docker_problem()
    if problem is None:
        return
    if os.environ.get("EVOL_REQUIRE_DOCKER"):
        pytest.fail(f"EVOL_REQUIRE_DOCKER is set, but {problem}", pytrace=False)
    pytest.skip(problem)
