"""The ``math`` domain: WizardMath's upward and downward evolution of math problems.

Upward operations (tag ``up``) make a problem harder, downward ones (tag ``down``) make it
easier, so ``evol build --domain math --schedule down,down,up,up,up`` follows the WizardMath
recipe: two easier variants, then three harder ones.

Seeds come in GSM8K style (``question``, ``answer`` ending in ``#### N``) or MATH style
(``problem``, ``solution``, ``answer``); both become an instruction, a worked solution ending in
the fixed final form, and the field ``answer``: the reference final answer.

With ``--irm-candidates K`` each round evolves the parent K times and the candidate with the
highest instruction reward continues (the core's ``Domain.candidates``); every candidate is kept
with its score and rank, for the instruction reward model's ranking data (``--format irm``).

An evolved problem is a new problem, so the reference answer its lineage inherits no longer
applies: ``inherit_fields`` moves it to ``seed_answer`` as the candidate is made, and the answer of an
evolved problem is judged by the consensus of ``--samples`` sampled solutions instead.

With ``--evolve-answers K`` every rewritten solution must keep the verified final answer
(``rewards.keeps_final_answer``, the domain's ``answer_rule``); one that does not is eliminated.
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any, Literal, Mapping, Sequence

from pydantic import Field

from evolinstruct import Candidates, Domain, DomainOptions, Message, Operation, Sample, SampleContext, SeedError, clean_rewrite

from . import prompts
from .consensus import group_answers
from .process import DEFAULT_ROLLOUTS
from .references import INHERITED_REFERENCE, REFERENCE
from .rewards import KEEPS_FINAL_ANSWER

DOMAIN = "math"
FINAL_LINE = "The answer is \\boxed{{{answer}}}"

_GSM8K_FINAL = "####"
# A solution already ends in a fixed final form when it has a \boxed{} or an "answer is" line.
_HAS_FINAL_FORM = re.compile(r"\\boxed\s*\{|\bthe (final )?answer is\b", re.IGNORECASE)
# What a model sometimes appends to a rewritten problem although the rules forbid it.
# Only a line that is a label ("Solution:", "**Answer:**") or states the answer counts: a problem
# may well have a line that begins "Answer in dollars".
_TRAILING_SOLUTION = re.compile(
    r"\n\s*(?:\*\*|#+\s*)?(?:(?:solution|answer|final answer|hint)\s*(?:\*\*)?\s*:|the (?:final )?answer is\b)",
    re.IGNORECASE,
)


def final_line(answer: str) -> str:
    return FINAL_LINE.format(answer=answer)


# --- operations ------------------------------------------------------------------------------


def _upward(method: str) -> Operation:
    def prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
        return prompts.upward(method, sample.instruction)

    return Operation(method, prompt, tags=("up",), description=prompts.UPWARD_METHODS[method])


def _simplify(sample: Sample, rng: random.Random) -> Sequence[Message]:
    return prompts.simplify(sample.instruction)


def _easier_topic(sample: Sample, rng: random.Random) -> Sequence[Message]:
    return prompts.easier_topic(sample.instruction)


OPERATIONS = (
    *(_upward(method) for method in prompts.UPWARD_METHODS),
    Operation("simplify", _simplify, tags=("down",), description=prompts.SIMPLIFY_METHOD),
    Operation(
        "new-easier-question",
        _easier_topic,
        tags=("down",),
        description="Write a new, easier problem about another area of mathematics.",
    ),
)


def clean_math_rewrite(text: str) -> str:
    """The core cleaning, then anything after the problem that looks like its solution: a
    problem that arrives with its answer attached would teach the model to expect one."""
    cleaned = clean_rewrite(text)
    found = _TRAILING_SOLUTION.search(cleaned)
    if found and found.start() > 0:
        cleaned = cleaned[: found.start()].rstrip()
    return cleaned


# --- seeds ------------------------------------------------------------------------------------


def _text(record: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise SeedError("is missing", field=name)
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name == REFERENCE:
        return str(value)  # a bare number is a fine reference answer
    if not isinstance(value, str) or not value.strip():
        raise SeedError("must be a non-empty string", field=name)
    return value.strip()


def _extracted(solution: str) -> str | None:
    from .answers import extract_answer

    return extract_answer(solution)


def read_seed(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """Map a GSM8K-, MATH- or common-form record to the common form plus ``answer``."""
    rest = {key: value for key, value in record.items() if key not in ("question", "problem", "solution")}
    if "question" in record:  # GSM8K: the final answer follows "####" on the last line
        question = _text(record, "question", required=True)
        worked = _text(record, REFERENCE, required=True)
        if _GSM8K_FINAL not in worked:
            raise SeedError("must end in '#### N', the final answer (GSM8K style)", field=REFERENCE)
        reasoning, final = worked.rsplit(_GSM8K_FINAL, 1)
        final = final.strip()
        if not final:
            raise SeedError("has nothing after '####'", field=REFERENCE)
        # The reasoning keeps GSM8K's <<48/2=24>> annotations: they are checkable claims.
        output = f"{reasoning.rstrip()}\n{final_line(final)}".lstrip()
        return {**rest, "instruction": question, "output": output, REFERENCE: final}
    if "problem" in record:  # MATH: a solution with a \boxed{} answer, and the answer itself
        problem = _text(record, "problem", required=True)
        solution = _text(record, "solution", required=False)
        answer = _text(record, REFERENCE, required=False)
        if answer is None and solution is not None:
            answer = _extracted(solution)
        if answer is None:
            raise SeedError("is missing, and no final answer can be read from the solution", field=REFERENCE)
        if solution is not None and not _HAS_FINAL_FORM.search(solution):
            solution = f"{solution}\n{final_line(answer)}"
        out = {**rest, "instruction": problem, REFERENCE: answer}
        if solution is not None:
            out["output"] = solution
        return out
    if "instruction" in record:  # already common; the answer is optional
        answer = _text(record, REFERENCE, required=False)
        output = record.get("output")
        if answer is None and isinstance(output, str) and output.strip():
            answer = _extracted(output)
        return {**rest, REFERENCE: answer} if answer is not None else dict(rest)
    raise SeedError(
        "no problem: expected 'question' and 'answer' (GSM8K style), 'problem' with 'solution' or "
        "'answer' (MATH style), or 'instruction'",
        field="question",
    )


# --- responses --------------------------------------------------------------------------------


def inherit_fields(parent_fields: Mapping[str, Any]) -> dict[str, Any]:
    """An evolved problem's fields: its seed's reference answer kept as lineage information
    under ``seed_answer``, never as the answer to the new problem."""
    fields = dict(parent_fields)
    if REFERENCE in fields:
        fields[INHERITED_REFERENCE] = fields.pop(REFERENCE)
    return fields


async def respond(ctx: SampleContext, sample: Sample) -> Sample:
    """Sample ``--samples`` solutions and answer with one from the largest group of equal final
    answers; the grouping goes to ``checks["consensus"]`` for the answer reward."""
    k = int(ctx.options.get("samples") or 1)
    messages = prompts.solve(sample.instruction)
    solutions = await asyncio.gather(*(ctx.chat(messages, stage="respond", variant=i) for i in range(k)))
    consensus = await group_answers(ctx, list(solutions))
    return sample.replace(
        response=solutions[consensus.chosen],
        checks={**sample.checks, "consensus": consensus.as_dict()},
    )


RANKING_SCORE = "instruction_reward"
"""What ``--irm-candidates`` ranks the candidates of a round by: r_I, the instruction judge's
scores gated by the checks that need no LLM."""


def irm_candidates(options: Mapping[str, Any]) -> int:
    return int(options.get("irm_candidates") or 1)


class MathOptions(DomainOptions):
    """The math domain's own options of ``evol build``."""

    samples: int = Field(1, ge=1, le=64)
    """math: solutions sampled per problem; the response comes from the largest group of equal final answers, which
    confirms that answer when it is a strict majority of at least two (an evolved problem has no reference answer)."""
    step_labels: Literal["answer", "rollout"] = "answer"
    """math: where step labels come from. answer: sympy's false claims and whether the solution reaches the reference
    (or confirmed consensus) answer; rollout: also complete the solution --rollouts times from each step, a step
    being good when a completion reaches that answer (Math-Shepherd). A step with a false claim is bad either way."""
    rollouts: int = Field(DEFAULT_ROLLOUTS, ge=1, le=64)
    """math: completions per step with --step-labels rollout."""
    step_judge: bool = False
    """math: ask an LLM judge about the steps that still have no label (a step sympy finds false stays bad)."""
    unlabelled_steps: Literal["skip", "drop", "judge"] = "skip"
    """math: what the prm and stepwise exports do with a step that has no label. skip: leave the solution out; drop:
    keep its text, joined to the next labelled step, without a label of its own; judge: ask the step judge (as
    --step-judge), and leave the solution out when the judge gives no verdict."""
    irm_candidates: int = Field(1, ge=1, le=16)
    """math: evolve each parent K times per round (different operations while the round has enough), score every
    candidate with the instruction judge, continue the lineage with the best survivor and keep all K with their
    scores and rank: the rankings an instruction reward model trains on (evol export --format irm). 1: one candidate
    per round."""
    min_reward: float = Field(0.0, ge=0.0, le=1.0)
    """math: eliminate evolved samples whose reward (instruction reward times answer reward) is below this; 0 turns
    it off."""
    missing_reward: Literal["eliminate", "keep"] = "eliminate"
    """math: with --min-reward, what to do with a sample whose reward is missing because the instruction judge's
    reply could not be read."""


MATH = Domain(
    name=DOMAIN,
    description="WizardMath: upward and downward evolution of math problems, with answer, "
    "process and instruction rewards checked by sympy where mathematics can be checked",
    operations=OPERATIONS,
    respond=respond,
    read_seed=read_seed,
    clean_rewrite=clean_math_rewrite,
    options=MathOptions,
    inherit_fields=inherit_fields,
    candidates=Candidates(count=irm_candidates, score=RANKING_SCORE),
    answer_rule=KEEPS_FINAL_ANSWER,
    requests=lambda options: {"respond": int(options.get("samples") or 1)},
)
