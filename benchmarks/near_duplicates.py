"""Near duplicates: rensa against datasketch, and the choice of the default threshold.

    python benchmarks/near_duplicates.py [--rows 20000]

1. Libraries. Instructions from ../shared/data (Code Alpaca, GSM8K train, MBPP, HumanEval,
   MATH-500), each also planted once as a lightly edited copy, go through the same near-duplicate
   search (word 2-shingles, exact Jaccard on every candidate, the default threshold) with the MinHash
   signatures and LSH of each library: rensa's R-MinHash with our banding (``near.py``), and
   datasketch's MinHash with its MinHashLSH. Both check candidates exactly, so they can differ
   only in pairs their LSH misses; the table gives time, rows removed, and how far the two removal
   sets agree.
2. Threshold. The Jaccard similarity of pairs that should be removed (a copy with trivial edits:
   case, punctuation, one or two words) and of pairs that must stay (an evolution that adds one
   10-20 word sentence, as Evol-Instruct's in-depth operations do; two different tasks that
   differ in one word, found in MBPP and Code Alpaca), for several shingle sizes: the share of
   each kind above each threshold.
3. Short texts. Instructions of at most 12 words from the same data, edited the ways a user
   expects to be removed (an article changed, punctuation changed, one word's inflection, all
   three; any one word) and pairs that must stay (different tasks one word apart; a sentence
   added), read three ways: the words as they are (``normal_tokens``, the reading before task
   words), the task words (``near_tokens``: no articles or function words, stems; the rule's
   reading), and the task words as character 4-grams for texts under 10 of them. Long texts
   (more than 12 words) are measured the same way, and every distinct instruction of the data
   goes through the whole search to count the rows each reading removes from a set of distinct
   rows.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planted import benchmark_items, clean_texts, edit_words, vocabulary  # noqa: E402

from evolinstruct.builtins.curation import near  # noqa: E402
from evolinstruct.builtins.curation.ngrams import NgramHasher  # noqa: E402
from evolinstruct.builtins.curation.text import near_tokens, normal_tokens  # noqa: E402

# Sentences of 10 to 20 words such as an in-depth evolution adds (written for this benchmark).
ADDED = (
    "Also explain how the result changes when the input list is twice as long.",
    "Make sure the solution handles an empty input and explain what it returns then.",
    "Additionally, state the time complexity of your approach and justify it in one sentence.",
    "Present the final answer as a table with one row per intermediate step of the calculation.",
    "Do this without using any built-in sorting function and explain why your method is correct.",
    "Assume every value is given in metric units and convert the final result to imperial units.",
)


def instructions() -> list[str]:
    texts = [t.instruction for ts in clean_texts().values() for t in ts]
    texts += [t.instruction for ts in benchmark_items().values() for t in ts]
    return texts


def trivial_edit(text: str, rng: random.Random, words: list[str], changes: int) -> str:
    """Case and punctuation changed, plus ``changes`` words substituted, inserted or deleted."""
    edited = text.upper() if rng.random() < 0.2 else text.lower() if rng.random() < 0.5 else text
    edited = edited.rstrip(".?!") + rng.choice(("", ".", "!", " ."))
    return edit_words(edited, rng, words, rate=0.0) if changes == 1 else _edit_n(edited, rng, words, changes)


def _edit_n(text: str, rng: random.Random, words: list[str], changes: int) -> str:
    for _ in range(changes):
        text = edit_words(text, rng, words, rate=0.0)
    return text


def one_word_apart(texts: list[str]) -> list[tuple[str, str]]:
    """Pairs of different tasks whose normalised words differ in exactly one position."""
    by_shape: dict[tuple[int, tuple[str, ...]], list[tuple[str, ...]]] = {}
    pairs = []
    seen = set()
    for text in texts:
        tokens = tuple(normal_tokens(text))
        if len(tokens) < 6 or tokens in seen:
            continue
        seen.add(tokens)
        for hole in range(len(tokens)):
            key = (hole, tokens[:hole] + tokens[hole + 1 :])
            for other in by_shape.get(key, ()):
                pairs.append((" ".join(other), " ".join(tokens)))
            by_shape.setdefault(key, []).append(tokens)
    return pairs


def libraries(rows: int) -> None:
    rng = random.Random(0)
    base = instructions()
    words = vocabulary([t for ts in clean_texts().values() for t in ts])
    rng.shuffle(base)
    words = words or ["word"]
    texts = []
    while len(texts) < rows:
        for text in base:
            texts.append(text)
            texts.append(trivial_edit(text, rng, words, 1))
            if len(texts) >= rows:
                break
        base = [f"{t} (variant {len(texts)})" for t in base]
    hasher = NgramHasher()
    started = time.perf_counter()
    sets = near.shingle_sets([near_tokens(t) for t in texts], hasher)
    shingling = time.perf_counter() - started

    threshold = near.DEFAULT_THRESHOLD
    results: dict[str, tuple[float, float, set[int]]] = {}

    started = time.perf_counter()
    signature_rows = near.signatures(sets)
    signing = time.perf_counter() - started
    removed = {twin.row for twin in near.find_near_duplicates(sets, range(len(sets)), threshold, signature_rows=signature_rows)}
    results[f"rensa R-MinHash, our banding {near.bands_for(threshold)}"] = (signing, time.perf_counter() - started, removed)

    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    minhashes = MinHash.bulk([s.tolist() or [0] for s in sets], num_perm=near.NUM_PERM, hashfunc=lambda v: v & 0xFFFFFFFF)
    signing = time.perf_counter() - started
    datasketch_rows = np.array([m.hashvalues for m in minhashes], dtype=np.uint32)
    removed = {twin.row for twin in near.find_near_duplicates(sets, range(len(sets)), threshold, signature_rows=datasketch_rows)}
    results["datasketch MinHash, our banding"] = (signing, time.perf_counter() - started, removed)

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=threshold, num_perm=near.NUM_PERM)
    removed = set()
    for row, minhash in enumerate(minhashes):
        if len(sets[row]) == 0:
            continue
        if any(near.jaccard(sets[row], sets[other]) >= threshold for other in lsh.query(minhash)):
            removed.add(row)
        else:
            lsh.insert(row, minhash)
    results[f"datasketch MinHash, its MinHashLSH {lsh.b, lsh.r}"] = (signing, signing + time.perf_counter() - started, removed)

    import datasketch

    from importlib.metadata import version

    truth = set.union(*(r for _, _, r in results.values()))
    print(f"## MinHash libraries: {len(texts)} instructions ({len(texts) // 2} planted copies), threshold {threshold}, word {near.SHINGLE}-shingles")
    print(f"rensa {version('rensa')}, datasketch {datasketch.__version__}; shingling (ours, shared): {shingling:.2f}s")
    print("| signatures and LSH | signatures (s) | signatures + LSH + exact check (s) | rows removed | share of all rows any variant removed |")
    print("|---|---|---|---|---|")
    for name, (signing, total, removed) in results.items():
        print(f"| {name} | {signing:.2f} | {total:.2f} | {len(removed)} | {len(removed) / max(1, len(truth)):.4f} |")
    sets_ = [r for _, _, r in results.values()]
    print(f"rows removed by rensa+ours and datasketch+ours alike: {len(sets_[0] & sets_[1])} "
          f"(only rensa: {len(sets_[0] - sets_[1])}, only datasketch: {len(sets_[1] - sets_[0])})")
    print()


def similarities(pairs: list[tuple[str, str]], k: int) -> np.ndarray:
    hasher = NgramHasher()
    left = near.shingle_sets([near_tokens(a) for a, _ in pairs], hasher, k)
    right = near.shingle_sets([near_tokens(b) for _, b in pairs], hasher, k)
    return np.array([near.jaccard(a, b) for a, b in zip(left, right)])


def threshold_table() -> None:
    rng = random.Random(1)
    clean = clean_texts()
    words = vocabulary([t for ts in clean.values() for t in ts])
    sample = rng.sample(instructions(), 3000)
    kinds = {
        "copy: case/punctuation + 1 word (remove)": [(t, trivial_edit(t, rng, words, 1)) for t in sample],
        "copy: case/punctuation + 2 words (remove)": [(t, trivial_edit(t, rng, words, 2)) for t in sample],
        "evolved: one 10-20 word sentence added (keep)": [(t, f"{t.rstrip()} {rng.choice(ADDED)}") for t in sample],
        "different task, one word apart (keep)": one_word_apart([t.instruction for t in clean["mbpp-train"] + clean["code-alpaca"]])
        + one_word_apart([t.instruction for t in benchmark_items()["mbpp"]]),
    }
    thresholds = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
    print("## Threshold: share of pairs at or above each Jaccard threshold")
    for k in (2, 3, 5):
        print(f"\nword {k}-shingles")
        print("| pairs | n | median J | " + " | ".join(f">= {t}" for t in thresholds) + " |")
        print("|---|---|---|" + "---|" * len(thresholds))
        for name, pairs in kinds.items():
            values = similarities(pairs, k)
            cells = [f"{(values >= t).mean():.1%}" for t in thresholds]
            print(f"| {name} | {len(pairs)} | {np.median(values):.2f} | " + " | ".join(cells) + " |")
    lengths = np.array([len(normal_tokens(t)) for t in sample])
    print(f"\ninstruction length in words over the sample: median {np.median(lengths):.0f}, 90th percentile {np.percentile(lengths, 90):.0f}")


ARTICLES = {"a": "the", "an": "the", "the": "a"}


def change_article(text: str, rng: random.Random) -> str:
    """One article swapped (a/an <-> the) or dropped; a text without one gets "the" inserted."""
    tokens = text.split(" ")
    at = [i for i, t in enumerate(tokens) if t.lower() in ARTICLES]
    if at:
        i = rng.choice(at)
        if rng.random() < 0.3:
            del tokens[i]
        else:
            tokens[i] = ARTICLES[tokens[i].lower()]
    else:
        tokens.insert(rng.randrange(1, len(tokens)) if len(tokens) > 1 else 0, "the")
    return " ".join(tokens)


def change_punctuation(text: str, rng: random.Random) -> str:
    """The end mark changed or dropped, and a comma added after a word or removed."""
    edited = text.rstrip(".?!") + rng.choice(("", ".", "?", "!", " ."))
    if "," in edited and rng.random() < 0.5:
        return edited.replace(",", "", 1)
    tokens = edited.split(" ")
    if len(tokens) > 2:
        i = rng.randrange(1, len(tokens) - 1)
        tokens[i] = tokens[i].rstrip(",") + ","
    return " ".join(tokens)


def change_inflection(text: str, rng: random.Random) -> str:
    """One word of four letters or more takes or loses an -s (number/numbers, find/finds)."""
    tokens = text.split(" ")
    at = [i for i, t in enumerate(tokens) if t.isalpha() and len(t) >= 4]
    if not at:
        return text
    i = rng.choice(at)
    word = tokens[i]
    tokens[i] = word[:-1] if word.endswith("s") and not word.endswith("ss") else word + "s"
    return " ".join(tokens)


def char_grams(tokens: list[str], q: int = 4) -> np.ndarray:
    text = " ".join(tokens)
    grams = {text[i : i + q] for i in range(max(1, len(text) - q + 1))} if text else set()
    from evolinstruct.builtins.curation.ngrams import token_hash

    return np.array(sorted(token_hash(g) for g in grams), np.uint64)


def readings() -> dict[str, "Callable[[list[str]], list[np.ndarray]]"]:
    """Each reading turns texts into shingle sets."""
    hasher = NgramHasher()

    def words(texts: list[str]) -> list[np.ndarray]:
        return list(near.shingle_sets([normal_tokens(t) for t in texts], hasher))

    def task_words(texts: list[str]) -> list[np.ndarray]:
        return list(near.shingles_of_texts(texts, hasher))

    def with_char_grams(texts: list[str]) -> list[np.ndarray]:
        sets = task_words(texts)
        for i, text in enumerate(texts):
            tokens = near_tokens(text)
            if len(tokens) < 10:
                sets[i] = char_grams(tokens)
        return sets

    return {
        f"words as written, word {near.SHINGLE}-shingles": words,
        f"task words (the rule), word {near.SHINGLE}-shingles": task_words,
        "task words, char 4-grams under 10 of them": with_char_grams,
    }


def short_texts() -> None:
    rng = random.Random(2)
    clean = clean_texts()
    words = vocabulary([t for ts in clean.values() for t in ts])
    texts = sorted(set(instructions()))
    short = [t for t in texts if 4 <= len(normal_tokens(t)) <= 12]
    long = [t for t in texts if len(normal_tokens(t)) > 12]
    long = rng.sample(long, min(3000, len(long)))
    apart = one_word_apart([t.instruction for t in clean["mbpp-train"] + clean["code-alpaca"]]) + one_word_apart(
        [t.instruction for t in benchmark_items()["mbpp"]]
    )
    short_apart = [p for p in apart if len(p[0].split()) <= 12]

    def kinds(base: list[str]) -> dict[str, list[tuple[str, str]]]:
        return {
            "an article changed (remove)": [(t, change_article(t, rng)) for t in base],
            "punctuation changed (remove)": [(t, change_punctuation(t, rng)) for t in base],
            "one word's inflection (remove)": [(t, change_inflection(t, rng)) for t in base],
            "article + punctuation + inflection (remove)": [
                (t, change_inflection(change_punctuation(change_article(t, rng), rng), rng)) for t in base
            ],
            "any one word substituted/inserted/deleted (remove)": [(t, edit_words(t, rng, words, rate=0.0)) for t in base],
            "evolved: one 10-20 word sentence added (keep)": [(t, f"{t.rstrip()} {rng.choice(ADDED)}") for t in base],
        }

    threshold = near.DEFAULT_THRESHOLD
    groups = {
        f"short ({len(short)} instructions of 4-12 words)": {
            **kinds(short),
            "different task, one word apart, <= 12 words (keep)": short_apart,
        },
        f"long ({len(long)} sampled instructions of more than 12 words)": {
            **kinds(long),
            "different task, one word apart, any length (keep)": apart,
        },
    }
    print(f"## Short and long texts: share of pairs at or above the threshold ({threshold})")
    for reading, read in readings().items():
        print(f"\nreading: {reading}")
        print("| texts | pairs | n | found (>= threshold) |")
        print("|---|---|---|---|")
        for group, pairs_by_kind in groups.items():
            for kind, pairs in pairs_by_kind.items():
                left, right = read([a for a, _ in pairs]), read([b for _, b in pairs])
                found = np.mean([near.jaccard(a, b) >= threshold for a, b in zip(left, right)]) if pairs else float("nan")
                print(f"| {group.split(' (')[0]} | {kind} | {len(pairs)} | {found:.1%} |")

    print(f"\n## Distinct rows: every instruction of the data once ({len(texts)} exactly distinct), the whole search")
    print("| reading | rows removed | share | examples (removed / kept) |")
    print("|---|---|---|---|")
    for reading, read in readings().items():
        sets = read(texts)
        twins = list(near.find_near_duplicates(sets, range(len(texts)), threshold))
        examples = "; ".join(f"{texts[t.row][:60]!r} / {texts[t.kept][:60]!r}" for t in rng.sample(twins, min(2, len(twins))))
        print(f"| {reading} | {len(twins)} | {len(twins) / len(texts):.2%} | {examples} |")
        if reading.startswith("task words (the rule)"):
            removed_pairs = [(texts[t.row], texts[t.kept], t.similarity) for t in twins]
    print("\nevery pair the rule's reading removes from the distinct rows (removed | kept | Jaccard):")
    for removed, kept, similarity in removed_pairs:
        print(f"  {similarity:.2f} | {removed[:110]!r} | {kept[:110]!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000, help="rows for the library comparison")
    parser.add_argument("--only", choices=("libraries", "threshold", "short"), help="run one part")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {platform.machine()}, {sys.platform}")
    if args.only in (None, "libraries"):
        libraries(args.rows)
    if args.only in (None, "threshold"):
        threshold_table()
    if args.only in (None, "short"):
        short_texts()
