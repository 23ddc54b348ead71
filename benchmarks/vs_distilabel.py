"""Side by side with distilabel's Evol-Instruct: the same seeds, evolutions and answers, the same
loopback server and latency, the same concurrency.

Each pipeline runs as its own process tree, started by this driver:

- ours: ``evol build --domain general`` (the whole method: evolve, clean, the four elimination
  filters including the LLM equality judge, an answer for every surviving evolution);
- distilabel 1.5.3: a ``Pipeline`` of ``LoadDataFromDicts >> EvolInstruct`` with ``OpenAILLM``
  (``num_evolutions`` = our rounds, ``store_evolutions=True``, ``generate_answers=True``: an
  answer for every evolution, like ours), installed in its own virtual environment
  (``benchmarks/.venv-distilabel``, created on first use; never a dependency of the project) with
  the same ``openai`` client version as ours.

The loopback server (``evolinstruct.testing.LoopbackLLM``) runs in a thread of this driver, one
fresh server per run, so its CPU is never the pipelines' and its request counter is exact: every
chat completion either pipeline made, read after the run. Its responder also notes when the
first request arrived and when the last one did, so the request phase (first request to last
reply) is measured apart from start-up (imports, distilabel's worker processes, writing output).

Per run: wall time of the whole process, requests counted by the server, requests/s over the
request phase and its ratio to the limit C/L, CPU of the whole process tree (from wait4), and its
peak memory: the sum over the process tree of RSS and of PSS (PSS shares pages between forked
processes fairly), sampled from /proc every 50 ms; and how many cores other work on the machine
kept busy meanwhile (/proc/stat minus the pipeline's and this driver's CPU). Per row, the run with
the median requests/s of --repeats runs.

    python benchmarks/vs_distilabel.py                 # everything in the README's table
    python benchmarks/vs_distilabel.py --only rounds   # 3 rounds, L = 200 ms and 50 ms
    python benchmarks/vs_distilabel.py --only scale    # 1 round, L = 50 ms, 1,000 and 10,000 seeds

Seeds are written by ``make_seeds`` below (synthetic, deterministic).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-distilabel"
DISTILABEL = "distilabel[openai]==1.5.3"
# distilabel 1.5.3 imports `requests` without declaring it (older `datasets` pulled it in).
DISTILABEL_EXTRA = ("requests",)
MODEL = "bench"
API_KEY = "sk-bench"
SAMPLE_EVERY = 0.05  # seconds between memory samples


# --- seeds -----------------------------------------------------------------------------------

_TASKS = ("Explain", "Describe", "Summarise", "Compare", "List the steps of", "Give advice on",
          "Write a short guide to", "Argue for and against")
_TOPICS = ("composting in a small flat", "reading a train timetable", "planning a week of meals",
           "backing up family photos", "choosing a first bicycle", "learning a second language",
           "keeping a sourdough starter", "saving energy in winter", "repairing a puncture",
           "writing a cover letter", "organising a neighbourhood clean-up", "budgeting for a holiday",
           "caring for a houseplant", "preparing for a job interview", "teaching a child to swim")
_AUDIENCES = ("a beginner", "a busy parent", "a retired teacher", "a student", "a small business owner",
              "a visitor from abroad", "a ten-year-old")


def make_seeds(count: int) -> list[dict[str, str]]:
    """Distinct, deterministic seed instructions, each with a reference output.

    The output makes our build keep it as the seed's answer (round 0 sends no request), so both
    pipelines answer exactly the evolved instructions.
    """
    seeds = []
    for i in range(count):
        task = _TASKS[i % len(_TASKS)]
        topic = _TOPICS[(i // len(_TASKS)) % len(_TOPICS)]
        audience = _AUDIENCES[(i // (len(_TASKS) * len(_TOPICS))) % len(_AUDIENCES)]
        seeds.append({
            "id": f"s{i:05d}",
            "instruction": f"{task} {topic} for {audience} (case {i}).",
            "output": f"A short reference answer about {topic}, written for {audience}.",
        })
    return seeds


# --- the distilabel side (runs inside its own virtual environment) ---------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_distilabel() -> str:
    """Create the virtual environment and install distilabel once; return its version."""
    import importlib.metadata

    openai_version = importlib.metadata.version("openai")
    if not venv_python().exists():
        print(f"creating {VENV} and installing {DISTILABEL} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = [str(venv_python()), "-c", "import distilabel, openai; print(distilabel.__version__, openai.__version__)"]
    found = subprocess.run(probe, capture_output=True, text=True)
    if found.returncode != 0 or found.stdout.split() != ["1.5.3", openai_version]:
        subprocess.run(
            [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             DISTILABEL, f"openai=={openai_version}", *DISTILABEL_EXTRA],
            check=True,
        )
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
    return found.stdout.strip()


def gated_openai_llm(base: type, concurrency: int) -> type:
    """``OpenAILLM`` with at most ``concurrency`` chat requests in flight per event loop.

    Defined at module level (``__main__.GatedOpenAILLM``) so that distilabel's worker pool can
    pickle the step that holds it.
    """
    import asyncio

    gates: dict[int, asyncio.Semaphore] = {}

    class GatedOpenAILLM(base):  # type: ignore[misc, valid-type]
        async def _generate_chat_completion(self, *args: Any, **kwargs: Any) -> Any:
            loop = id(asyncio.get_running_loop())
            gate = gates.get(loop)
            if gate is None:
                gate = gates[loop] = asyncio.Semaphore(concurrency)
            async with gate:
                return await super()._generate_chat_completion(*args, **kwargs)

    GatedOpenAILLM.__qualname__ = GatedOpenAILLM.__name__
    GatedOpenAILLM.__module__ = __name__
    globals()["GatedOpenAILLM"] = GatedOpenAILLM
    return GatedOpenAILLM


def distilabel_worker(spec: dict[str, Any]) -> None:
    """Build and run distilabel's pipeline; print a JSON summary as the last stdout line.

    Concurrency: distilabel has no request limit of its own; a task sends one batch of
    ``input_batch_size`` inputs at a time and ``AsyncLLM.generate`` gathers all of that batch's
    requests at once. With ``input_batch_size = C`` each evolution round of a batch has exactly C
    requests in flight, but ``_generate_answers`` gathers the answers of all evolutions of the
    batch together (C x num_evolutions). The only change made to distilabel is a semaphore of C
    around each chat request (``GatedOpenAILLM``), so that it, too, never has more than C in
    flight; with one evolution it never waits.
    """
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("DISTILABEL_LOG_LEVEL", "WARNING")
    from distilabel.models import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts
    from distilabel.steps.tasks import EvolInstruct

    logging.getLogger("distilabel").setLevel(logging.WARNING)
    concurrency = spec["concurrency"]
    llm_class = gated_openai_llm(OpenAILLM, concurrency)

    seeds = [json.loads(line) for line in Path(spec["seeds"]).read_text(encoding="utf-8").splitlines()]
    with Pipeline(name="vs-evolinstruct", cache_dir=spec["cache_dir"]) as pipeline:
        load = LoadDataFromDicts(data=[{"instruction": s["instruction"]} for s in seeds], batch_size=concurrency)
        evolve = EvolInstruct(
            llm=llm_class(
                model=MODEL, base_url=spec["base_url"], api_key=API_KEY,
                generation_kwargs={"temperature": 1.0, "top_p": 0.9, "max_new_tokens": 2048},
            ),
            num_evolutions=spec["rounds"],
            store_evolutions=True,
            generate_answers=True,
            input_batch_size=concurrency,
        )
        load >> evolve
    distiset = pipeline.run(use_cache=False)
    rows = distiset["default"]["train"]
    evolutions = sum(len(x) for x in rows["evolved_instructions"])
    answers = sum(sum(1 for a in x if a is not None) for x in rows["answers"])
    print(json.dumps({"rows": len(rows), "evolutions": evolutions, "answers": answers}))


# --- measuring a process tree ----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found.extend(int(x) for x in handle.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(_children(current))
    return pids


def _memory_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


@dataclass
class Run:
    pipeline: str
    seeds: int
    rounds: int
    latency: float
    concurrency: int
    wall_s: float
    requests: int
    span_s: float
    cpu_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    did: dict[str, Any]
    load: float
    others_cores: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.span_s if self.span_s > 0 else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / (self.concurrency / self.latency)

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / max(1, self.requests)


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core, every process), from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_tree(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> tuple[float, float, int, int, str]:
    """Run a command; return wall s, CPU s of the tree, peak RSS and PSS (kB) of the tree, stdout.

    Past ``timeout`` seconds the command's whole process group is killed and RuntimeError raised.
    """
    out_path = cwd / "stdout.txt"
    err_path = cwd / "stderr.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd, start_new_session=True)
        peak_rss = peak_pss = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.perf_counter() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                raise RuntimeError(f"{' '.join(command[:3])} ... still running after {timeout:.0f} s: killed")
            rss = pss = 0
            for member in _tree(process.pid):
                r, p = _memory_kb(member)
                rss += r
                pss += p
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(SAMPLE_EVERY)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:3])} ... exited with {process.returncode}:\n{err_path.read_text()[-3000:]}"
        )
    # ru_maxrss of wait4 is the largest single process of the tree, never below what we sampled.
    peak_rss = max(peak_rss, usage.ru_maxrss)
    return wall, usage.ru_utime + usage.ru_stime, peak_rss, peak_pss, out_path.read_text()


class TimedServer:
    """A fresh loopback server in this process; counts requests and times the request phase."""

    def __init__(self, latency: float) -> None:
        from evolinstruct.offline.model import offline_reply
        from evolinstruct.offline.server import LoopbackLLM

        self.first: float | None = None
        self.last: float | None = None
        self.latency = latency

        def responder(chat: Any) -> str:
            now = time.perf_counter()
            if self.first is None:
                self.first = now
            self.last = now
            return offline_reply(chat)

        self.server = LoopbackLLM(latency=latency, responder=responder)

    def __enter__(self) -> TimedServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def span(self) -> float:
        """First request received to last reply sent (the last reply leaves one latency later)."""
        if self.first is None or self.last is None:
            return 0.0
        return self.last + self.latency - self.first


def measure(pipeline: str, seeds: int, rounds: int, latency: float, concurrency: int, work: Path,
            timeout: float = 3600.0) -> Run:
    folder = Path(tempfile.mkdtemp(prefix=f"{pipeline}-", dir=work))
    seeds_path = folder / "seeds.jsonl"
    seeds_path.write_text("".join(json.dumps(s) + "\n" for s in make_seeds(seeds)), encoding="utf-8")
    env = dict(os.environ)
    env.pop("OPENAI_BASE_URL", None)
    env.pop("OPENAI_API_KEY", None)
    load = os.getloadavg()[0]
    busy, own = busy_seconds(), own_cpu_seconds()
    try:
        with TimedServer(latency) as server:
            if pipeline == "ours":
                command = [
                    shutil.which("evol") or "evol", "build", "--domain", "general", "--seeds", str(seeds_path),
                    "--out", str(folder / "out"), "--rounds", str(rounds), "--concurrency", str(concurrency),
                    "--base-url", server.server.base_url, "--api-key", API_KEY, "--model", MODEL, "--no-progress",
                ]
            else:
                spec = {"seeds": str(seeds_path), "rounds": rounds, "concurrency": concurrency,
                        "base_url": server.server.base_url, "cache_dir": str(folder / "distilabel-cache")}
                command = [str(venv_python()), str(Path(__file__).resolve()), "--distilabel-worker", json.dumps(spec)]
                env["DISTILABEL_LOG_LEVEL"] = "WARNING"
            wall, cpu, rss, pss, stdout = run_tree(command, env=env, cwd=folder, timeout=timeout)
            requests, span = server.server.request_count, server.span
        # Everything else the machine did meanwhile: not this pipeline, not this driver (server).
        others = (busy_seconds() - busy) - cpu - (own_cpu_seconds() - own)
        if pipeline == "ours":
            did = our_summary(folder / "out", rounds)
        else:
            summary = json.loads(stdout.strip().splitlines()[-1])
            did = {"evolutions": summary["evolutions"], "judged": 0, "eliminated": 0, "answers": summary["answers"]}
        did["requests_expected"] = did["evolutions"] + did["judged"] + did["answers"]
        if did["requests_expected"] != requests:
            did["note"] = f"server counted {requests}, outputs account for {did['requests_expected']}"
        return Run(pipeline, seeds, rounds, latency, concurrency, wall, requests, span, cpu,
                   rss / 1024, pss / 1024, did, load, max(0.0, others / wall))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def our_summary(out: Path, rounds: int) -> dict[str, Any]:
    """What the build did, from its manifest: requests per stage, evolutions, eliminations."""
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    stages = counts["tokens_per_stage"]
    evolved = [c for r, c in counts["per_round"].items() if int(r) > 0]
    return {
        "evolutions": stages.get("evolve", {}).get("requests", 0),
        "judged": stages.get("equality", {}).get("requests", 0),
        "eliminated": sum(c["eliminated"] for c in evolved),
        "kept": sum(c["kept"] for c in evolved),
        "answers": stages.get("respond", {}).get("requests", 0),
        "failed": sum(c["failed"] for c in counts["per_round"].values()),
        "sent": manifest["requests"]["sent"],
    }


# --- the table ---------------------------------------------------------------------------------


def median_run(runs: list[Run]) -> Run:
    """The run with the median request rate, reported whole (its own wall time, memory...)."""
    ordered = sorted(runs, key=lambda r: r.rate)
    return ordered[len(ordered) // 2]


def describe(run: Run) -> str:
    d = run.did
    if run.pipeline == "ours":
        return (f"{d['evolutions']} evolutions, {d['judged']} equality judgements, "
                f"{d['eliminated']} eliminated, {d['answers']} answers")
    return f"{d['evolutions']} evolutions, no judge, no elimination, {d['answers']} answers"


def table(rows: list[tuple[Run, list[Run]]]) -> str:
    lines = [
        "| pipeline | seeds | rounds | L (ms) | C | wall s | requests | req/s | ratio to C/L | "
        "CPU ms/req | peak RSS MB | peak PSS MB | others' CPU | what it did |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run, runs in rows:
        walls = statistics.median(r.wall_s for r in runs)
        rss = statistics.median(r.peak_rss_mb for r in runs)
        pss = statistics.median(r.peak_pss_mb for r in runs)
        cpu = statistics.median(r.cpu_ms_per_request for r in runs)
        others = max(r.others_cores for r in runs)
        name = "evolinstruct" if run.pipeline == "ours" else "distilabel 1.5.3"
        lines.append(
            f"| {name} | {run.seeds:,} | {run.rounds} | {run.latency * 1000:.0f} | {run.concurrency} | {walls:.1f} | "
            f"{run.requests:,} | {run.rate:.0f} | {run.ratio:.2f} | {cpu:.2f} | {rss:.0f} | {pss:.0f} | {others:.2f} | "
            f"{describe(run)} |"
        )
    return "\n".join(lines)


def plan(only: str | None, args: argparse.Namespace) -> list[tuple[int, int, float]]:
    rounds_rows = [(args.seeds, args.rounds, latency) for latency in args.latency]
    scale_rows = [(n, 1, 0.05) for n in args.scale]
    if only == "rounds":
        return rounds_rows
    if only == "scale":
        return scale_rows
    return rounds_rows + scale_rows


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--distilabel-worker":
        distilabel_worker(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("rounds", "scale"))
    parser.add_argument("--pipelines", nargs="+", default=["ours", "distilabel"], choices=("ours", "distilabel"))
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.2, 0.05], help="latencies of the rounds rows (s)")
    parser.add_argument("--seeds", type=int, default=1280, help="seeds of the rounds rows")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, nargs="+", default=[1000, 10000], help="seeds of the one-round rows")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before one run is killed")
    parser.add_argument("--json", type=Path, help="also write every run to this file")
    args = parser.parse_args()

    versions = ensure_distilabel() if "distilabel" in args.pipelines else ""
    work = HERE / ".work"
    work.mkdir(exist_ok=True)
    rows: list[tuple[Run, list[Run]]] = []
    every: list[Run] = []
    for seeds, rounds, latency in plan(args.only, args):
        for pipeline in args.pipelines:
            runs = []
            for repeat in range(args.repeats):
                run = measure(pipeline, seeds, rounds, latency, args.concurrency, work, args.timeout)
                print(
                    f"{pipeline:10} seeds={seeds} rounds={rounds} L={latency * 1000:.0f}ms #{repeat + 1}: "
                    f"wall {run.wall_s:.1f} s, {run.requests} requests, {run.rate:.0f} req/s "
                    f"({run.ratio:.2f} of C/L), CPU {run.cpu_ms_per_request:.2f} ms/req, "
                    f"RSS {run.peak_rss_mb:.0f} MB, PSS {run.peak_pss_mb:.0f} MB, load {run.load:.1f}, "
                    f"others' CPU {run.others_cores:.2f} cores; {describe(run)}"
                    + (f" [{run.did['note']}]" if "note" in run.did else ""),
                    file=sys.stderr, flush=True,
                )
                runs.append(run)
                every.append(run)
            rows.append((median_run(runs), runs))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in every], indent=1) + "\n")

    cpu = os.cpu_count()
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"\nmachine: {model}, {cpu} cores, Linux {platform.release()}, Python {platform.python_version()}; "
          f"distilabel, openai: {versions or 'not run'}; median of {args.repeats} runs; {time.strftime('%Y-%m-%d')}")
    print(table(rows))


if __name__ == "__main__":
    main()
