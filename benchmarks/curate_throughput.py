"""Time and peak memory of ``evol curate`` (dedup and decontamination) on 100k and 300k rows.

    python benchmarks/curate_throughput.py [--sizes 100000,300000]

Rows are built from ../shared/data (GSM8K train, Code Alpaca, MBPP, with their answers) with
perturbations, shaped like a build's dataset.jsonl: rounds 0-4, and per row one of: the text as
it is (so texts repeat: exact duplicates), a copy with one or two words edited (near
duplicates), two texts joined (new rows), or a benchmark item planted verbatim, renumbered or
embedded (about 1 row in 200). Each size is curated in a fresh subprocess (the full pipeline:
reading and checking every row, contamination against all four built-in benchmarks, exact and
near duplicates, writing the three files), so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted import benchmark_items, change_numbers, clean_texts, dataset_rows, edit_words, embed, vocabulary  # noqa: E402

OPERATIONS = ("add-constraints", "deepen", "concretize", "increase-reasoning", "in-breadth")


def build(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    clean = [t for ts in clean_texts().values() for t in ts]
    items = [t for ts in benchmark_items().values() for t in ts]
    words = vocabulary(clean)

    def texts():
        for _ in range(rows):
            base = rng.choice(clean)
            roll = rng.random()
            if roll < 0.005:
                item = rng.choice(items)
                kind = rng.choice((lambda t: t, lambda t: change_numbers(t, rng), lambda t: embed(t, rng, clean)))
                yield kind(item.instruction), base.response
            elif roll < 0.35:
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


def run(folder: Path) -> None:
    """In the child process: curate and print one JSON line."""
    from evolinstruct.app.curate import CurationSettings, curate

    started = time.perf_counter()
    report = curate(folder, CurationSettings())
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "kept": report.kept, "removed": dict(report.removed_per_rule)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run)
        return
    print(f"machine: {platform.python_version()}, {platform.machine()}, cores: {__import__('os').cpu_count()}")
    print("| rows | file (MB) | build the file (s) | curate (s) | rows/s | peak RSS (MB) | kept | contamination | exact-duplicate | near-duplicate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            started = time.perf_counter()
            build(folder / "dataset.jsonl", size)
            built = time.perf_counter() - started
            mb = (folder / "dataset.jsonl").stat().st_size / 1e6
            child = subprocess.run([sys.executable, __file__, "--run", str(folder)], capture_output=True, text=True, check=True)
            result = json.loads(child.stdout.strip().splitlines()[-1])
            removed = result["removed"]
            print(
                f"| {size} | {mb:.0f} | {built:.1f} | {result['seconds']:.1f} | {size / result['seconds']:.0f} | "
                f"{result['peak_mb']:.0f} | {result['kept']} | {removed['contamination']} | "
                f"{removed['exact-duplicate']} | {removed['near-duplicate']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
