"""A real Ray cluster for the cluster-build tests: one per pytest(-xdist) worker, started on
first use and shared by that worker's tests (starting one costs seconds), listening on loopback.

Without Ray installed these tests are skipped, unless EVOL_REQUIRE_RAY is set (CI sets it), in
which case they fail with the fix.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

# Read when ray is imported: every process of the test clusters binds to loopback only.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        problem = 'Ray is not installed: pip install -e ".[ray]" (scripts/setup.sh does)'
        if os.environ.get("EVOL_REQUIRE_RAY"):
            pytest.fail(f"EVOL_REQUIRE_RAY is set, but {problem}", pytrace=False)
        pytest.skip(problem)
    return ray


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """The address of a local cluster of three CPUs (three shards per build)."""
    ray = require_ray()
    # Ray's sockets live in its temporary folder, whose path must stay short.
    temporary = tempfile.mkdtemp(prefix="evray-", dir="/tmp")
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR,
             object_store_memory=100 * 1024 * 1024, _temp_dir=temporary)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(temporary, ignore_errors=True)
