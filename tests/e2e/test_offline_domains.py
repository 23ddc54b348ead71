"""The README's offline command for each built-in domain, run as written through the real CLI:
with no endpoint the bundled offline model drives every stage, and every round keeps rows.

The code build runs the offline model's functions and tests in the real Docker sandbox; the math
build checks its problems' answers and steps with sympy."""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import REPO, evol
from tests.wizardcoder.environment import require_docker, sandbox_env

ROUNDS = 4  # the default, which the README's commands keep


def readme_command(domain: str | None) -> list[str]:
    """The README's ``evol build`` line for ``domain`` (None: the first command, no --domain)."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        found = re.search(r"(?:^|&& )(evol build .*)$", line.strip())
        if found is None:
            continue
        words = shlex.split(found.group(1))
        named = words[words.index("--domain") + 1] if "--domain" in words else None
        if named == domain and "--base-url" not in words and "--ray" not in words:
            return words[2:]  # after "evol build"
    raise AssertionError(f"the README shows no offline command for domain {domain}")


def build(tmp_path: Path, domain: str | None, env: dict[str, str] | None = None) -> list[dict]:
    args = readme_command(domain)
    out = tmp_path / "out"
    args[args.index("--out") + 1] = str(out)
    done = evol("build", *args, "--no-progress", env=env, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "offline model" in done.stderr
    rows = [json.loads(line) for line in (out / "dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    per_round = Counter(row["round"] for row in rows)
    assert sorted(per_round) == list(range(ROUNDS + 1)), per_round
    return rows


def test_general_keeps_rows_in_every_round(tmp_path: Path) -> None:
    rows = build(tmp_path, None)
    assert all(row["provenance"]["endpoint"] == "offline" for row in rows)


@pytest.mark.docker
def test_code_keeps_rows_in_every_round_whose_code_passes_its_tests(tmp_path: Path) -> None:
    require_docker()
    rows = build(tmp_path, "code", env=sandbox_env())
    evolved = [row for row in rows if row["round"] > 0]
    for row in evolved:
        execution = row["checks"]["execution"]
        assert execution["tested"] and execution["verdict"] == "PASS", row["id"]
        assert execution["tests_passed"] == execution["tests_total"] >= 4
        assert re.search(r"def offline_\w+\(", row["response"]) and "cannot solve this task" in row["response"]
    misdirected = [row for row in evolved if row["operation"] == "erroneous-code"]
    assert misdirected, "no erroneous-code rewrite was kept"
    for row in misdirected:  # the wrong reference code really ran, and failed the tests
        assert row["checks"]["misdirection"]["verdict"] == "FAIL", row["id"]


def test_math_keeps_rows_in_every_round_whose_answers_and_steps_check(tmp_path: Path) -> None:
    rows = build(tmp_path, "math")
    for row in (row for row in rows if row["round"] > 0):
        boxed = re.search(r"\\boxed\{(\d+)\}", row["response"])
        assert boxed is not None and row["checks"]["answer"]["predicted"] == boxed.group(1), row["id"]
        steps = row["checks"]["process"]["steps"]
        assert [step["verdict"] for step in steps[:-1]] == ["claims true"] * (len(steps) - 1), row["id"]
        assert row["instruction"].endswith("have now?")
