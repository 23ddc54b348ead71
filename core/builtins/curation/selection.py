"""Selecting a budget of rows: the best by a score, skipping rows too similar to those chosen.

Deita's idea (Liu et al. 2023) with this package's own similarity: rows are taken in order of
the score (highest first; ties by the lowest round, then file order), and a row whose word
shingles are at least ``similarity`` (Jaccard) alike with an already chosen row is skipped, until
``budget`` rows are chosen. A row without the score is never ranked by a guess: rows without it
come after every scored row, in file order, and the report counts how many were chosen.

With ``diversity`` the similarity is Deita's own: the cosine similarity of the instructions'
embeddings (from an OpenAI-compatible ``/embeddings`` endpoint), and a row is skipped when its
nearest chosen row is above the threshold (``diversity.select_diverse``). The score may be a
product of scores (``complexity*quality``), as Deita ranks by complexity times quality.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from .diversity import select_diverse
from .near import NearDuplicateSearch, SHINGLE, instruction_shingles
from .text import dedup_text
from ...types.curation import Candidate, CurationRule, Progress, Removal
from ...types.errors import EvolError

NAME = "budget"
DEFAULT_SIMILARITY = 0.5
"""Jaccard similarity from which a row is too close to a chosen one: half the shingles shared,
well below the near-duplicate threshold, so the budget buys variety as Deita's did."""

ScoreOf = Callable[[Candidate], "float | None"]
Embed = Callable[[Sequence[str]], np.ndarray]
"""Texts to one embedding per text (a row each)."""


def score_names(by: str) -> tuple[str, ...]:
    """The scores ``by`` names: one (``difficulty``) or a product (``complexity*quality``)."""
    names = tuple(name.strip() for name in by.split("*"))
    if not all(names):
        raise ValueError(f"--by {by!r}: a score name, or names joined by '*' (complexity*quality)")
    return names


def score_from_row(by: str) -> ScoreOf:
    """The row's ``scores[by]`` (for ``a*b``, the product of ``scores[a]`` and ``scores[b]``)
    when each is a finite number, else None: a missing factor is never read as 0 or 1."""
    names = score_names(by)

    def score(candidate: Candidate) -> float | None:
        scores = candidate.values.get("scores")
        if not isinstance(scores, Mapping):
            return None
        product = 1.0
        for name in names:
            value = scores.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return None
            product *= value
        return product if math.isfinite(product) else None

    return score


class BudgetTally:
    """What the selection did, for curation.json."""

    def __init__(self) -> None:
        self.chosen = 0
        self.chosen_without_score = 0
        self.too_similar = 0
        self.over_budget = 0

    def as_json(self) -> dict[str, int]:
        return dict(vars(self))


def budget_rule(
    budget: int,
    by: str,
    score_of: ScoreOf | None = None,
    similarity: float = DEFAULT_SIMILARITY,
    tally: BudgetTally | None = None,
    diversity: float | None = None,
    embed: Embed | None = None,
) -> CurationRule:
    """The budget rule; with ``diversity`` (a cosine similarity) rows are kept apart by the
    embeddings ``embed`` returns for their instructions instead of by word shingles."""
    if budget < 0:
        raise ValueError(f"the budget must be >= 0, got {budget}")
    if diversity is not None and embed is None:
        raise ValueError("a diversity threshold needs embeddings: give embed")
    score_of = score_of or score_from_row(by)
    tally = tally if tally is not None else BudgetTally()
    if diversity is not None and embed is not None:
        return _diverse_budget_rule(budget, by, score_of, diversity, embed, tally)

    def check(candidates: Sequence[Candidate], progress: Progress) -> Iterator[tuple[int, Removal]]:
        order, scores = _ranked(candidates, score_of)
        search = NearDuplicateSearch(instruction_shingles(candidates), similarity)
        for index in progress(order, total=len(order), description=f"budget by {by}"):
            candidate = candidates[index]
            score = scores[index]
            shown = "none" if score is None else f"{score:g}"
            if tally.chosen >= budget:
                tally.over_budget += 1
                yield candidate.position, Removal(
                    f"not among the {budget} rows chosen by {by} (its {by}: {shown})"
                )
                continue
            twin = search.offer(index)
            if twin is not None:
                tally.too_similar += 1
                kept = candidates[twin.kept]
                yield candidate.position, Removal(
                    f"Jaccard similarity {twin.similarity:.2f} (>= {similarity}) of task-word {SHINGLE}-shingles "
                    f"with {kept.id}, chosen before it by {by}",
                    of=kept.id,
                )
                continue
            tally.chosen += 1
            if score is None:
                tally.chosen_without_score += 1

    return CurationRule(
        NAME,
        f"Keeps the {budget} best rows by {by}, skipping rows whose word shingles are at least "
        f"{similarity} alike (Jaccard) with a row chosen before (Deita); rows without {by} come last.",
        ("instruction", "input", "scores"),
        check_dataset=check,
    )


def _ranked(candidates: Sequence[Candidate], score_of: ScoreOf) -> tuple[list[int], list[float | None]]:
    """Candidates' indices best score first (ties: lowest round, then file order), then those
    without the score in file order; and each candidate's score."""
    scores = [score_of(c) for c in candidates]
    scored = sorted(
        (i for i, s in enumerate(scores) if s is not None),
        key=lambda i: (-scores[i], candidates[i].keep_order),  # type: ignore[operator]
    )
    return scored + [i for i, s in enumerate(scores) if s is None], scores


def _diverse_budget_rule(
    budget: int, by: str, score_of: ScoreOf, diversity: float, embed: Embed, tally: BudgetTally
) -> CurationRule:
    def check(candidates: Sequence[Candidate], progress: Progress) -> Iterator[tuple[int, Removal]]:
        order, scores = _ranked(candidates, score_of)
        texts = [dedup_text(candidates[i].values.get("instruction") or "", candidates[i].values.get("input")) for i in order]
        empty = [candidates[order[k]].id for k, text in enumerate(texts) if not text.strip()]
        if empty:
            raise EvolError(f"row {empty[0]} has an empty instruction: there is nothing to embed for --diversity")
        embeddings = np.asarray(embed(texts), dtype=np.float64)
        if embeddings.shape[0] != len(texts):
            raise EvolError(f"--diversity: {embeddings.shape[0]} embeddings came back for {len(texts)} instructions")
        unusable = ~np.isfinite(embeddings).all(axis=1) | ~embeddings.any(axis=1)
        if unusable.any():
            # A vector of zeros or NaNs has no direction: no similarity could be stated for it.
            row = candidates[order[int(np.flatnonzero(unusable)[0])]].id
            raise EvolError(f"--diversity: the embedding of row {row} is all zeros or not finite")
        selection = select_diverse(embeddings, range(len(order)), diversity, budget)
        for k in progress(selection.chosen, total=len(selection.chosen), description=f"budget by {by}"):
            tally.chosen += 1
            tally.chosen_without_score += scores[order[k]] is None
        for exclusion in selection.excluded:
            tally.too_similar += 1
            candidate, kept = candidates[order[exclusion.row]], candidates[order[exclusion.neighbour]]
            yield candidate.position, Removal(
                f"cosine similarity {exclusion.similarity:.3f} (> {diversity}) of instruction embeddings "
                f"with {kept.id}, chosen before it by {by}",
                of=kept.id,
            )
        for k in selection.not_reached:
            tally.over_budget += 1
            candidate, score = candidates[order[k]], scores[order[k]]
            shown = "none" if score is None else f"{score:g}"
            yield candidate.position, Removal(f"not among the {budget} rows chosen by {by} (its {by}: {shown})")

    return CurationRule(
        NAME,
        f"Keeps the {budget} best rows by {by}, skipping a row whose instruction's embedding has a "
        f"cosine similarity above {diversity} with a row chosen before it (Deita); rows without {by} come last.",
        ("instruction", "input", "scores"),
        check_dataset=check,
    )
