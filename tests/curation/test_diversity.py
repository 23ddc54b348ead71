"""Deita's score-first, diversity-aware selection: the blocked search decides as the plain one."""

from __future__ import annotations

import numpy as np
import pytest

from evolinstruct.builtins.curation import diversity
from evolinstruct.builtins.curation.diversity import Exclusion, select_diverse


def clustered(rows: int, dimensions: int, clusters: int, spread: float, seed: int) -> np.ndarray:
    """Embeddings in clusters, so that many rows have a neighbour above a 0.9 threshold."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dimensions))
    return centres[rng.integers(0, clusters, rows)] + rng.normal(size=(rows, dimensions)) * spread


def brute_force(embeddings: np.ndarray, order: list[int], threshold: float, budget: int | None):
    """Each row compared with every chosen row, one at a time, in float64."""
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    chosen: list[int] = []
    excluded: list[tuple[int, float]] = []  # (row, similarity of its nearest chosen row)
    for visited, row in enumerate(order):
        if budget is not None and len(chosen) >= budget:
            return chosen, excluded, order[visited:]
        similarities = [float(unit[row] @ unit[other]) for other in chosen]
        if similarities and max(similarities) > threshold:
            excluded.append((row, max(similarities)))
        else:
            chosen.append(row)
    return chosen, excluded, []


@pytest.mark.parametrize("budget", [None, 400])
def test_the_blocked_search_equals_a_brute_force_selection_on_2000_rows(budget, monkeypatch):
    # Small blocks and slices: many block and slice boundaries inside 2,000 rows.
    monkeypatch.setattr(diversity, "BLOCK", 64)
    monkeypatch.setattr(diversity, "SLICE", 100)
    embeddings = clustered(2000, 32, clusters=300, spread=0.3, seed=1)
    order = np.random.default_rng(2).permutation(2000).tolist()
    selection = select_diverse(embeddings, order, 0.9, budget)
    chosen, excluded, not_reached = brute_force(embeddings, order, 0.9, budget)
    assert list(selection.chosen) == chosen
    assert [e.row for e in selection.excluded] == [row for row, _ in excluded]
    assert list(selection.not_reached) == not_reached
    assert 300 < len(excluded) and (budget is None or len(chosen) == budget)  # the test exercises both sides
    # The neighbour named was chosen before the row and is its nearest (up to float32 rounding).
    rank = {row: i for i, row in enumerate(selection.chosen)}
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    visited = {row: i for i, row in enumerate(order)}
    for exclusion, (_, nearest) in zip(selection.excluded, excluded):
        assert visited[exclusion.neighbour] < visited[exclusion.row] and exclusion.neighbour in rank
        assert exclusion.similarity == pytest.approx(float(unit[exclusion.row] @ unit[exclusion.neighbour]), abs=1e-12)
        assert exclusion.similarity > 0.9 and exclusion.similarity == pytest.approx(nearest, abs=1e-5)


def test_no_two_chosen_rows_are_above_the_threshold():
    embeddings = clustered(3000, 64, clusters=200, spread=0.25, seed=3)
    for threshold in (0.5, 0.8, 0.95):
        selection = select_diverse(embeddings, range(3000), threshold)
        unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        kept = unit[list(selection.chosen)]
        similarities = kept @ kept.T
        np.fill_diagonal(similarities, -1.0)
        assert similarities.max() <= threshold
        assert len(selection.chosen) + len(selection.excluded) == 3000


def test_a_similarity_a_hair_from_the_threshold_is_decided_in_float64():
    # Two rows whose cosine similarity is 0.9 + 2e-9: float32 rounding alone cannot tell it from
    # 0.9, float64 can.
    angle = np.arccos(0.9 + 2e-9)
    rows = np.array([[1.0, 0.0], [np.cos(angle), np.sin(angle)]])
    assert select_diverse(rows, [0, 1], 0.9).excluded == (Exclusion(1, 0, pytest.approx(0.9 + 2e-9, abs=1e-15)),)
    assert select_diverse(rows, [0, 1], 0.9 + 4e-9).chosen == (0, 1)


def test_rows_are_taken_in_the_order_given_and_the_budget_stops_the_visit():
    rows = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    selection = select_diverse(rows, [1, 0, 2, 3], 0.9, budget=2)
    assert selection.chosen == (1, 2)
    assert [(e.row, e.neighbour) for e in selection.excluded] == [(0, 1)]
    assert selection.not_reached == (3,)
    assert select_diverse(rows, [1, 0], 0.9, budget=0).not_reached == (1, 0)


@pytest.mark.parametrize(
    "embeddings, order, threshold, message",
    [
        (np.array([[1.0, 0.0], [0.0, 0.0]]), [0, 1], 0.9, "embedding of row 1 is all zeros"),
        (np.array([[1.0, np.nan]]), [0], 0.9, "embedding of row 0 holds a NaN"),
        (np.array([[1.0, 0.0]]), [0, 0], 0.9, "order names a row twice"),
        (np.array([[1.0, 0.0]]), [1], 0.9, "outside the 1 embeddings"),
        (np.array([[1.0, 0.0]]), [0], 1.5, "threshold is in [-1, 1]"),
    ],
)
def test_what_has_no_answer_is_refused(embeddings, order, threshold, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        select_diverse(embeddings, order, threshold)
