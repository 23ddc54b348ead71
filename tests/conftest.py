"""Shared helpers: where the repository and the tests' data are, and how to run the real CLI."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The public benchmark files and the project's own samples the tests read, shipped in the
# repository (tests/data/README.md): a fresh clone has nothing beside the checkout.
TEST_DATA = REPO / "tests" / "data"
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


def read_jsonl(name: str) -> list[dict]:
    """The records of ``tests/data/<name>``, gzip-compressed when the name ends in .gz."""
    path = TEST_DATA / name
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
