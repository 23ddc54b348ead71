"""Time and peak memory of ``evol curate`` (dedup and decontamination) on 100k and 300k rows.

    python benchmarks/curate_throughput.py [--sizes 100000,300000] [--clusters grow|fixed] [--repeat N]

Rows are built from ../shared/data (GSM8K train, Code Alpaca, MBPP, with their answers: 9,964
base texts) with perturbations, shaped like a build's dataset.jsonl: rounds 0-4, and per row one
of: a base text as it is (so texts repeat: exact duplicates), a copy with one or two words edited
(near duplicates), two base texts joined (new rows), or a benchmark item planted verbatim,
renumbered or embedded (about 1 row in 200). Each size is curated in a fresh subprocess (the full
pipeline: reading and checking every row, contamination against all four built-in benchmarks,
exact and near duplicates, writing the three files), so its peak RSS is its own.

``--clusters`` says how the rows made from one base text (its copies, edits and the joined texts
it begins: a cluster) grow with the row count:

- ``grow`` (the default): every size draws from all the base texts, so clusters grow in
  proportion to the rows (about 10 rows per base text at 100k, 30 at 300k). Near-duplicate
  candidates inside a cluster grow with its square, so this is the harder case;
- ``fixed``: the base set grows with the rows (a random share of it, all of it at the largest
  size), so clusters are the same size at every size, as in an evolved dataset, where a seed's
  lineage does not grow with the number of seeds.

``--repeat N`` curates every size N times, alternating sizes, and reports the fastest run (the
machine is shared: the load average at the start of each run is printed). CPU time (the curating
process's user + system time) is shown beside the wall time: other work on the machine changes it
less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted import benchmark_items, change_numbers, clean_texts, dataset_rows, edit_words, embed, vocabulary  # noqa: E402

OPERATIONS = ("add-constraints", "deepen", "concretize", "increase-reasoning", "in-breadth")


def build(path: Path, rows: int, seed: int = 0, base_share: float = 1.0) -> dict[str, float]:
    """Write the dataset; return its cluster sizes (rows per base text: mean and largest).

    ``base_share`` < 1 draws from that share of the base texts only."""
    rng = random.Random(seed)
    clean = [t for ts in clean_texts().values() for t in ts]
    if base_share < 1.0:
        clean = random.Random(seed + 1).sample(clean, max(2, round(len(clean) * base_share)))
    items = [t for ts in benchmark_items().values() for t in ts]
    words = vocabulary(clean)
    cluster: Counter[int] = Counter()

    def texts():
        for _ in range(rows):
            base_index = rng.randrange(len(clean))
            base = clean[base_index]
            roll = rng.random()
            if roll < 0.005:
                item = rng.choice(items)
                kind = rng.choice((lambda t: t, lambda t: change_numbers(t, rng), lambda t: embed(t, rng, clean)))
                yield kind(item.instruction), base.response
                continue
            cluster[base_index] += 1
            if roll < 0.35:
                yield base.instruction, base.response
            elif roll < 0.6:
                yield edit_words(base.instruction, rng, words, rate=0.03), base.response
            else:
                other = rng.choice(clean)
                yield f"{base.instruction}\n\n{other.instruction}", f"{base.response}\n\n{other.response}"

    with path.open("w", encoding="utf-8") as handle:
        for row in dataset_rows(texts()):
            row["round"] = rng.randint(0, 4)
            row["operation"] = "seed" if row["round"] == 0 else rng.choice(OPERATIONS)
            handle.write(json.dumps(row, ensure_ascii=False, separators=(", ", ": ")) + "\n")
    return {"base_texts": len(clean), "mean": sum(cluster.values()) / len(clean), "largest": max(cluster.values())}


def run(folder: Path) -> None:
    """In the child process: curate and print one JSON line, with the time of each stage."""
    from evolinstruct.app.curate.curate import CurationSettings, curate

    ends: dict[str, float] = {}

    def progress(items, *, total, description):
        yield from items
        ends[description] = time.perf_counter()

    load = os.getloadavg()[0]
    cpu_started = time.process_time()
    started = time.perf_counter()
    report = curate(folder, CurationSettings(), progress=progress)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    marks = [started, ends["reading rows"], ends["exact duplicates"], ends["near duplicates"], started + elapsed]
    stages = dict(zip(("read", "exact", "near", "write"), (b - a for a, b in zip(marks, marks[1:]))))
    print(json.dumps({
        "seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak_mb, "kept": report.kept, "removed": dict(report.removed_per_rule),
        "stages": stages, "load": load,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--clusters", choices=("grow", "fixed"), default="grow")
    parser.add_argument("--repeat", type=int, default=1, help="curate each size this many times (alternating); the fastest is shown")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: Python {platform.python_version()}, {platform.machine()}, cores: {os.cpu_count()}; clusters: {args.clusters}")
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders: dict[int, Path] = {}
        clusters: dict[int, dict] = {}
        for size in sizes:
            folder = folders[size] = Path(tmp) / str(size)
            folder.mkdir()
            share = size / max(sizes) if args.clusters == "fixed" else 1.0
            started = time.perf_counter()
            clusters[size] = build(folder / "dataset.jsonl", size, base_share=share)
            clusters[size]["build_s"] = time.perf_counter() - started
        for attempt in range(args.repeat):
            for size in sizes:
                child = subprocess.run(
                    [sys.executable, __file__, "--run", str(folders[size])], capture_output=True, text=True, check=True
                )
                result = json.loads(child.stdout.strip().splitlines()[-1])
                print(
                    f"  run {attempt + 1}, {size} rows: {result['seconds']:.1f} s ({result['cpu_seconds']:.1f} s CPU), "
                    f"{result['peak_mb']:.0f} MB, load {result['load']:.1f}",
                    flush=True,
                )
                if size not in results or result["seconds"] < results[size]["seconds"]:
                    results[size] = result
        print()
        print(
            "| rows | file (MB) | base texts | rows per base text (mean, largest) | curate (s) | CPU (s) | read + contamination (s) "
            "| exact (s) | near (s) | write (s) | rows/s | peak RSS (MB) | kept | contamination | exact-duplicate | near-duplicate |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for size in sizes:
            result, cluster, stages = results[size], clusters[size], results[size]["stages"]
            removed = result["removed"]
            mb = (folders[size] / "dataset.jsonl").stat().st_size / 1e6
            print(
                f"| {size} | {mb:.0f} | {cluster['base_texts']} | {cluster['mean']:.1f}, {cluster['largest']} | "
                f"{result['seconds']:.1f} | {result['cpu_seconds']:.1f} | {stages['read']:.1f} | {stages['exact']:.1f} | {stages['near']:.1f} | "
                f"{stages['write']:.1f} | {size / result['seconds']:.0f} | {result['peak_mb']:.0f} | {result['kept']} | "
                f"{removed['contamination']} | {removed['exact-duplicate']} | {removed['near-duplicate']} |"
            )
    for small, large in zip(sizes, sizes[1:]):
        a, b = results[small], results[large]
        print(
            f"{large} / {small} rows: x{large / small:.2f} rows, x{b['seconds'] / a['seconds']:.2f} time, "
            f"x{b['cpu_seconds'] / a['cpu_seconds']:.2f} CPU time "
            f"(read x{b['stages']['read'] / a['stages']['read']:.2f}, exact x{b['stages']['exact'] / a['stages']['exact']:.2f}, "
            f"near x{b['stages']['near'] / a['stages']['near']:.2f}, write x{b['stages']['write'] / a['stages']['write']:.2f}), "
            f"x{b['peak_mb'] / a['peak_mb']:.2f} peak memory"
        )


if __name__ == "__main__":
    main()
