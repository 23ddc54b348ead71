"""Near duplicates in large clusters: the search decides as comparing every LSH candidate does.

The search filters candidates by size and counts shared shingles for many candidates at once, and
it shingles a chunk of rows at a time. The reference here is the plain algorithm: shingles made
text by text, every kept row that shares a band key with a row compared by exact Jaccard in the
order rows were kept. Rows are planted from GSM8K training questions in clusters of dozens of
variants (copies, edits of one to three words, a sentence added, two questions joined), which is
where a row has many candidates.
"""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
import pytest

from evolinstruct.builtins.curation import near
from evolinstruct.builtins.curation.near import (
    band_keys,
    bands_for,
    find_near_duplicates,
    jaccard,
    near_duplicate_rule,
    shingles_of_texts,
    signatures,
)
from evolinstruct.builtins.curation.ngrams import TokenHasher, sequence_hash
from evolinstruct.builtins.curation.runner import RuleRunner
from evolinstruct.builtins.curation.text import near_tokens

from ..conftest import read_jsonl

BASES = 40
VARIANTS = 60


def planted_clusters(seed: int = 7) -> list[tuple[str, int]]:
    """(instruction, round) rows: ``BASES`` clusters of ``VARIANTS`` rows, plus short texts."""
    rng = random.Random(seed)
    questions = [record["question"] for record in read_jsonl("gsm8k_train_first400.jsonl.gz")]
    bases = questions[:BASES]
    fillers = questions[BASES:]
    words = sorted({w for q in questions for w in q.split() if w.isalpha()})

    def edited(text: str, edits: int) -> str:
        tokens = text.split(" ")
        for _ in range(edits):
            at = rng.randrange(len(tokens))
            kind = rng.choice(("substitute", "delete", "insert"))
            if kind == "substitute":
                tokens[at] = rng.choice(words)
            elif kind == "delete" and len(tokens) > 2:
                del tokens[at]
            else:
                tokens.insert(at, rng.choice(words))
        return " ".join(tokens)

    rows: list[tuple[str, int]] = []
    for base in bases:
        for _ in range(VARIANTS):
            roll = rng.random()
            if roll < 0.15:
                text = base.upper() if rng.random() < 0.5 else base
            elif roll < 0.7:
                text = edited(base, rng.randint(1, 3))
            elif roll < 0.85:
                text = f"{edited(base, rng.randint(0, 1))} {rng.choice(fillers).split('.')[0]}."
            else:
                text = f"{base}\n\n{rng.choice(fillers)}"
            rows.append((text, rng.randint(0, 4)))
    rows += [("Solve.", 0), ("", 1), ("solve", 2), ("Add 2 and 3", 0), ("add 2 and 3!", 1)]
    rng.shuffle(rows)
    return rows


def shingles_one_by_one(texts: list[str]) -> list[np.ndarray]:
    """Each text's distinct sorted 2-shingle hashes of task words, computed on its own."""
    hasher = TokenHasher()
    out = []
    for text in texts:
        hashes = hasher.hashes(near_tokens(text))
        if not hashes:
            out.append(np.empty(0, np.uint64))
        elif len(hashes) < near.SHINGLE:
            out.append(np.array([sequence_hash(hashes)], np.uint64))
        else:
            grams = {sequence_hash(hashes[i : i + near.SHINGLE]) for i in range(len(hashes) - near.SHINGLE + 1)}
            out.append(np.array(sorted(grams), np.uint64))
    return out


class EveryCandidate:
    """The plain search: every kept row sharing a band key is compared, in the order kept."""

    def __init__(self, sets: list[np.ndarray], threshold: float) -> None:
        self.sets, self.threshold = sets, threshold
        bands, rows = bands_for(threshold)
        self.keys = band_keys(signatures(sets), bands, rows).tolist()
        self.buckets: list[dict[int, list[int]]] = [defaultdict(list) for _ in range(bands)]
        self.rank: dict[int, int] = {}
        self.compared = 0
        self.most_candidates = 0
        self.below_size_bound = 0

    def run(self, order: list[int]) -> list[tuple[int, int, float]]:
        twins = []
        for row in order:
            mine = self.sets[row]
            if len(mine) == 0:
                continue
            found = {other for band, key in enumerate(self.keys[row]) for other in self.buckets[band].get(key, ())}
            self.most_candidates = max(self.most_candidates, len(found))
            best: tuple[int, int, float] | None = None
            for other in sorted(found, key=self.rank.__getitem__):
                similarity = jaccard(mine, self.sets[other])
                self.compared += 1
                sizes = sorted((len(mine), len(self.sets[other])))
                self.below_size_bound += sizes[0] / sizes[1] < self.threshold
                if similarity >= self.threshold and (best is None or similarity > best[2]):
                    best = (row, other, similarity)
            if best is None:
                self.rank[row] = len(self.rank)
                for band, key in enumerate(self.keys[row]):
                    self.buckets[band][key].append(row)
            else:
                twins.append(best)
        return twins


@pytest.fixture
def planted():
    return planted_clusters()


def test_shingles_made_a_chunk_at_a_time_are_those_made_text_by_text(planted, monkeypatch):
    monkeypatch.setattr(near, "CHUNK", 97)  # many chunk boundaries, some inside a cluster
    texts = [text for text, _ in planted]
    chunked = shingles_of_texts(texts)
    alone = shingles_one_by_one(texts)
    assert len(chunked) == len(alone) == len(texts)
    for mine, reference in zip(chunked, alone):
        assert np.array_equal(mine, reference)


@pytest.mark.parametrize("threshold", [0.85, 0.5])
@pytest.mark.parametrize("order_name", ["keep order", "shuffled"])
def test_decisions_in_large_clusters_are_those_of_comparing_every_candidate(planted, threshold, order_name, monkeypatch):
    monkeypatch.setattr(near, "CHUNK", 211)
    texts = [text for text, _ in planted]
    if order_name == "keep order":
        order = sorted(range(len(planted)), key=lambda i: (planted[i][1], i))
    else:
        order = list(range(len(planted)))
        random.Random(3).shuffle(order)  # the budget offers rows by score: rank is not position
    reference = EveryCandidate(shingles_one_by_one(texts), threshold)
    expected = reference.run(order)
    found = [(t.row, t.kept, t.similarity) for t in find_near_duplicates(shingles_of_texts(texts), order, threshold)]
    assert found == expected
    # The set is what it is meant to be: large clusters, both decisions inside them, and
    # candidates that the size bound rules out (so a wrong bound would show).
    assert reference.most_candidates >= 10
    assert reference.compared >= 2 * len(texts)
    assert reference.below_size_bound > 100
    assert len(texts) * 0.3 < len(expected) < len(texts) * 0.97


def test_the_rule_removes_what_comparing_every_candidate_removes(planted):
    rows = [
        {"id": f"r{i}", "instruction": text, "response": "r", "round": round_}
        for i, (text, round_) in enumerate(planted)
        if text
    ]
    runner = RuleRunner([near_duplicate_rule()])
    for position, row in enumerate(rows):
        runner.observe(position, row)
    removed = runner.finish()
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["round"], i))
    expected = EveryCandidate(shingles_one_by_one([r["instruction"] for r in rows]), near.DEFAULT_THRESHOLD).run(order)
    assert {p: d.of for p, d in removed.items()} == {row: rows[twin]["id"] for row, twin, _ in expected}
    for row, _, similarity in expected:
        assert f"Jaccard similarity {similarity:.2f} " in removed[row].reason
