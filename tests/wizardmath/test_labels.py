"""Step labels from their evidence, the one process reward, and the two PRM exports' rows."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from wizardmath.exports import MARKER, labelled_steps, prm_row, shepherd_pair, stepwise_row, write_stepwise
from wizardmath.labels import StepEvidence, StepLabel, process_reward, step_label, step_labels

TRUE, FALSE, NOTHING = "claims true", "a claim is false", "nothing to check"
PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "wizardmath"


def label(finding: str, *, last: bool = False, outcome: bool | None = None, **evidence: Any) -> StepLabel:
    return step_label(StepEvidence(finding, **evidence), last=last, outcome=outcome)


def test_sympy_claims_true_alone_is_no_label() -> None:
    assert label(TRUE) == StepLabel(None, None)
    assert label(TRUE, last=True) == StepLabel(None, None)


def test_a_false_claim_stays_bad_whatever_the_rollouts_and_the_answer_say() -> None:
    assert label(FALSE, outcome=True, rollouts=8, reached=8, judge="correct") == StepLabel(False, "sympy")


def test_the_outcome_and_rollouts() -> None:
    assert label(NOTHING, outcome=True) == StepLabel(True, "outcome")
    assert label(NOTHING, outcome=False) == StepLabel(None, None)  # an early step may be fine
    assert label(NOTHING, outcome=False, last=True) == StepLabel(False, "outcome")
    assert label(TRUE, outcome=False, rollouts=4, reached=1) == StepLabel(True, "rollout")
    assert label(TRUE, outcome=False, rollouts=4, reached=0) == StepLabel(False, "rollout")
    assert label(TRUE, outcome=False, rollouts=4, reached=0, judge="correct") == StepLabel(False, "rollout")


def test_the_judge_fills_in_last() -> None:
    assert label(NOTHING, judge="correct") == StepLabel(True, "judge")
    assert label(TRUE, judge="incorrect") == StepLabel(False, "judge")
    assert label(NOTHING, judge=None) == StepLabel(None, None)
    assert label(NOTHING, outcome=True, judge="incorrect") == StepLabel(True, "outcome")


def test_process_reward_is_the_minimum_step_score() -> None:
    good, bad, unknown = StepLabel(True, "outcome"), StepLabel(False, "sympy"), StepLabel(None, None)
    assert process_reward([good, good]) == 1.0
    assert process_reward([good, unknown]) == 0.5
    assert process_reward([good, unknown], unverifiable=0.8) == 0.8
    assert process_reward([good, bad, unknown]) == 0.0
    assert process_reward([]) == 0.5
    evidence = [StepEvidence(TRUE), StepEvidence(NOTHING)]
    assert [lab.label for lab in step_labels(evidence, outcome=False)] == [None, False]


# --- the exports' rows --------------------------------------------------------------------------


def steps(*labels: bool | None, texts: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{"index": i, "text": texts[i] if texts else f"step {i}", "verdict": NOTHING, "label": lab}
            for i, lab in enumerate(labels)]


def row(*labels: bool | None, policy: str = "skip", **extra: Any) -> dict[str, Any]:
    return {"id": "a", "domain": "math", "instruction": "What is 2 + 3?",
            "checks": {"process": {"steps": steps(*labels), "unlabelled_steps": policy}}, **extra}


def test_a_row_ends_at_its_first_bad_step() -> None:
    assert labelled_steps(row(True, False, True)) == [("step 0", True), ("step 1", False)]


@pytest.mark.parametrize("policy", ["skip", "judge"])
def test_an_unlabelled_step_skips_the_row(policy: str) -> None:
    assert labelled_steps(row(True, None, True, policy=policy)) is None
    assert stepwise_row(row(None, policy=policy)) is None and prm_row(row(None, policy=policy)) is None


def test_drop_keeps_the_text_without_a_label() -> None:
    assert labelled_steps(row(None, True, None, False, None, policy="drop")) == [
        ("step 0\nstep 1", True), ("step 2\nstep 3", False)]
    assert labelled_steps(row(True, None, policy="drop")) == [("step 0", True)]  # trailing text cut
    assert labelled_steps(row(None, None, policy="drop")) is None


def test_rows_that_give_no_data() -> None:
    assert labelled_steps({**row(True), "domain": "general"}) is None
    assert labelled_steps({**row(True), "instruction": f"What {MARKER}?"}) is None
    marked = row(True)
    marked["checks"]["process"]["steps"][0]["text"] = f"a {MARKER} b"
    assert labelled_steps(marked) is None
    old_build = row(True)  # a row built before labels existed: no "label" at all
    del old_build["checks"]["process"]["steps"][0]["label"]
    assert labelled_steps(old_build) is None


def test_stepwise_row_layout(tmp_path: Path) -> None:
    assert stepwise_row(row(True, False)) == {
        "id": "a", "prompt": "What is 2 + 3?", "completions": ["step 0", "step 1"], "labels": [True, False]}
    target = tmp_path / "stepwise.jsonl"
    write_stepwise([row(True), row(None), row(False)], target)
    assert [json.loads(line)["labels"] for line in target.read_text().splitlines()] == [[True], [False]]


def test_shepherd_pair_marks_each_step() -> None:
    given, labelled = shepherd_pair("What is 2 + 3?", ["2 + 3 = 5", "Step 2: The answer is 5"], ["+", "-"])
    assert given == f"What is 2 + 3? Step 1: 2 + 3 = 5 {MARKER}\nStep 2: The answer is 5 {MARKER}"
    assert labelled == "What is 2 + 3? Step 1: 2 + 3 = 5 +\nStep 2: The answer is 5 -"
    record = prm_row(row(True, False))
    assert record == {"id": "a", "task": "math", "input": f"What is 2 + 3? Step 1: step 0 {MARKER}\nStep 2: step 1 {MARKER}",
                      "label": "What is 2 + 3? Step 1: step 0 +\nStep 2: step 1 -"}


def test_no_import_cycle_in_the_plugin() -> None:
    """Every import between wizardmath's modules, also inside functions, goes one way."""
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("wizardmath."):
                found.add(node.module.split(".")[1])
        graph[path.stem] = found & modules
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dependency in sorted(graph[module]):
            visit(dependency, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
