"""Docker for the wizardcoder tests: real engine, real image, no stand-ins.

Tests marked ``docker`` are skipped when the engine or the sandbox image is missing, unless
EVOL_REQUIRE_DOCKER is set (CI sets it), in which case they fail loudly with the fix.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator

import pytest

from wizardcoder.sandbox import SandboxPool, SandboxUnavailable, default_image


@functools.lru_cache(maxsize=1)
def _docker_problem() -> str | None:
    from wizardcoder.sandbox.engine import connect, require_image

    try:
        require_image(connect(timeout_s=10), default_image())
    except SandboxUnavailable as error:
        return str(error)
    return None


def require_docker() -> None:
    problem = _docker_problem()
    if problem is None:
        return
    if os.environ.get("EVOL_REQUIRE_DOCKER"):
        pytest.fail(f"EVOL_REQUIRE_DOCKER is set, but {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(autouse=True)
def _docker_gate(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("docker") is not None:
        require_docker()


@pytest.fixture(scope="session")
def sandbox_pool() -> Iterator[SandboxPool]:
    """Two warm containers shared by the tests of one pytest(-xdist) worker."""
    require_docker()
    with SandboxPool(2, max_jobs_per_container=1000) as pool:
        yield pool


@pytest.fixture(scope="module")
def solo_pool() -> Iterator[SandboxPool]:
    """One container, so that a job and the one after it meet in the same container."""
    require_docker()
    with SandboxPool(1, max_jobs_per_container=1000) as pool:
        yield pool
