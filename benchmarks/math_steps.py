"""How well the step checker reads real solutions, and what its verdicts are worth.

    python benchmarks/math_steps.py [--workers 2] [--units]

Three measurements, all from ../shared/data:

- GSM8K test lines in prose: every solution line of the GSM8K test set that shows a claim (an
  `=`) once its calculator annotations are removed, the way a model writes it ("80 GB / 2
  GB/minute = 40 minutes"), and its falsified twin (the result shown after the first annotation
  made wrong: integers + 1, decimals + 0.5). Goals: at least 90% of the true lines judged "claims
  true", at least 90% of the twins "a claim is false", and no true line "a claim is false".
- PRM800K phase-1 test: the 5,082 human-rated steps, each checked alone. "Precision" is the share
  of steps found "a claim is false" that humans rated -1 (goal: at least 0.9); "coverage" the
  share of steps with anything checked. The ratings of steps found "claims true" are listed too,
  which is why that finding is never a label by itself.
- With --units: the same GSM8K lines read three ways: our hand-written reading of units
  (``wizardmath.prose``), pint (0.25; ``pip install pint==0.25``, not a project dependency) and
  sympy.physics.units. The library readers find each claim as the longest text around an `=`
  that the library can read, with its units; unknown words are not quantities to pint or sympy,
  so a second pint reader defines each unknown word as a unit of its own dimension. A dimension
  mismatch between the sides counts as "a claim is false", which is what a units library says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
TRUE, FALSE, NOTHING = "claims true", "a claim is false", "nothing to check"


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def gsm8k_lines() -> tuple[list[str], list[str]]:
    sys.path.insert(0, str(REPO))
    from tests.wizardmath.test_steps import gsm8k_plain_lines  # the same lines and twins as the test

    return gsm8k_plain_lines(load("gsm8k_test.jsonl"))


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.1%})" if whole else "0/0"


# -- ours --------------------------------------------------------------------------------------


def ours_gsm8k(workers: int) -> list[str]:
    from wizardmath.bounded import configure_default_pool
    from wizardmath.steps import check_many

    configure_default_pool(workers)
    lines, twins = gsm8k_lines()
    check_many([lines[:50]], timeout_s=10.0)  # warm the workers
    started = time.perf_counter()
    true_results, twin_results = check_many([lines, twins], timeout_s=10.0)
    seconds = time.perf_counter() - started
    found = [v.verdict for v in true_results]
    caught = [v.verdict for v in twin_results]
    return [
        "| GSM8K test lines in prose | value |",
        "|---|---|",
        f"| true lines judged claims true (goal >= 90%) | {share(found.count(TRUE), len(found))} |",
        f"| true lines judged a claim is false (goal 0) | {found.count(FALSE)} |",
        f"| true lines with nothing to check | {found.count(NOTHING)} |",
        f"| falsified twins judged a claim is false (goal >= 90%) | {share(caught.count(FALSE), len(caught))} |",
        f"| falsified twins judged claims true | {caught.count(TRUE)} |",
        f"| precision of a claim is false over both | {caught.count(FALSE) / max(1, caught.count(FALSE) + found.count(FALSE)):.3f} |",
        f"| lines/s ({workers} worker{'s' if workers > 1 else ''}) | {(len(lines) + len(twins)) / seconds:,.0f} |",
    ]


def ours_prm800k(workers: int) -> list[str]:
    from collections import Counter

    from wizardmath.bounded import configure_default_pool
    from wizardmath.steps import check_many

    configure_default_pool(workers)
    rows = [r for r in load("prm800k_phase1_test_stepwise_critic.jsonl") if r["rating"] is not None]
    (results,) = check_many([[r["next_response"] for r in rows]], timeout_s=10.0)
    false_ratings = Counter(r["rating"] for r, v in zip(rows, results) if v.verdict == FALSE)
    true_ratings = Counter(r["rating"] for r, v in zip(rows, results) if v.verdict == TRUE)
    flagged = sum(false_ratings.values())
    checked = sum(v.verdict != NOTHING for v in results)
    return [
        "| PRM800K phase-1 test steps | value |",
        "|---|---|",
        f"| steps | {len(rows)} |",
        f"| coverage: steps with something checked (goal toward 10%) | {share(checked, len(rows))} |",
        f"| found a claim is false | {flagged} (humans: {false_ratings[-1]} rated -1, {false_ratings[0]} rated 0, {false_ratings[1]} rated +1) |",
        f"| precision of a claim is false (goal >= 0.9) | {false_ratings[-1] / max(1, flagged):.3f} |",
        f"| found claims true | {sum(true_ratings.values())} (humans: {true_ratings[1]} rated +1, {true_ratings[0]} rated 0, {true_ratings[-1]} rated -1) |",
    ]


# -- units libraries ---------------------------------------------------------------------------

# The library readers compare magnitudes within this relative tolerance (for the rounded results
# solutions write); ours applies the rounding policy of docs/math-grading.md.
RELATIVE = 0.005
_SIDE_TOKEN = re.compile(r"\$?\d[\d,]*(?:\.\d+)?%?|[A-Za-z]+|[-+*/x×()]")


def _sides(line: str) -> list[tuple[list[str], list[str]]]:
    """Token lists before and after each `=` of a line (money signs and commas dropped)."""
    parts = line.split("=")
    return [(_SIDE_TOKEN.findall(parts[i]), _SIDE_TOKEN.findall(parts[i + 1])) for i in range(len(parts) - 1)]


def _expression(tokens: list[str]) -> str:
    out = []
    for token in tokens:
        token = token.replace("$", "").replace(",", "").replace("×", "*")
        if token == "x":
            token = "*"
        if token.endswith("%"):
            token = f"({token[:-1]}/100)"
        out.append(token)
    return " ".join(out)


def _has_operator(tokens: list[str]) -> bool:
    return any(t in "+-*/x×" for t in tokens[1:])


def library_reader(parse: Callable[[str], object], equal: Callable[[object, object], bool | None]
                   ) -> Callable[[str], str]:
    """A step checker built on a units library: for each `=`, the longest readable token run
    ending at it (with an operator) against the longest readable run starting after it."""

    def read_longest(candidates: list[list[str]]) -> object | None:
        for tokens in candidates:
            try:
                return parse(_expression(tokens))
            except Exception:
                continue
        return None

    def check(line: str) -> str:
        verdicts = []
        for left, right in _sides(line):
            lefts = [left[i:] for i in range(len(left)) if _has_operator(left[i:]) and re.match(r"\$?\d", left[i])]
            rights = [right[:j] for j in range(len(right), 0, -1) if re.match(r"\$?\d", right[0])]
            a, b = read_longest(lefts), read_longest(rights)
            if a is None or b is None:
                continue
            same = equal(a, b)
            if same is not None:
                verdicts.append(same)
        if any(v is False for v in verdicts):
            return FALSE
        return TRUE if verdicts else NOTHING

    return check


def pint_readers() -> dict[str, Callable[[str], str]]:
    import pint

    registry = pint.UnitRegistry()

    def pint_equal(a, b) -> bool | None:
        qa, qb = registry.Quantity(a), registry.Quantity(b)
        if qa.dimensionality != qb.dimensionality:
            return False
        va, vb = qa.to_base_units().magnitude, qb.to_base_units().magnitude
        return abs(va - vb) <= RELATIVE * max(abs(va), abs(vb))

    open_registry = pint.UnitRegistry()

    def parse_open(text: str):
        for word in re.findall(r"[A-Za-z]+", text):
            try:
                open_registry.parse_units(word)
            except Exception:
                open_registry.define(f"{word} = [{word}]")
        return open_registry.parse_expression(text)

    def open_equal(a, b) -> bool | None:
        qa, qb = open_registry.Quantity(a), open_registry.Quantity(b)
        if qa.dimensionality != qb.dimensionality:
            return False
        va, vb = qa.to_base_units().magnitude, qb.to_base_units().magnitude
        return abs(va - vb) <= RELATIVE * max(abs(va), abs(vb))

    return {
        f"pint {pint.__version__}": library_reader(registry.parse_expression, pint_equal),
        f"pint {pint.__version__}, unknown words as units": library_reader(parse_open, open_equal),
    }


def sympy_units_reader() -> Callable[[str], str]:
    import sympy
    from sympy.parsing.sympy_parser import implicit_multiplication, parse_expr, standard_transformations
    from sympy.physics import units

    def unit(word: str):
        for name in (word, word.lower(), word.rstrip("s"), word.lower().rstrip("s")):
            found = getattr(units, name, None)
            if isinstance(found, units.Quantity):
                return found
        raise ValueError(word)

    def parse(text: str):
        names = {word: unit(word) for word in re.findall(r"[A-Za-z]+", text)}
        return parse_expr(text, local_dict=names, transformations=(*standard_transformations, implicit_multiplication))

    def equal(a, b) -> bool | None:
        base = [units.meter, units.second, units.kilogram, units.ampere, units.kelvin, units.mole, units.candela]
        if b == 0:
            return None
        ratio = units.convert_to(sympy.sympify(a) / b, base)
        if ratio.free_symbols:
            return None
        if not ratio.is_number:
            return False  # the sides have different dimensions
        return abs(float(ratio) - 1) <= RELATIVE

    return library_reader(parse, equal)


def units_comparison(workers: int) -> list[str]:
    from wizardmath.bounded import configure_default_pool
    from wizardmath.steps import check_many

    configure_default_pool(workers)
    lines, twins = gsm8k_lines()
    readers: dict[str, Callable[[list[str]], list[str]]] = {
        "ours (hand-written, wizardmath.prose), 1 process": lambda items: [
            v.verdict for v in check_many([items], timeout_s=10.0)[0]],
    }
    try:
        for name, reader in pint_readers().items():
            readers[name] = lambda items, reader=reader: [reader(item) for item in items]
    except ImportError:
        print("pint is not installed (pip install pint==0.25); its rows are skipped", file=sys.stderr)
    sympy_reader = sympy_units_reader()
    readers["sympy.physics.units"] = lambda items: [sympy_reader(item) for item in items]
    configure_default_pool(1)
    table = [
        "| reader | true lines claims true | true lines a claim is false | twins a claim is false | lines/s |",
        "|---|---|---|---|---|",
    ]
    for name, read in readers.items():
        started = time.perf_counter()
        found, caught = read(lines), read(twins)
        rate = (len(lines) + len(twins)) / (time.perf_counter() - started)
        table.append(f"| {name} | {share(found.count(TRUE), len(found))} | {found.count(FALSE)} "
                     f"| {share(caught.count(FALSE), len(caught))} | {rate:,.0f} |")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--units", action="store_true", help="also compare with pint and sympy.physics.units")
    args = parser.parse_args()
    lines = [f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}", ""]
    lines += ours_gsm8k(args.workers) + [""] + ours_prm800k(args.workers)
    if args.units:
        lines += [""] + units_comparison(args.workers)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
