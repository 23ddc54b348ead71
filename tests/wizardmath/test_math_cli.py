"""`evol math equal` and `evol math steps`, run as a user runs them: as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def evol_math(*args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
    return subprocess.run(
        [sys.executable, "-m", "evolinstruct", "math", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env=env,
    )


def jsonl(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def outputs(result: subprocess.CompletedProcess[str]) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_equal_in_input_order_with_malformed_lines() -> None:
    result = evol_math("equal", "--timeout", "2", "--workers", "2", stdin=jsonl(
        {"id": 1, "gold": r"\frac{1}{2}", "pred": "The answer is $0.5$."},
        "this is not json",
        {"id": 3, "gold": "5"},
        {"id": 4, "gold": "1", "pred": r"10^{10^{10^{10}}}"},
        {"id": "five", "gold": "72", "pred": "She sold 48+24 = 72 clips.\n#### 72"},
        {"id": 6, "gold": r"\frac{1}{2004!}", "pred": r"\frac{1}{2006!}"},
        [1, 2],
        {"id": 8, "gold": r"\frac{", "pred": "}{"},
    ))
    rows = outputs(result)
    assert [r["id"] for r in rows] == [1, None, 3, 4, "five", 6, None, 8]
    assert [r["equal"] for r in rows] == [True, False, False, False, True, False, False, False]
    assert all(isinstance(r["reason"], str) and r["reason"] for r in rows)
    assert "not JSON" in rows[1]["reason"]
    assert "timed out" in rows[3]["reason"]
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_equal_reads_a_file_and_applies_policy_options(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(jsonl({"id": "p", "gold": r"28\%", "pred": "0.28"}))
    assert outputs(evol_math("equal", str(path)))[0]["equal"] is True
    assert outputs(evol_math("equal", "--percent", "number", str(path)))[0]["equal"] is False


def test_steps_from_steps_and_from_solutions() -> None:
    result = evol_math("steps", stdin=jsonl(
        {"id": "a", "problem": "p", "steps": ["So 48/2 = 24.", "Then 24 + 48 = 73.", "Done."]},
        {"id": "b", "solution": "Natalia sold 48/2 = <<48/2=24>>24 clips.\n"
                                "She sold 48+24 = <<48+24=72>>72 clips.\n#### 72"},
        "{broken",
        {"id": "d", "steps": "not a list"},
    ))
    rows = outputs(result)
    assert [r["id"] for r in rows] == ["a", "b", None, "d"]
    a, b, c, d = rows
    assert [s["verdict"] for s in a["steps"]] == ["correct", "incorrect", "unverifiable"]
    assert [s["index"] for s in a["steps"]] == [0, 1, 2]
    assert a["steps"][1]["claims"] == [{"text": "24 + 48 = 73", "verdict": "incorrect"}]
    assert a["process_reward"] == 0.0
    assert [s["verdict"] for s in b["steps"]] == ["correct", "correct"]
    assert b["process_reward"] == 1.0
    assert c["process_reward"] is None and "error" in c
    assert d["steps"] == [] and "error" in d


def test_steps_unverifiable_score_option() -> None:
    rows = outputs(evol_math("steps", "--unverifiable", "0.25", stdin=jsonl(
        {"id": 1, "steps": ["So 1 + 1 = 2.", "Nothing to check."]})))
    assert rows[0]["process_reward"] == 0.25


def test_help_describes_the_formats() -> None:
    group = evol_math("--help")
    assert "equal" in group.stdout and "steps" in group.stdout
    equal = evol_math("equal", "--help").stdout
    assert '"gold"' in equal and "--timeout" in equal and "--workers" in equal and "--percent" in equal
    steps = evol_math("steps", "--help").stdout
    assert '"solution"' in steps and "process_reward" in steps and "--unverifiable" in steps
