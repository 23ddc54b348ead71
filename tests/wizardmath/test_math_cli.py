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
        {"id": "e", "steps": ["24 + 48 = 73"]},
    ))
    rows = outputs(result)
    assert [r["id"] for r in rows] == ["a", "b", None, "d", "e"]
    a, b, c, d, e = rows
    assert [s["verdict"] for s in a["steps"]] == ["claims true", "a claim is false", "nothing to check"]
    assert [s["index"] for s in a["steps"]] == [0, 1, 2]
    assert a["steps"][1]["claims"] == [{"text": "24 + 48 = 73", "verdict": "false"}]
    assert [(s["label"], s["label_source"]) for s in a["steps"]] == [(None, None), (False, "sympy"), (None, None)]
    assert a["process_reward"] == 0.0 and a["outcome"] is None
    # True arithmetic alone is no label: without a reference answer the steps stay unlabelled.
    assert [s["verdict"] for s in b["steps"]] == ["claims true", "claims true"]
    assert [s["label"] for s in b["steps"]] == [None, None]
    assert b["process_reward"] == 0.5
    assert c["process_reward"] is None and "error" in c
    assert d["steps"] == [] and "error" in d
    assert e["steps"][0]["verdict"] == "a claim is false"  # a bare equation alone on a line


def test_steps_with_a_reference_answer_label_by_the_outcome() -> None:
    solution = "Natalia sold 48/2 = 24 clips in May.\nShe sold 48 + 24 = 72 clips.\nThe answer is \\boxed{72}"
    rows = outputs(evol_math("steps", stdin=jsonl(
        {"id": "right", "solution": solution, "answer": "72"},
        {"id": "wrong", "solution": solution, "answer": 71},
        {"id": "none", "steps": ["So 1 + 1 = 2."], "answer": "2"},  # no final answer that reads as 2
        {"id": "bad", "steps": ["So 1 + 1 = 2."], "answer": ["2"]},
    )))
    right, wrong, none, bad = rows
    assert right["outcome"] is True and right["process_reward"] == 1.0
    assert {(s["label"], s["label_source"]) for s in right["steps"]} == {(True, "outcome")}
    assert wrong["outcome"] is False and wrong["process_reward"] == 0.0
    assert [s["label"] for s in wrong["steps"]] == [None, None, False]
    assert none["outcome"] is False and none["steps"][0]["label"] is False
    assert "error" in bad and "answer" in bad["error"]


def test_steps_with_units_and_currency() -> None:
    rows = outputs(evol_math("steps", stdin=jsonl(
        {"id": 1, "steps": ["80 GB / 2 GB/minute = 40 minutes", "$30/hour * 15 hours/week = $450/week",
                            "3 hours - 1 hour - 1 hour = 1 hour", "a profit of 1.2% which is $8000*(1.2/100) = $96"]},
        {"id": 2, "steps": ["80 GB / 2 GB/minute = 45 minutes", "$30/hour * 15 hours/week = $460/week"]},
    )))
    assert [s["verdict"] for s in rows[0]["steps"]] == ["claims true"] * 4
    assert rows[0]["steps"][0]["claims"] == [{"text": "80 / 2 = 40", "verdict": "true"}]
    assert [s["verdict"] for s in rows[1]["steps"]] == ["a claim is false"] * 2


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
    assert '"answer"' in steps and "claims true" in steps


def test_equal_finds_a_word_answer_stated_in_prose() -> None:
    rows = outputs(evol_math("equal", stdin=jsonl(
        {"id": "yes", "gold": r"\text{yes}", "pred": "The answer is yes."},
        {"id": "day", "gold": "Tuesday", "pred": "So the answer is Tuesday."},
        {"id": "wrong", "gold": r"\text{Evelyn}", "pred": "So the answer is Amy."},
    )))
    assert [(r["id"], r["equal"]) for r in rows] == [("yes", True), ("day", True), ("wrong", False)]
    assert "no answer found" not in rows[2]["reason"]
