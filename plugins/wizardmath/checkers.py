"""The math checkers as a build uses them: bounded in killable workers and memoised in the
build's cache, so that a slow machine or a resumed run cannot change a verdict once reached."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Sequence

from evolinstruct import SampleContext

# Namespaces of memoised results; a new version when the shape or meaning of a result changes,
# so that a folder built by an older version is not misread.
EQUAL_MEMO = "wizardmath.equal.v2"  # v2: the conventions an "equal" relied on ("policy")
STEPS_MEMO = "wizardmath.steps.v2"
PARSES_MEMO = "wizardmath.parses"


def extract(text: str | None) -> str | None:
    """The final answer a text commits to, as written (``wizardmath.extraction``)."""
    from .answers import extract_answer

    return extract_answer(text) if text else None


async def equivalent(ctx: SampleContext, gold: str, pred: str) -> dict[str, Any]:
    """``{"equal", "reason", "policy"}`` for two final answers, computed once per build folder;
    ``policy`` names the conventions an "equal" relied on (docs/math-grading.md), else None."""
    from .answers import answers_equal_async

    async def compute() -> dict[str, Any]:
        found = await answers_equal_async(gold, pred)
        return {"equal": bool(found.equal), "reason": str(found.reason), "policy": found.policy}

    return await ctx.memo(EQUAL_MEMO, [gold, pred], compute)


def _verdict_dict(verdict: Any) -> dict[str, Any]:
    data = verdict.as_dict() if hasattr(verdict, "as_dict") else dataclasses.asdict(verdict)
    return json.loads(json.dumps(data, default=str))  # what the cache stores, exactly


async def check_steps(ctx: SampleContext, steps: Sequence[str]) -> list[dict[str, Any]]:
    """sympy's finding per step: ``{"index", "verdict", "claims"}`` (``wizardmath.steps``)."""
    from .steps import check_steps_async

    async def compute() -> list[dict[str, Any]]:
        return [_verdict_dict(v) for v in await check_steps_async(list(steps))]

    return await ctx.memo(STEPS_MEMO, list(steps), compute)


def reading_error(answer: str) -> str | None:
    """Why sympy cannot read a final answer, or None when it can. Runs inside a bounded worker
    (hence a plain top-level function: it is pickled by name)."""
    from .answers import read_answer

    try:
        read_answer(answer)
    except ValueError as error:  # the reader's ParseError, which every failure to read becomes
        return str(error) or "unreadable"
    return None


async def answer_parses(ctx: SampleContext, answer: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """``{"parses", "reason"?}``: whether sympy reads the answer within the time bound."""
    from .bounded import default_pool

    async def compute() -> dict[str, Any]:
        outcome = await default_pool().run_async(reading_error, answer, timeout_s=timeout_s)
        if outcome.timed_out:
            return {"parses": False, "reason": f"reading it timed out after {timeout_s:g}s"}
        if outcome.error or outcome.value:
            return {"parses": False, "reason": outcome.error or outcome.value}
        return {"parses": True}

    return await ctx.memo(PARSES_MEMO, answer, compute)
