"""Speed and accuracy of our math checkers against Math-Verify 0.9.0, on the same inputs.

    python benchmarks/math_check.py [--workers 2] [--repeat 3] [--math-verify PYTHON]
                                    [--baseline DIR]

Three workloads, two from ../shared/data and one of ours:

- answers: the 269 (gold, pred) pairs of Math-Verify's own test suite, each checked with its
  case's settings (translated to our GradingPolicy the same way as tests/wizardmath). Accuracy
  is given against the file's labels and against the labels with row 263 (1 - 1/e "equals"
  1 + 1/e, marked QUIRK) scored by mathematics.
- claims: the 4,282 GSM8K calculator annotations `lhs=rhs` and their wrong variants `lhs=neg_rhs`
  (8,564 claims). Ours judges them as steps (`check_steps`); Math-Verify as
  verify(parse(rhs), parse(lhs)), which is how one would use it for a step.
- hard forms: benchmarks/math_hard_forms.jsonl, our own pairs in the forms real solutions use
  (units, percentages on both sides, |x|, matrix shapes, repeated roots, intervals against
  inequalities, vectors, repeating decimals, scientific notation, antiderivatives with + C, times
  of day, choice letters), each labelled by mathematics alone and checked with the default
  policy. Besides agreement, the table counts false "equal" verdicts, the costly error.

--baseline DIR runs the same workloads, in a subprocess, with the `wizardmath` package found in
DIR (for instance `git archive HEAD~5 plugins/wizardmath | tar -x -C /tmp/before`, then
`--baseline /tmp/before/plugins`): the checker before a change, side by side on one machine.

Math-Verify runs in its own virtual environment (never a project dependency), driven through a
subprocess running this same file with --driver; create it with

    python -m venv benchmarks/.venv-mathverify
    benchmarks/.venv-mathverify/bin/pip install "math-verify[antlr4_13_2]==0.9.0"

Math-Verify times out with signal.alarm, so it runs in one process; ours is shown with one worker
and with --workers workers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DEFAULT_MV_PYTHON = REPO / "benchmarks" / ".venv-mathverify" / "bin" / "python"
QUIRK_ROW = 263
HARD_FORMS = REPO / "benchmarks" / "math_hard_forms.jsonl"


def load_pairs() -> list[dict]:
    return [json.loads(l) for l in (DATA / "math_verify_test_pairs.jsonl").read_text().splitlines() if l.strip()]


def load_hard_forms() -> list[dict]:
    return [json.loads(l) for l in HARD_FORMS.read_text().splitlines() if l.strip()]


def load_claims() -> list[tuple[str, str, bool]]:
    rows = [json.loads(l) for l in (DATA / "gsm8k_test_calc_annotations.jsonl").read_text().splitlines() if l.strip()]
    return [(r["lhs"], r["rhs"], True) for r in rows] + [(r["lhs"], r["neg_rhs"], False) for r in rows]


# -- Math-Verify side (runs inside its venv) ---------------------------------------------------

def driver(task: str, repeat: int) -> None:
    """Run Math-Verify on a workload; print one JSON object: verdicts and seconds per pass."""
    import logging

    logging.disable(logging.CRITICAL)
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    def targets(settings: dict) -> list:
        kinds = settings.get("match_types", ["latex", "expr"])
        return [LatexExtractionConfig(boxed_match_priority=0) if k == "latex" else ExprExtractionConfig()
                for k in kinds]

    def check_pair(row: dict) -> bool:
        s = row["settings"]
        try:
            gold, pred = parse(row["gold"], targets(s)), parse(row["pred"], targets(s))
            return bool(verify(gold, pred, float_rounding=s.get("precision", 6),
                               strict=s.get("strict", True),
                               allow_set_relation_comp=s.get("allow_set_relation_comp", False)))
        except Exception:
            return False

    def check_claim(claim: tuple[str, str, bool]) -> bool:
        lhs, rhs, _ = claim
        try:
            return bool(verify(parse(f"${rhs}$"), parse(f"${lhs}$")))
        except Exception:
            return False

    work = load_pairs() if task == "answers" else load_claims()
    check = check_pair if task == "answers" else check_claim
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        verdicts = [check(item) for item in work]
        seconds.append(time.perf_counter() - started)
    print(json.dumps({"verdicts": verdicts, "seconds": seconds}))


def run_math_verify(python: Path, task: str, repeat: int) -> dict | None:
    if not python.exists():
        print(f"Math-Verify venv not found at {python}; skipping it (see the module docstring)", file=sys.stderr)
        return None
    result = subprocess.run([str(python), __file__, "--driver", task, "--repeat", str(repeat)],
                            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- our side ----------------------------------------------------------------------------------

def run_ours(task: str, workers: int, repeat: int) -> dict:
    sys.path.insert(0, str(REPO))
    from tests.wizardmath.test_answers import policy_for  # the same settings translation as the tests

    from wizardmath.answers import answers_equal_many
    from wizardmath.bounded import configure_default_pool
    from wizardmath.steps import check_many

    configure_default_pool(workers)
    if task == "hard":
        forms = load_hard_forms()

        def one_pass() -> list[bool]:
            return [r.equal for r in answers_equal_many([(f["gold"], f["pred"]) for f in forms])]
    elif task == "answers":
        rows = load_pairs()
        # One policy per distinct settings; the pairs of each go in one batch.
        def one_pass() -> list[bool]:
            verdicts: list[bool | None] = [None] * len(rows)
            groups: dict[str, list[int]] = {}
            for i, row in enumerate(rows):
                groups.setdefault(json.dumps(row["settings"], sort_keys=True), []).append(i)
            for key, indices in groups.items():
                results = answers_equal_many([(rows[i]["gold"], rows[i]["pred"]) for i in indices],
                                             policy_for(json.loads(key)))
                for i, result in zip(indices, results):
                    verdicts[i] = result.equal
            return verdicts  # type: ignore[return-value]
    else:
        claims = load_claims()

        def one_pass() -> list[bool]:
            (results,) = check_many([[f"<<{lhs}={rhs}>>" for lhs, rhs, _ in claims]], timeout_s=10.0)
            return [r.verdict == "claims true" for r in results]

    one_pass()  # warm the workers (process start and imports are not per-check costs)
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        verdicts = one_pass()
        seconds.append(time.perf_counter() - started)
    return {"verdicts": verdicts, "seconds": seconds}


def run_baseline(source: Path, task: str, workers: int, repeat: int) -> dict | None:
    """``run_ours`` with the `wizardmath` package of ``source``, in a subprocess."""
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(source), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    result = subprocess.run(
        [sys.executable, __file__, "--ours-driver", task, "--workers", str(workers), "--repeat", str(repeat)],
        capture_output=True, text=True, timeout=3600, env=environment)
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- report ------------------------------------------------------------------------------------

def accuracy(verdicts: list[bool], labels: list[bool]) -> str:
    right = sum(v == l for v, l in zip(verdicts, labels))
    return f"{right}/{len(labels)} ({right / len(labels):.1%})"


def false_equal(verdicts: list[bool], labels: list[bool]) -> int:
    return sum(v and not l for v, l in zip(verdicts, labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is reported")
    parser.add_argument("--math-verify", type=Path, default=DEFAULT_MV_PYTHON,
                        help="the Python of a venv with math-verify==0.9.0")
    parser.add_argument("--baseline", type=Path,
                        help="a folder holding another version's wizardmath package, run side by side")
    parser.add_argument("--driver", choices=["answers", "claims"], help=argparse.SUPPRESS)
    parser.add_argument("--ours-driver", choices=["answers", "claims", "hard"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        driver(args.driver, args.repeat)
        return
    if args.ours_driver:
        print(json.dumps(run_ours(args.ours_driver, args.workers, args.repeat)))
        return

    pairs = load_pairs()
    pair_labels = [r["equal"] for r in pairs]
    math_labels = [False if i == QUIRK_ROW else r["equal"] for i, r in enumerate(pairs)]
    claim_labels = [truth for _, _, truth in load_claims()]
    hard_labels = [f["equal"] for f in load_hard_forms()]

    lines = [
        f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
        "",
        "| workload | checker | accuracy | accuracy (row 263 by mathematics) | false equal | items/s |",
        "|---|---|---|---|---|---|",
    ]
    for task, labels in (("answers", pair_labels), ("hard", hard_labels), ("claims", claim_labels)):
        runs = []
        for workers in sorted({1, args.workers}):
            plural = "s" if workers > 1 else ""
            runs.append((f"ours, {workers} worker{plural}", run_ours(task, workers, args.repeat)))
            if args.baseline is not None:
                before = run_baseline(args.baseline, task, workers, args.repeat)
                if before is not None:
                    runs.append((f"baseline, {workers} worker{plural}", before))
        mv = run_math_verify(args.math_verify, task, args.repeat) if task != "hard" else None
        if mv is not None:
            runs.append(("Math-Verify 0.9.0, 1 process", mv))
        for name, run in runs:
            rate = len(labels) / min(run["seconds"])
            corrected = accuracy(run["verdicts"], math_labels) if task == "answers" else "="
            wrong_equal = false_equal(run["verdicts"], math_labels if task == "answers" else labels)
            lines.append(f"| {task} ({len(labels)}) | {name} | {accuracy(run['verdicts'], labels)} "
                         f"| {corrected} | {wrong_equal} | {rate:,.0f} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
