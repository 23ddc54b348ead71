"""The process check: splitting, claims, the rounding policy, and the measurements on
tests/data (GSM8K calculator annotations, PRM800K phase-1 human step ratings)."""

from __future__ import annotations

import asyncio
import re

import pytest

from wizardmath.steps import (
    StepVerdict, check_many, check_step, check_steps, check_steps_async, split_steps,
)

from ..conftest import read_jsonl

PRECISION_TARGET = 0.9


def _jsonl(name: str) -> list[dict]:
    return read_jsonl(f"{name}.gz")


def verdict(step: str) -> str:
    return check_step(step).verdict


@pytest.mark.parametrize(
    "step, expected",
    [
        ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.", "claims true"),
        ("Natalia sold 48/2 = <<48/2=25>>25 clips in May.", "a claim is false"),
        ("So 48/2 = 24 clips.", "claims true"),
        ("So 48/2 = 25 clips.", "a claim is false"),
        ("Then 2 + 3 = 5 = 6.", "a claim is false"),
        ("Then 2 + 3 = 5 = 10/2.", "claims true"),
        ("The house cost $80,000 * 1.5 = $120,000.", "claims true"),
        ("She pays 5 x 3 = 15 dollars.", "claims true"),
        ("So 20% * 50 = 10 students.", "claims true"),
        ("The oven is off: 18 / 450 x 100 = 4%.", "claims true"),
        ("Together 3 and 4 = 7.", "nothing to check"),
        (r"So $\frac{3}{4} \times 8 = 6$.", "claims true"),
        (r"So $\frac{3}{4} \cdot 8 = 7$.", "a claim is false"),
        (r"We get $2^{10} = 1024$ and $5! = 120$.", "claims true"),
        (r"Hence $\sqrt{16} + \binom{5}{2} = 14$.", "claims true"),
        (r"$\sin 30^\circ = \frac{1}{2}$", "claims true"),
        ("3x + 2 = 11, so x = 3.", "claims true"),
        ("3x + 2 = 11, so x = 4.", "a claim is false"),
        (r"We have $3x + 2 = 11$, so $x = 4$.", "a claim is false"),
        (r"So either $x = 0$ or $x^2 - 1 = 0$.", "nothing to check"),
        ("Suppose 2 + 2 = 5.", "nothing to check"),
        ("If we plug in, 2 + 2 = 5.", "nothing to check"),
        ("Is 2 + 2 = 5?", "nothing to check"),
        ("Let's assume 2 + 2 = 5.", "nothing to check"),
        ("20% of 50 = 10, so ten of them.", "claims true"),
        ("20% of 50 = 11, so eleven of them.", "a claim is false"),
        ("Half of 10 + 2 = 7.", "nothing to check"),  # (10 / 2) + 2: the words carry an operand
        ("We factor the polynomial.", "nothing to check"),
        (r"Therefore $f^{-1}(0)=3$.", "nothing to check"),
        (r"So $17 \cdot 44 \equiv 1 \pmod{83}$.", "nothing to check"),
        (r"$x = 5$", "nothing to check"),
        # Functions of numbers compute; a symbolic identity holds or says nothing.
        (r"So $\sin 90^\circ = 1$.", "claims true"),
        (r"So $\cos 100^\circ = \sin 80^\circ$.", "a claim is false"),
        (r"Expanding, $(x+2)(x+3) = x^2+5x+6$.", "claims true"),
        (r"Expanding, $(x+2)(x+3) = x^2+5x+7$.", "nothing to check"),  # may be an equation to solve
        # Claims in prose, with units, rates, currency and bare equations.
        ("80 GB / 2 GB/minute = 40 minutes", "claims true"),
        ("80 GB / 2 GB/minute = 45 minutes", "a claim is false"),
        ("$30/hour * 15 hours/week = $450/week", "claims true"),
        ("$30/hour * 15 hours/week = $460/week", "a claim is false"),
        ("3 hours - 1 hour - 1 hour = 1 hour", "claims true"),
        ("a profit of 1.2% which is $8000*(1.2/100) = $96", "claims true"),
        ("a profit of 1.2% which is $8000*(1.2/100) = $98", "a claim is false"),
        ("24 + 48 = 73", "a claim is false"),
        ("48/2 = 24", "claims true"),
        ("Tommy raised 23 slices x $4 = $92 by selling cheesecakes.", "claims true"),
        ("He earned 26 x $15 = $391 for selling apple pie.", "a claim is false"),
        ("So 84/12 = 7 dozen eggs.", "claims true"),  # dozens as a unit
        ("So 3 dozen eggs + 2 eggs = 38 eggs.", "claims true"),  # dozen as 12
        ("So 84/12 = 8 dozen eggs.", "a claim is false"),
        ("If each box holds 6, then 4 boxes hold 4 * 6 = 25 eggs.", "a claim is false"),
        ("Let's try 4 * 6 = 25 and see.", "nothing to check"),  # a trial may be false on purpose
        ("Let's try 4 * 6 = 24 and see.", "claims true"),
        ("Twin = 6 + 7 = 13", "claims true"),
        ("16 students drank 2 quarts = 16 * 2 = 32 quarts", "claims true"),
        ("Howie has 25 classmates + his 1 teacher + 1 himself = 27 people.", "nothing to check"),
        ("In one hour, there are 60 / 15 = 4 (15 minutes).", "claims true"),
        ("He writes 1 + 1 = 3, which is not true.", "nothing to check"),
    ],
)
def test_step_verdicts(step: str, expected: str) -> None:
    assert verdict(step) == expected, check_step(step)


@pytest.mark.parametrize(
    "claim, expected",
    [
        ("22/7 = 3.14", "claims true"),  # correctly rounded to the digits shown
        ("22/7 = 3.15", "a claim is false"),
        ("2/3 = 0.66", "claims true"),  # truncated to the digits shown
        ("2/3 = 0.67", "claims true"),
        ("2/3 = 0.65", "a claim is false"),
        ("0.5 + 0.25 = 0.76", "a claim is false"),  # the exact value shows in full: no rounding
        ("0.5 + 0.25 = 0.75", "claims true"),
        ("0.5 + 0.25 = 0.6", "a claim is false"),
        ("10/3 = 3", "claims true"),  # a stated integer must be the correct rounding
        ("10/3 = 4", "a claim is false"),
        ("100/3 = 33.33", "claims true"),
        ("100/3 = 33.83", "a claim is false"),
    ],
)
def test_rounding_policy(claim: str, expected: str) -> None:
    assert verdict(f"So {claim}.") == expected


@pytest.mark.parametrize(
    "claim, expected",
    [(r"$\sqrt{2} \approx 1.41$", "claims true"), (r"$\sqrt{2} \approx 1.5$", "a claim is false"),
     (r"$\pi \approx 3.1416$", "claims true"), (r"$\sqrt{50} \approx 7$", "claims true")],
)
def test_approximations(claim: str, expected: str) -> None:
    assert verdict(f"Thus {claim}.") == expected


def test_a_step_with_nothing_checkable_is_never_correct() -> None:
    for step in ["Let the width be w.", "Now we can factor by grouping.", "", "   "]:
        assert verdict(step) == "nothing to check"


def test_claims_are_reported() -> None:
    result = check_step("Then 2 + 3 = 5 and 4 * 2 = 9.")
    assert result.as_dict()["claims"] == [
        {"text": "2 + 3 = 5", "verdict": "true"},
        {"text": "4 * 2 = 9", "verdict": "false"},
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


def test_bounded_and_async_variants_agree() -> None:
    steps = ["So 1 + 1 = 2.", "So 2 + 2 = 5.", "Nothing here."]
    sync = check_steps(steps)
    assert [v.verdict for v in sync] == ["claims true", "a claim is false", "nothing to check"]
    assert [v.index for v in sync] == [0, 1, 2]
    assert [v.verdict for v in asyncio.run(check_steps_async(steps))] == [v.verdict for v in sync]


def test_an_adversarial_step_times_out_as_unverifiable() -> None:
    (result,) = check_steps([r"So $10^{10^{10^{10}}} + 1 = 2$."], timeout_s=1.0)
    assert result.verdict in ("nothing to check", "a claim is false")


def test_gsm8k_calculator_annotations() -> None:
    """Every annotation of the GSM8K test set is correct, every wrong variant incorrect."""
    rows = _jsonl("gsm8k_test_calc_annotations.jsonl")
    assert len(rows) == 4282
    true_steps = [f"<<{r['lhs']}={r['rhs']}>>" for r in rows]
    false_steps = [f"<<{r['lhs']}={r['neg_rhs']}>>" for r in rows]
    lines = list({(r["problem_idx"], r["line_idx"]): r["line"] for r in rows}.values())
    results = check_many([true_steps, false_steps, lines], timeout_s=10.0)
    assert [r for r, v in zip(true_steps, results[0]) if v.verdict != "claims true"] == []
    assert [r for r, v in zip(false_steps, results[1]) if v.verdict != "a claim is false"] == []
    # Whole solution lines, with the prose and the visible arithmetic around the annotation.
    assert [r for r, v in zip(lines, results[2]) if v.verdict != "claims true"] == []


_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
_SHOWN = re.compile(r"(\$?)(\d[\d,]*(?:\.\d+)?)")


def _falsified(line: str) -> str | None:
    """The line with the result shown after its first annotation made wrong (integers + 1,
    decimals + 0.5, written the same way), annotations removed; None when the shown result is
    not the annotation's."""
    annotation = _ANNOTATION.search(line)
    if annotation is None:
        return None
    shown = _SHOWN.match(line, annotation.end())
    if shown is None or float(shown.group(2).replace(",", "")) != float(annotation.group(2)):
        return None
    digits = shown.group(2)
    if "." in digits:
        wrong = str(float(digits.replace(",", "")) + 0.5)
    else:
        number = int(digits.replace(",", "")) + 1
        wrong = f"{number:,}" if "," in digits else str(number)
    twin = line[: shown.start(2)] + wrong + line[shown.end(2):]
    return _ANNOTATION.sub("", twin)


def gsm8k_plain_lines(rows: list[dict]) -> tuple[list[str], list[str]]:
    """The solution lines of GSM8K test as a model writes them (calculator annotations removed)
    that show a claim (an `=`), and their falsified twins."""
    lines, twins = [], []
    for row in rows:
        for line in row["answer"].split("\n"):
            if "<<" not in line or line.startswith("####"):
                continue
            plain = _ANNOTATION.sub("", line)
            if "=" in plain:
                lines.append(plain)
                twin = _falsified(line)
                if twin is not None:
                    twins.append(twin)
    return lines, twins


def test_gsm8k_plain_text_lines(record_property) -> None:
    """Lines in prose with units, currency and percentages: at least 90% of the true ones are
    judged correct and 90% of their falsified twins incorrect, and no true line incorrect."""
    lines, twins = gsm8k_plain_lines(_jsonl("gsm8k_test.jsonl"))
    assert len(lines) > 4000 and len(twins) > 4000
    true_results, twin_results = check_many([lines, twins], timeout_s=10.0)
    wrongly_incorrect = [line for line, v in zip(lines, true_results) if v.verdict == "a claim is false"]
    correct = sum(v.verdict == "claims true" for v in true_results) / len(lines)
    caught = sum(v.verdict == "a claim is false" for v in twin_results) / len(twins)
    record_property("gsm8k_plain_true_correct", round(correct, 3))
    record_property("gsm8k_plain_twins_incorrect", round(caught, 3))
    assert wrongly_incorrect == []
    assert correct >= 0.9
    assert caught >= 0.9


def test_prm800k_precision_of_incorrect(record_property) -> None:
    """On human-rated PRM800K phase-1 test steps, "incorrect" means a -1 rating at least 90% of
    the time; the share of steps the checker can judge at all is recorded."""
    rows = [r for r in _jsonl("prm800k_phase1_test_stepwise_critic.jsonl") if r["rating"] is not None]
    (results,) = check_many([[r["next_response"] for r in rows]], timeout_s=10.0)
    flagged = [r["rating"] for r, v in zip(rows, results) if v.verdict == "a claim is false"]
    judged = sum(v.verdict != "nothing to check" for v in results)
    precision = flagged.count(-1) / len(flagged)
    share = judged / len(rows)
    record_property("prm800k_incorrect_precision", round(precision, 3))
    record_property("prm800k_flagged_incorrect", len(flagged))
    record_property("prm800k_checkable_share", round(share, 3))
    assert len(flagged) >= 30
    assert precision >= PRECISION_TARGET
    assert share >= 0.09


def test_step_verdict_is_a_frozen_record() -> None:
    result = check_step("So 1 + 1 = 2.")
    assert isinstance(result, StepVerdict)
    with pytest.raises(AttributeError):
        result.verdict = "incorrect"  # type: ignore[misc]


@pytest.mark.parametrize(
    "step, expected",
    [
        # A unit's power belongs to the unit, never to the number before it.
        ("The area is 5 m * 4 m = 20 m^2", "claims true"),
        ("10 ft x 12 ft = 120 ft^2", "claims true"),
        ("2 m * 3 m * 4 m = 24 m^3", "claims true"),
        ("20 m^2 / 4 m^2 = 5 tiles", "claims true"),
        ("2 kg * 5 m/s^2 = 10 N", "claims true"),
        ("4^2 = 16 cm^2", "claims true"),
        ("The area is 5 m * 4 m = 21 m^2", "a claim is false"),  # still judged
        ("4^2 = 15 cm^2", "a claim is false"),
        ("20 m^x * 2 = 40 m^x", "nothing to check"),  # a power that cannot be read
        # A letter that is no unit is algebra: `2 y + 3 = 7` is an equation, not 2 + 3 = 7.
        ("2 y + 3 = 7", "nothing to check"),
        ("3 x^2 + 2 = 14", "nothing to check"),
        # Mixed numbers, in prose and in LaTeX, as the answer checker reads them.
        ("2 1/2 cups * 2 = 5 cups", "claims true"),
        ("2 1/2 cups * 2 = 6 cups", "a claim is false"),
        (r"$2\frac{1}{2} \times 2 = 5$", "claims true"),
        (r"$2 \times 2\frac{1}{2} = 5$", "claims true"),
        (r"$2\frac{1}{2} \times 2 = 4$", "a claim is false"),
        (r"$2 1/2 \times 2 = 5$", "claims true"),
    ],
)
def test_units_with_powers_and_mixed_numbers(step: str, expected: str) -> None:
    assert verdict(step) == expected, check_step(step)


@pytest.mark.parametrize(
    "step, expected",
    [
        # Two units of one kind in a sum convert to one unit (pint's factors), never read as
        # plain arithmetic on their numbers (3 + 500).
        ("3 kg + 500 g = 3.5 kg", "claims true"),
        ("2 m + 50 cm = 2.5 m", "claims true"),
        ("1 hour + 30 minutes = 1.5 hours", "claims true"),
        ("2 dollars + 50 cents = 2.5 dollars", "claims true"),
        # In a product units multiply, and rates go unwritten: not checked.
        ("1 1/2 hours * 60 = 90 minutes", "nothing to check"),
        ("5 m/s * 3 min = 900 m", "nothing to check"),
        # A rate's unit cancels against the same unit: these stay checked, both ways.
        ("2 hours * 60 minutes/hour = 120 minutes", "claims true"),
        ("2 hours * 60 minutes/hour = 100 minutes", "a claim is false"),
        ("He drove 60 miles per hour * 2 hours = 120 miles", "claims true"),
        ("3 kg + 2 kg = 6 kg", "a claim is false"),
    ],
)
def test_mixed_units_of_one_kind_are_not_checked_as_plain_numbers(step: str, expected: str) -> None:
    assert verdict(step) == expected, check_step(step)


def test_the_unit_table_knows_each_spelling_once() -> None:
    from wizardmath.prose import UNITS_OF_MEASURE

    assert UNITS_OF_MEASURE["kg"] == UNITS_OF_MEASURE["kilograms"] == ("mass", "kg")
    assert UNITS_OF_MEASURE["minutes"][0] == UNITS_OF_MEASURE["hours"][0] == "time"
    assert UNITS_OF_MEASURE["minutes"] != UNITS_OF_MEASURE["hours"]
