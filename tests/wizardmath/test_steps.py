"""The process check: splitting, claims, the rounding policy, and the measurements on
../shared/data (GSM8K calculator annotations, PRM800K phase-1 human step ratings)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from wizardmath.steps import (
    StepVerdict, check_many, check_step, check_steps, check_steps_async, process_reward,
    split_steps,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
PRECISION_TARGET = 0.9


def _jsonl(name: str) -> list[dict]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verdict(step: str) -> str:
    return check_step(step).verdict


@pytest.mark.parametrize(
    "step, expected",
    [
        ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.", "correct"),
        ("Natalia sold 48/2 = <<48/2=25>>25 clips in May.", "incorrect"),
        ("So 48/2 = 24 clips.", "correct"),
        ("So 48/2 = 25 clips.", "incorrect"),
        ("Then 2 + 3 = 5 = 6.", "incorrect"),
        ("Then 2 + 3 = 5 = 10/2.", "correct"),
        ("The house cost $80,000 * 1.5 = $120,000.", "correct"),
        ("She pays 5 x 3 = 15 dollars.", "correct"),
        ("So 20% * 50 = 10 students.", "correct"),
        ("The oven is off: 18 / 450 x 100 = 4%.", "correct"),
        ("Together 3 and 4 = 7.", "unverifiable"),
        (r"So $\frac{3}{4} \times 8 = 6$.", "correct"),
        (r"So $\frac{3}{4} \cdot 8 = 7$.", "incorrect"),
        (r"We get $2^{10} = 1024$ and $5! = 120$.", "correct"),
        (r"Hence $\sqrt{16} + \binom{5}{2} = 14$.", "correct"),
        (r"$\sin 30^\circ = \frac{1}{2}$", "correct"),
        ("3x + 2 = 11, so x = 3.", "correct"),
        ("3x + 2 = 11, so x = 4.", "incorrect"),
        (r"We have $3x + 2 = 11$, so $x = 4$.", "incorrect"),
        (r"So either $x = 0$ or $x^2 - 1 = 0$.", "unverifiable"),
        ("Suppose 2 + 2 = 5.", "unverifiable"),
        ("If we plug in, 2 + 2 = 5.", "unverifiable"),
        ("Is 2 + 2 = 5?", "unverifiable"),
        ("Let's assume 2 + 2 = 5.", "unverifiable"),
        ("20% of 50 = 10, so ten of them.", "correct"),
        ("20% of 50 = 11, so eleven of them.", "incorrect"),
        ("Half of 10 + 2 = 7.", "unverifiable"),  # (10 / 2) + 2: the words carry an operand
        ("We factor the polynomial.", "unverifiable"),
        (r"Therefore $f^{-1}(0)=3$.", "unverifiable"),
        (r"So $17 \cdot 44 \equiv 1 \pmod{83}$.", "unverifiable"),
        (r"$x = 5$", "unverifiable"),
    ],
)
def test_step_verdicts(step: str, expected: str) -> None:
    assert verdict(step) == expected, check_step(step)


@pytest.mark.parametrize(
    "claim, expected",
    [
        ("22/7 = 3.14", "correct"),  # correctly rounded to the digits shown
        ("22/7 = 3.15", "incorrect"),
        ("2/3 = 0.66", "correct"),  # truncated to the digits shown
        ("2/3 = 0.67", "correct"),
        ("2/3 = 0.65", "incorrect"),
        ("0.5 + 0.25 = 0.76", "incorrect"),  # the exact value shows in full: no rounding
        ("0.5 + 0.25 = 0.75", "correct"),
        ("0.5 + 0.25 = 0.6", "incorrect"),
        ("10/3 = 3", "correct"),  # a stated integer must be the correct rounding
        ("10/3 = 4", "incorrect"),
        ("100/3 = 33.33", "correct"),
        ("100/3 = 33.83", "incorrect"),
    ],
)
def test_rounding_policy(claim: str, expected: str) -> None:
    assert verdict(f"So {claim}.") == expected


@pytest.mark.parametrize(
    "claim, expected",
    [(r"$\sqrt{2} \approx 1.41$", "correct"), (r"$\sqrt{2} \approx 1.5$", "incorrect"),
     (r"$\pi \approx 3.1416$", "correct"), (r"$\sqrt{50} \approx 7$", "correct")],
)
def test_approximations(claim: str, expected: str) -> None:
    assert verdict(f"Thus {claim}.") == expected


def test_a_step_with_nothing_checkable_is_never_correct() -> None:
    for step in ["Let the width be w.", "Now we can factor by grouping.", "", "   "]:
        assert verdict(step) == "unverifiable"


def test_claims_are_reported() -> None:
    result = check_step("Then 2 + 3 = 5 and 4 * 2 = 9.")
    assert result.as_dict()["claims"] == [
        {"text": "2 + 3 = 5", "verdict": "correct"},
        {"text": "4 * 2 = 9", "verdict": "incorrect"},
    ]


def test_split_steps() -> None:
    gsm8k = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nShe sold 48+24 = <<48+24=72>>72.\n#### 72"
    assert split_steps(gsm8k) == [
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.", "She sold 48+24 = <<48+24=72>>72."]
    marked = "Step 1: add 2 and 3.\nStill step one.\nStep 2: so 2 + 3 = 5."
    assert split_steps(marked) == ["Step 1: add 2 and 3.\nStill step one.", "Step 2: so 2 + 3 = 5."]
    prose = "We have $x = 3.5$ here. Then 2 + 2 = 4. Done."
    assert split_steps(prose) == ["We have $x = 3.5$ here.", "Then 2 + 2 = 4.", "Done."]
    display = "First line\n\\[\n1 + 1 = 2\n\\]\nLast line"
    assert split_steps(display) == ["First line", "\\[\n1 + 1 = 2\n\\]", "Last line"]
    assert split_steps("") == []


def test_process_reward() -> None:
    assert process_reward(["correct", "correct"]) == 1.0
    assert process_reward(["correct", "unverifiable"]) == 0.5
    assert process_reward(["correct", "unverifiable"], unverifiable=0.8) == 0.8
    assert process_reward(["correct", "incorrect", "unverifiable"]) == 0.0
    assert process_reward([]) == 0.5
    assert process_reward(check_steps(["So 1 + 1 = 2.", "So 2 + 2 = 4."])) == 1.0


def test_bounded_and_async_variants_agree() -> None:
    steps = ["So 1 + 1 = 2.", "So 2 + 2 = 5.", "Nothing here."]
    sync = check_steps(steps)
    assert [v.verdict for v in sync] == ["correct", "incorrect", "unverifiable"]
    assert [v.index for v in sync] == [0, 1, 2]
    assert [v.verdict for v in asyncio.run(check_steps_async(steps))] == [v.verdict for v in sync]


def test_an_adversarial_step_times_out_as_unverifiable() -> None:
    (result,) = check_steps([r"So $10^{10^{10^{10}}} + 1 = 2$."], timeout_s=1.0)
    assert result.verdict in ("unverifiable", "incorrect")


def test_gsm8k_calculator_annotations() -> None:
    """Every annotation of the GSM8K test set is correct, every wrong variant incorrect."""
    rows = _jsonl("gsm8k_test_calc_annotations.jsonl")
    assert len(rows) == 4282
    true_steps = [f"<<{r['lhs']}={r['rhs']}>>" for r in rows]
    false_steps = [f"<<{r['lhs']}={r['neg_rhs']}>>" for r in rows]
    lines = list({(r["problem_idx"], r["line_idx"]): r["line"] for r in rows}.values())
    results = check_many([true_steps, false_steps, lines], timeout_s=10.0)
    assert [r for r, v in zip(true_steps, results[0]) if v.verdict != "correct"] == []
    assert [r for r, v in zip(false_steps, results[1]) if v.verdict != "incorrect"] == []
    # Whole solution lines, with the prose and the visible arithmetic around the annotation.
    assert [r for r, v in zip(lines, results[2]) if v.verdict != "correct"] == []


def test_prm800k_precision_of_incorrect(record_property) -> None:
    """On human-rated PRM800K phase-1 test steps, "incorrect" means a -1 rating at least 90% of
    the time; the share of steps the checker can judge at all is recorded."""
    rows = [r for r in _jsonl("prm800k_phase1_test_stepwise_critic.jsonl") if r["rating"] is not None]
    (results,) = check_many([[r["next_response"] for r in rows]], timeout_s=10.0)
    flagged = [r["rating"] for r, v in zip(rows, results) if v.verdict == "incorrect"]
    judged = sum(v.verdict != "unverifiable" for v in results)
    precision = flagged.count(-1) / len(flagged)
    share = judged / len(rows)
    record_property("prm800k_incorrect_precision", round(precision, 3))
    record_property("prm800k_flagged_incorrect", len(flagged))
    record_property("prm800k_checkable_share", round(share, 3))
    assert len(flagged) >= 30
    assert precision >= PRECISION_TARGET
    assert share >= 0.05


def test_step_verdict_is_a_frozen_record() -> None:
    result = check_step("So 1 + 1 = 2.")
    assert isinstance(result, StepVerdict)
    with pytest.raises(AttributeError):
        result.verdict = "incorrect"  # type: ignore[misc]
