"""Is the engine ever the bottleneck? The engine against the loopback server with a fixed latency.

For each (concurrency C, latency L) it runs, in this one process, a real build (general domain,
the whole loop: evolve, equality judge, respond, filters, cache, output) and then the bare
`openai` async client sending the same number of requests at the same concurrency. The server
runs in a separate process so that its CPU is not counted.

Prints requests/s, the ratio to the limit C/L, and CPU milliseconds per request of both.

    python benchmarks/engine_throughput.py                     # C=64, L=200 ms and L=50 ms
    python benchmarks/engine_throughput.py --concurrency 64 --latency 0.2 --seeds 600

With ``--before CHECKOUT`` (``git worktree add /tmp/before HEAD~N``) the engine of that checkout
and of this one are measured in the same run, each build in a process of its own against the same
server, one after the other (``--repeat`` times, alternating which goes first), and the table has
a row per code:

    python benchmarks/engine_throughput.py --before /tmp/before --latency 0.2 --repeat 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import openai

import evolinstruct


@dataclass(frozen=True)
class Measure:
    requests: int
    wall_s: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.requests / self.wall_s

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / self.requests


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "evolinstruct", "loopback-llm", "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        raise RuntimeError(f"the loopback server did not start: {line!r}")
    return process, line.removeprefix("listening on ")


def measure_engine(base_url: str, concurrency: int, seeds: int, rounds: int, folder: Path) -> Measure:
    seeds_path = folder / "seeds.jsonl"
    seeds_path.write_text(
        "".join(json.dumps({"id": f"s{i}", "instruction": f"Describe place number {i} for a travel guide."}) + "\n" for i in range(seeds)),
        encoding="utf-8",
    )
    out = folder / f"out-{concurrency}"
    cpu, wall = cpu_seconds(), time.perf_counter()
    try:
        build = evolinstruct.build
    except AttributeError:  # a checkout from the middle of the app split, whose API pointed at the package
        from evolinstruct.app.build.build import build
    summary = build(
        domain="general", seeds=seeds_path, out=out, rounds=rounds, model="bench",
        base_url=base_url, api_key="sk-bench", concurrency=concurrency, progress=False,
    )
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return Measure(summary.requests["sent"], wall, cpu)


def measure_bare_client(base_url: str, concurrency: int, requests: int) -> Measure:
    async def main() -> None:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with gate:
                await client.chat.completions.create(
                    model="bench",
                    messages=[{"role": "user", "content": f"Describe place number {i} for a travel guide."}],
                    temperature=1.0, top_p=0.9, max_tokens=2048, seed=i,
                )

        await asyncio.gather(*(one(i) for i in range(requests)))
        await client.close()

    cpu, wall = cpu_seconds(), time.perf_counter()
    asyncio.run(main())
    return Measure(requests, time.perf_counter() - wall, cpu_seconds() - cpu)


def import_root(checkout: Path, scratch: Path) -> Path:
    """A folder whose ``evolinstruct`` (and plugins) are ``checkout``'s; first on PYTHONPATH it wins
    over the installed editable package."""
    root = scratch / "import-before"
    root.mkdir()
    (root / "evolinstruct").symlink_to(checkout.resolve() / "core")
    for plugin in (checkout / "plugins").iterdir():
        if (plugin / "__init__.py").is_file():
            (root / plugin.name).symlink_to(plugin.resolve())
    return root


def measure_engine_in_process_of(root: Path | None, base_url: str, concurrency: int, seeds: int, rounds: int,
                                 folder: Path) -> Measure:
    """``measure_engine`` in a new process running the code under ``root`` (None: this checkout)."""
    env = dict(os.environ)
    if root is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, __file__, "--engine-only", base_url, "--concurrency", str(concurrency),
         "--seeds", str(seeds), "--rounds", str(rounds), "--folder", str(folder)],
        env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the engine measurement failed:\n{result.stderr[-3000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return Measure(data["requests"], data["wall_s"], data["cpu_s"])


def compare(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        roots = {"before": import_root(args.before, scratch), "after": None}
        for latency in args.latency:
            server, base_url = start_server(latency)
            try:
                for concurrency in args.concurrency:
                    for repeat in range(args.repeat):
                        order = ["before", "after"] if repeat % 2 == 0 else ["after", "before"]
                        for label in order:
                            folder = scratch / f"{label}-{latency}-{concurrency}-{repeat}"
                            measure = measure_engine_in_process_of(
                                roots[label], base_url, concurrency, args.seeds, args.rounds, folder)
                            rows.append((label, concurrency, latency, measure))
            finally:
                server.terminate()
                server.wait()
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    print("| code | C | L (ms) | requests | engine req/s | ratio to C/L | engine CPU ms/req |")
    print("|---" * 7 + "|")
    for label, concurrency, latency, engine in rows:
        print(f"| {label} | {concurrency} | {latency * 1000:.0f} | {engine.requests} | {engine.rate:.0f} | "
              f"{engine.rate / (concurrency / latency):.2f} | {engine.cpu_ms_per_request:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.2, 0.05])
    parser.add_argument("--seeds", type=int, default=1280, help="seeds per build (each makes 1 + 3 x rounds requests)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None, help="a checkout of the code before a change")
    parser.add_argument("--repeat", type=int, default=1, help="with --before: builds per code")
    parser.add_argument("--engine-only", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_only is not None:
        measure = measure_engine(args.engine_only, args.concurrency[0], args.seeds, args.rounds, args.folder)
        print(json.dumps({"requests": measure.requests, "wall_s": measure.wall_s, "cpu_s": measure.cpu_s}))
        return
    if args.before is not None:
        compare(args)
        return

    rows = []
    for latency in args.latency:
        server, base_url = start_server(latency)
        try:
            for concurrency in args.concurrency:
                with tempfile.TemporaryDirectory() as folder:
                    engine = measure_engine(base_url, concurrency, args.seeds, args.rounds, Path(folder))
                bare = measure_bare_client(base_url, concurrency, engine.requests)
                rows.append((concurrency, latency, engine, bare))
        finally:
            server.terminate()
            server.wait()

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    header = "| C | L (ms) | requests | engine req/s | ratio to C/L | engine CPU ms/req | bare client req/s | bare client CPU ms/req | CPU ratio |"
    print(header)
    print("|---" * 9 + "|")
    for concurrency, latency, engine, bare in rows:
        limit = concurrency / latency
        print(
            f"| {concurrency} | {latency * 1000:.0f} | {engine.requests} | {engine.rate:.0f} | {engine.rate / limit:.2f} | "
            f"{engine.cpu_ms_per_request:.2f} | {bare.rate:.0f} | {bare.cpu_ms_per_request:.2f} | "
            f"{engine.cpu_ms_per_request / bare.cpu_ms_per_request:.2f} |"
        )


if __name__ == "__main__":
    main()
