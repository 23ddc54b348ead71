"""Near duplicates: MinHash signatures with LSH banding over word shingles, then exact Jaccard.

Each instruction (with its input) becomes the set of its word shingles (``SHINGLE`` consecutive
normalised tokens, see ``text.normal_tokens``). rensa computes a MinHash signature per set; the
signature is cut into bands, and two rows that agree on a whole band become a candidate pair. A
candidate is a near duplicate only if the exact Jaccard similarity of the two shingle sets reaches
the threshold: MinHash decides which pairs are compared (that is what makes a million rows
feasible), never whether a row is removed, so a removal always states a true similarity.

Rows are visited in the order that decides which one is kept (lowest round, then file order);
each is compared with the rows kept so far and either joins them or is removed as a near
duplicate of its most similar kept row. So every removed row's twin is a kept row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import rensa

from .ngrams import NgramHasher, TokenStream, sequence_hash
from ...types.curation import Candidate, CurationRule, Progress, Removal
from .text import dedup_text, normal_tokens

SHINGLE = 2
"""Words per shingle; chosen with the threshold by benchmarks/near_duplicates.py."""
DEFAULT_THRESHOLD = 0.85
"""Jaccard similarity of shingle sets from which two instructions are near duplicates."""
NUM_PERM = 128
SIGNATURE_SEED = 20230424  # any fixed value: signatures must not change between runs
CHUNK = 4096


def shingle_sets(token_lists: Sequence[Sequence[str]], hasher: NgramHasher, k: int = SHINGLE) -> list[np.ndarray]:
    """Each text's distinct shingle hashes, sorted; a text shorter than ``k`` words is one
    shingle (all its words), an empty text has none."""
    hashes, lengths = hasher.batch(token_lists)
    stream = TokenStream(hashes, lengths)
    windows, owners = stream.windows(k)
    # One sort for the whole batch instead of one per text: by text, then by hash.
    order = np.lexsort((windows, owners))
    windows, owners = windows[order], owners[order]
    distinct = np.ones(len(windows), bool)
    distinct[1:] = (windows[1:] != windows[:-1]) | (owners[1:] != owners[:-1])
    windows, owners = windows[distinct], owners[distinct]
    bounds = np.searchsorted(owners, np.arange(len(token_lists) + 1))
    out = [windows[bounds[i] : bounds[i + 1]] for i in range(len(token_lists))]
    starts = stream.ends - lengths
    for index in np.flatnonzero((lengths > 0) & (lengths < k)).tolist():
        start, length = int(starts[index]), int(lengths[index])
        out[index] = np.array([sequence_hash(hashes[start : start + length].tolist())], np.uint64)
    return out


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted arrays of distinct hashes."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def bands_for(threshold: float, num_perm: int = NUM_PERM, recall: float = 0.995) -> tuple[int, int]:
    """(bands, rows per band) for a threshold: the longest bands that still find a pair at the
    threshold with probability ``recall``.

    A pair of similarity s shares at least one band with probability 1 - (1 - s**r)**b. Exact
    Jaccard checks every candidate, so banding can only miss pairs, never remove a row wrongly;
    longer bands mean fewer candidates to check among dissimilar rows.
    """
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if 1 - (1 - threshold**rows) ** bands >= recall:
            return bands, rows
    return num_perm, 1


def signatures(sets: Sequence[np.ndarray], num_perm: int = NUM_PERM) -> np.ndarray:
    """MinHash signatures (rensa's R-MinHash), one row of ``num_perm`` uint32 per set."""
    out = np.empty((len(sets), num_perm), np.uint32)
    for start in range(0, len(sets), CHUNK):
        chunk = [s if len(s) else np.zeros(1, np.uint64) for s in sets[start : start + CHUNK]]
        matrix = rensa.RMinHash.digest_matrix_from_token_hash_sets(chunk, num_perm=num_perm, seed=SIGNATURE_SEED)
        out[start : start + len(chunk)] = np.asarray(matrix.to_rows(), dtype=np.uint32)
    return out


def band_keys(signature_rows: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (row, band): two rows share a key when they agree on the band."""
    cut = signature_rows[:, : bands * rows].reshape(len(signature_rows), bands, rows).astype(np.uint64)
    keys = np.zeros((len(signature_rows), bands), np.uint64)
    with np.errstate(over="ignore"):
        for column in range(rows):
            keys = keys * np.uint64(0x100000001B3) + cut[:, :, column]
    return keys


@dataclass(frozen=True)
class Twin:
    """A near duplicate found: the row, the kept row it duplicates, and their similarity."""

    row: int
    kept: int
    similarity: float


class KeptSet:
    """Rows kept so far, indexed by band for candidate look-ups."""

    def __init__(self, bands: int) -> None:
        self.buckets: list[dict[int, int | list[int]]] = [{} for _ in range(bands)]

    def candidates(self, keys: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for bucket, key in zip(self.buckets, keys):
            rows = bucket.get(key)
            if rows is None:
                continue
            if isinstance(rows, int):
                found.add(rows)
            else:
                found.update(rows)
        return found

    def add(self, row: int, keys: Sequence[int]) -> None:
        # Most band keys belong to one row: store the row itself and make a list only on a
        # collision (a list per key would cost about a third of the memory at 300k rows).
        for bucket, key in zip(self.buckets, keys):
            present = bucket.get(key)
            if present is None:
                bucket[key] = row
            elif isinstance(present, int):
                bucket[key] = [present, row]
            else:
                present.append(row)


def find_near_duplicates(
    sets: Sequence[np.ndarray],
    order: Iterable[int],
    threshold: float = DEFAULT_THRESHOLD,
    signature_rows: np.ndarray | None = None,
) -> Iterator[Twin]:
    """Visit rows in ``order``; yield each row whose shingle set has Jaccard >= ``threshold``
    with a row kept before it (its most similar one, the earliest kept on ties).

    ``signature_rows`` replaces rensa's signatures (the library comparison uses it)."""
    search = NearDuplicateSearch(sets, threshold, signature_rows)
    for row in order:
        twin = search.offer(row)
        if twin is not None:
            yield twin


def expected_recall(similarity: float, threshold: float) -> float:
    """The probability that banding for ``threshold`` finds a pair of this similarity."""
    bands, rows = bands_for(threshold)
    return 1 - (1 - similarity**rows) ** bands



class NearDuplicateSearch:
    """Rows offered one at a time: each is either kept or found to be a near duplicate of a row
    kept before it. ``find_near_duplicates`` and the budget selection both use it."""

    def __init__(self, sets: Sequence[np.ndarray], threshold: float, signature_rows: np.ndarray | None = None) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"the similarity threshold must be in (0, 1], got {threshold}")
        self.sets = sets
        self.threshold = threshold
        bands, rows = bands_for(threshold)
        self.keys = band_keys(signatures(sets) if signature_rows is None else signature_rows, bands, rows)
        self.kept = KeptSet(bands)
        self.rank: dict[int, int] = {}

    def offer(self, row: int) -> Twin | None:
        """The kept row this one nearly duplicates (the most similar, the earliest kept on
        ties), or None, in which case the row is now kept."""
        shingles = self.sets[row]
        if len(shingles) == 0:
            return None  # nothing to compare: kept, and never anyone's twin
        row_keys = self.keys[row].tolist()
        best: Twin | None = None
        for other in sorted(self.kept.candidates(row_keys), key=self.rank.__getitem__):
            similarity = jaccard(shingles, self.sets[other])
            if similarity >= self.threshold and (best is None or similarity > best.similarity):
                best = Twin(row, other, similarity)
        if best is None:
            self.rank[row] = len(self.rank)
            self.kept.add(row, row_keys)
        return best


NAME = "near-duplicate"


def near_duplicate_rule(threshold: float = DEFAULT_THRESHOLD) -> CurationRule:
    def check(candidates: Sequence[Candidate], progress: Progress) -> Iterator[tuple[int, Removal]]:
        ordered = sorted(candidates, key=lambda c: c.keep_order)
        sets = shingle_sets(
            [normal_tokens(dedup_text(c.values.get("instruction") or "", c.values.get("input"))) for c in ordered],
            NgramHasher(),
        )
        search = NearDuplicateSearch(sets, threshold)
        for index in progress(range(len(ordered)), total=len(ordered), description="near duplicates"):
            twin = search.offer(index)
            if twin is not None:
                kept = ordered[twin.kept]
                yield ordered[index].position, Removal(
                    f"Jaccard similarity {twin.similarity:.2f} (>= {threshold}) of word {SHINGLE}-shingles "
                    f"with {kept.id} (round {kept.round})",
                    of=kept.id,
                )

    return CurationRule(
        NAME,
        f"Rows whose instruction (with its input) shares at least {threshold} (Jaccard) of its word "
        f"{SHINGLE}-shingles with a kept row's; the lowest round, then the first in the file, is kept.",
        ("instruction", "input"),
        check_dataset=check,
    )
