"""Near duplicates: MinHash signatures with LSH banding over word shingles, then exact Jaccard.

Each instruction (with its input) becomes the set of its word shingles (``SHINGLE`` consecutive
task words, see ``text.near_tokens``: no case, punctuation, articles or function words, each word
its stem). A short instruction is a handful of words, so one article or inflection would change
most of its shingles; read as task words, "Write a Java code to find a largest number in an
array" and "... the largest number in an array." are the same set. rensa computes a MinHash signature per set; the
signature is cut into bands, and two rows that agree on a whole band become a candidate pair. A
candidate is a near duplicate only if the exact Jaccard similarity of the two shingle sets reaches
the threshold: MinHash decides which pairs are compared (that is what makes a million rows
feasible), never whether a row is removed, so a removal always states a true similarity.

Rows are visited in the order that decides which one is kept (lowest round, then file order);
each is compared with the rows kept so far and either joins them or is removed as a near
duplicate of its most similar kept row. So every removed row's twin is a kept row, and a removed
row is never compared again.

What keeps the work linear in the number of rows:

- shingles are made a chunk of rows at a time, so only one chunk's token lists exist at once
  and every sort is over one chunk;
- a band key that no other row of the dataset has is never stored nor looked up (most of them);
- rows of many near copies of one text (a seed and its lineage, or a text repeated with small
  edits) share bands, so a row can have many kept candidates. Two checks that can only drop
  pairs below the threshold make them cheap: sizes first (Jaccard is at most the smaller set's
  size over the larger's, so a pair whose sizes differ more than that is never a near
  duplicate), then one vectorised count of shared shingles for all the remaining candidates of
  a row at once. Neither changes which pairs reach the threshold, so the decisions are those of
  comparing every candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
import rensa

from .ngrams import NgramHasher, TokenStream, sequence_hash
from ...types.curation import Candidate, CurationRule, Progress, Removal
from .text import dedup_text, near_tokens

SHINGLE = 2
"""Words per shingle; chosen with the threshold by benchmarks/near_duplicates.py."""
DEFAULT_THRESHOLD = 0.85
"""Jaccard similarity of shingle sets from which two instructions are near duplicates."""
NUM_PERM = 128
SIGNATURE_SEED = 20230424  # any fixed value: signatures must not change between runs
CHUNK = 4096


class ShingleSets:
    """Each text's distinct shingle hashes, sorted, stored end to end in one array.

    ``sets[i]`` is text i's array (a view). One array and its bounds rather than an array per
    text: a numpy array costs some 100 bytes of its own, and the search gathers many sets at once.
    """

    def __init__(self, hashes: np.ndarray, sizes: np.ndarray) -> None:
        self.hashes = hashes
        self.sizes = sizes.astype(np.int64, copy=False)
        self.bounds = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(self.sizes, out=self.bounds[1:])

    @classmethod
    def of_arrays(cls, arrays: Sequence[np.ndarray]) -> "ShingleSets":
        """From one sorted array of distinct hashes per text."""
        sizes = np.array([len(a) for a in arrays], np.int64)
        hashes = np.concatenate([np.asarray(a, np.uint64) for a in arrays]) if len(arrays) else np.empty(0, np.uint64)
        return cls(hashes, sizes)

    @classmethod
    def joined(cls, parts: Sequence["ShingleSets"]) -> "ShingleSets":
        if not parts:
            return cls(np.empty(0, np.uint64), np.empty(0, np.int64))
        return cls(np.concatenate([p.hashes for p in parts]), np.concatenate([p.sizes for p in parts]))

    def __len__(self) -> int:
        return len(self.sizes)

    def __getitem__(self, index: int) -> np.ndarray:
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        index %= len(self)
        return self.hashes[self.bounds[index] : self.bounds[index + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        for index in range(len(self)):
            yield self.hashes[self.bounds[index] : self.bounds[index + 1]]


def _shingle_chunk(token_lists: Sequence[Sequence[str]], hasher: NgramHasher, k: int) -> ShingleSets:
    hashes, lengths = hasher.batch(token_lists)
    stream = TokenStream(hashes, lengths)
    windows, owners = stream.windows(k)
    # One sort for the chunk instead of one per text: by text, then by hash.
    order = np.lexsort((windows, owners))
    windows, owners = windows[order], owners[order]
    distinct = np.ones(len(windows), bool)
    distinct[1:] = (windows[1:] != windows[:-1]) | (owners[1:] != owners[:-1])
    windows, owners = windows[distinct], owners[distinct]
    sizes = np.bincount(owners, minlength=len(token_lists)).astype(np.int64)
    short = np.flatnonzero((lengths > 0) & (lengths < k))
    if len(short) == 0:
        return ShingleSets(windows, sizes)
    # A text shorter than k words is one shingle (all its words): put it in its place.
    starts = stream.ends - lengths
    whole = np.array(
        [sequence_hash(hashes[int(starts[i]) : int(starts[i] + lengths[i])].tolist()) for i in short.tolist()], np.uint64
    )
    sizes[short] = 1
    merged = np.concatenate([windows, whole])
    merged_owners = np.concatenate([owners, short])
    order = np.argsort(merged_owners, kind="stable")
    return ShingleSets(merged[order], sizes)


def shingle_sets(token_lists: Sequence[Sequence[str]], hasher: NgramHasher, k: int = SHINGLE) -> ShingleSets:
    """Each text's distinct shingle hashes, sorted; a text shorter than ``k`` words is one
    shingle (all its words), an empty text has none."""
    return ShingleSets.joined(
        [_shingle_chunk(token_lists[start : start + CHUNK], hasher, k) for start in range(0, len(token_lists), CHUNK)]
    )


def shingles_of_texts(texts: Iterable[str], hasher: NgramHasher | None = None, k: int = SHINGLE) -> ShingleSets:
    """``shingle_sets`` of the texts' ``near_tokens``, tokenising a chunk at a time: the token
    lists of a whole dataset would take several times the memory of its text."""
    hasher = hasher or NgramHasher()
    stems: dict[str, str] = {}
    parts: list[ShingleSets] = []
    chunk: list[list[str]] = []
    for text in texts:
        chunk.append(near_tokens(text, stems))
        if len(chunk) == CHUNK:
            parts.append(_shingle_chunk(chunk, hasher, k))
            chunk = []
    if chunk:
        parts.append(_shingle_chunk(chunk, hasher, k))
    return ShingleSets.joined(parts)


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
        out[start : start + CHUNK] = _signature_chunk(sets, start, min(start + CHUNK, len(sets)), num_perm)
    return out


def _signature_chunk(sets: Sequence[np.ndarray], start: int, stop: int, num_perm: int = NUM_PERM) -> np.ndarray:
    chunk = [s if len(s) else np.zeros(1, np.uint64) for s in (sets[i] for i in range(start, stop))]
    matrix = rensa.RMinHash.digest_matrix_from_token_hash_sets(chunk, num_perm=num_perm, seed=SIGNATURE_SEED)
    return np.asarray(matrix.to_rows(), dtype=np.uint32)


def band_keys(signature_rows: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per (row, band): two rows share a key when they agree on the band."""
    cut = signature_rows[:, : bands * rows].reshape(len(signature_rows), bands, rows).astype(np.uint64)
    keys = np.zeros((len(signature_rows), bands), np.uint64)
    with np.errstate(over="ignore"):
        for column in range(rows):
            keys = keys * np.uint64(0x100000001B3) + cut[:, :, column]
    return keys


def shared_keys(keys: np.ndarray) -> np.ndarray:
    """Per (row, band): does another row have the same key in that band? A key no other row
    has can never bring a candidate, so it is neither stored nor looked up."""
    shared = np.zeros(keys.shape, bool)
    for band in range(keys.shape[1]):
        _, inverse, counts = np.unique(keys[:, band], return_inverse=True, return_counts=True)
        shared[:, band] = counts[inverse] > 1
    return shared


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

    def candidates(self, band_keys: Iterable[tuple[int, int]]) -> set[int]:
        """Kept rows that share one of these (band, key) pairs."""
        found: set[int] = set()
        buckets = self.buckets
        for band, key in band_keys:
            rows = buckets[band].get(key)
            if rows is None:
                continue
            if isinstance(rows, int):
                found.add(rows)
            else:
                found.update(rows)
        return found

    def add(self, row: int, band_keys: Iterable[tuple[int, int]]) -> None:
        # Most band keys belong to one row: store the row itself and make a list only on a
        # collision (a list per key would cost about a third of the memory at 300k rows).
        buckets = self.buckets
        for band, key in band_keys:
            bucket = buckets[band]
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
        self.sets = sets if isinstance(sets, ShingleSets) else ShingleSets.of_arrays(sets)
        self.threshold = threshold
        bands, rows = bands_for(threshold)
        count = len(self.sets)
        # Signatures a chunk at a time, straight into band keys: the full signature matrix (and
        # its uint64 copy) would be the largest thing in memory.
        self.keys = np.empty((count, bands), np.uint64)
        for start in range(0, count, CHUNK):
            stop = min(start + CHUNK, count)
            chunk = (
                _signature_chunk(self.sets, start, stop) if signature_rows is None else signature_rows[start:stop]
            )
            self.keys[start:stop] = band_keys(chunk, bands, rows)
        self.shared = shared_keys(self.keys)
        self.any_shared = self.shared.any(axis=1).tolist()
        self.sizes = self.sets.sizes.tolist()
        self.kept = KeptSet(bands)
        self.rank: list[int] = [-1] * count
        """The order in which rows were kept (-1: not kept); ties go to the earliest kept."""
        self.kept_count = 0

    def _band_keys(self, row: int) -> list[tuple[int, int]]:
        """The (band, key) pairs of a row that some other row shares."""
        return [
            (band, key)
            for band, (key, shared) in enumerate(zip(self.keys[row].tolist(), self.shared[row].tolist()))
            if shared
        ]

    def offer(self, row: int) -> Twin | None:
        """The kept row this one nearly duplicates (the most similar, the earliest kept on
        ties), or None, in which case the row is now kept."""
        size = self.sizes[row]
        if size == 0:
            return None  # nothing to compare: kept, and never anyone's twin
        row_keys: list[tuple[int, int]] = []
        if self.any_shared[row]:
            row_keys = self._band_keys(row)
            found = self.kept.candidates(row_keys)
            if found:
                twin = self._most_similar(row, size, found)
                if twin is not None:
                    return twin
            self.kept.add(row, row_keys)
        self.rank[row] = self.kept_count
        self.kept_count += 1
        return None

    def _most_similar(self, row: int, size: int, found: set[int]) -> Twin | None:
        threshold, sizes = self.threshold, self.sizes
        # Jaccard <= min(size)/max(size), and float division is monotone: a pair whose size
        # ratio is below the threshold cannot reach it, in exact or in floating arithmetic.
        others = [o for o in found if min(size, sizes[o]) / max(size, sizes[o]) >= threshold]
        if not others:
            return None
        common = self._shared_counts(row, others)
        best: Twin | None = None
        for other, count in zip(others, common):
            similarity = count / (size + sizes[other] - count)
            if similarity < threshold:
                continue
            if (
                best is None
                or similarity > best.similarity
                or (similarity == best.similarity and self.rank[other] < self.rank[best.kept])
            ):
                best = Twin(row, other, similarity)
        return best

    def _shared_counts(self, row: int, others: list[int]) -> list[int]:
        """How many shingles each of ``others`` shares with ``row``: every member of their
        sets gathered into one array and looked up in the row's sorted set at once."""
        sets = self.sets
        mine = sets[row]
        index = np.array(others, np.int64)
        lengths = sets.sizes[index]
        firsts = np.cumsum(lengths) - lengths
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(sets.bounds[index] - firsts, lengths)
        members = sets.hashes[positions]
        found = np.searchsorted(mine, members)
        found[found == len(mine)] = 0
        hits = (mine[found] == members).astype(np.int64)
        return np.add.reduceat(hits, firsts).tolist()


NAME = "near-duplicate"


def instruction_shingles(candidates: Sequence[Candidate]) -> ShingleSets:
    """The shingle sets of the candidates' instructions (with their input), in their order."""
    return shingles_of_texts(dedup_text(c.values.get("instruction") or "", c.values.get("input")) for c in candidates)


def near_duplicate_rule(threshold: float = DEFAULT_THRESHOLD) -> CurationRule:
    def check(candidates: Sequence[Candidate], progress: Progress) -> Iterator[tuple[int, Removal]]:
        ordered = sorted(candidates, key=lambda c: c.keep_order)
        search = NearDuplicateSearch(instruction_shingles(ordered), threshold)
        for index in progress(range(len(ordered)), total=len(ordered), description="near duplicates"):
            twin = search.offer(index)
            if twin is not None:
                kept = ordered[twin.kept]
                yield ordered[index].position, Removal(
                    f"Jaccard similarity {twin.similarity:.2f} (>= {threshold}) of task-word {SHINGLE}-shingles "
                    f"with {kept.id} (round {kept.round})",
                    of=kept.id,
                )

    return CurationRule(
        NAME,
        f"Rows whose instruction (with its input) shares at least {threshold} (Jaccard) of its word "
        f"{SHINGLE}-shingles with a kept row's, read without case, punctuation, articles or function "
        "words and with each word's stem; the lowest round, then the first in the file, is kept.",
        ("instruction", "input"),
        check_dataset=check,
    )
