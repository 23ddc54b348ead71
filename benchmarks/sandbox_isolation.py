"""What judging Python tests outside the answer's process costs: HumanEval's canonical solutions
through the warm pool with the tests judged across the process boundary (the default) and in the
answer's own process, in one run, interleaved round by round so that both see the same machine.
Every job must PASS in both modes (the script checks it), and every isolated job must have been
judged across the boundary. Prints jobs/s per mode and the isolated mode's slowdown.

    python benchmarks/sandbox_isolation.py [--concurrency N] [--rounds R] [--image TAG]

Needs the engine and the image (bash scripts/install-docker.sh; evol sandbox build). Reads
tests/data/HumanEval.jsonl.gz.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from wizardcoder.sandbox import Job, SandboxPool, Verdict

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "HumanEval.jsonl.gz"
MODES = ("in-process", "process")


@dataclass(frozen=True)
class Round:
    mode: str
    jobs: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def load_jobs() -> list[Job]:
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle]
    return [Job(p["task_id"], p["prompt"] + p["canonical_solution"], f"{p['test']}\ncheck({p['entry_point']})\n",
                timeout_s=30.0) for p in problems]


def one_round(pool: SandboxPool, jobs: list[Job], concurrency: int, mode: str) -> Round:
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as workers:
        results = list(workers.map(pool.run, jobs))
    seconds = time.monotonic() - started
    wrong = [(r.id, r.verdict.value, r.message[:120]) for r in results if r.verdict is not Verdict.PASS]
    if wrong:
        raise SystemExit(f"{mode}: {len(wrong)} canonical solutions did not pass: {wrong[:5]}")
    modes = {r.isolation for r in results}
    if mode == "process" and modes != {"process"}:
        raise SystemExit(f"isolated round judged some jobs otherwise: {modes}")
    return Round(mode, len(results), seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=2, help="containers per pool and jobs at once (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode, interleaved (default 3)")
    parser.add_argument("--image", default=None, help="the sandbox image (default: the one evol sandbox build makes)")
    args = parser.parse_args()
    jobs = load_jobs()
    pools = {mode: SandboxPool(args.concurrency, args.image, max_jobs_per_container=10_000,
                                python_isolation=mode) for mode in MODES}
    rounds: list[Round] = []
    try:
        for pool in pools.values():
            pool.start()
            one_round(pool, jobs[:20], args.concurrency, pool.python_isolation)  # warm-up, not counted
        for _ in range(args.rounds):
            for mode in MODES:
                rounds.append(one_round(pools[mode], jobs, args.concurrency, mode))
    finally:
        for pool in pools.values():
            pool.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{len(jobs)} HumanEval canonical solutions per round, {args.rounds} rounds per mode, "
          f"concurrency {args.concurrency}")
    print()
    print("| mode | rounds (jobs/s) | best jobs/s | median jobs/s |")
    print("| --- | --- | --- | --- |")
    best = {}
    for mode in MODES:
        rates = sorted(r.rate for r in rounds if r.mode == mode)
        best[mode] = rates[-1]
        listed = ", ".join(f"{r.rate:.1f}" for r in rounds if r.mode == mode)
        print(f"| {mode} | {listed} | {rates[-1]:.1f} | {rates[len(rates) // 2]:.1f} |")
    print()
    median = {mode: sorted(r.rate for r in rounds if r.mode == mode)[len(rounds) // len(MODES) // 2] for mode in MODES}
    print(f"isolated mode: {best['in-process'] / best['process']:.2f}x the time per job of the in-process mode "
          f"(best rounds), {median['in-process'] / median['process']:.2f}x (medians); aim: at most 2x")


if __name__ == "__main__":
    main()
