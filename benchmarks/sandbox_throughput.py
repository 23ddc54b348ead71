"""Sandbox throughput: HumanEval canonical solutions through the warm pool, through one
`docker run` per job (same image, same limits), and through a plain unsandboxed subprocess per
job, in one run, at the same concurrency. Prints jobs/s and the pool's speed-up over each.

    python benchmarks/sandbox_throughput.py [--concurrency N] [--rounds R] [--docker-run-jobs N]

Needs the engine and the image (bash scripts/install-docker.sh; evol sandbox build). Reads
../shared/data/HumanEval.jsonl.gz relative to the repository root.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from wizardcoder.sandbox import Job, SandboxPool, Verdict, default_image
from wizardcoder.sandbox.limits import Limits

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "HumanEval.jsonl.gz"
TIMEOUT_S = 20.0
MEMORY_MB = 256


@dataclass(frozen=True)
class Program:
    id: str
    code: str
    tests: str

    @property
    def source(self) -> str:
        return f"{self.code}\n{self.tests}"


@dataclass(frozen=True)
class Measurement:
    mode: str
    jobs: int
    passed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def load_programs() -> list[Program]:
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        problems = [json.loads(line) for line in handle]
    return [
        Program(p["task_id"], p["prompt"] + p["canonical_solution"], f"{p['test']}\ncheck({p['entry_point']})\n")
        for p in problems
    ]


def measure(mode: str, programs: list[Program], concurrency: int, run_one: Callable[[Program], bool]) -> Measurement:
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as workers:
        passed = sum(workers.map(run_one, programs))
    return Measurement(mode, len(programs), passed, time.perf_counter() - started)


def via_pool(pool: SandboxPool) -> Callable[[Program], bool]:
    def run_one(program: Program) -> bool:
        job = Job(program.id, program.code, program.tests, TIMEOUT_S, MEMORY_MB)
        return pool.run(job).verdict is Verdict.PASS

    return run_one


def via_docker_run(client: docker.DockerClient, image: str) -> Callable[[Program], bool]:
    settings = Limits().container_settings(MEMORY_MB)
    # A run's output is read back from the engine's log, so this mode keeps the default logging;
    # everything else (user, no network, capabilities, memory, pids, CPU, read-only, tmpfs) is
    # the same as the pool's containers.
    settings.pop("log_config")

    def run_one(program: Program) -> bool:
        try:
            client.containers.run(image, ["python3", "-I", "-c", program.source], remove=True, **settings)
            return True
        except docker.errors.ContainerError:
            return False

    return run_one


def via_subprocess() -> Callable[[Program], bool]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}

    def run_one(program: Program) -> bool:
        done = subprocess.run([sys.executable, "-c", program.source], env=env, capture_output=True, timeout=TIMEOUT_S)
        return done.returncode == 0

    return run_one


def table(rows: list[Measurement], pool: Measurement) -> str:
    lines = [
        f"| {'mode':<34} | {'jobs':>5} | {'passed':>6} | {'seconds':>8} | {'jobs/s':>7} | {'pool is x faster':>16} |",
        f"|{'-' * 36}|{'-' * 7}|{'-' * 8}|{'-' * 10}|{'-' * 9}|{'-' * 18}|",
    ]
    for row in rows:
        lines.append(
            f"| {row.mode:<34} | {row.jobs:>5} | {row.passed:>6} | {row.seconds:>8.2f} | {row.rate:>7.1f} | {pool.rate / row.rate:>16.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1, help="jobs at once, every mode [CPU count]")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 164 programs for the pool and subprocess modes [3]")
    parser.add_argument("--docker-run-jobs", type=int, default=164, help="jobs for the docker-run mode, the slow one [164]")
    parser.add_argument("--image", default=default_image())
    args = parser.parse_args()

    programs = load_programs()
    repeated = programs * args.rounds
    client = docker.from_env()
    client.images.get(args.image)  # fail now, clearly, rather than pull

    started = time.perf_counter()
    with SandboxPool(args.concurrency, args.image, max_jobs_per_container=100) as pool:
        warm_s = time.perf_counter() - started
        pool_row = measure(f"warm pool ({args.concurrency} containers)", repeated, args.concurrency, via_pool(pool))
    docker_row = measure("docker run per job", programs[: args.docker_run_jobs], args.concurrency, via_docker_run(client, args.image))
    subprocess_row = measure("unsandboxed subprocess per job", repeated, args.concurrency, via_subprocess())

    print(f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
          f"Docker {client.version().get('Version')}; concurrency {args.concurrency}; pool warm-up {warm_s:.2f}s (not counted)")
    print(table([pool_row, docker_row, subprocess_row], pool_row))
    targets = [
        ("pool >= 10x docker run per job", pool_row.rate >= 10 * docker_row.rate),
        ("pool >= unsandboxed subprocess", pool_row.rate >= subprocess_row.rate),
    ]
    print("targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets))


if __name__ == "__main__":
    main()
