"""Sandbox throughput per language: the same jobs through the warm pool and through one fresh
container per job, side by side in one run, at the same concurrency. Prints jobs/s per language
and the pool's speed-up.

    python benchmarks/sandbox_languages.py [--concurrency N] [--rounds R] [--fresh-rounds R]

The jobs are three small problems solved in every language (sandbox_problems.py), each compiled
where the language compiles, and run with its tests; every job must PASS. "One container per
job" creates, starts and attaches a container with the same image, harness and limits as the
pool's, runs one job in it and removes it: what `docker run` per job costs, with the same verdict
logic. Needs the engine and the image (bash scripts/install-docker.sh; evol sandbox build).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_problems import Program, programs  # noqa: E402

from wizardcoder.sandbox import DEFAULT_LIMITS, Job, SandboxPool, Verdict, default_image  # noqa: E402
from wizardcoder.sandbox.container import WarmContainer  # noqa: E402
from wizardcoder.sandbox.engine import LABEL, OWNER_LABEL, owner_tag  # noqa: E402
from wizardcoder.sandbox.job import Result  # noqa: E402
from wizardcoder.sandbox.pool import run_on  # noqa: E402

TIMEOUT_S = 60.0  # generous: a loaded machine compiles slowly, and this measures speed, not limits


@dataclass(frozen=True)
class Timing:
    language: str
    mode: str
    jobs: int
    passed: int
    seconds: float
    compile_s: float  # summed over jobs

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def job_for(program: Program, number: int) -> Job:
    return Job(f"{program.language}-{program.problem}-{number}", program.code, program.tests,
               timeout_s=TIMEOUT_S, language=program.language)


def via_pool(pool: SandboxPool, job: Job) -> Result:
    return pool.run(job)


def via_fresh_container(client: docker.DockerClient, image: str, job: Job) -> Result:
    container = WarmContainer(client, image, name=f"evolsbx-bench-{secrets.token_hex(4)}",
                              labels={LABEL: "1", OWNER_LABEL: owner_tag()}, limits=DEFAULT_LIMITS,
                              memory_mb=job.memory_mb)
    try:
        container.start(60)
        return run_on(container, job, DEFAULT_LIMITS)[0]
    finally:
        container.destroy()


def measure(language: str, mode: str, jobs: list[Job], concurrency: int, run) -> Timing:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as workers:
        results = list(workers.map(run, jobs))
    seconds = time.perf_counter() - started
    failed = [r for r in results if r.verdict is not Verdict.PASS]
    if failed:
        raise SystemExit(f"{language} ({mode}): {failed[0].id} ended {failed[0].verdict.value}: {failed[0].message[:300]}")
    return Timing(language, mode, len(jobs), len(results) - len(failed), seconds, sum(r.compile_s or 0.0 for r in results))


def table(timings: list[Timing]) -> str:
    by_language: dict[str, dict[str, Timing]] = defaultdict(dict)
    for timing in timings:
        by_language[timing.language][timing.mode] = timing
    lines = [
        "| language   | pool jobs | pool jobs/s | compile ms/job | fresh jobs | fresh jobs/s | pool is x faster |",
        "|------------|-----------|-------------|----------------|------------|--------------|------------------|",
    ]
    for language, modes in by_language.items():
        pool, fresh = modes["pool"], modes["fresh"]
        lines.append(
            f"| {language:<10} | {pool.jobs:>9} | {pool.rate:>11.1f} | {1000 * pool.compile_s / pool.jobs:>14.0f} | "
            f"{fresh.jobs:>10} | {fresh.rate:>12.2f} | {pool.rate / fresh.rate:>16.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1, help="jobs at once, both modes [CPU count]")
    parser.add_argument("--rounds", type=int, default=4, help="passes over the 3 problems per language, warm pool [4]")
    parser.add_argument("--fresh-rounds", type=int, default=1, help="passes, one container per job (the slow mode) [1]")
    parser.add_argument("--languages", default="", help="comma-separated subset [all]")
    parser.add_argument("--image", default=default_image())
    args = parser.parse_args()

    client = docker.from_env()
    client.images.get(args.image)  # fail now, clearly, rather than pull
    chosen = set(filter(None, args.languages.split(",")))
    by_language: dict[str, list[Program]] = defaultdict(list)
    for program in programs():
        if not chosen or program.language in chosen:
            by_language[program.language].append(program)

    timings: list[Timing] = []
    started = time.perf_counter()
    with SandboxPool(args.concurrency, args.image) as pool:
        warm_s = time.perf_counter() - started
        for language, group in by_language.items():
            pool.run(job_for(group[0], -1))  # one untimed job: the language's first start in each container is not the point
            jobs = [job_for(program, n) for n in range(args.rounds) for program in group]
            timings.append(measure(language, "pool", jobs, args.concurrency, lambda job: via_pool(pool, job)))
    for language, group in by_language.items():
        jobs = [job_for(program, n) for n in range(args.fresh_rounds) for program in group]
        timings.append(measure(language, "fresh", jobs, args.concurrency,
                               lambda job: via_fresh_container(client, args.image, job)))

    image = client.images.get(args.image)
    print(f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"Docker {client.version().get('Version')}; image {args.image} ({image.attrs['Size'] / 1e9:.2f} GB); "
          f"concurrency {args.concurrency}; pool warm-up {warm_s:.2f}s (not counted)")
    print(table(timings))
    pooled = [t for t in timings if t.mode == "pool"]
    fresh = {t.language: t for t in timings if t.mode == "fresh"}
    print("every job passed; the pool is faster than a container per job in "
          f"{sum(t.rate > fresh[t.language].rate for t in pooled)} of {len(pooled)} languages")


if __name__ == "__main__":
    main()
