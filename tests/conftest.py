"""Shared helpers: where the repository and ../shared/data are, and how to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"


def numbered_seeds(tmp_path: Path, count: int, instruction: str) -> Path:
    """``tmp_path/seeds.jsonl``: seeds ``s0``... whose instruction is ``instruction`` with ``{i}``
    filled in (tests match rules against those words)."""
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{i}", "instruction": instruction.format(i=i)}) + "\n"
                            for i in range(count)), encoding="utf-8")
    return path


def evol(*args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``evol`` command as a subprocess, as a user would."""
    full_env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "evolinstruct", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the tests read public data from ../shared/data")
    return SHARED_DATA
