"""Choosing rows by score while keeping them apart in meaning: Deita's score-first, diversity-aware
selection (Liu et al. 2024) over embeddings.

Rows are taken in the order given (the best score first); a row is skipped when its nearest
already chosen row has a cosine similarity above the threshold, and chosen otherwise, until the
budget is spent. Every skipped row names the chosen row that excluded it (its nearest; the
earliest chosen on a tie) and their similarity, so ``removed.jsonl`` can say why.

The nearest-neighbour search is exact, and fast because it is done a block of candidates at a
time: one matrix product compares a block with every row chosen before it (in slices, so the
product stays a few tens of megabytes), and one product of the block with itself settles the
rows the block itself chooses, visited in order. The products are in float32, twice as fast as
float64; a row whose nearest similarity falls within ``MARGIN`` of the threshold, where float32
rounding could decide, is compared again in float64 with every chosen row, and every similarity
reported is computed in float64. So the decisions are those of comparing each row with every
chosen row one at a time in float64 (tests/curation/test_diversity.py checks it), and the
neighbour named is the nearest up to float32 rounding (a tie within about 1e-6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

BLOCK = 512
"""Candidates compared at once."""
SLICE = 8192
"""Chosen rows per matrix product: a block's product with them is BLOCK x SLICE float32 (16 MB)."""
MARGIN = 1e-4
"""How far from the threshold a float32 similarity must be to decide; closer, float64 decides.
A float32 dot product of unit vectors of a few thousand dimensions is off by well under 1e-5."""


@dataclass(frozen=True)
class Exclusion:
    """A row skipped because a chosen row is too close in meaning."""

    row: int
    neighbour: int
    """The chosen row nearest to it (the earliest chosen on a tie)."""
    similarity: float
    """Their cosine similarity, above the threshold."""


@dataclass(frozen=True)
class DiverseSelection:
    chosen: tuple[int, ...]
    """Rows chosen, in the order they were chosen."""
    excluded: tuple[Exclusion, ...]
    """Rows skipped as too similar to a chosen row, in the order they were visited."""
    not_reached: tuple[int, ...]
    """Rows never looked at because the budget was spent before them, in the given order."""


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (float64), so dot products are cosine similarities. A row that
    is all zeros, or holds a NaN or an infinity, has no direction: a ValueError names it."""
    vectors = np.asarray(embeddings, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"embeddings must be a matrix (rows x dimensions), got shape {vectors.shape}")
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        raise ValueError(f"embedding of row {int(np.flatnonzero(~finite)[0])} holds a NaN or an infinity")
    norms = np.linalg.norm(vectors, axis=1)
    if (norms == 0).any():
        raise ValueError(f"embedding of row {int(np.flatnonzero(norms == 0)[0])} is all zeros: it has no direction")
    return vectors / norms[:, None]


def select_diverse(
    embeddings: np.ndarray,
    order: Sequence[int],
    threshold: float,
    budget: int | None = None,
) -> DiverseSelection:
    """Visit the rows of ``order`` (indices into ``embeddings``) in that order; choose a row
    unless a row chosen before it has a cosine similarity above ``threshold`` with it, until
    ``budget`` rows are chosen (all of them when None)."""
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"a cosine similarity threshold is in [-1, 1], got {threshold}")
    if budget is not None and budget < 0:
        raise ValueError(f"the budget must be >= 0, got {budget}")
    vectors = unit_rows(embeddings)
    visit = np.asarray(order, dtype=np.int64).reshape(-1)
    if len(visit) and (visit.min() < 0 or visit.max() >= len(vectors)):
        raise ValueError(f"order names a row outside the {len(vectors)} embeddings")
    if len(np.unique(visit)) != len(visit):
        raise ValueError("order names a row twice")
    limit = len(visit) if budget is None else budget
    singles = vectors.astype(np.float32)

    chosen = np.empty(min(limit, len(visit)), np.int64)
    chosen_singles = np.empty((len(chosen), vectors.shape[1]), np.float32)  # in the order chosen
    count = 0
    excluded: list[Exclusion] = []
    position = 0
    while position < len(visit) and count < limit:
        rows = visit[position : position + BLOCK]
        candidates = singles[rows]
        # The nearest among the rows chosen before this block, for every row of the block.
        nearest = np.full(len(rows), -np.inf, np.float32)
        nearest_at = np.full(len(rows), -1, np.int64)  # index into ``chosen``
        for start in range(0, count, SLICE):
            similarities = candidates @ chosen_singles[start : min(start + SLICE, count)].T
            at = similarities.argmax(axis=1)
            value = similarities[np.arange(len(rows)), at]
            closer = value > nearest  # strictly: on a tie the earlier slice, chosen earlier, stays
            nearest[closer] = value[closer]
            nearest_at[closer] = start + at[closer]
        # Then the block in order, each row against those the block chose before it.
        within = candidates @ candidates.T
        before_block = count
        picked: list[int] = []  # positions in the block of the rows it chose
        for i in range(len(rows)):
            if count >= limit:
                break
            row = int(rows[i])
            similarity, at = float(nearest[i]), int(nearest_at[i])
            if picked:
                row_similarities = within[i, picked]
                j = int(row_similarities.argmax())
                if row_similarities[j] > similarity:
                    similarity, at = float(row_similarities[j]), before_block + j
            if count and abs(similarity - threshold) <= MARGIN:
                exact = vectors[chosen[:count]] @ vectors[row]
                at = int(exact.argmax())
            if count and (exact_similarity := float(vectors[chosen[at]] @ vectors[row])) > threshold:
                excluded.append(Exclusion(row, int(chosen[at]), exact_similarity))
            else:
                chosen[count] = row
                chosen_singles[count] = singles[row]
                count += 1
                picked.append(i)
            position += 1
    return DiverseSelection(
        tuple(chosen[:count].tolist()), tuple(excluded), tuple(visit[position:].tolist())
    )
