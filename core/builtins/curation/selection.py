"""Selecting a budget of rows: the best by a score, skipping rows too similar to those chosen.

Deita's idea (Liu et al. 2023) with this package's own similarity: rows are taken in order of
the score (highest first; ties by the lowest round, then file order), and a row whose word
shingles are at least ``similarity`` (Jaccard) alike with an already chosen row is skipped, until
``budget`` rows are chosen. A row without the score is never ranked by a guess: rows without it
come after every scored row, in file order, and the report counts how many were chosen.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Mapping, Sequence

from .near import NearDuplicateSearch, SHINGLE, instruction_shingles
from ...types.curation import Candidate, CurationRule, Progress, Removal

NAME = "budget"
DEFAULT_SIMILARITY = 0.5
"""Jaccard similarity from which a row is too close to a chosen one: half the shingles shared,
well below the near-duplicate threshold, so the budget buys variety as Deita's did."""

ScoreOf = Callable[[Candidate], "float | None"]


def score_from_row(by: str) -> ScoreOf:
    """The row's ``scores[by]`` when it is a finite number, else None."""

    def score(candidate: Candidate) -> float | None:
        scores = candidate.values.get("scores")
        value = scores.get(by) if isinstance(scores, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return float(value)

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
) -> CurationRule:
    if budget < 0:
        raise ValueError(f"the budget must be >= 0, got {budget}")
    score_of = score_of or score_from_row(by)
    tally = tally if tally is not None else BudgetTally()

    def check(candidates: Sequence[Candidate], progress: Progress) -> Iterator[tuple[int, Removal]]:
        scores = [score_of(c) for c in candidates]
        scored = sorted(
            (i for i, s in enumerate(scores) if s is not None),
            key=lambda i: (-scores[i], candidates[i].keep_order),  # type: ignore[operator]
        )
        unscored = [i for i, s in enumerate(scores) if s is None]
        search = NearDuplicateSearch(instruction_shingles(candidates), similarity)
        order = scored + unscored
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



