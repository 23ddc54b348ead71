"""Recall and false positives of the contamination rule, and the choice of its parameters.

    python benchmarks/contamination_recall.py [--grid]

Positives: every item of the four built-in benchmarks (HumanEval, MBPP test, GSM8K test,
MATH-500) planted into a row six ways (benchmarks/planted.py): verbatim, lightly edited (10% of
the words substituted, deleted or inserted), numbers changed, embedded between two unrelated
instructions, all three at once, and restated in the response. Negatives: clean training data
from ../shared/data (GSM8K train questions with their answers, Code Alpaca instructions with
their outputs, MBPP's non-test tasks with their code), checked against all four benchmarks.

With ``--grid`` it prints recall and false positives for several n-gram sizes and containment
thresholds (fingerprints built in memory); without, the shipped fingerprints and the default
threshold, per benchmark, with every false positive listed for inspection.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted import Text, benchmark_items, clean_texts, perturbations, vocabulary  # noqa: E402

from evolinstruct.builtins.curation.benchmarks import BenchmarkItem, fingerprint, resolve  # noqa: E402
from evolinstruct.builtins.curation.contamination import DEFAULT_THRESHOLD, ContaminationIndex  # noqa: E402
from evolinstruct.builtins.curation.text import benchmark_tokens  # noqa: E402


def tokens_of(rows: list[tuple[str, str]]) -> list[list[list[str]]]:
    return [[benchmark_tokens(instruction), benchmark_tokens(response)] for instruction, response in rows]


def planted_sets(seed: int = 0) -> dict[str, dict[str, list[tuple[Text, tuple[str, str]]]]]:
    """{perturbation: {benchmark: [(item, row)]}}"""
    items = benchmark_items()
    clean = clean_texts()
    fillers = clean["code-alpaca"] + clean["gsm8k-train"]
    words = vocabulary(fillers)
    out: dict[str, dict[str, list]] = {}
    for name, perturb in perturbations(words, fillers).items():
        rng = random.Random(f"{seed}:{name}")
        out[name] = {bench: [(t, perturb(t, rng)) for t in texts] for bench, texts in items.items()}
    return out


def negatives() -> dict[str, list[tuple[Text, tuple[str, str]]]]:
    return {name: [(t, (t.instruction, t.response)) for t in texts] for name, texts in clean_texts().items()}


def build_index(ngram: int, threshold: float, whole_below: int) -> ContaminationIndex:
    fps = []
    for bench, texts in benchmark_items().items():
        items = [BenchmarkItem(t.id, t.instruction) for t in texts]
        fps.append(fingerprint(bench, bench, items, {}, ngram=ngram, whole_below=whole_below))
    return ContaminationIndex(fps, threshold)


_TOKENS: dict[int, list] = {}


def tokens_once(pairs: list) -> list:
    """Token lists of a planted set, computed once however many configurations are measured."""
    key = id(pairs)
    if key not in _TOKENS:
        _TOKENS[key] = tokens_of([row for _, row in pairs])
    return _TOKENS[key]


def evaluate(index: ContaminationIndex, planted: dict, clean: dict) -> tuple[dict[str, dict[str, float]], dict[str, list]]:
    recall: dict[str, dict[str, float]] = {}
    for name, per_bench in planted.items():
        recall[name] = {}
        for bench, pairs in per_bench.items():
            matches = index.match(tokens_once(pairs), [instruction for _, (instruction, _) in pairs])
            right = sum(1 for (item, _), m in zip(pairs, matches) if m is not None and m.benchmark == bench and m.item_id == item.id)
            recall[name][bench] = right / len(pairs)
    false_positives: dict[str, list] = {}
    for name, pairs in clean.items():
        matches = index.match(tokens_once(pairs), [instruction for _, (instruction, _) in pairs])
        false_positives[name] = [(t, m) for (t, _), m in zip(pairs, matches) if m is not None]
    return recall, false_positives


GRID = [
    (ngram, whole_below, threshold)
    for ngram in (5, 6, 8, 10, 13)
    for whole_below in (ngram, 20, 25)
    for threshold in (0.3, 0.4, 0.5, 0.6)
    if whole_below >= ngram
]


def grid() -> None:
    planted, clean = planted_sets(), negatives()
    sizes = {name: len(pairs) for name, pairs in clean.items()}
    print(f"negatives: {sizes}")
    header = ["n", "whole below", "threshold", *planted, *(f"FP {name}" for name in clean)]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for ngram, whole_below, threshold in GRID:
        index = build_index(ngram, threshold, whole_below)
        recall, fps = evaluate(index, planted, clean)
        cells = [str(ngram), str(whole_below), f"{threshold:.1f}"]
        cells += [f"{sum(r.values()) / len(r):.3f}" for r in recall.values()]
        cells += [f"{len(fps[name])}" for name in clean]
        print("| " + " | ".join(cells) + " |", flush=True)


def shipped() -> None:
    started = time.perf_counter()
    index = ContaminationIndex(resolve(None), DEFAULT_THRESHOLD)
    planted, clean = planted_sets(), negatives()
    recall, fps = evaluate(index, planted, clean)
    benches = list(next(iter(planted.values())))
    print(f"shipped fingerprints, n={index.ngram}, containment threshold {DEFAULT_THRESHOLD}")
    print("| planted as | " + " | ".join(f"{b} ({len(planted['verbatim'][b])})" for b in benches) + " | all |")
    print("|---|" + "---|" * (len(benches) + 1))
    for name, per_bench in recall.items():
        total = sum(per_bench[b] * len(planted[name][b]) for b in benches) / sum(len(planted[name][b]) for b in benches)
        print(f"| {name} | " + " | ".join(f"{per_bench[b]:.1%}" for b in benches) + f" | {total:.1%} |")
    print()
    print("| clean rows | rows | flagged | rate |")
    print("|---|---|---|---|")
    for name, flagged in fps.items():
        n = len(clean[name])
        print(f"| {name} | {n} | {len(flagged)} | {len(flagged) / n:.2%} |")
    print()
    for name, flagged in fps.items():
        for text, match in flagged:
            print(f"flagged {name} {text.id}: {match.reason(index.ngram)}")
            print(f"    {text.instruction[:160]!r}")
    print(f"\n{platform.python_version()}, {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="scan n-gram sizes and thresholds")
    args = parser.parse_args()
    grid() if args.grid else shipped()
