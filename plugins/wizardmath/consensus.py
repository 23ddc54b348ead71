"""The consensus of k sampled solutions: their final answers grouped by sympy equivalence.

An evolved problem has no reference answer; the largest group of equal answers among
``--samples`` solutions stands in for one. Only a strict majority of at least two solutions
*confirms* an answer: a single solution, or a plurality of a split vote, decides nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from evolinstruct import SampleContext

from .checkers import equivalent, extract


@dataclass(frozen=True)
class Consensus:
    answers: tuple[str | None, ...]
    groups: tuple[tuple[int, ...], ...]
    """Indices of the solutions in each group, in order of first appearance; solutions without
    a final answer belong to no group (and count against the agreement)."""

    @property
    def largest(self) -> tuple[int, ...]:
        # max() keeps the first of equal sizes: ties go to the group that appeared first.
        return max(self.groups, key=len) if self.groups else ()

    @property
    def chosen(self) -> int:
        return self.largest[0] if self.largest else 0

    @property
    def answer(self) -> str | None:
        return self.answers[self.chosen] if self.answers else None

    @property
    def agreement(self) -> float:
        return len(self.largest) / len(self.answers) if self.answers else 0.0

    @property
    def confirmed(self) -> bool:
        """A strict majority of at least two solutions agree on the answer."""
        return len(self.answers) >= 2 and len(self.largest) * 2 > len(self.answers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": len(self.answers),
            "answers": list(self.answers),
            "groups": [list(group) for group in self.groups],
            "chosen": self.chosen,
            "answer": self.answer,
            "agreement": self.agreement,
            "confirmed": self.confirmed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Consensus:
        return cls(tuple(data["answers"]), tuple(tuple(group) for group in data["groups"]))


async def group_answers(ctx: SampleContext, solutions: Sequence[str]) -> Consensus:
    answers = [extract(solution) for solution in solutions]
    groups: list[list[int]] = []
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        for group in groups:
            first = answers[group[0]]
            assert first is not None
            if first == answer or (await equivalent(ctx, first, answer))["equal"]:
                group.append(index)
                break
        else:
            groups.append([index])
    return Consensus(tuple(answers), tuple(tuple(group) for group in groups))
