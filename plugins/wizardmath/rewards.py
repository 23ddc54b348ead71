"""The rewards of a math sample: r = r_I * r_A, checked by sympy wherever mathematics can be.

- Process reward: the solution split into steps, each step's equations and arithmetic checked
  exactly by sympy (correct, incorrect or unverifiable). With ``--step-judge``, an LLM judge
  scores the steps sympy could not check; it is never asked about a step sympy found incorrect,
  so sympy's "incorrect" always stands. The process reward is the minimum over the scored steps;
  a step nobody could score is no evidence either way and is left out of the minimum.
- Answer reward r_A: for a seed with a reference answer, 1 when the response's final answer is
  equivalent to it, else 0. For an evolved problem (no reference: its lineage's answer belongs to
  another problem), the share of the ``--samples`` solutions that agree with the chosen one
  (their consensus, grouped by sympy equivalence), times the process reward.
- Instruction reward r_I: checks that need no LLM (the problem asks something, the arithmetic it
  states is true and its numbers are well formed, its reference or consensus answer parses) gate
  it to 0 when one fails; an LLM judge's definition, precision and integrity scores (1 to 10,
  asked for as JSON) grade it. The judge's difficulty score is recorded but not multiplied in:
  downward evolution makes problems easier on purpose, and the reward must not punish a sample
  for following the schedule. A judge reply without the scores leaves the judge part missing,
  recorded as such, and r_I rests on the checks alone.

Every parse and comparison runs through the bounded async checkers (killable worker processes)
and is memoised in the build's cache, so a slow machine or a resumed run cannot change a verdict
once it was reached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from evolinstruct import Filter, Sample, SampleContext, Score, Scorer

from . import prompts

DOMAIN = "math"
VERDICT_SCORE = {"correct": 1.0, "incorrect": 0.0}
ASKS = re.compile(
    r"\?|\b(find|compute|calculate|determine|evaluate|simplify|solve|show|prove|express|"
    r"how (many|much|long|far|old)|what|which|list|give|write|estimate|round)\b",
    re.IGNORECASE,
)
# Numbers no writer means: doubled decimal points, misplaced thousands separators, a digit run
# glued to a second decimal part.
MALFORMED_NUMBER = re.compile(r"\d\.\.\d|\d\.\d+\.\d|\b\d{1,3}(,\d{1,2}|,\d{4,})\b(?!\s*[a-z(])")
_JSON_OBJECT = re.compile(r"\{[^{}]*\}", re.S)
_KEY_NUMBER = r"[\"']?{key}[\"']?\s*[:=]\s*[\"']?(\d+(?:\.\d+)?)"
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")


# --- the checkers, bounded and memoised --------------------------------------------------------


async def equivalent(ctx: SampleContext, gold: str, pred: str) -> dict[str, Any]:
    """``{"equal", "reason"}`` for two final answers, computed once per build folder."""
    from .answers import answers_equal_async

    async def compute() -> dict[str, Any]:
        found = await answers_equal_async(gold, pred)
        return {"equal": bool(found.equal), "reason": str(found.reason)}

    return await ctx.memo("wizardmath.equal", [gold, pred], compute)


def _verdict_dict(verdict: Any) -> dict[str, Any]:
    if hasattr(verdict, "as_dict"):
        data = verdict.as_dict()
    else:
        data = dataclasses.asdict(verdict) if dataclasses.is_dataclass(verdict) else dict(verdict)
    return json.loads(json.dumps(data, default=str))  # what the cache stores, exactly


async def check_steps(ctx: SampleContext, steps: Sequence[str]) -> list[dict[str, Any]]:
    """sympy's verdict per step (``verdict`` in correct/incorrect/unverifiable, ``claims``)."""
    from .steps import check_steps_async

    async def compute() -> list[dict[str, Any]]:
        return [_verdict_dict(v) for v in await check_steps_async(list(steps))]

    return await ctx.memo("wizardmath.steps", list(steps), compute)


def extract(text: str | None) -> str | None:
    from .answers import extract_answer

    return extract_answer(text) if text else None


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

    return await ctx.memo("wizardmath.parses", answer, compute)


# --- consensus of sampled solutions ------------------------------------------------------------


@dataclass(frozen=True)
class Consensus:
    """k sampled solutions grouped by the sympy equivalence of their final answers."""

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

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": len(self.answers),
            "answers": list(self.answers),
            "groups": [list(group) for group in self.groups],
            "chosen": self.chosen,
            "answer": self.answer,
            "agreement": self.agreement,
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


# --- process reward ----------------------------------------------------------------------------


def read_step_judgement(reply: str) -> str | None:
    """"correct", "incorrect", or None for a reply that does not give one of the two words.

    Only the reply's first or last word counts, as the prompt asks for one word: a judge that
    rambles may mention both words in passing (the offline model echoes words of the prompt).
    """
    words = re.findall(r"[a-z]+", reply.lower())
    for word in (words[:1] + words[-1:]) if words else []:
        if word in ("correct", "incorrect"):
            return word
    return None


async def _judge_step(ctx: SampleContext, problem: str, steps: Sequence[str], index: int) -> str | None:
    messages = prompts.judge_step(problem, steps[:index], steps[index])
    reply = await ctx.chat(messages, stage="step-judge", variant=index, temperature=0.0)
    return read_step_judgement(reply)


async def process_check(ctx: SampleContext, problem: str, solution: str, *, judge: bool) -> dict[str, Any]:
    """Per-step verdicts and scores, and the process reward (None when no step was scored)."""
    from .steps import split_steps

    steps = split_steps(solution)
    verdicts = await check_steps(ctx, steps)
    judged: dict[int, str | None] = {}
    if judge:
        unverifiable = [i for i, v in enumerate(verdicts) if v.get("verdict") == "unverifiable"]
        replies = await asyncio.gather(*(_judge_step(ctx, problem, steps, i) for i in unverifiable))
        judged = dict(zip(unverifiable, replies))
    rows = []
    for index, (text, verdict) in enumerate(zip(steps, verdicts)):
        row: dict[str, Any] = {
            "index": index,
            "text": text,
            "verdict": verdict.get("verdict"),
            "claims": verdict.get("claims", []),
        }
        score = VERDICT_SCORE.get(row["verdict"])
        if index in judged:
            row["judge"] = judged[index]
            score = VERDICT_SCORE.get(judged[index]) if judged[index] else None
        row["score"] = score
        rows.append(row)
    scored = [row["score"] for row in rows if row["score"] is not None]
    return {
        "steps": rows,
        "checked": sum(1 for row in rows if row["verdict"] in VERDICT_SCORE),
        "judged": sum(1 for index in judged if judged[index] is not None),
        "incorrect": [row["index"] for row in rows if row["score"] == 0.0],
        "reward": min(scored) if scored else None,
    }


# --- answer reward -----------------------------------------------------------------------------


async def answer_check(ctx: SampleContext, sample: Sample, process_reward: float | None) -> dict[str, Any]:
    """r_A with its evidence. ``verified`` is True when the final answer is confirmed (equal to
    the reference, or chosen by a strict majority of at least two samples), False when it is
    refuted (not equal to the reference, or absent), None when nothing decides."""
    from .domain import reference_answer

    predicted = extract(sample.response)
    reference = reference_answer(sample)
    if reference is not None:
        if predicted is None:
            return {"source": "reference", "reference": reference, "predicted": None, "equal": False,
                    "reason": "the response has no final answer", "verified": False, "reward": 0.0}
        found = await equivalent(ctx, reference, predicted)
        return {"source": "reference", "reference": reference, "predicted": predicted, **found,
                "verified": found["equal"], "reward": 1.0 if found["equal"] else 0.0}
    stored = sample.checks.get("consensus")
    if isinstance(stored, Mapping):
        consensus = Consensus.from_dict(stored)
    else:  # a response that came with the seed: a consensus of one
        consensus = Consensus((predicted,), ((0,),) if predicted is not None else ())
    agreement = consensus.agreement
    samples = len(consensus.answers)
    if consensus.answer is None:
        verified: bool | None = False
    elif samples >= 2 and len(consensus.largest) * 2 > samples:
        verified = True
    else:
        verified = None
    reward = agreement * (process_reward if process_reward is not None else 1.0)
    return {"source": "consensus", "predicted": consensus.answer, "agreement": agreement,
            "samples": samples, "verified": verified, "reward": reward}


# --- instruction reward ------------------------------------------------------------------------


def read_instruction_judgement(reply: str) -> dict[str, float] | None:
    """The four 1-10 scores from a judge's reply: a JSON object anywhere in it (code fences and
    prose around it are fine), else "criterion: N" lines; None unless all four are there."""
    lowered = reply.lower()
    for candidate in _JSON_OBJECT.findall(lowered):
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            scores = _four_scores({str(key).strip(): value for key, value in data.items()})
            if scores is not None:
                return scores
    found = {}
    for key in prompts.IRM_CRITERIA:
        match = re.search(_KEY_NUMBER.format(key=key), lowered)
        if match:
            found[key] = match.group(1)
    return _four_scores(found)


def _four_scores(data: Mapping[str, Any]) -> dict[str, float] | None:
    scores = {}
    for key in prompts.IRM_CRITERIA:
        value = data.get(key)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            return None
        scores[key] = min(10.0, max(1.0, float(value)))
    return scores


def numbers_consistent(problem: str, verdicts: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with the problem's numbers: false arithmetic it states, malformed numbers."""
    problems = [f"malformed number {m.group(0)!r}" for m in MALFORMED_NUMBER.finditer(problem)]
    for verdict in verdicts:
        if verdict.get("verdict") == "incorrect":
            claims = verdict.get("claims") or []
            problems.append(f"false arithmetic: {claims!r}" if claims else "false arithmetic")
    return problems


async def instruction_check(ctx: SampleContext, sample: Sample, answer: str | None) -> dict[str, Any]:
    problem = sample.instruction
    sentences = [part.strip() for part in _SENTENCE.split(problem) if part.strip()]

    async def judge() -> str:
        return await ctx.chat(prompts.judge_instruction(problem), stage="instruction-judge", temperature=0.0)

    verdicts, parses, reply = await asyncio.gather(
        check_steps(ctx, sentences),
        answer_parses(ctx, answer) if answer is not None else _no_answer(),
        judge(),
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
    judged = read_instruction_judgement(reply)
    if judged is None:
        checks["judge"] = None
        checks["judge_missing"] = "the judge's reply has no JSON object with the four scores"
        quality = None
    else:
        checks["judge"] = judged
        quality = sum(judged[key] for key in ("definition", "precision", "integrity")) / 30.0
    checks["reward"] = gate * (quality if quality is not None else 1.0)
    return checks


async def _no_answer() -> dict[str, Any]:
    return {"parses": False, "reason": "there is no reference or consensus answer"}


# --- the scorer and the filter ----------------------------------------------------------------


def key_answer(sample: Sample) -> str | None:
    """The answer the instruction reward asks to parse: the reference, else the consensus."""
    from .domain import reference_answer

    reference = reference_answer(sample)
    if reference is not None:
        return reference
    stored = sample.checks.get("consensus")
    if isinstance(stored, Mapping):
        return Consensus.from_dict(stored).answer
    return extract(sample.response)


async def score(ctx: SampleContext, sample: Sample) -> Score:
    judge = bool(ctx.options.get("step_judge", False))
    # The instruction judge's request and sympy's step checks overlap; only r_A waits for both.
    process, instruction = await asyncio.gather(
        process_check(ctx, sample.instruction, sample.response or "", judge=judge),
        instruction_check(ctx, sample, key_answer(sample)),
    )
    answer = await answer_check(ctx, sample, process["reward"])
    scores = {
        "instruction_reward": instruction["reward"],
        "answer_reward": answer["reward"],
        "reward": instruction["reward"] * answer["reward"],
    }
    if process["reward"] is not None:
        scores["process_reward"] = process["reward"]
    if instruction["judge"] is not None:
        scores["instruction_difficulty"] = instruction["judge"]["difficulty"]
    return Score(checks={"process": process, "answer": answer, "instruction": instruction}, scores=scores)


def min_reward(ctx: SampleContext, sample: Sample) -> str | None:
    threshold = float(ctx.options.get("min_reward") or 0.0)
    if threshold <= 0.0:
        return None
    reward = sample.scores.get("reward")
    if reward is None:
        return "the sample has no reward"
    if reward < threshold:
        return f"reward {reward:.3f} is below --min-reward {threshold:g}"
    return None


SCORER = Scorer(
    "math-reward",
    score,
    domains=(DOMAIN,),
    description="process reward (sympy step checks, optional LLM step judge), answer reward "
    "(reference or consensus) and instruction reward (checks and an LLM judge): r = r_I * r_A",
)

MIN_REWARD = Filter(
    "min-reward",
    "verdict",
    min_reward,
    domains=(DOMAIN,),
    description="eliminates math samples whose reward is below --min-reward",
)
