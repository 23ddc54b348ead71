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
from typing import Iterable, Literal, Sequence

import sympy

from .extraction import extract_answer
from .reading import (
    DEGREE, PERCENT, PM, Interval, Matrix, ParseError, ReadOptions, Rel, Scalar, Seq, SetUnion,
    Text, Value, clean, equation_expr, inequality_normal, read, relation_set, to_text,
)


__all__ = [
    "DEFAULT_POLICY", "Equality", "GradingPolicy", "answers_equal", "answers_equal_async",
    "answers_equal_many", "answers_equal_many_async", "compare_texts", "extract_answer",
    "read_answer", "values_equal",
    # Reading, re-exported for wizardmath.steps.
    "DEGREE", "PERCENT", "PM", "ParseError", "ReadOptions", "Rel", "Scalar", "Seq", "clean", "read",
]


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
    # Units after a number (`5 cm`, `3\text{ hours}`) are dropped.
    strip_units: bool = True
    # `30^\circ` also matches `\pi/6` (it always matches 30).
    degrees_as_radians: bool = False
    # An inequality matches the interval it describes when the reference is an interval. (An
    # interval always matches a reference written as an inequality.) Off: questions that give
    # interval answers usually ask for interval notation.
    inequality_for_interval: bool = False
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


DEFAULT_POLICY = GradingPolicy()


@dataclass(frozen=True)
class Equality:
    equal: bool
    reason: str


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


def _is_constant(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Expr) and not expr.free_symbols


def _numeric_value(expr: sympy.Expr, digits: int = 60) -> sympy.Expr | None:
    try:
        value = sympy.N(expr, digits)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value.is_number else None


def _scalar_readings(scalar: Scalar, policy: GradingPolicy) -> list[Scalar]:
    """Replace the percent, degree and plus-minus markers by what they may mean."""
    expr = scalar.expr
    readings = [scalar]
    if expr.has(PERCENT):
        options = {"either": [1, sympy.Rational(1, 100)], "number": [1],
                   "fraction": [sympy.Rational(1, 100)]}[policy.percent]
        readings = [
            Scalar(expr.subs(PERCENT, factor),
                   None if scalar.places is None else scalar.places + (2 if factor != 1 else 0))
            for factor in options
        ]
    if expr.has(DEGREE):
        factors = [1, sympy.pi / 180] if policy.degrees_as_radians else [1]
        readings = [Scalar(r.expr.subs(DEGREE, f), r.places if f == 1 else None)
                    for r in readings for f in factors]
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
            return _Verdict(True, f"the reference is the prediction rounded to {gold.places} places")
        if (pred.places is not None and pred.places >= policy.min_rounded_places
                and _significant_digits(pred) >= digits and _rounds_to(pred, a, pred.places)):
            return _Verdict(True, f"the prediction is the reference rounded to {pred.places} places")
    if policy.rel_tol > 0:
        va, vb = _numeric_value(a), _numeric_value(b)
        if va is not None and vb is not None and abs(va - vb) <= policy.rel_tol * max(abs(va), abs(vb)):
            return _Verdict(True, f"within relative tolerance {policy.rel_tol}")
    return _Verdict(False, "different numbers")


def _random_points(symbols: Iterable[sympy.Symbol], count: int = 3) -> list[dict]:
    import random

    rng = random.Random(20261121)
    symbols = list(symbols)
    return [{s: sympy.Rational(rng.randint(7, 97), rng.randint(3, 29)) for s in symbols}
            for _ in range(count)]


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
        # Random substitution rejects quickly; a difference that vanishes at every point still
        # has to be proven zero by simplify (or agree to many digits) before we say equal.
        for point in _random_points(symbols):
            value = _numeric_value(difference.subs(point), 50)
            if value is None:
                break
            scale = _numeric_value(a.subs(point), 50)
            if scale is None or abs(value) > (abs(scale) + 1) * sympy.Float(10) ** (-30):
                return _Verdict(False, "different expressions")
    if sympy.simplify(difference) == 0:
        return _Verdict(True, "equal after simplification")
    if plain and symbols:
        return _Verdict(True, "equal at random points to 30 digits")
    return _Verdict(False, "different expressions")


def _scalars_equal(gold: Scalar, pred: Scalar, policy: GradingPolicy) -> _Verdict:
    best = _Verdict(False, "different values")
    for g in _scalar_readings(gold, policy):
        for p in _scalar_readings(pred, policy):
            if isinstance(g.expr, sympy.MatrixBase) or isinstance(p.expr, sympy.MatrixBase):
                return _Verdict(False, "a matrix against a scalar")
            if _is_constant(g.expr) and _is_constant(p.expr):
                verdict = _numbers_equal(g, p, policy)
            else:
                verdict = _expressions_equal(g.expr, p.expr)
                if not verdict.equal and policy.rename_symbols:
                    verdict = _renamed_equal(g.expr, p.expr)
            if verdict.equal:
                return verdict
            best = verdict
    return best


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
    if isinstance(value, Rel):
        if value.ops == ("in",):
            return _as_set(_pair_interval(value.parts[1]), policy)
        return relation_set(value)
    return None


def _sets_equal(a: sympy.Set, b: sympy.Set) -> bool:
    if a == b:
        return True
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
    for a, b in zip(sorted(gi, key=Interval.sort_key), sorted(pi, key=Interval.sort_key)):
        if (a.left_open, a.right_open) != (b.left_open, b.right_open):
            return _Verdict(False, "different interval ends")
        for x, y in ((a.lo, b.lo), (a.hi, b.hi)):
            if not _scalars_equal(x, y, policy).equal:
                return _Verdict(False, "different interval ends")
    return _Verdict(True, "the same interval")


def _match_unordered(gold: Sequence[Value], pred: Sequence[Value], policy: GradingPolicy) -> bool:
    if len(gold) != len(pred):
        return False
    # Bipartite matching by augmenting paths; answer lists are short.
    edges = [[j for j, p in enumerate(pred) if values_equal(g, p, policy).equal] for g in gold]
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

    return all(augment(i, set()) for i in range(len(gold)))


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


def _seqs_equal(gold: Seq, pred: Seq, policy: GradingPolicy) -> _Verdict:
    g_record, p_record = _record(gold), _record(pred)
    if g_record is not None and p_record is not None:
        if g_record.keys() == p_record.keys():
            ok = all(values_equal(g_record[k], p_record[k], policy).equal for k in g_record)
            return _Verdict(ok, "the same assignments" if ok else "different assignments")
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
        ok = all(values_equal(g, p, policy).equal for g, p in zip(g_items, p_items))
        if not ok and gold.kind == "ratio":
            return _ratio_equal(gold, pred, policy)
        return _Verdict(ok, "the same items in order" if ok else "different items")
    # As sets: a repeated item (the same solution listed twice) counts once.
    g_items, p_items = tuple(dict.fromkeys(g_items)), tuple(dict.fromkeys(p_items))
    ok = _match_unordered(g_items, p_items, policy)
    return _Verdict(ok, "the same items" if ok else "different items")


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
            if values_equal(gold.parts[1], pred.parts[1], policy).equal:
                return _Verdict(True, "the same assignment")
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
        return _Verdict(ok, "the same solution set" if ok else "different solution sets")
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
    """Equivalence of two read values under ``policy``, with the reason."""
    gold, pred = _flatten_pm(gold), _flatten_pm(pred)
    verdict = _compare(gold, pred, policy)
    return Equality(verdict.equal, verdict.how)


def _compare(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict:
    if isinstance(gold, Text) or isinstance(pred, Text):
        g = gold.text if isinstance(gold, Text) else to_text(gold)
        p = pred.text if isinstance(pred, Text) else to_text(pred)
        ok = _norm_text(g) == _norm_text(p)
        return _Verdict(ok, "the same text" if ok else "different text")
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
        gold_rel = isinstance(gold, Rel)
        if gold_rel or policy.inequality_for_interval or (isinstance(gold, Rel) and gold.ops == ("in",)):
            g_set = _as_set(gold if not isinstance(gold, Seq) else _pair_interval(gold), policy)
            p_set = _as_set(pred if not isinstance(pred, Seq) else _pair_interval(pred), policy)
            if isinstance(pred, Rel) and pred.ops == ("in",) and not gold_rel:
                return _compare(gold, pred.parts[1], policy)
            if g_set is not None and p_set is not None:
                ok = _sets_equal(g_set, p_set)
                return _Verdict(ok, "the same set" if ok else "different sets")
        elif isinstance(pred, Rel) and pred.ops == ("in",):
            return _compare(gold, pred.parts[1], policy)
        return _Verdict(False, "an inequality against an interval")
    if isinstance(gold, Rel) or isinstance(pred, Rel):
        g = _unwrap(gold, policy) if isinstance(gold, Rel) else gold
        p = _unwrap(pred, policy) if isinstance(pred, Rel) else pred
        if isinstance(g, Rel) or isinstance(p, Rel):
            return _Verdict(False, "an equation against a value")
        return _compare(g, p, policy)
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
        ok = all(_scalars_equal(Scalar(a, ga), Scalar(b, pb), policy).equal
                 for a, b, ga, pb in zip(gold.matrix, pred.matrix, g_places, p_places))
        return _Verdict(ok, "the same matrix" if ok else "different matrices")
    if isinstance(gold, Matrix) or isinstance(pred, Matrix):
        return _Verdict(False, "a matrix against a non-matrix")
    if isinstance(gold, Scalar) and isinstance(pred, Scalar):
        return _scalars_equal(gold, pred, policy)
    return _Verdict(False, "values of different kinds")


def _is_inequality(value: Value) -> bool:
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
    if _norm_text(clean(gold_answer)) == _norm_text(clean(pred_answer)):
        return Equality(True, "the same answer text")
    try:
        golds = read_answer(gold_answer, policy)
    except ParseError as error:
        return Equality(False, f"cannot read the reference {_short(gold_answer)}: {error}")
    try:
        preds = read_answer(pred_answer, policy)
    except ParseError as error:
        return Equality(False, f"cannot read the prediction {_short(pred_answer)}: {error}")
    last = Equality(False, "different")
    for g in golds:
        for p in preds:
            verdict = values_equal(g, p, policy)
            if verdict.equal:
                return Equality(True, f"{verdict.reason}: {_short(gold_answer)} and {_short(pred_answer)}")
            last = verdict
    return Equality(False, f"{last.reason}: {_short(gold_answer)} and {_short(pred_answer)}")


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
