"""Deita's diversity-aware selection: time at 100k rows with 256-dimension embeddings.

    python benchmarks/diversity_selection.py [--rows 100000] [--dimensions 256]

Two sets of embeddings, rows visited in a random order (a score order is one as far as the
search is concerned), threshold 0.9, for several budgets:

- clustered: Gaussian clusters (20,000 centres, noise 0.35 of a centre's scale, seeded), where
  about a quarter of the rows have a neighbour above 0.9;
- planted: the loopback server's embeddings (hashed character 3-grams, ``offline/embeddings.py``)
  of instructions from ../shared/data, each also planted as lightly edited copies
  (``planted.edit_words``), the near copies an evolved dataset is full of.

Then the same selection one row at a time (each row's similarities to every chosen row, a
matrix-vector product in float64) on the first rows, to show what the blocked search saves and
that it chooses the same rows.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted import benchmark_items, clean_texts, edit_words, vocabulary  # noqa: E402

from evolinstruct.builtins.curation.diversity import select_diverse, unit_rows  # noqa: E402
from evolinstruct.offline.embeddings import HashedEmbedder  # noqa: E402

THRESHOLD = 0.9


def clustered(rows: int, dimensions: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20000, dimensions)).astype(np.float32)
    return centres[rng.integers(0, len(centres), rows)] + rng.normal(size=(rows, dimensions)).astype(np.float32) * 0.35


def planted(rows: int, dimensions: int) -> np.ndarray:
    rng = random.Random(0)
    texts = [t.instruction for ts in clean_texts().values() for t in ts]
    texts += [t.instruction for ts in benchmark_items().values() for t in ts]
    words = vocabulary([t for ts in clean_texts().values() for t in ts])
    out = []
    while len(out) < rows:
        base = rng.choice(texts)
        out.append(base if rng.random() < 0.5 else edit_words(base, rng, words, rate=0.05))
    return HashedEmbedder(dimensions).embed_many(out).astype(np.float32)


def one_at_a_time(embeddings: np.ndarray, order: np.ndarray, threshold: float) -> list[int]:
    unit = unit_rows(embeddings)
    chosen = np.empty((len(order), unit.shape[1]))
    kept: list[int] = []
    for row in order.tolist():
        if kept and float((chosen[: len(kept)] @ unit[row]).max()) > threshold:
            continue
        chosen[len(kept)] = unit[row]
        kept.append(row)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=256)
    parser.add_argument("--reference-rows", type=int, default=10_000, help="rows for the one-at-a-time comparison")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {sys.platform}")
    order = np.random.default_rng(1).permutation(args.rows)
    print(f"\n{args.rows} rows, {args.dimensions} dimensions, threshold {THRESHOLD}, rows in a random order")
    print("| embeddings | budget | time (s) | chosen | skipped (too similar) | not reached |")
    print("|---|---|---|---|---|---|")
    sets = {}
    for name, make in (("clustered", clustered), ("planted (loopback embeddings)", planted)):
        started = time.perf_counter()
        sets[name] = embeddings = make(args.rows, args.dimensions)
        made = time.perf_counter() - started
        for budget in (10_000, 30_000, None):
            started = time.perf_counter()
            selection = select_diverse(embeddings, order, THRESHOLD, budget)
            took = time.perf_counter() - started
            print(
                f"| {name} | {budget if budget is not None else 'all'} | {took:.1f} | {len(selection.chosen)} | "
                f"{len(selection.excluded)} | {len(selection.not_reached)} |"
            )
        print(f"(making the {name} embeddings took {made:.1f} s)", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:.0f} MB")

    n = args.reference_rows
    print(f"\nOne row at a time against the blocked search, first {n} rows of each set, no budget")
    print("| embeddings | one at a time, float64 (s) | blocked (s) | same rows chosen |")
    print("|---|---|---|---|")
    for name, embeddings in sets.items():
        subset, sub_order = embeddings[:n], np.random.default_rng(2).permutation(n)
        started = time.perf_counter()
        reference = one_at_a_time(subset, sub_order, THRESHOLD)
        plain = time.perf_counter() - started
        started = time.perf_counter()
        selection = select_diverse(subset, sub_order, THRESHOLD)
        blocked = time.perf_counter() - started
        print(f"| {name} | {plain:.1f} | {blocked:.1f} | {list(selection.chosen) == reference} |")


if __name__ == "__main__":
    main()
