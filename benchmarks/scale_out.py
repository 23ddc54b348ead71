"""Scaling out: several endpoints, and a build on a local Ray cluster against one process.

Three measurements, each printed as a table:

1. ``endpoints``: a real build (general domain) against 1, 2 and 3 loopback servers (each its
   own process, latency L) at a fixed concurrency C per endpoint: requests/s against the limit
   k*C/L that k endpoints allow.
2. ``ray``: the same build at L = 50 ms, C = 64 in one process (``evol build``) and on a new local
   Ray cluster of 2 workers (``evol build --ray local``), both as the real CLI. The cluster's
   fixed start-up cost (starting Ray and its workers, loading the plugins) is measured with a
   one-seed build and shown apart, so that both the whole run and its steady rate are seen.
3. ``sandbox``: HumanEval canonical solutions through the sandbox: one process with a warm pool
   of 2 containers at concurrency 2, and 2 Ray workers each with its own pool (the way shards run
   their checks), the jobs split between them.

    python benchmarks/scale_out.py                      # all three
    python benchmarks/scale_out.py endpoints --concurrency 16 --latency 0.2
    python benchmarks/scale_out.py ray --seeds 2400 --repeat 3
    python benchmarks/scale_out.py sandbox              # needs Docker and the sandbox image

Every server is a separate process, so its CPU is not the build's; on a 2-core machine the
servers, the build and Ray share the same two cores, which the tables say.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "evolinstruct", "loopback-llm", "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        raise RuntimeError(f"the loopback server did not start: {line!r}")
    return process, line.removeprefix("listening on ")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_seeds(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"s{i}", "instruction": f"Describe place number {i} for a travel guide."}) + "\n"
                            for i in range(count)), encoding="utf-8")
    return path


def build(seeds: Path, out: Path, urls: list[str], concurrency: int, rounds: int, *extra: str) -> tuple[float, dict]:
    """The real CLI, timed from outside; its manifest."""
    command = [sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds), "--out", str(out),
               "--rounds", str(rounds), "--concurrency", str(concurrency), "--model", "bench", "--no-progress",
               "--endpoint-id", "bench", *(arg for url in urls for arg in ("--base-url", url)), *extra]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_", "RAY_ADDRESS"))}
    env["OPENAI_API_KEY"] = "sk-bench"
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"the build failed ({result.returncode}): {result.stderr[-2000:]}")
    return wall, json.loads((out / "manifest.json").read_text())


def machine() -> str:
    load = os.getloadavg()[0]
    return (f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
            f"load average {load:.1f} at the start")


def endpoints(args: argparse.Namespace) -> None:
    print(f"{machine()}; C = {args.concurrency} per endpoint, L = {args.latency * 1000:.0f} ms, "
          f"{args.seeds} seeds x {args.rounds} rounds")
    print("| endpoints | requests | seconds | req/s | limit k*C/L | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        seeds = write_seeds(Path(folder) / "seeds.jsonl", args.seeds)
        servers = []
        for _ in range(3):
            process, url = start_server(args.latency)
            stack.callback(process.terminate)
            servers.append(url)
        for count in (1, 2, 3):
            wall, manifest = build(seeds, Path(folder) / f"out-{count}", servers[:count], args.concurrency, args.rounds)
            sent = manifest["requests"]["sent"]
            limit = count * args.concurrency / args.latency
            print(f"| {count} | {sent} | {wall:.1f} | {sent / wall:.0f} | {limit:.0f} | {sent / wall / limit:.2f} |")


def children_cpu_s() -> float:
    """CPU time of every finished child process and the descendants it reaped: the CLI, which
    is the whole build in one process, and with ``--ray local`` the driver with the cluster's
    daemons it started and reaped (gcs, raylet, agents). The workers are the raylet's children
    and are not reaped through it: a shard's CPU is in the manifest (``cpu_s`` per node)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ray(args: argparse.Namespace) -> None:
    print(f"{machine()}; one endpoint, C = {args.concurrency}, L = {args.latency * 1000:.0f} ms, "
          f"{args.seeds} seeds x {args.rounds} rounds, {args.repeat} rounds of runs taken in turn; "
          "the loopback server shares the 2 cores")
    print("| run | requests | seconds | req/s | start-up s | req/s after start-up | x one process | "
          "driver CPU ms/req | shards CPU ms/req | server CPU ms/req | all CPU ms/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    modes = (("one process", ()), ("Ray, local cluster of 2 workers", ("--ray", "local")))
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        process, url = start_server(args.latency)
        stack.callback(process.terminate)
        seeds = write_seeds(Path(folder) / "seeds.jsonl", args.seeds)
        one_seed = write_seeds(Path(folder) / "one.jsonl", 1)
        best: dict[str, float] = {}
        number = 0
        for _ in range(args.repeat):
            for name, extra in modes:
                number += 1
                startup = build(one_seed, Path(folder) / f"warm-{number}", [url], args.concurrency, 1, *extra)[0]
                server_cpu, build_cpu = cpu_seconds(process.pid), children_cpu_s()
                wall, manifest = build(seeds, Path(folder) / f"out-{number}", [url], args.concurrency, args.rounds, *extra)
                server_cpu, build_cpu = cpu_seconds(process.pid) - server_cpu, children_cpu_s() - build_cpu
                sent = manifest["requests"]["sent"]
                shards_cpu = sum(node["cpu_s"] for node in manifest.get("ray", {}).get("nodes", []))
                steady = sent / (wall - startup)
                best[name] = max(best.get(name, 0.0), steady)
                ratio = steady / best["one process"]
                every = (build_cpu + shards_cpu + server_cpu) / sent
                print(f"| {name} | {sent} | {wall:.1f} | {sent / wall:.0f} | {startup:.1f} | {steady:.0f} | {ratio:.2f} | "
                      f"{1000 * build_cpu / sent:.2f} | {1000 * shards_cpu / sent:.2f} | {1000 * server_cpu / sent:.2f} | "
                      f"{1000 * every:.2f} |", flush=True)
        print(f"best of {args.repeat}: " + "; ".join(f"{name} {rate:.0f} req/s" for name, rate in best.items())
              + f"; Ray / one process = {best[modes[1][0]] / best['one process']:.2f}")


def sandbox(args: argparse.Namespace) -> None:
    import ray as ray_module

    sys.path.insert(0, str(REPO / "benchmarks"))
    from sandbox_throughput import load_programs  # the same HumanEval programs as that benchmark

    programs = [(program.id, program.code, program.tests) for program in load_programs()] * args.rounds
    print(f"{machine()}; {len(programs)} jobs (HumanEval canonical solutions x {args.rounds})")
    print("| run | containers | jobs | passed | seconds | jobs/s | x one process |")
    print("|---|---|---|---|---|---|---|")
    one = _run_jobs(programs, containers=2)
    print(f"| one process, pool of 2 | 2 | {len(programs)} | {one[0]} | {one[1]:.2f} | {len(programs) / one[1]:.1f} | 1.00 |")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray_module.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        run = ray_module.remote(num_cpus=1)(_run_jobs)
        for per_worker in (1, 2):
            # Each worker times its jobs from when its pool is warm (the pool's warm-up is not
            # counted above either); the slower worker's time is the run's.
            halves = [programs[0::2], programs[1::2]]
            results = ray_module.get([run.remote(half, per_worker) for half in halves])
            passed = sum(result[0] for result in results)
            seconds = max(result[1] for result in results)
            rate = len(programs) / seconds
            print(f"| Ray, 2 workers, pool of {per_worker} each | {2 * per_worker} | {len(programs)} | {passed} | "
                  f"{seconds:.2f} | {rate:.1f} | {rate / (len(programs) / one[1]):.2f} |")
    finally:
        ray_module.shutdown()


def _run_jobs(programs: list, containers: int) -> tuple[int, float]:
    """Jobs through a warm pool at concurrency ``containers``: (passed, seconds once warm)."""
    from concurrent.futures import ThreadPoolExecutor

    from wizardcoder.sandbox import Job, SandboxPool, Verdict, default_image

    with SandboxPool(containers, default_image(), max_jobs_per_container=100) as pool:
        started = time.perf_counter()
        with ThreadPoolExecutor(containers) as executor:
            results = list(executor.map(
                lambda program: pool.run(Job(program[0], program[1], program[2], 20.0, 256)), programs))
        seconds = time.perf_counter() - started
    return sum(result.verdict is Verdict.PASS for result in results), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="*", choices=["endpoints", "ray", "sandbox"], default=[])
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--latency", type=float, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None, help="ray: rounds of runs, one of each mode in turn [3]")
    args = parser.parse_args()
    defaults = {"endpoints": dict(concurrency=16, latency=0.2, seeds=480, rounds=3, repeat=1),
                "ray": dict(concurrency=64, latency=0.05, seeds=1600, rounds=3, repeat=3),
                "sandbox": dict(concurrency=2, latency=0.0, seeds=0, rounds=3, repeat=1)}
    for what in args.what or ["endpoints", "ray", "sandbox"]:
        settings = argparse.Namespace(**{key: getattr(args, key) if getattr(args, key) is not None else value
                                         for key, value in defaults[what].items()})
        print(f"\n## {what}")
        {"endpoints": endpoints, "ray": ray, "sandbox": sandbox}[what](settings)


if __name__ == "__main__":
    main()
