"""The process check of a build: each step of a solution checked by sympy, and, where asked,
completed by rollouts and judged by the LLM; then each step's label (``wizardmath.labels``)
and the process reward.

Requests are spent only where they can change a label: no rollouts without a target answer to
reach, none for the last step (its prefix is the whole solution) nor from a step sympy found
false or any step after it; the judge only for steps still without a label.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, Mapping

from evolinstruct import SampleContext

from .checkers import check_steps
from .judges import judge_step
from .labels import DEFAULT_UNVERIFIABLE, StepEvidence, process_reward, step_labels, step_score
from .rollouts import Rollouts, rollout
from .steps import CLAIM_FALSE, NOTHING_TO_CHECK, split_steps

StepLabelMode = Literal["answer", "rollout"]
UnlabelledPolicy = Literal["skip", "drop", "judge"]
DEFAULT_ROLLOUTS = 8  # Math-Shepherd's N


def process_settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The math build options that shape the process check, with their defaults."""
    unlabelled = options.get("unlabelled_steps") or "skip"
    return {
        "step_labels": options.get("step_labels") or "answer",
        "rollouts": int(options.get("rollouts") or DEFAULT_ROLLOUTS),
        "judge": bool(options.get("step_judge")) or unlabelled == "judge",
        "unlabelled_steps": unlabelled,
        "unverifiable_score": DEFAULT_UNVERIFIABLE,
    }


async def process_check(ctx: SampleContext, problem: str, solution: str, *, outcome: bool | None,
                        target: str | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Per-step findings, evidence and labels, and the process reward.

    ``outcome``: whether the solution's final answer reaches ``target`` (the reference or the
    confirmed consensus answer); None when no target is known.
    """
    steps = split_steps(solution)
    findings = await check_steps(ctx, steps)
    verdicts = [f.get("verdict", NOTHING_TO_CHECK) for f in findings]
    first_false = next((i for i, v in enumerate(verdicts) if v == CLAIM_FALSE), len(steps))

    rolled: dict[int, Rollouts] = {}
    n = settings["rollouts"]
    if settings["step_labels"] == "rollout" and target is not None and n > 0:
        indices = [i for i in range(min(first_false, len(steps) - 1))]
        results = await asyncio.gather(*(rollout(ctx, problem, steps, i, n, target) for i in indices))
        rolled = dict(zip(indices, results))

    def evidence(index: int, judge: str | None = None) -> StepEvidence:
        done = rolled.get(index)
        return StepEvidence(verdicts[index], len(done.answers) if done else 0,
                            sum(done.reached) if done else 0, judge)

    labels = step_labels([evidence(i) for i in range(len(steps))], outcome)
    judged: dict[int, str | None] = {}
    if settings["judge"]:
        unknown = [i for i, label in enumerate(labels) if label.label is None and i < first_false]
        replies = await asyncio.gather(*(judge_step(ctx, problem, steps, i) for i in unknown))
        judged = dict(zip(unknown, replies))
        labels = step_labels([evidence(i, judged.get(i)) for i in range(len(steps))], outcome)

    unverifiable = settings["unverifiable_score"]
    rows = []
    for index, (text, finding, label) in enumerate(zip(steps, findings, labels)):
        row: dict[str, Any] = {
            "index": index,
            "text": text,
            "verdict": verdicts[index],
            "claims": finding.get("claims", []),
        }
        if index in rolled:
            row["rollouts"] = rolled[index].as_dict()
        if index in judged:
            row["judge"] = judged[index]
        row.update(label.as_dict())
        row["score"] = step_score(label, unverifiable)
        rows.append(row)
    return {
        "steps": rows,
        "outcome": outcome,
        "target": target,
        "step_labels": settings["step_labels"],
        "rollouts": n if rolled else 0,
        "unlabelled_steps": settings["unlabelled_steps"],
        "unverifiable_score": unverifiable,
        "checked": sum(1 for v in verdicts if v != NOTHING_TO_CHECK),
        "labelled": sum(1 for label in labels if label.label is not None),
        "reward": process_reward(labels, unverifiable),
    }
