"""Final answers: decide whether two agree under a grading policy. The public entry points.

The pipeline is: ``extract_answer`` (where is the answer in the text, ``wizardmath.extraction``)
-> ``read_answer`` (its readings under the policy, through our own LaTeX/plain-text reader in
``wizardmath.reading``, producing sympy values) -> ``values_equal`` (equivalence under a
``GradingPolicy``). The policy choices are written down in docs/math-grading.md. The extraction
and reading names other modules use are re-exported here.

Numbers are exact throughout: decimals become rationals and nothing is compared through floats,
so ``1/2004!`` and ``1/2006!`` stay different. Where a decimal is compared with an exact value,
the decimal must be the correct rounding of it to the digits it shows.

Every public comparison runs in a bounded worker process (``wizardmath.bounded``): sympy can hang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Iterable, Literal, Sequence

import sympy

from .extraction import extract_answer
from .reading import (
    DEGREE, PERCENT, PM, Interval, Matrix, ParseError, Quantity, ReadOptions, Rel, Scalar, Seq,
    SetUnion, Text, Time, Value, clean, equation_expr, inequality_normal, read, relation_set,
    to_text,
)
from .units import factor as unit_factor, kind_name


__all__ = [
    "DEFAULT_POLICY", "Convention", "Equality", "GradingPolicy", "answers_equal", "answers_equal_async",
    "answers_equal_many", "answers_equal_many_async", "compare_texts", "extract_answer",
    "read_answer", "values_equal",
    # Reading, re-exported for wizardmath.steps.
    "DEGREE", "PERCENT", "PM", "ParseError", "ReadOptions", "Rel", "Scalar", "Seq", "clean", "read",
]


class Convention(str, Enum):
    """The choices a grader makes that mathematics does not: each is a field of ``GradingPolicy``
    and a paragraph of docs/math-grading.md ("Conventions"), and a verdict that relied on one
    names it (``Equality.policy``), so that a row says why it was counted."""

    ROUNDING = "rounding"  # 0.333 stands for 1/3 (rounding, min_significant_digits)
    TOLERANCE = "tolerance"  # within rel_tol
    DROPPED_UNIT = "dropped unit"  # 24 matches 24 square meters (strip_units)
    DROPPED_NAME = "dropped name"  # x = 3 matches 3 (accept_assignment)
    PERCENT = "percent"  # 28% matches 28 (percent)
    DEGREES = "degrees"  # 30° matches 30, or pi/6 (degrees_as_radians)
    REPEATS_ONCE = "repeats once"  # 1, 1, 2 matches 1, 2 when the reference lists 1 once
    UNORDERED = "unordered list"  # 2, 1 matches 1, 2 (ordered_lists)
    INEQUALITY_FOR_INTERVAL = "inequality for interval"  # x > 3 matches (3, oo)
    RENAMED_SYMBOLS = "renamed symbols"  # f(x) matches f(y) (rename_symbols)
    IMAGINARY_J = "j as i"  # 3 + 4j matches 3 + 4i (imaginary_j)
    CHOICE_LETTER = "choice letter"  # (A) matches (A) 2\sqrt{3}
    DECIMAL_COMMA = "decimal comma"  # 1,22 matches 1.22 (decimal_comma)


@dataclass(frozen=True)
class GradingPolicy:
    """The choices where reasonable graders differ. See docs/math-grading.md for each one."""

    # "either": 28% matches 28 and 0.28; "number": only 28; "fraction": only 0.28.
    percent: Literal["either", "number", "fraction"] = "either"
    # A decimal matches an exact value when it is that value correctly rounded to its digits.
    rounding: bool = True
    # ... but a decimal standing in for an exact reference must show at least this many digits
    # after the point (0.333 for 1/3 passes, 0.3 does not).
    min_rounded_places: int = 2
    # ... and a decimal on either side stands for a value it does not equal only when it shows at
    # least this many significant digits: 0.33 is not 1/3, 0.333 is, and 3.14 is pi.
    min_significant_digits: int = 3
    # Extra relative tolerance between two numbers (0: exact, apart from the rounding rule).
    rel_tol: float = 0.0
    # `x = 3` matches `3` (and `x = 1 + 2 = 3` reads as 3).
    accept_assignment: bool = True
    # A number without a unit matches a number with one by its value in that unit (`24` and
    # `24 square meters`). Two units of measure always convert (`1.5 km`, `1500 m`), and two of
    # different kinds never match (`5 cm`, `5 s`). Off: a bare number never matches a quantity.
    strip_units: bool = True
    # `30^\circ` also matches `\pi/6` (it always matches 30).
    degrees_as_radians: bool = False
    # An inequality matches the interval it describes when the reference is an interval. (An
    # interval always matches a reference written as an inequality.) Off: questions that give
    # interval answers usually ask for interval notation.
    inequality_for_interval: bool = True
    # Bare lists `1, 2, 3` compare as sets; tuples `(1, 2)` always compare in order.
    ordered_lists: bool = False
    # `2\frac{1}{2}` is the mixed number 5/2 (never `2(3)`, which is the product 6).
    mixed_numbers: bool = True
    # `f(x)` matches `f(y)`: free symbols may be renamed consistently.
    rename_symbols: bool = False
    # `i` is the imaginary unit and `e` Euler's number.
    constants: bool = True
    # With no marked answer (box, "the answer is", ####), the last number of the prose counts.
    prose_numbers: bool = True
    # `1,22` may be the decimal 1.22 (as well as the list 1, 22).
    decimal_comma: bool = True
    # `j` is the imaginary unit when the other side writes `i` (engineering notation).
    imaginary_j: bool = True


DEFAULT_POLICY = GradingPolicy()


@dataclass(frozen=True)
class Equality:
    equal: bool
    reason: str
    # The conventions (``Convention`` values, comma-separated) an "equal" relied on; None when
    # mathematics alone decided.
    policy: str | None = None


# ============================================================================================
# Reading: answer text -> candidate values
# ============================================================================================

def read_answer(answer: str, policy: GradingPolicy = DEFAULT_POLICY) -> list[Value]:
    """The readings of an extracted answer (usually one; `1,22` has two). Raises ParseError."""
    options = ReadOptions(
        strip_units=policy.strip_units, mixed_numbers=policy.mixed_numbers,
        constants=policy.constants,
    )
    readings: list[Value] = []
    errors: list[str] = []
    for text in _spellings(answer, policy):
        try:
            readings.append(read(text, options))
        except ParseError as error:
            errors.append(str(error))
        except (RecursionError, ValueError, TypeError, AttributeError, ZeroDivisionError,
                sympy.SympifyError, NotImplementedError) as error:
            errors.append(f"{type(error).__name__}: {error}")
    if not readings:
        raise ParseError(errors[0] if errors else f"cannot read {answer!r}")
    return readings


def _spellings(answer: str, policy: GradingPolicy) -> list[str]:
    """The answer, plus its decimal-comma reading when it is one number like `1,22` or `0,5`."""
    text = clean(answer)
    spellings = [text]
    if policy.decimal_comma:
        match = re.fullmatch(r"\s*(-?\d+),(\d+)\s*(%?)\s*", text)
        if match and (len(match.group(2)) == 2 or match.group(1).lstrip("-") == "0"
                      or (len(match.group(2)) != 3 and len(match.group(1)) > 3)):
            spellings.append(f"{match.group(1)}.{match.group(2)}{match.group(3)}")
    return spellings


# ============================================================================================
# Equivalence
# ============================================================================================

_TOLERANCE_DIGITS = 40  # numeric agreement to this many significant digits counts as equal


@dataclass(frozen=True)
class _Verdict:
    equal: bool
    how: str = ""
    conventions: tuple[Convention, ...] = ()


def _relying(verdict: _Verdict, *conventions: Convention) -> _Verdict:
    """``verdict``, noting the conventions an "equal" relied on."""
    if not verdict.equal or not conventions:
        return verdict
    merged = tuple(dict.fromkeys(verdict.conventions + conventions))
    return replace(verdict, conventions=merged)


def _conventions_of(verdicts: Iterable[_Verdict]) -> tuple[Convention, ...]:
    return tuple(dict.fromkeys(c for v in verdicts for c in v.conventions))


def _is_constant(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Expr) and not expr.free_symbols


def _numeric_value(expr: sympy.Expr, digits: int = 60) -> sympy.Expr | None:
    try:
        value = sympy.N(expr, digits)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value.is_number else None


def _scalar_readings(scalar: Scalar, policy: GradingPolicy, other: Scalar
                     ) -> list[tuple[Scalar, tuple[Convention, ...]]]:
    """Replace the percent and degree markers by what they may mean against ``other``, with the
    convention each reading relies on. When both sides carry the sign, it means the same on
    both: `25\\%` against `0.25\\%` compares 25 with 0.25."""
    expr = scalar.expr
    readings: list[tuple[Scalar, tuple[Convention, ...]]] = [(scalar, ())]
    if expr.has(PERCENT):
        if other.expr.has(PERCENT):
            options = [1]
        else:
            options = {"either": [1, sympy.Rational(1, 100)], "number": [1],
                       "fraction": [sympy.Rational(1, 100)]}[policy.percent]
        readings = [
            (Scalar(expr.subs(PERCENT, factor),
                    None if scalar.places is None else scalar.places + (2 if factor != 1 else 0)),
             (Convention.PERCENT,) if factor == 1 and not other.expr.has(PERCENT) else ())
            for factor in options
        ]
    if expr.has(DEGREE):
        shared = other.expr.has(DEGREE)
        factors = [1, sympy.pi / 180] if policy.degrees_as_radians and not shared else [1]
        readings = [(Scalar(r.expr.subs(DEGREE, f), r.places if f == 1 else None),
                     c + (() if shared else (Convention.DEGREES,)))
                    for r, c in readings for f in factors]
    return readings


def _rounds_to(decimal: Scalar, other: sympy.Expr, places: int) -> bool:
    """Whether ``decimal`` is ``other`` rounded to ``places`` digits after the point (ties fail)."""
    value = _numeric_value(other, 80)
    if value is None or not value.is_real:
        return False
    return bool(abs(value - decimal.expr) < sympy.Rational(1, 2) * sympy.Rational(1, 10**places))


def _significant_digits(decimal: Scalar) -> int:
    """Significant digits a decimal shows: 0.33 -> 2, 3.14 -> 3, 0.050 -> 2, 120.0 -> 4."""
    shown = abs(decimal.expr) * 10 ** (decimal.places or 0)
    return len(str(int(sympy.floor(shown + sympy.Rational(1, 2))))) if shown >= 1 else 0


def _numbers_equal(gold: Scalar, pred: Scalar, policy: GradingPolicy) -> _Verdict:
    a, b = gold.expr, pred.expr
    if a.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan) or b.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return _Verdict(a == b, "the same infinity" if a == b else "different values")
    if a.is_Rational and b.is_Rational:
        if a == b:
            return _Verdict(True, "the same number")
        exact = False
    else:
        difference = a - b
        if difference == 0:
            return _Verdict(True, "the same number")
        scale = [abs(v) for v in (_numeric_value(a), _numeric_value(b)) if v is not None]
        value = _numeric_value(difference)
        if value is None or not scale:
            exact = False
        elif abs(value) <= max(scale) * sympy.Float(10) ** (-_TOLERANCE_DIGITS):
            if sympy.simplify(difference) == 0:
                return _Verdict(True, "equal after simplification")
            return _Verdict(True, f"numerically equal to {_TOLERANCE_DIGITS} digits")
        else:
            exact = False
    if not exact and policy.rounding:
        digits = policy.min_significant_digits
        if (gold.places is not None and _significant_digits(gold) >= digits
                and _rounds_to(gold, b, gold.places)):
            return _Verdict(True, f"the reference is the prediction rounded to {gold.places} places",
                            (Convention.ROUNDING,))
        if (pred.places is not None and pred.places >= policy.min_rounded_places
                and _significant_digits(pred) >= digits and _rounds_to(pred, a, pred.places)):
            return _Verdict(True, f"the prediction is the reference rounded to {pred.places} places",
                            (Convention.ROUNDING,))
    if policy.rel_tol > 0:
        va, vb = _numeric_value(a), _numeric_value(b)
        if va is not None and vb is not None and abs(va - vb) <= policy.rel_tol * max(abs(va), abs(vb)):
            return _Verdict(True, f"within relative tolerance {policy.rel_tol}", (Convention.TOLERANCE,))
    return _Verdict(False, "different numbers")


def _random_points(symbols: Iterable[sympy.Symbol], count: int = 4) -> list[dict]:
    """Rational points with both signs for every symbol: `|x|` and `x` agree at every positive
    point, so the domain is sampled on both sides of zero."""
    import random

    rng = random.Random(20261121)
    symbols = list(symbols)
    return [{s: (-1) ** (k + j) * sympy.Rational(rng.randint(7, 97), rng.randint(3, 29))
             for j, s in enumerate(symbols)}
            for k in range(count)]


def _expressions_equal(a: sympy.Expr, b: sympy.Expr) -> _Verdict:
    difference = a - b
    if difference == 0:
        return _Verdict(True, "identical")
    try:
        if sympy.expand(difference) == 0:
            return _Verdict(True, "equal after expanding")
    except (TypeError, ValueError):
        pass
    symbols = difference.free_symbols
    plain = all(isinstance(s, sympy.Symbol) for s in symbols) and not difference.has(
        sympy.Sum, sympy.Product, sympy.core.function.AppliedUndef)
    if plain and symbols:
        # A proof over the reals, where answers live: there sqrt(x^2) is |x| at once.
        real = difference.xreplace({s: sympy.Symbol(s.name, real=True) for s in symbols})
        try:
            if real == 0 or sympy.expand(real) == 0:
                return _Verdict(True, "equal over the reals")
        except (TypeError, ValueError):
            pass
    evaluated = False
    if plain and symbols:
        # Random substitution rejects quickly; a difference that vanishes at every point still
        # has to be proven zero by simplify (or agree to many digits) before we say equal.
        for point in _random_points(symbols):
            value = _numeric_value(difference.subs(point), 50)
            if value is None:
                break  # no number at this point: no evidence either way
            scale = _numeric_value(a.subs(point), 50)
            if scale is None or abs(value) > (abs(scale) + 1) * sympy.Float(10) ** (-30):
                return _Verdict(False, "different expressions")
        else:
            evaluated = True
    if sympy.simplify(difference) == 0:
        return _Verdict(True, "equal after simplification")
    if evaluated:
        return _Verdict(True, "equal at random points to 30 digits")
    return _Verdict(False, "different expressions")


def _scalars_equal(gold: Scalar, pred: Scalar, policy: GradingPolicy) -> _Verdict:
    best = _Verdict(False, "different values")
    for g, g_conventions in _scalar_readings(gold, policy, pred):
        for p, p_conventions in _scalar_readings(pred, policy, gold):
            if isinstance(g.expr, sympy.MatrixBase) or isinstance(p.expr, sympy.MatrixBase):
                return _Verdict(False, "a matrix against a scalar")
            if _is_constant(g.expr) and _is_constant(p.expr):
                verdict = _numbers_equal(g, p, policy)
            else:
                verdict = _antiderivatives_equal(g.expr, p.expr)
                if verdict is None:
                    verdict = _expressions_equal(g.expr, p.expr)
                if not verdict.equal and policy.rename_symbols:
                    verdict = _relying(_renamed_equal(g.expr, p.expr), Convention.RENAMED_SYMBOLS)
            if verdict.equal:
                return _relying(verdict, *g_conventions, *p_conventions)
            best = verdict
    return best


def _integration_constant(expr: sympy.Expr) -> tuple[sympy.Expr, sympy.Symbol] | None:
    """`F + C` as (F, C) when a lone symbol C (or c, K, C_1) is added to an expression of other
    symbols: the family of antiderivatives F + C; else None."""
    if not isinstance(expr, sympy.Add):
        return None
    for term in expr.args:
        if isinstance(term, sympy.Symbol) and re.fullmatch(r"[CcK](?:_\{?\w+\}?)?", term.name):
            rest = expr - term
            if rest.free_symbols and term not in rest.free_symbols:
                return rest, term
    return None


def _antiderivatives_equal(a: sympy.Expr, b: sympy.Expr) -> _Verdict | None:
    """Two families `F + C` and `G + C` are the same when F - G is a constant: its derivative is
    zero (proven by simplify, or at random points of both signs to 30 digits). None unless both
    sides are such families."""
    found_a, found_b = _integration_constant(a), _integration_constant(b)
    if found_a is None or found_b is None:
        return None
    difference = found_a[0] - found_b[0]
    variables = difference.free_symbols
    if not variables:
        return _Verdict(True, "antiderivatives that differ by a constant")
    if variables != (found_a[0].free_symbols | found_b[0].free_symbols):
        return _Verdict(False, "antiderivatives in different variables")
    # On the reals, where antiderivatives live: d/dx ln|x| is 1/x.
    real = {v: sympy.Symbol(v.name, real=True) for v in variables}
    difference = difference.xreplace(real)
    for variable in real.values():
        derivative = sympy.diff(difference, variable)
        if not _expressions_equal(derivative, sympy.Integer(0)).equal:
            return _Verdict(False, "antiderivatives that differ by more than a constant")
    return _Verdict(True, "antiderivatives that differ by a constant")


def _renamed_equal(a: sympy.Expr, b: sympy.Expr) -> _Verdict:
    from itertools import permutations

    sa = sorted(a.free_symbols, key=str)
    sb = sorted(b.free_symbols, key=str)
    if len(sa) != len(sb) or not sa or len(sa) > 4:
        return _Verdict(False, "different expressions")
    for order in permutations(sb):
        if _expressions_equal(a, b.xreplace(dict(zip(order, sa)))).equal:
            return _Verdict(True, "equal after renaming symbols")
    return _Verdict(False, "different expressions")


# -- structured values ---------------------------------------------------------------------

def _value_of(rel: Rel, policy: GradingPolicy) -> Value | None:
    """What an equation states as its answer: `x = 3` -> 3, `k = 1 + 1 = 2` -> 2, else None."""
    if not policy.accept_assignment or rel.ops[0] not in ("=", "≈"):
        return None
    if rel.ops[0] == "≈":
        return rel.parts[1] if rel.names[0] else None
    # Cut at the first approximation: what precedes it is exact.
    cut = rel.ops.index("≈") + 1 if "≈" in rel.ops else len(rel.parts)
    parts = rel.parts[:cut]
    if any(op != "=" for op in rel.ops[: cut - 1]):
        return None
    last = parts[-1]
    if rel.names[0]:
        return last
    # `1 + 1 = 2` or `a = b = 2`: a computation ending in its value. A plain equation such as
    # `a + 3z = 0` states no value.
    first = parts[0]
    if isinstance(last, Scalar) and _is_constant(last.expr) and (
            len(parts) > 2 or isinstance(first, Scalar) and _is_constant(first.expr)):
        return last
    return None


def _inequality_list_set(value: Value) -> sympy.Set | None:
    """`x < -2 \\text{ or } x > 3` (a list of one-variable inequalities in one unknown): the
    union of their solution sets."""
    if not (isinstance(value, Seq) and value.kind == "list" and len(value.items) > 1
            and all(isinstance(i, Rel) and _is_inequality(i) for i in value.items)):
        return None
    names = {frozenset(s.name for p in i.parts if isinstance(p, Scalar) for s in p.expr.free_symbols)
             for i in value.items}
    if len(names) != 1 or len(next(iter(names))) != 1:
        return None
    sets = [relation_set(i) for i in value.items]
    if any(s is None for s in sets):
        return None
    return sympy.Union(*sets)


def _as_set(value: Value, policy: GradingPolicy) -> sympy.Set | None:
    """The real set an interval, union, `x \\in S` or one-variable inequality describes."""
    if isinstance(value, Interval):
        return value.to_sympy()
    if isinstance(value, SetUnion):
        return value.to_sympy()
    if isinstance(value, Seq) and value.kind == "set":
        try:
            return sympy.FiniteSet(*[item.expr for item in value.items if isinstance(item, Scalar)])
        except (TypeError, ValueError):
            return None
    if isinstance(value, Seq) and value.kind == "list":
        return _inequality_list_set(value)
    if isinstance(value, Rel):
        if value.ops == ("in",):
            return _as_set(_pair_interval(value.parts[1]), policy)
        return relation_set(value)
    return None


def _in_normal_form(found: sympy.Set) -> bool:
    """Whether sympy keeps ``found`` in its normal form: a union of disjoint intervals and points
    with numeric ends, merged and sorted, so that two such sets are equal only when identical."""
    parts = found.args if isinstance(found, sympy.Union) else (found,)
    return all(type(part) in (sympy.Interval, sympy.FiniteSet)
               and all(arg.is_number for arg in part.args if isinstance(arg, sympy.Expr))
               for part in parts)


def _sets_equal(a: sympy.Set, b: sympy.Set) -> bool:
    if a == b:
        return True
    if _in_normal_form(a) and _in_normal_form(b):
        return False  # computing the symmetric difference would say so, a second later
    try:
        return a.symmetric_difference(b) == sympy.EmptySet
    except (TypeError, ValueError, NotImplementedError):
        return False


def _intervals_equal(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict | None:
    """Endpoint-by-endpoint comparison, so that rounded endpoints (2.6667 for 8/3) pass."""
    gi = gold.parts if isinstance(gold, SetUnion) else (gold,)
    pi = pred.parts if isinstance(pred, SetUnion) else (pred,)
    if len(gi) != len(pi) or not all(isinstance(x, Interval) for x in gi + pi):
        return None
    found: list[_Verdict] = []
    for a, b in zip(sorted(gi, key=Interval.sort_key), sorted(pi, key=Interval.sort_key)):
        if (a.left_open, a.right_open) != (b.left_open, b.right_open):
            return _Verdict(False, "different interval ends")
        for x, y in ((a.lo, b.lo), (a.hi, b.hi)):
            verdict = _scalars_equal(x, y, policy)
            if not verdict.equal:
                return _Verdict(False, "different interval ends")
            found.append(verdict)
    return _Verdict(True, "the same interval", _conventions_of(found))


def _match_unordered(gold: Sequence[Value], pred: Sequence[Value], policy: GradingPolicy
                     ) -> tuple[Convention, ...] | None:
    """A one-to-one matching of the items, and the conventions its pairs relied on; None when
    there is none."""
    if len(gold) != len(pred):
        return None
    # Bipartite matching by augmenting paths; answer lists are short.
    verdicts = [[_equal(g, p, policy) for p in pred] for g in gold]
    edges = [[j for j, v in enumerate(row) if v.equal] for row in verdicts]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    if not all(augment(i, set()) for i in range(len(gold))):
        return None
    return _conventions_of(verdicts[i][j] for j, i in owner.items())


def _record(seq: Seq) -> dict[str, Value] | None:
    """`a = 1, b = 2` as {a: 1, b: 2} when every item assigns a distinct name."""
    names = {}
    for item in seq.items:
        if not (isinstance(item, Rel) and item.ops == ("=",) and item.names[0]):
            return None
        names[item.texts[0]] = item.parts[1]
    return names if len(names) == len(seq.items) else None


def _flatten_pm(value: Value) -> Value:
    """`a \\pm b` is the pair of values a + b, a - b."""
    if isinstance(value, Scalar) and value.expr.has(PM):
        items = tuple(Scalar(value.expr.subs(PM, s)) for s in (1, -1))
        return Seq("list", items)
    if isinstance(value, Seq) and value.kind in ("list", "set"):
        items: list[Value] = []
        for item in value.items:
            flat = _flatten_pm(item)
            items.extend(flat.items if isinstance(flat, Seq) and flat.kind == "list"
                         and isinstance(item, Scalar) else [flat])
        return Seq(value.kind, tuple(items))
    if isinstance(value, Rel):
        return replace(value, parts=tuple(_flatten_pm(p) for p in value.parts))
    return value


def _unwrap(value: Value, policy: GradingPolicy) -> Value:
    if isinstance(value, Rel):
        stated = _value_of(value, policy)
        if stated is not None:
            return stated
        if value.ops == ("in",):
            return value.parts[1]
    if isinstance(value, Seq) and len(value.items) == 1 and value.kind in ("list", "tuple"):
        return value.items[0]
    return value


def _all_equal(pairs: Iterable[tuple[Value, Value]], policy: GradingPolicy) -> _Verdict:
    """Whether every pair is equal; the conventions of all of them."""
    found: list[_Verdict] = []
    for g, p in pairs:
        verdict = _equal(g, p, policy)
        if not verdict.equal:
            return verdict
        found.append(verdict)
    return _Verdict(True, "", _conventions_of(found))


def _seqs_equal(gold: Seq, pred: Seq, policy: GradingPolicy) -> _Verdict:
    g_record, p_record = _record(gold), _record(pred)
    if g_record is not None and p_record is not None:
        if g_record.keys() == p_record.keys():
            verdict = _all_equal(((g_record[k], p_record[k]) for k in g_record), policy)
            return replace(verdict, how="the same assignments" if verdict.equal else "different assignments")
    g_items = tuple(_unwrap(i, policy) for i in gold.items)
    p_items = tuple(_unwrap(i, policy) for i in pred.items)
    g_items = tuple(_record_tuple(i) for i in g_items)
    p_items = tuple(_record_tuple(i) for i in p_items)
    ordered_kinds = {"tuple", "pair", "ratio"}
    if gold.kind == "ratio" or pred.kind == "ratio":
        if gold.kind != pred.kind:
            return _Verdict(False, "a ratio against another kind")
    if gold.kind == "set" and pred.kind in ordered_kinds or pred.kind == "set" and gold.kind in ordered_kinds:
        return _Verdict(False, "a set against a tuple")
    ordered = (gold.kind in ordered_kinds or pred.kind in ordered_kinds
               or (policy.ordered_lists and gold.kind == pred.kind == "list")
               or g_record is not None or p_record is not None)
    if ordered and len(g_items) != len(p_items):
        return _Verdict(False, f"{len(g_items)} items against {len(p_items)}")
    if ordered:
        verdict = _all_equal(zip(g_items, p_items), policy)
        if not verdict.equal and gold.kind == "ratio":
            return _ratio_equal(gold, pred, policy)
        return replace(verdict, how="the same items in order" if verdict.equal else "different items")
    # As sets, except for multiplicity: when the reference repeats an item (a double root listed
    # twice), the repeats count; when only the prediction does, the same solution written twice
    # counts once.
    conventions: tuple[Convention, ...] = ()
    if len(dict.fromkeys(g_items)) == len(g_items):
        unique = tuple(dict.fromkeys(p_items))
        if len(unique) < len(p_items):
            conventions = (Convention.REPEATS_ONCE,)
        p_items = unique
    if gold.kind == pred.kind == "list" and len(g_items) == len(p_items):
        in_order = _all_equal(zip(g_items, p_items), policy)
        if in_order.equal:
            return _relying(replace(in_order, how="the same items"), *conventions)
        conventions += (Convention.UNORDERED,)
    matched = _match_unordered(g_items, p_items, policy)
    if matched is None:
        return _Verdict(False, "different items")
    return _relying(_Verdict(True, "the same items", matched), *conventions)


def _record_tuple(value: Value) -> Value:
    if isinstance(value, Seq) and value.kind == "list":
        record = _record(value)
        if record is not None:
            return Seq("tuple", tuple(record.values()))
    return value


def _ratio_equal(gold: Seq, pred: Seq, policy: GradingPolicy) -> _Verdict:
    (a, b), (c, d) = gold.items, pred.items
    if all(isinstance(x, Scalar) for x in (a, b, c, d)) and b.expr != 0 and d.expr != 0:
        if _expressions_equal(a.expr * d.expr, b.expr * c.expr).equal:
            return _Verdict(True, "the same ratio")
    return _Verdict(False, "different ratios")


def _relations_equal(gold: Rel, pred: Rel, policy: GradingPolicy) -> _Verdict:
    if gold.ops == ("=",) and pred.ops == ("=",):
        if gold.names[0] and pred.names[0] and _norm_text(gold.texts[0]) == _norm_text(pred.texts[0]):
            verdict = _equal(gold.parts[1], pred.parts[1], policy)
            if verdict.equal:
                return replace(verdict, how="the same assignment")
        ga, pa = equation_expr(gold), equation_expr(pred)
        if ga is not None and pa is not None:
            if ga == pa:
                return _Verdict(True, "the same equation")
            try:
                ratio = sympy.simplify(ga / pa)
            except (TypeError, ValueError, ZeroDivisionError):
                ratio = None
            if ratio is not None and _is_constant(ratio) and ratio != 0 and ratio.is_finite:
                return _Verdict(True, "equivalent equations")
        return _Verdict(False, "different equations")
    if (gold.ops == ("in",) and pred.ops != ("in",) and not policy.inequality_for_interval):
        return _Verdict(False, "an inequality where the reference is an interval")
    ga, pa = _as_set(gold, policy), _as_set(pred, policy)
    if ga is not None and pa is not None:
        ok = _sets_equal(ga, pa)
        verdict = _Verdict(ok, "the same solution set" if ok else "different solution sets")
        if gold.ops == ("in",) and pred.ops != ("in",):
            verdict = _relying(verdict, Convention.INEQUALITY_FOR_INTERVAL)
        return verdict
    gn, pn = inequality_normal(gold), inequality_normal(pred)
    if gn is not None and pn is not None and gn[1] == pn[1]:
        ratio = sympy.simplify(gn[0] / pn[0])
        if _is_constant(ratio) and ratio.is_positive:
            return _Verdict(True, "equivalent inequalities")
    if _norm_text("".join(gold.texts) + "".join(gold.ops)) == _norm_text("".join(pred.texts) + "".join(pred.ops)):
        return _Verdict(True, "the same relation")
    return _Verdict(False, "different relations")


def _norm_text(text: str) -> str:
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal|mathit|operatorname)\s*\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\left|\\right|\\!|\\,|\\;|\\ |[\s$]", "", text)
    text = text.strip(".").lower()
    # A lone choice letter: `(C)`, `C)`, `C.`
    choice = re.fullmatch(r"\(?([a-e])\)?", text)
    return choice.group(1) if choice else text


def values_equal(gold: Value, pred: Value, policy: GradingPolicy = DEFAULT_POLICY) -> Equality:
    """Equivalence of two read values under ``policy``, with the reason and the conventions an
    "equal" relied on."""
    verdict = _equal(gold, pred, policy)
    return Equality(verdict.equal, verdict.how, _policy_text(verdict))


def _policy_text(verdict: _Verdict) -> str | None:
    if not verdict.equal or not verdict.conventions:
        return None
    return ", ".join(c.value for c in verdict.conventions)


def _equal(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict:
    return _compare(_flatten_pm(gold), _flatten_pm(pred), policy)


def _quantities_equal(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict:
    """A number with a unit against another, or against a value without one."""
    if isinstance(gold, Quantity) and isinstance(pred, Quantity):
        ratio = unit_factor(pred.unit, gold.unit)
        if ratio is None:
            return _Verdict(False, f"a {kind_name(gold.unit)} against a {kind_name(pred.unit)}")
        converted = pred.value if ratio == 1 else Scalar(
            pred.value.expr * sympy.Rational(ratio.numerator, ratio.denominator))
        verdict = _scalars_equal(gold.value, converted, policy)
        if verdict.equal:
            return replace(verdict, how=f"the same {kind_name(gold.unit)}")
        return _Verdict(False, f"different amounts of {kind_name(gold.unit)}")
    if not policy.strip_units:
        return _Verdict(False, "a number with a unit against one without")
    if isinstance(gold, Quantity):
        return _relying(_compare(gold.value, pred, policy), Convention.DROPPED_UNIT)
    return _relying(_compare(gold, pred.value, policy), Convention.DROPPED_UNIT)


def _times_equal(gold: Value, pred: Value) -> _Verdict:
    """A time of day against another, or against `14:30` (read as a ratio) on a 24-hour clock."""
    def minutes(value: Value) -> int | None:
        if isinstance(value, Time):
            return value.minutes
        if isinstance(value, Seq) and value.kind == "ratio" and all(
                isinstance(i, Scalar) and i.expr.is_Integer for i in value.items):
            hours, mins = (int(i.expr) for i in value.items)
            return hours * 60 + mins if 0 <= hours < 24 and 0 <= mins < 60 else None
        return None

    a, b = minutes(gold), minutes(pred)
    if a is None or b is None:
        return _Verdict(False, "a time of day against another kind")
    return _Verdict(a == b, "the same time of day" if a == b else "different times of day")


def _vector_equal(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict | None:
    """A matrix of one column or one row against a tuple of its entries, in order (a vector
    written either way); None when the two are not a vector and a tuple."""
    matrix, seq = (gold, pred) if isinstance(gold, Matrix) else (pred, gold)
    if not (isinstance(matrix, Matrix) and isinstance(seq, Seq) and seq.kind in ("tuple", "pair")):
        return None
    rows, columns = matrix.matrix.shape
    if 1 not in (rows, columns) or rows * columns != len(seq.items):
        return _Verdict(False, "a matrix against a tuple of another length")
    places = matrix.places or (None,) * len(matrix.matrix)
    entries = [Scalar(e, pl) for e, pl in zip(matrix.matrix, places)]
    pairs = zip(entries, seq.items) if matrix is gold else zip(seq.items, entries)
    verdict = _all_equal(pairs, policy)
    return replace(verdict, how="the same vector" if verdict.equal else "different vectors")


def _compare(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict:
    if isinstance(gold, Text) or isinstance(pred, Text):
        g = gold.text if isinstance(gold, Text) else to_text(gold)
        p = pred.text if isinstance(pred, Text) else to_text(pred)
        ok = _norm_text(g) == _norm_text(p)
        return _Verdict(ok, "the same text" if ok else "different text")
    if isinstance(gold, Time) or isinstance(pred, Time):
        return _times_equal(gold, pred)
    if isinstance(gold, Rel) and isinstance(pred, Rel):
        verdict = _relations_equal(gold, pred, policy)
        if verdict.equal:
            return verdict
        g_value, p_value = _value_of(gold, policy), _value_of(pred, policy)
        if g_value is not None and p_value is not None and (len(gold.parts) > 2 or len(pred.parts) > 2):
            return _compare(g_value, p_value, policy)
        return verdict
    # Interval-like against inequality-like, in the direction the policy allows.
    if _is_inequality(gold) or _is_inequality(pred):
        gold_rel = _is_inequality(gold)
        if gold_rel or policy.inequality_for_interval or (isinstance(gold, Rel) and gold.ops == ("in",)):
            g_set = _as_set(_pair_interval(gold), policy)
            p_set = _as_set(_pair_interval(pred), policy)
            if isinstance(pred, Rel) and pred.ops == ("in",) and not gold_rel:
                return _compare(gold, pred.parts[1], policy)
            if g_set is not None and p_set is not None:
                ok = _sets_equal(g_set, p_set)
                verdict = _Verdict(ok, "the same set" if ok else "different sets")
                return verdict if gold_rel else _relying(verdict, Convention.INEQUALITY_FOR_INTERVAL)
        elif isinstance(pred, Rel) and pred.ops == ("in",):
            return _compare(gold, pred.parts[1], policy)
        return _Verdict(False, "an inequality against an interval")
    if isinstance(gold, Rel) or isinstance(pred, Rel):
        g = _unwrap(gold, policy) if isinstance(gold, Rel) else gold
        p = _unwrap(pred, policy) if isinstance(pred, Rel) else pred
        if isinstance(g, Rel) or isinstance(p, Rel):
            return _Verdict(False, "an equation against a value")
        return _relying(_compare(g, p, policy), Convention.DROPPED_NAME)
    if isinstance(gold, Quantity) or isinstance(pred, Quantity):
        return _quantities_equal(gold, pred, policy)
    vector = _vector_equal(gold, pred, policy)
    if vector is not None:
        return vector
    if isinstance(gold, Seq) and isinstance(pred, Seq):
        return _seqs_equal(gold, pred, policy)
    if isinstance(gold, (Interval, SetUnion)) or isinstance(pred, (Interval, SetUnion)):
        g = _pair_interval(gold) if isinstance(gold, Seq) else gold
        p = _pair_interval(pred) if isinstance(pred, Seq) else pred
        if isinstance(g, Seq) or isinstance(p, Seq):
            g_set, p_set = _as_set(g, policy), _as_set(p, policy)
            if g_set is not None and p_set is not None and _sets_equal(g_set, p_set):
                return _Verdict(True, "the same set")
            return _Verdict(False, "a set against a sequence")
        verdict = _intervals_equal(g, p, policy)
        if verdict is not None:
            return verdict
        g_set, p_set = _as_set(g, policy), _as_set(p, policy)
        if g_set is None or p_set is None:
            return _Verdict(False, "an interval against a value")
        ok = _sets_equal(g_set, p_set)
        return _Verdict(ok, "the same set" if ok else "different sets")
    if isinstance(gold, Seq) or isinstance(pred, Seq):
        seq, other = (gold, pred) if isinstance(gold, Seq) else (pred, gold)
        if len(seq.items) == 1 and seq.kind != "set":
            return _compare(*((seq.items[0], other) if seq is gold else (other, seq.items[0])), policy)
        return _Verdict(False, "a sequence against a single value")
    if isinstance(gold, Matrix) and isinstance(pred, Matrix):
        if gold.matrix.shape != pred.matrix.shape:
            return _Verdict(False, "matrices of different shapes")
        g_places = gold.places or (None,) * len(gold.matrix)
        p_places = pred.places or (None,) * len(pred.matrix)
        verdict = _all_equal(((Scalar(a, ga), Scalar(b, pb)) for a, b, ga, pb
                              in zip(gold.matrix, pred.matrix, g_places, p_places)), policy)
        return replace(verdict, how="the same matrix" if verdict.equal else "different matrices")
    if isinstance(gold, Matrix) or isinstance(pred, Matrix):
        return _Verdict(False, "a matrix against a non-matrix")
    if isinstance(gold, Scalar) and isinstance(pred, Scalar):
        return _scalars_equal(gold, pred, policy)
    return _Verdict(False, "values of different kinds")


def _is_inequality(value: Value) -> bool:
    """A relation other than an equation, or a list of them joined by "or"."""
    if isinstance(value, Seq) and value.kind == "list":
        return _inequality_list_set(value) is not None
    return isinstance(value, Rel) and value.ops[0] not in ("=", "≈")


def _pair_interval(value: Value) -> Value:
    """`(a, b)` read as the open interval it may also mean."""
    if isinstance(value, Seq) and value.kind == "pair":
        lo, hi = value.items
        if isinstance(lo, Scalar) and isinstance(hi, Scalar):
            return Interval(lo, hi, True, True)
    return value


# ============================================================================================
# Public comparison
# ============================================================================================

def compare_texts(gold: str, pred: str, policy: GradingPolicy = DEFAULT_POLICY) -> Equality:
    """``answers_equal`` without the time bound: call it only inside a bounded worker."""
    gold_answer = extract_answer(gold, True)
    if gold_answer is None:
        return Equality(False, "no answer found in the reference")
    # A word answer (`\text{yes}`, `Evelyn`) may be stated in words: "The answer is yes."
    pred_answer = extract_answer(pred, policy.prose_numbers, words=_is_textual(gold_answer))
    if pred_answer is None:
        return Equality(False, "no answer found in the prediction")
    both = f"{_short(gold_answer)} and {_short(pred_answer)}"
    if _norm_text(clean(gold_answer)) == _norm_text(clean(pred_answer)):
        return Equality(True, "the same answer text")
    choice = _choices_equal(gold_answer, pred_answer, policy)
    if choice is not None:
        return Equality(choice.equal, f"{choice.how}: {both}", _policy_text(choice))
    try:
        golds = _readings(gold_answer, policy)
    except ParseError as error:
        return Equality(False, f"cannot read the reference {_short(gold_answer)}: {error}")
    try:
        preds = _readings(pred_answer, policy)
    except ParseError as error:
        return Equality(False, f"cannot read the prediction {_short(pred_answer)}: {error}")
    last = _Verdict(False, "different")
    for g, g_conventions in golds:
        for p, p_conventions in preds:
            g, p, j_conventions = _imaginary_j(g, p, policy)
            verdict = _relying(_equal(g, p, policy), *g_conventions, *p_conventions, *j_conventions)
            if verdict.equal:
                return Equality(True, f"{verdict.how}: {both}", _policy_text(verdict))
            last = verdict
    return Equality(False, f"{last.how}: {both}")


def _readings(answer: str, policy: GradingPolicy) -> list[tuple[Value, tuple[Convention, ...]]]:
    """``read_answer``, each reading with the convention it relies on (a decimal comma)."""
    spelled = _spellings(answer, policy)
    readings = read_answer(answer, policy)
    if len(readings) == len(spelled) == 2:
        return [(readings[0], ()), (readings[1], (Convention.DECIMAL_COMMA,))]
    return [(r, ()) for r in readings]


_J = sympy.Symbol("j")


def _map_scalars(value: Value, change) -> Value:
    if isinstance(value, Scalar):
        return Scalar(change(value.expr), value.places)
    if isinstance(value, Seq):
        return Seq(value.kind, tuple(_map_scalars(i, change) for i in value.items))
    if isinstance(value, Rel):
        return replace(value, parts=tuple(_map_scalars(p, change) for p in value.parts))
    return value


def _symbols_of(value: Value) -> set:
    found: set = set()
    _map_scalars(value, lambda e: found.update(e.atoms(sympy.Symbol, type(sympy.I))) or e)
    return found


def _imaginary_j(gold: Value, pred: Value, policy: GradingPolicy
                 ) -> tuple[Value, Value, tuple[Convention, ...]]:
    """With ``imaginary_j``: `j` on one side is the imaginary unit when the other side writes
    `i` and no `j`."""
    if not policy.imaginary_j:
        return gold, pred, ()
    g_symbols, p_symbols = _symbols_of(gold), _symbols_of(pred)
    to_i = lambda e: e.subs(_J, sympy.I)  # noqa: E731
    if _J in p_symbols and sympy.I in g_symbols and _J not in g_symbols and sympy.I not in p_symbols:
        return gold, _map_scalars(pred, to_i), (Convention.IMAGINARY_J,)
    if _J in g_symbols and sympy.I in p_symbols and _J not in p_symbols and sympy.I not in g_symbols:
        return _map_scalars(gold, to_i), pred, (Convention.IMAGINARY_J,)
    return gold, pred, ()


# `(A)`, `\textbf{(A) }`, `\text{(A)}`, `A)`: a multiple-choice letter, with what follows it.
_CHOICE = re.compile(
    r"\s*(?:\\(?:text|textbf|mathrm|mbox|textnormal)\s*\{\s*)?\(\s*([A-Ea-e])\s*\)\s*\}?\s*(.*?)\s*",
    re.DOTALL)


def _choices_equal(gold: str, pred: str, policy: GradingPolicy) -> _Verdict | None:
    """A choice letter with its value (`(A) 2\\sqrt{3}`) against the letter alone: the letters
    decide. None unless one side is a choice letter followed by a value."""
    g, p = _CHOICE.fullmatch(clean(gold)), _CHOICE.fullmatch(clean(pred))
    if not (g and g.group(2) or p and p.group(2)):
        return None
    if g and p:
        ok = g.group(1).lower() == p.group(1).lower()
        return _Verdict(ok, "the same choice" if ok else "different choices",
                        (Convention.CHOICE_LETTER,) if ok else ())
    # One side is a letter with its value, the other no letter: compare the values.
    lettered, other = (g, pred) if g else (p, gold)
    letter = re.fullmatch(r"\s*\(?([A-Ea-e])\)?\s*", _norm_text(clean(other)))
    if letter:
        ok = letter.group(1).lower() == lettered.group(1).lower()
        return _Verdict(ok, "the same choice" if ok else "different choices",
                        (Convention.CHOICE_LETTER,) if ok else ())
    try:
        values = read_answer(lettered.group(2), policy)
        others = read_answer(other, policy)
    except ParseError:
        return None
    for a in values:
        for b in others:
            verdict = _equal(b, a, policy) if g else _equal(a, b, policy)
            if verdict.equal:
                return _relying(verdict, Convention.CHOICE_LETTER)
    return _Verdict(False, "a choice whose value differs")


def _is_textual(answer: str) -> bool:
    """Whether an extracted answer is words (`\\text{yes}`, `Evelyn`, `no solution`), not math."""
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal)\s*\{([^{}]*)\}", r"\1", clean(answer))
    text = text.strip().strip("$").strip().rstrip(".")
    # Three letters at least: `x` or `ab` is math, and a lone letter was found already.
    return bool(re.fullmatch(r"[A-Za-z]+(?:[ '’-][A-Za-z]+)*", text)) and len(re.findall(r"[A-Za-z]", text)) >= 3


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _bounded_result(outcome, timeout_s: float) -> Equality:
    if outcome.timed_out:
        return Equality(False, f"timed out after {timeout_s:g}s")
    if outcome.error:
        return Equality(False, f"checker error: {outcome.error}")
    return outcome.value


def answers_equal(
    gold: str, pred: str, policy: GradingPolicy = DEFAULT_POLICY, timeout_s: float = 5.0
) -> Equality:
    """Whether ``pred`` (an answer or a whole solution) states the answer ``gold`` states.

    Runs in a worker process of the default bounded pool; a comparison that takes longer than
    ``timeout_s`` seconds is killed and reported as not equal, with the reason.
    """
    from .bounded import default_pool

    outcome = default_pool().run(compare_texts, gold, pred, policy, timeout_s=timeout_s)
    return _bounded_result(outcome, timeout_s)


def answers_equal_many(
    pairs: Sequence[tuple[str, str]], policy: GradingPolicy = DEFAULT_POLICY,
    timeout_s: float = 5.0, progress=None,
) -> list[Equality]:
    """``answers_equal`` for many (gold, pred) pairs: batched round trips, each pair bounded."""
    from .bounded import default_pool

    outcomes = default_pool().map(
        compare_texts, [(g, p, policy) for g, p in pairs], timeout_s=timeout_s, progress=progress)
    return [_bounded_result(o, timeout_s) for o in outcomes]


async def answers_equal_async(
    gold: str, pred: str, policy: GradingPolicy = DEFAULT_POLICY, timeout_s: float = 5.0
) -> Equality:
    """``answers_equal`` for asyncio code: the event loop keeps running while sympy works."""
    from .bounded import default_pool

    outcome = await default_pool().run_async(compare_texts, gold, pred, policy, timeout_s=timeout_s)
    return _bounded_result(outcome, timeout_s)


async def answers_equal_many_async(
    pairs: Sequence[tuple[str, str]], policy: GradingPolicy = DEFAULT_POLICY, timeout_s: float = 5.0
) -> list[Equality]:
    from .bounded import default_pool

    outcomes = await default_pool().map_async(
        compare_texts, [(g, p, policy) for g, p in pairs], timeout_s=timeout_s)
    return [_bounded_result(o, timeout_s) for o in outcomes]
