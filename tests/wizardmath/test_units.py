"""Units of measure, read by pint (``wizardmath.units``), in answers and in steps alike."""

from __future__ import annotations

from fractions import Fraction

import pytest

from wizardmath.answers import Convention, GradingPolicy, compare_texts
from wizardmath.steps import check_step
from wizardmath.units import factor, parse_unit


def test_units_convert_exactly() -> None:
    assert factor(parse_unit("ft"), parse_unit("inches")) == 12
    assert factor(parse_unit("mile"), parse_unit("km")) == Fraction(25146, 15625)
    assert factor(parse_unit("square feet"), parse_unit("square inches")) == 144
    assert factor(parse_unit("km/h"), parse_unit("m/s")) == Fraction(5, 18)
    assert factor(parse_unit("cents"), parse_unit("dollars")) == Fraction(1, 100)
    assert factor(parse_unit("cm"), parse_unit("s")) is None


@pytest.mark.parametrize("word", ["a", "at", "are", "points", "in", "c", "x", "percent", "degrees", "apples"])
def test_words_that_are_no_units_here(word: str) -> None:
    assert parse_unit(word) is None


@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        ("2.5 km", "2500 m", True), ("2.5 km", "250 m", False),
        (r"3\text{ ft}", r"36\text{ inches}", True), (r"3\text{ ft}", r"30\text{ inches}", False),
        ("90 minutes", "1.5 hours", True), ("90 minutes", "1.5 days", False),
        (r"2\text{ m}^2", r"20000\text{ cm}^2", True), (r"2\text{ m}^2", r"200\text{ cm}^2", False),
        ("4 liters", "4000 mL", True), ("500 g", "0.5 kg", True), ("500 g", "0.5 lb", False),
        ("72 km/h", "20 m/s", True), ("72 km/h", "72 m/s", False),
        ("8 cm", "8 seconds", False), ("8 kg", "8 km", False), ("8 cm", r"8\text{ cm}^2", False),
        (r"x = 4\text{ cm}", "40 mm", True), (r"x = 4\text{ cm}", "4 m", False),
    ],
)
def test_answers_with_units(gold: str, pred: str, expected: bool) -> None:
    assert compare_texts(gold, pred).equal is expected


def test_bare_number_against_a_quantity_follows_one_policy_on_every_path() -> None:
    for gold, pred in (("36", "36 square feet"), ("36 square feet", "36"),
                       ("The area is 36 square feet.", "36"), ("36", "The area is 36 square feet.")):
        verdict = compare_texts(gold, pred)
        assert verdict.equal, (gold, pred, verdict)
    assert compare_texts("36", "36 square feet").policy == Convention.DROPPED_UNIT.value
    strict = GradingPolicy(strip_units=False)
    assert not compare_texts("36", "36 square feet", strict).equal
    assert not compare_texts("36 square feet", "36", strict).equal
    # Whichever path a unit arrives by, a wrong unit is never equal.
    assert not compare_texts("36 square feet", "The area is 36 square meters.").equal
    assert not compare_texts("The area is 36 square feet.", "36 square meters").equal


@pytest.mark.parametrize(
    "step, expected",
    [
        ("The trip takes 1 h 45 min = 105 min.", "claims true"),
        ("The trip takes 1 h 45 min = 115 min.", "a claim is false"),
        ("Together they weigh 2.4 kg + 600 g = 3 kg.", "claims true"),
        ("Together they weigh 2.4 kg + 600 g = 3.6 kg.", "a claim is false"),
        ("The board is 6 ft = 72 inches long.", "claims true"),
        ("The board is 6 ft = 62 inches long.", "a claim is false"),
        ("She pays $4 + 75 cents = $4.75.", "claims true"),
        ("She pays $4 + 75 cents = $79.", "a claim is false"),
        ("The rope is 3 km - 250 m = 2.75 km.", "claims true"),
        # Units whose size depends on the writer are never converted.
        ("That is 2 months = 60 days.", "nothing to check"),
        ("A load of 1 ton = 2000 pounds.", "nothing to check"),
        # In a product units multiply and rates go unwritten: not converted.
        ("He plays 2 hours every day x 7 days = 14 hours.", "nothing to check"),
    ],
)
def test_steps_convert_units_of_one_kind(step: str, expected: str) -> None:
    assert check_step(step).verdict == expected, check_step(step)


def test_evol_math_equal_says_which_convention_decided() -> None:
    """The real CLI, as a user runs it: each line carries the conventions an "equal" relied on."""
    import json
    import os
    import subprocess
    import sys

    lines = [{"id": "unit", "gold": "24", "pred": "24 square meters"},
             {"id": "convert", "gold": "1.5 km", "pred": "1500 m"},
             {"id": "kinds", "gold": "5 cm", "pred": "5 s"},
             {"id": "interval", "gold": r"(3, \infty)", "pred": "x > 3"}]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
    result = subprocess.run(
        [sys.executable, "-m", "evolinstruct", "math", "equal", "--workers", "1"],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert (rows["unit"]["equal"], rows["unit"]["policy"]) == (True, "dropped unit")
    assert (rows["convert"]["equal"], rows["convert"]["policy"]) == (True, None)
    assert (rows["kinds"]["equal"], rows["kinds"]["policy"]) == (False, None)
    assert (rows["interval"]["equal"], rows["interval"]["policy"]) == (True, "inequality for interval")
    strict = subprocess.run(
        [sys.executable, "-m", "evolinstruct", "math", "equal", "--workers", "1", "--interval-notation",
         "--keep-units"],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True, text=True, timeout=300, env=env)
    assert strict.returncode == 0, strict.stderr
    assert [json.loads(line)["equal"] for line in strict.stdout.splitlines()] == [False, True, False, False]
