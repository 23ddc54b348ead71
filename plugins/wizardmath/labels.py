"""Step labels a process reward model can trust, and the process reward computed from them.

Each step of a solution gets a label: True (a good step), False (a bad one) or None (nothing
known), with the evidence it came from. In order:

1. ``sympy``: the step states a false claim -> False, whatever else says otherwise.
2. ``outcome``: the solution's own final answer reaches the target answer (the reference, or a
   confirmed consensus) -> True: the rest of this very solution is a completion from the step
   that reaches the answer (Math-Shepherd's hard estimation).
3. ``rollout``: one of the N completions sampled from the step reaches the target -> True.
4. ``outcome``: the last step of a solution whose final answer misses the target -> False: its
   prefix is the whole solution.
5. ``rollout``: N completions were sampled from the step and none reached the target (nor did
   the solution itself) -> False.
6. ``judge``: the LLM step judge's verdict, when it was asked and answered.
7. otherwise None. sympy finding all claims true is never a label by itself: true arithmetic
   does not make a step right.

The process reward is the minimum over the steps of a score: 1 for True, 0 for False, and a
neutral ``unverifiable`` value (0.5 by default) for None; a solution without steps scores the
neutral value. One bad step sinks the solution, as WizardMath's PRM reward takes the minimum of
the step scores. The build and ``evol math steps`` both compute it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

from .steps import CLAIM_FALSE

LabelSource = Literal["sympy", "outcome", "rollout", "judge"]
DEFAULT_UNVERIFIABLE = 0.5


@dataclass(frozen=True)
class StepEvidence:
    """What is known about one step."""

    finding: str
    """sympy's: "claims true", "a claim is false" or "nothing to check"."""
    rollouts: int = 0
    """Completions sampled from the step and checked against the target answer (0: none)."""
    reached: int = 0
    """How many of them reached it."""
    judge: str | None = None
    """The step judge's "correct" or "incorrect"; None when it was not asked or not readable."""


@dataclass(frozen=True)
class StepLabel:
    label: bool | None
    source: LabelSource | None

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "label_source": self.source}


UNKNOWN = StepLabel(None, None)


def step_label(evidence: StepEvidence, *, last: bool, outcome: bool | None) -> StepLabel:
    """The label of one step by the rules of the module docstring. ``outcome``: whether the
    solution's final answer reaches the target answer (None: no target is known)."""
    if evidence.finding == CLAIM_FALSE:
        return StepLabel(False, "sympy")
    if outcome is True:
        return StepLabel(True, "outcome")
    if evidence.reached > 0:
        return StepLabel(True, "rollout")
    if last and outcome is False:
        return StepLabel(False, "outcome")
    if evidence.rollouts > 0 and outcome is False:
        return StepLabel(False, "rollout")
    if evidence.judge in ("correct", "incorrect"):
        return StepLabel(evidence.judge == "correct", "judge")
    return UNKNOWN


def step_labels(evidence: Sequence[StepEvidence], outcome: bool | None) -> list[StepLabel]:
    last = len(evidence) - 1
    return [step_label(e, last=i == last, outcome=outcome) for i, e in enumerate(evidence)]


def step_score(label: StepLabel, unverifiable: float = DEFAULT_UNVERIFIABLE) -> float:
    if label.label is None:
        return unverifiable
    return 1.0 if label.label else 0.0


def process_reward(labels: Iterable[StepLabel], unverifiable: float = DEFAULT_UNVERIFIABLE) -> float:
    """The minimum step score (see the module docstring); ``unverifiable`` for no steps."""
    scores = [step_score(label, unverifiable) for label in labels]
    return min(scores) if scores else unverifiable
