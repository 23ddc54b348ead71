"""The forms answers take in real solutions, each in both directions: equal where the
mathematics is the same, and never "equal" where it is not (a false "equal" would mark a wrong
row verified). Every pair here is our own example."""

from __future__ import annotations

import pytest

from wizardmath.answers import Convention, GradingPolicy, compare_texts


def equal(gold: str, pred: str, policy: GradingPolicy = GradingPolicy()) -> bool:
    return compare_texts(gold, pred, policy).equal


# ---------------------------------------------------------------------------------------------
# Never a false "equal"
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred",
    [
        # Percent on both sides means the same on both: 40% is not 0.4%.
        (r"40\%", r"0.4\%"), (r"62.5\%", r"\frac{5}{8}\%"), (r"0.4\%", r"40\%"),
        # |t| and t agree only where t >= 0; sqrt(t^2) is |t|, not t.
        ("|t|", "t"), (r"\sqrt{y^2}", "y"), ("|a - b|", "a - b"),
        # Shape counts: a 2x2 matrix is not a 1x4 row nor a 4x1 column with the same entries.
        (r"\begin{pmatrix}5&6\\7&8\end{pmatrix}", r"\begin{pmatrix}5&6&7&8\end{pmatrix}"),
        (r"\begin{pmatrix}5&6\\7&8\end{pmatrix}", r"\begin{pmatrix}5\\6\\7\\8\end{pmatrix}"),
        (r"\begin{pmatrix}5\\6\\7\end{pmatrix}", "(5, 6)"),
        # A repeated root in the reference must be repeated.
        ("-2, -2, 5", "-2, 5"), (r"\{3, 3, 4\}", r"\{3, 4\}"),
        # Units of different kinds, or amounts that do not convert.
        (r"7\text{ cm}", r"7\text{ m}"), ("7 cm", "7 m"), ("3 kg", "3 s"), ("2 km", "2000 cm"),
        (r"12\text{ cm}^2", r"12\text{ cm}"),
    ],
)
def test_never_a_false_equal(gold: str, pred: str) -> None:
    assert not equal(gold, pred)


def test_percentages_on_both_sides_still_match_each_other() -> None:
    assert equal(r"40\%", r"40.0\%") and equal(r"12.5\%", r"\frac{25}{2}\%")
    assert equal(r"40\%", "0.4")  # one side without the sign: its value over 100


def test_abs_equals_its_own_forms() -> None:
    assert equal("|t|", r"\sqrt{t^2}") and equal("|2t|", "2|t|")


def test_repeats_count_only_when_the_reference_repeats() -> None:
    assert equal("-2, -2, 5", "5, -2, -2")
    verdict = compare_texts("-2, 5", "-2, -2, 5")  # the same solution written twice
    assert verdict.equal and verdict.policy == Convention.REPEATS_ONCE.value


# ---------------------------------------------------------------------------------------------
# Intervals and inequalities as sets of reals
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        (r"(-5, \infty)", "y > -5", True), (r"(-5, \infty)", r"y \ge -5", False),
        (r"[-5, \infty)", r"y \ge -5", True),
        (r"(-\infty, 0) \cup (4, \infty)", r"t < 0 \text{ or } t > 4", True),
        (r"(-\infty, 0) \cup (4, \infty)", r"t < 0 \text{ or } t > 5", False),
        (r"(-\infty, 0) \cup (4, \infty)", r"t \le 0 \text{ or } t > 4", False),
        (r"(-\infty, -7) \cup (-7, \infty)", r"z \neq -7", True),
        (r"(-\infty, -7) \cup (-7, \infty)", r"z \neq 7", False),
        (r"[-2, 2]", r"|u| \le 2", True), (r"(-2, 2)", r"|u| \le 2", False),
        # Unions that close up, and ones that do not.
        ("(0, 6)", r"(0, 3) \cup [3, 6)", True), ("(0, 6)", r"(0, 3) \cup (3, 6)", False),
        (r"[1, 5]", r"[1, 2] \cup [2, 5]", True),
    ],
)
def test_intervals_and_inequalities(gold: str, pred: str, expected: bool) -> None:
    assert equal(gold, pred) is expected


def test_interval_notation_policy() -> None:
    verdict = compare_texts(r"(-5, \infty)", "y > -5")
    assert verdict.policy == Convention.INEQUALITY_FOR_INTERVAL.value
    assert not equal(r"(-5, \infty)", "y > -5", GradingPolicy(inequality_for_interval=False))
    # An inequality reference accepts its interval whatever the policy: pure mathematics.
    assert compare_texts("y > -5", r"(-5, \infty)").policy is None


# ---------------------------------------------------------------------------------------------
# Matrices and vectors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        (r"\begin{pmatrix}2&0\\-1&3\end{pmatrix}", "[[2, 0], [-1, 3]]", True),
        (r"\begin{pmatrix}2&0\\-1&3\end{pmatrix}", "[[2, 0], [3, -1]]", False),
        (r"\begin{bmatrix}2&0\\-1&3\end{bmatrix}", r"\begin{pmatrix}2&0\\-1&3\end{pmatrix}", True),
        (r"\begin{pmatrix}4\\-1\\2\end{pmatrix}", "(4, -1, 2)", True),
        (r"\begin{pmatrix}4\\-1\\2\end{pmatrix}", "(4, 2, -1)", False),
        ("(4, -1, 2)", r"\begin{pmatrix}4\\-1\\2\end{pmatrix}", True),
        (r"\begin{pmatrix}2/5\\-1/5\end{pmatrix}", r"\frac{1}{5}\begin{pmatrix}2\\-1\end{pmatrix}", True),
        (r"\begin{pmatrix}2/5\\-1/5\end{pmatrix}", r"\frac{1}{5}\begin{pmatrix}-1\\2\end{pmatrix}", False),
        (r"\begin{pmatrix}6&3\\0&9\end{pmatrix}", r"3\begin{pmatrix}2&1\\0&3\end{pmatrix}", True),
    ],
)
def test_matrices_and_vectors(gold: str, pred: str, expected: bool) -> None:
    assert equal(gold, pred) is expected


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        (r"\frac{2}{3}", r"0.\overline{6}", True), (r"\frac{2}{3}", r"0.\overline{66}", True),
        (r"\frac{5}{6}", r"0.8\overline{3}", True), (r"\frac{5}{6}", r"0.\overline{83}", False),
        (r"\frac{4}{11}", r"0.\overline{36}", True), ("2", r"1.\overline{9}", True),
        ("3", r"2.\overline{8}", False),
        (r"1.6 \times 10^{-19}", "1.6e-19", True), (r"1.6 \times 10^{-19}", "1.6e-18", False),
        (r"3 \cdot 10^{8}", "3E8", True), ("300000000", "3e8", True),
        (r"\frac{2}{3}", r"66\frac{2}{3}\%", True), (r"\frac{2}{3}", r"66\frac{1}{3}\%", False),
        ("2 - 5i", "2 - 5j", True), ("2 - 5i", "2 + 5j", False),
    ],
)
def test_numbers(gold: str, pred: str, expected: bool) -> None:
    assert equal(gold, pred) is expected


def test_j_is_the_imaginary_unit_only_against_i() -> None:
    assert compare_texts("2 - 5i", "2 - 5j").policy == Convention.IMAGINARY_J.value
    assert not equal("2 - 5i", "2 - 5j", GradingPolicy(imaginary_j=False))
    assert not equal("2j + i", "3i")  # a side that writes both keeps j a variable
    assert equal("3j + 1", "1 + 3j")


# ---------------------------------------------------------------------------------------------
# Antiderivatives
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        (r"\frac{1}{2}\sin^2 t + C", r"-\frac{1}{4}\cos 2t + C", True),
        (r"\frac{1}{2}\sin^2 t + C", r"\frac{1}{4}\cos 2t + C", False),
        (r"\ln|u| + C", r"\ln|5u| + C", True), (r"\ln|u| + C", r"\ln|u^2| + C", False),
        (r"(x+1)^2 + C", r"x^2 + 2x + C", True), (r"(x+1)^2 + C", r"x^2 + x + C", False),
        (r"\tan^2 x + C", r"\sec^2 x + C", True),
        # A family of functions is not one of its members.
        (r"x^2 + C", "x^2 + 5", False),
    ],
)
def test_antiderivatives_equal_up_to_a_constant(gold: str, pred: str, expected: bool) -> None:
    assert equal(gold, pred) is expected


# ---------------------------------------------------------------------------------------------
# Times of day and multiple choice
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        (r"\text{9:45 PM}", "21:45", True), (r"\text{9:45 PM}", "9:45", False),
        (r"\text{9:45 AM}", "9:45", True), ("21:45", r"\text{9:45 p.m.}", True),
        (r"\text{12:10 AM}", "0:10", True), (r"\text{12:10 PM}", "12:10", True),
        (r"\text{7:15 AM}", r"\text{2:30 PM}", False),  # as ratios 7:15 and 14:30 agree
    ],
)
def test_times_of_day(gold: str, pred: str, expected: bool) -> None:
    assert equal(gold, pred) is expected


@pytest.mark.parametrize(
    "gold, pred, expected",
    [
        (r"\text{(D)}", r"\textbf{(D) } \frac{7}{2}", True),
        (r"\text{(D)}", r"\textbf{(C) } \frac{7}{2}", False),
        (r"\textbf{(B) } 4\sqrt{2}", "B", True),
        (r"\textbf{(B) } 4\sqrt{2}", r"4\sqrt{2}", True),
        (r"\textbf{(B) } 4\sqrt{2}", r"2\sqrt{2}", False),
        (r"\textbf{(B) } 4\sqrt{2}", "(A)", False),
    ],
)
def test_choice_letters_with_their_values(gold: str, pred: str, expected: bool) -> None:
    assert equal(gold, pred) is expected


# ---------------------------------------------------------------------------------------------
# Which convention decided
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "gold, pred, convention",
    [
        (r"\frac{1}{7}", "0.143", Convention.ROUNDING),
        ("24", "24 square meters", Convention.DROPPED_UNIT),
        ("3", "x = 3", Convention.DROPPED_NAME),
        (r"35\%", "35", Convention.PERCENT),
        (r"45^\circ", "45", Convention.DEGREES),
        ("3, 4", "4, 3", Convention.UNORDERED),
        ("1,25", "1.25", Convention.DECIMAL_COMMA),
    ],
)
def test_a_verdict_names_the_convention_that_decided_it(gold: str, pred: str, convention: Convention) -> None:
    verdict = compare_texts(gold, pred)
    assert verdict.equal and convention.value in (verdict.policy or "").split(", ")


def test_pure_mathematics_names_no_convention() -> None:
    for gold, pred in ((r"\frac12", "0.5"), ("1.5 km", "1500 m"), (r"35\%", "0.35"), ("x+1", "1+x")):
        verdict = compare_texts(gold, pred)
        assert verdict.equal and verdict.policy is None, (gold, pred, verdict)


def test_every_convention_is_written_in_the_grading_document() -> None:
    from pathlib import Path

    document = (Path(__file__).resolve().parents[2] / "docs" / "math-grading.md").read_text()
    missing = [c.value for c in Convention if f"`{c.value}`" not in document]
    assert missing == []
