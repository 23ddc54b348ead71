"""The rewards of a math sample, as WizardMath defines them: r = r_I * r_A.

- Process reward: the minimum over the solution's steps of each step's score from its label
  (``wizardmath.labels``, ``wizardmath.process``): sympy's false claims, the solution's own
  outcome, rollouts and the step judge where asked.
- Answer reward r_A = g_A * process reward, one formula for seeds and evolved samples. The
  answer gate g_A is 0 when the final answer is refuted (it differs from the reference, or the
  response has no final answer) and 1 otherwise. A seed is judged against its reference answer;
  an evolved problem against the consensus of its ``--samples`` solutions, which *confirms* an
  answer only by a strict majority of at least two.
- Instruction reward r_I = g_I * (definition + precision + integrity) / 30: checks that need no
  LLM (the problem asks something, the arithmetic it states is true and its numbers are well
  formed, its reference or consensus answer parses) make the gate g_I; an LLM judge gives the
  three 1-10 scores. The judge's difficulty score is recorded but not multiplied in: downward
  evolution makes problems easier on purpose. When the gate is 0, r_I is 0 whatever the judge
  says; when the gate is 1 and the judge's reply cannot be read, r_I is missing (null), and so
  is r: a judge that failed never scores.

The formulas are written out in docs/math-grading.md.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Mapping, Sequence

from evolinstruct import AnswerRule, Filter, Sample, SampleContext, Score, Scorer

from .checkers import answer_parses, check_steps, equivalent, extract
from .consensus import Consensus
from .judges import judge_instruction
from .process import process_check, process_settings
from .references import reference_answer
from .rollouts import STAGE as ROLLOUT_STAGE
from .steps import CLAIM_FALSE

DOMAIN = "math"
ASKS = re.compile(
    r"\?|\b(find|compute|calculate|determine|evaluate|simplify|solve|show|prove|express|"
    r"how (many|much|long|far|old)|what|which|list|give|write|estimate|round)\b",
    re.IGNORECASE,
)
# Numbers no writer means: doubled decimal points, misplaced thousands separators, a digit run
# glued to a second decimal part.
MALFORMED_NUMBER = re.compile(r"\d\.\.\d|\d\.\d+\.\d|\b\d{1,3}(,\d{1,2}|,\d{4,})\b(?!\s*[a-z(])")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
MISSING_REWARD_CHOICES = ("eliminate", "keep")


# --- the answer: which target, and whether the response reaches it ---------------------------


def stored_consensus(sample: Sample) -> Consensus:
    stored = sample.checks.get("consensus")
    if isinstance(stored, Mapping):
        return Consensus.from_dict(stored)
    predicted = extract(sample.response)  # a response that came with the seed: a consensus of one
    return Consensus((predicted,), ((0,),) if predicted is not None else ())


async def answer_check(ctx: SampleContext, sample: Sample) -> dict[str, Any]:
    """The target answer and the response's standing against it. ``outcome`` is True when the
    final answer is confirmed (equal to the reference, or the answer of a confirmed consensus),
    False when it is refuted (not equal to the reference, or no final answer at all), None when
    nothing decides. ``gate`` is 0 when refuted, else 1."""
    predicted = extract(sample.response)
    reference = reference_answer(sample)
    if reference is not None:
        if predicted is None:
            found = {"equal": False, "reason": "the response has no final answer", "policy": None}
        else:
            found = await equivalent(ctx, reference, predicted)
        return {"source": "reference", "reference": reference, "predicted": predicted, **found,
                "target": reference, "outcome": bool(found["equal"]),
                "gate": 1.0 if found["equal"] else 0.0}
    consensus = stored_consensus(sample)
    if consensus.answer is None:
        outcome: bool | None = False
    elif consensus.confirmed:
        outcome = True  # the response is one of the confirmed group's solutions
    else:
        outcome = None
    return {"source": "consensus", "predicted": consensus.answer, "agreement": consensus.agreement,
            "samples": len(consensus.answers), "confirmed": consensus.confirmed,
            "target": consensus.answer if consensus.confirmed else None, "outcome": outcome,
            "gate": 0.0 if outcome is False else 1.0}


async def keeps_final_answer(ctx: SampleContext, original: Sample, version: Sample) -> str | None:
    """Why a rewritten solution (``evol build --evolve-answers``) lost the final answer it must
    keep, or None. That answer is the verified one: the reference, or the answer a consensus of
    ``--samples`` solutions confirmed; with neither it is the original's own final answer, which
    nothing verified, so a version keeps the standing the original had and never gains one.
    Equality is sympy's, as for the answer gate."""
    reference = reference_answer(original)
    if reference is not None:
        target, what = reference, "the reference answer"
    else:
        consensus = stored_consensus(original)
        target = consensus.answer
        if target is None:
            return "the original solution states no final answer, so a rewrite has none to keep"
        what = ("the answer the consensus of the sampled solutions confirmed" if consensus.confirmed
                else "the original solution's final answer (unverified)")
    predicted = extract(version.response)
    if predicted is None:
        return f"the rewritten solution states no final answer; it must keep {what}, {target}"
    found = await equivalent(ctx, target, predicted)
    if not found["equal"]:
        return f"the rewritten solution's final answer {predicted} differs from {what}, {target}"
    return None


def answer_reward(gate: float, process_reward: float) -> float:
    """r_A = g_A * process reward."""
    return gate * process_reward


# --- instruction reward ------------------------------------------------------------------------


def numbers_consistent(problem: str, verdicts: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with the problem's numbers: false arithmetic it states, malformed numbers."""
    problems = [f"malformed number {m.group(0)!r}" for m in MALFORMED_NUMBER.finditer(problem)]
    for verdict in verdicts:
        if verdict.get("verdict") == CLAIM_FALSE:
            claims = [c for c in verdict.get("claims") or [] if c.get("verdict") == "false"]
            problems.append(f"false arithmetic: {claims!r}" if claims else "false arithmetic")
    return problems


def instruction_reward(gate: float, judged: Mapping[str, float] | None) -> float | None:
    """r_I = g_I * (definition + precision + integrity) / 30; 0 when the gate is 0, missing
    (None) when the gate is 1 and the judge gave no scores."""
    if gate == 0.0:
        return 0.0
    if judged is None:
        return None
    return gate * sum(judged[key] for key in ("definition", "precision", "integrity")) / 30.0


async def instruction_check(ctx: SampleContext, sample: Sample, answer: str | None) -> dict[str, Any]:
    problem = sample.instruction
    sentences = [part.strip() for part in _SENTENCE.split(problem) if part.strip()]
    verdicts, parses, judged = await asyncio.gather(
        check_steps(ctx, sentences),
        answer_parses(ctx, answer) if answer is not None else _no_answer(),
        judge_instruction(ctx, problem),
    )
    wrong_numbers = numbers_consistent(problem, verdicts)
    checks: dict[str, Any] = {
        "asks_question": bool(ASKS.search(problem)),
        "numbers_consistent": not wrong_numbers,
        "answer_parses": parses["parses"],
    }
    if wrong_numbers:
        checks["number_problems"] = wrong_numbers
    if not parses["parses"]:
        checks["answer_problem"] = parses["reason"]
    gate = 1.0 if all(checks[name] for name in ("asks_question", "numbers_consistent", "answer_parses")) else 0.0
    checks["gate"] = gate
    checks["judge"] = judged
    if judged is None:
        checks["judge_missing"] = "the judge's reply has no readable scores for the four criteria"
    checks["reward"] = instruction_reward(gate, judged)
    return checks


async def _no_answer() -> dict[str, Any]:
    return {"parses": False, "reason": "there is no reference or consensus answer"}


def key_answer(sample: Sample) -> str | None:
    """The answer the instruction reward asks to parse: the reference, else the consensus."""
    reference = reference_answer(sample)
    if reference is not None:
        return reference
    return stored_consensus(sample).answer


# --- the scorer and the filter ----------------------------------------------------------------


def total_reward(instruction: float | None, answer: float) -> float | None:
    """r = r_I * r_A; missing when r_I is."""
    return None if instruction is None else instruction * answer


async def score(ctx: SampleContext, sample: Sample) -> Score:
    answer = await answer_check(ctx, sample)
    # The instruction judge's request and the process check's requests and sympy work overlap.
    process, instruction = await asyncio.gather(
        process_check(ctx, sample.instruction, sample.response or "", outcome=answer["outcome"],
                      target=answer["target"], settings=process_settings(ctx.options)),
        instruction_check(ctx, sample, key_answer(sample)),
    )
    r_a = answer_reward(answer["gate"], process["reward"])
    answer["reward"] = r_a
    scores: dict[str, float | None] = {
        "instruction_reward": instruction["reward"],
        "process_reward": process["reward"],
        "answer_reward": r_a,
        "reward": total_reward(instruction["reward"], r_a),
    }
    if instruction["judge"] is not None:
        scores["instruction_difficulty"] = instruction["judge"]["difficulty"]
    return Score(checks={"process": process, "answer": answer, "instruction": instruction}, scores=scores)


def min_reward(ctx: SampleContext, sample: Sample) -> str | None:
    threshold = float(ctx.options.get("min_reward") or 0.0)
    if threshold <= 0.0:
        return None
    reward = sample.scores.get("reward")
    if reward is None:
        if (ctx.options.get("missing_reward") or "eliminate") == "keep":
            return None
        return "the sample's reward is missing (the instruction judge's reply could not be read)"
    if reward < threshold:
        return f"reward {reward:.3f} is below --min-reward {threshold:g}"
    return None


def _requests(options: Mapping[str, Any]) -> dict[str, int]:
    """At most per sample: the instruction judge once; per step the step judge once and the
    rollouts; a solution of at most ``max_tokens`` tokens has at most that many steps."""
    steps = int(options.get("max_tokens") or 1)
    settings = process_settings(options)
    return {
        "instruction-judge": 1,
        "step-judge": steps if settings["judge"] else 0,
        ROLLOUT_STAGE: steps * settings["rollouts"] if settings["step_labels"] == "rollout" else 0,
    }


SCORER = Scorer(
    "math-reward",
    score,
    domains=(DOMAIN,),
    requests=_requests,
    description="process reward (step labels from sympy, the answer, rollouts and the step judge), "
    "answer reward r_A (answer gate times process reward) and instruction reward r_I (checks and "
    "an LLM judge): r = r_I * r_A",
)

KEEPS_FINAL_ANSWER = AnswerRule(
    "final-answer-kept",
    keeps_final_answer,
    description="math: a rewritten solution (--evolve-answers) must reach the verified final answer (the reference "
    "or the confirmed consensus; else the original's own), by sympy's equality",
)

MIN_REWARD = Filter(
    "min-reward",
    "verdict",
    min_reward,
    domains=(DOMAIN,),
    requests=lambda options: {},
    description="eliminates math samples whose reward is below --min-reward (or missing, unless "
    "--missing-reward keep)",
)
