"""`evol math equal` and `evol math steps`: the checkers over JSONL, for people and pipelines.

Both read JSONL from a file or stdin and write one JSON line per input line, in input order. A
malformed line gets an answer saying so instead of stopping the run: a long batch should not die
on line 90,000.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterator

import click

from .answers import GradingPolicy
from .bounded import pool_scope

# Lines handled per batch: big enough to keep the workers busy, small enough to stream output.
BATCH_LINES = 2000


@dataclass(frozen=True)
class _Line:
    number: int
    record: dict | None  # None when the line is not a JSON object
    error: str | None


def _read_lines(stream: BinaryIO) -> Iterator[_Line]:
    # Read as bytes: a line that is not UTF-8 is that line's error, not the end of the command.
    for number, data in enumerate(stream, start=1):
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as error:
            yield _Line(number, None, f"line {number} is not UTF-8 (byte 0x{data[error.start]:02x} at byte {error.start + 1})")
            continue
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            yield _Line(number, None, f"line {number} is not JSON: {error.msg}")
            continue
        if not isinstance(record, dict):
            yield _Line(number, None, f"line {number} is not a JSON object")
            continue
        yield _Line(number, record, None)


def _batches(lines: Iterator[_Line], size: int) -> Iterator[list[_Line]]:
    batch: list[_Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _emit(value: dict) -> None:
    click.echo(json.dumps(value, ensure_ascii=False))


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when stderr is a terminal; a no-op otherwise (pipes, CI, tests)."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda n: progress.advance(task, n)


def _pool_options(function: Callable) -> Callable:
    function = click.option(
        "--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
        help="Seconds allowed per pair (equal) or per step (steps); a check that runs longer is "
        "killed and reported as such.",
    )(function)
    function = click.option(
        "--workers", type=click.IntRange(min=1), default=None,
        help="Worker processes [default: number of CPUs, at most 4].",
    )(function)
    return function


@click.group("math", context_settings={"help_option_names": ["-h", "--help"]})
def math_group() -> None:
    """Check math with sympy: final answers against references, and solution steps.

    Every check runs in a worker process with a time limit, so no input can hang a run.
    """


@math_group.command("equal")
@click.argument("source", type=click.File("rb"), default="-", metavar="[FILE|-]")
@click.option("--percent", type=click.Choice(["either", "number", "fraction"]), default="either",
              show_default=True, help="What 28% matches: 28 and 0.28, only 28, or only 0.28.")
@click.option("--rel-tol", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Relative tolerance between two numbers (0: exact, apart from rounding).")
@click.option("--rounding/--no-rounding", default=True, show_default=True,
              help="Accept a decimal that is the other side correctly rounded to its digits.")
@click.option("--min-rounded-places", type=click.IntRange(min=0), default=2, show_default=True,
              help="Digits after the point a predicted decimal needs to stand for an exact reference.")
@click.option("--min-significant-digits", type=click.IntRange(min=1), default=3, show_default=True,
              help="Significant digits a decimal needs to stand for a value it does not equal "
              "exactly (0.33 is not 1/3; 0.333 is).")
@click.option("--assignments/--no-assignments", default=True, show_default=True,
              help="Accept `x = 3` for 3 (and `x = 1 + 2 = 3`).")
@click.option("--units/--keep-units", "strip_units", default=True, show_default=True,
              help="Let a bare number match a number with a unit (`24`, `24 square meters`); units "
              "of one kind always convert and of different kinds never match.")
@click.option("--degrees-as-radians", is_flag=True,
              help="Let 30^\\circ also match \\pi/6.")
@click.option("--inequality-for-interval/--interval-notation", default=True, show_default=True,
              help="Accept an inequality (`x > 3`) where the reference is an interval (`(3, \\infty)`): "
              "the same set of reals.")
@click.option("--ordered-lists", is_flag=True, help="Compare bare lists `1, 2, 3` in order.")
@click.option("--mixed-numbers/--no-mixed-numbers", default=True, show_default=True,
              help="Read `2\\frac{1}{2}` as 5/2.")
@click.option("--rename-symbols", is_flag=True, help="Let `f(x)` match `f(y)`.")
@click.option("--prose-numbers/--no-prose-numbers", default=True, show_default=True,
              help="Without a marked answer, take the last number of the text.")
@_pool_options
def equal_command(
    source: BinaryIO, percent: str, rel_tol: float, rounding: bool, min_rounded_places: int,
    min_significant_digits: int, assignments: bool, strip_units: bool, degrees_as_radians: bool,
    inequality_for_interval: bool, ordered_lists: bool, mixed_numbers: bool,
    rename_symbols: bool, prose_numbers: bool, timeout_s: float, workers: int | None,
) -> None:
    """Whether each predicted answer equals its reference.

    Reads JSONL lines {"id", "gold", "pred"} ("pred" may be a whole solution; "gold" may be one
    too) and writes {"id", "equal", "reason", "policy"} per line (policy: the conventions an
    "equal" relied on, or null), in input order. Unreadable pairs and
    malformed lines get "equal": false with the reason. The grading policy is described in
    docs/math-grading.md.

    \b
    Example:
      echo '{"id": 1, "gold": "\\\\frac{1}{2}", "pred": "The answer is 0.5"}' | evol math equal
    """
    from .answers import answers_equal_many

    policy = GradingPolicy(
        percent=percent, rounding=rounding, min_rounded_places=min_rounded_places,
        min_significant_digits=min_significant_digits,
        rel_tol=rel_tol, accept_assignment=assignments, strip_units=strip_units,
        degrees_as_radians=degrees_as_radians, inequality_for_interval=inequality_for_interval,
        ordered_lists=ordered_lists, mixed_numbers=mixed_numbers, rename_symbols=rename_symbols,
        prose_numbers=prose_numbers,
    )
    with pool_scope(workers), _progress("comparing answers") as advance:
        for batch in _batches(_read_lines(source), BATCH_LINES):
            pairs: list[tuple[str, str]] = []
            slots: list[dict[str, Any]] = []
            for line in batch:
                record = line.record or {}
                slot = {"id": record.get("id"), "equal": False, "reason": line.error, "policy": None}
                slots.append(slot)
                if line.error is None:
                    gold, pred = record.get("gold"), record.get("pred")
                    if not isinstance(gold, str) or not isinstance(pred, str):
                        slot["reason"] = f"line {line.number} needs string fields gold and pred"
                    else:
                        slot["reason"] = len(pairs)  # filled in below
                        pairs.append((gold, pred))
                advance(0)
            results = answers_equal_many(pairs, policy, timeout_s=timeout_s, progress=advance)
            for slot in slots:
                if isinstance(slot["reason"], int):
                    result = results[slot["reason"]]
                    slot["equal"], slot["reason"] = result.equal, result.reason
                    slot["policy"] = result.policy
                else:
                    advance(1)
                _emit(slot)


@math_group.command("steps")
@click.argument("source", type=click.File("rb"), default="-", metavar="[FILE|-]")
@click.option("--unverifiable", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="The score of a step without a label in the process reward.")
@_pool_options
def steps_command(source: BinaryIO, unverifiable: float, timeout_s: float, workers: int | None) -> None:
    """Check the arithmetic of each step of each solution, and label the steps.

    Reads JSONL lines {"id", "steps": [str, ...]} or {"id", "solution": str} (split into steps
    by "Step k:" markers, else lines, else sentences), each with an optional reference final
    answer "answer", and writes {"id", "steps": [{"index", "verdict", "claims", "label",
    "label_source"}], "outcome", "process_reward"} per line, in input order.

    \b
    verdict  what sympy found: "claims true", "a claim is false" or "nothing to check"
    claims   each {"text", "verdict"}, a claim's verdict being "true", "false" or "unknown"
    outcome  whether the solution's final answer equals "answer" (null without one)
    label    true, false or null, by the rules of docs/math-grading.md: a false claim makes a
             step bad; a final answer equal to "answer" makes every other step good; a wrong one
             makes the last step bad. "claims true" alone is never a label.
    process_reward  the minimum step score: good 1, bad 0, no label --unverifiable; the build
             computes it the same way.

    Malformed lines get empty steps, a null reward and an "error".
    """
    from .answers import answers_equal_many, extract_answer
    from .labels import StepEvidence, process_reward, step_labels
    from .steps import check_many, split_steps

    with pool_scope(workers), _progress("checking steps") as advance:
        for batch in _batches(_read_lines(source), BATCH_LINES):
            solutions: list[list[str]] = []
            pairs: list[tuple[str, str]] = []
            slots: list[tuple[dict, int | None, int | None, bool]] = []
            for line in batch:
                record = line.record or {}
                slot = {"id": record.get("id"), "steps": [], "outcome": None, "process_reward": None}
                error = line.error
                steps = record.get("steps")
                if error is None and steps is None and isinstance(record.get("solution"), str):
                    steps = split_steps(record["solution"])
                if error is None and not (isinstance(steps, list) and all(isinstance(s, str) for s in steps)):
                    error = f"line {line.number} needs steps (a list of strings) or solution (a string)"
                reference = record.get("answer")
                if error is None and reference is not None and not isinstance(reference, (str, int, float)):
                    error = f"line {line.number}: answer must be a string or a number"
                if error is not None:
                    slot["error"] = error
                    slots.append((slot, None, None, False))
                    continue
                pair, missing = None, False
                if reference is not None:
                    text = record["solution"] if isinstance(record.get("solution"), str) else "\n".join(steps)
                    predicted = extract_answer(text) if text.strip() else None
                    if predicted is None:
                        missing = True  # no final answer: refuted, as in the build
                    else:
                        pair = len(pairs)
                        pairs.append((str(reference), predicted))
                slots.append((slot, len(solutions), pair, missing))
                solutions.append(steps)
            results = check_many(solutions, timeout_s=timeout_s, progress=advance)
            equalities = answers_equal_many(pairs, timeout_s=timeout_s) if pairs else []
            for slot, position, pair, missing in slots:
                if position is not None:
                    verdicts = results[position]
                    outcome = False if missing else (equalities[pair].equal if pair is not None else None)
                    labels = step_labels([StepEvidence(v.verdict) for v in verdicts], outcome)
                    slot["steps"] = [{**v.as_dict(), **label.as_dict()} for v, label in zip(verdicts, labels)]
                    slot["outcome"] = outcome
                    slot["process_reward"] = process_reward(labels, unverifiable)
                _emit(slot)
