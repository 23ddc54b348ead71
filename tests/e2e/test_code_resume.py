"""A code build killed with SIGKILL and resumed writes the same bytes as one that ran through:
the real CLI, the loopback LLM and the real sandbox (no timings in the rows)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import evol
from tests.e2e.test_code_build import RULES, SEEDS
from tests.wizardcoder.environment import require_docker, sandbox_env

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ARGS = ("--domain", "code", "--seeds", str(SEEDS), "--limit", "3", "--rounds", "2",
        "--schedule", "add-constraints,erroneous-code", "--sandbox-workers", "2", "--no-progress")


def test_a_code_build_resumed_after_sigkill_is_byte_identical(tmp_path: Path, loopback_llm_factory: Any) -> None:
    require_docker()
    server = loopback_llm_factory(RULES)
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback", **sandbox_env()}
    whole = evol("build", *ARGS, "--out", str(tmp_path / "whole"), env=env)
    assert whole.returncode == 0, whole.stderr
    sent_by_whole = server.request_count

    # The second build is killed once it has sent a few requests and run some code.
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    full_env.update(env)
    killed = subprocess.Popen([sys.executable, "-m", "evolinstruct", "build", *ARGS, "--out", str(tmp_path / "killed")],
                              env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while server.request_count < sent_by_whole + 4 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert killed.poll() is None, "the build ended before it could be killed"
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    resumed = evol("build", *ARGS, "--out", str(tmp_path / "killed"), env=env)
    assert resumed.returncode == 0, resumed.stderr

    for name in ("dataset.jsonl", "eliminated.jsonl"):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert b'"duration_s"' not in (tmp_path / "whole" / "dataset.jsonl").read_bytes()
