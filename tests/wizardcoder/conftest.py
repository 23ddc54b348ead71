"""Docker for the wizardcoder tests: real engine, real image, no stand-ins.

Tests marked ``docker`` are skipped when the engine or the sandbox image is missing, or when the
image was built from another version of the harness (its toolchains and supervisor would not be
the ones under test), unless EVOL_REQUIRE_DOCKER is set (CI sets it), in which case they fail
loudly with the fix.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.wizardcoder.environment import require_docker
from wizardcoder.sandbox import SandboxPool


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
