"""Math-Shepherd's completions: from a step of a solution, the LLM completes the solution N
times, and each completion's final answer is checked against the target answer with our
equivalence (``wizardmath.answers``).

Every completion is an ordinary request through ``SampleContext.chat`` (stage ``rollout``, a
distinct ``variant`` per step and completion), so completions are cached, resumed and counted
like every other request of a build.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Sequence

from evolinstruct import SampleContext

from . import prompts
from .checkers import equivalent, extract

STAGE = "rollout"


@dataclass(frozen=True)
class Rollouts:
    """The completions sampled from one step."""

    answers: tuple[str | None, ...]
    reached: tuple[bool, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"of": len(self.answers), "reached": sum(self.reached), "answers": list(self.answers)}


async def _reaches(ctx: SampleContext, target: str, answer: str | None) -> bool:
    if answer is None:
        return False
    return answer == target or bool((await equivalent(ctx, target, answer))["equal"])


async def rollout(ctx: SampleContext, problem: str, steps: Sequence[str], index: int, n: int,
                  target: str) -> Rollouts:
    """``n`` completions of the solution from its first ``index + 1`` steps."""
    messages = prompts.continue_solution(problem, steps[: index + 1])
    replies = await asyncio.gather(
        *(ctx.chat(messages, stage=STAGE, variant=index * n + j) for j in range(n))
    )
    answers = tuple(extract(reply) for reply in replies)
    reached = await asyncio.gather(*(_reaches(ctx, target, answer) for answer in answers))
    return Rollouts(answers, tuple(reached))
