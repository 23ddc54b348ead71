"""The LLM judges of the math domain, and how their replies are read.

Each judge asks for structured output (a JSON schema: ``INSTRUCTION_FORMAT``, ``STEP_FORMAT``),
which OpenAI and vLLM honour; an endpoint that rejects it is asked again in plain text (the core
does that), and the prompts ask for the same content in text, so either reply can be read.
Each judge has exactly one function that turns its reply into a score, or into None when the
reply does not give one: ``read_instruction_judgement`` and ``read_step_judgement``. A reply
that cannot be read is a missing score, never a guess: the rewards built on it are missing too
(null), and filters treat them as such.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from evolinstruct import SampleContext, enum_property, json_schema_format, read_json_object

from . import prompts

SCALE = tuple(range(1, 11))
INSTRUCTION_FORMAT = json_schema_format(
    "math_problem_rating", {criterion: enum_property(SCALE) for criterion in prompts.IRM_CRITERIA}
)
STEP_VERDICTS = ("Correct", "Incorrect")
STEP_FORMAT = json_schema_format("math_step_verdict", {"verdict": enum_property(STEP_VERDICTS)})

_JSON_OBJECT = re.compile(r"\{[^{}]*\}", re.S)
_KEY_NUMBER = r"[\"']?{key}[\"']?\s*[:=]\s*[\"']?(\d+(?:\.\d+)?)"


def read_instruction_judgement(reply: str | Mapping[str, Any]) -> dict[str, float] | None:
    """The four 1-10 scores (``prompts.IRM_CRITERIA``) from a judge's reply: a parsed object, a
    JSON object anywhere in the text (code fences and prose around it are fine), else
    "criterion: N" lines; None unless all four are there."""
    if isinstance(reply, str):
        reply = read_json_object(reply) or reply  # a structured reply is the object itself
    if isinstance(reply, Mapping):
        return _four_scores({str(key).strip().lower(): value for key, value in reply.items()})
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


def read_step_judgement(reply: str) -> str | None:
    """"correct", "incorrect", or None for a reply that does not give one of the two words.

    A structured reply's ``verdict`` is the word; in a plain-text reply only the first or last
    word counts, as the prompt asks for one word: a judge that rambles may mention both words in
    passing.
    """
    data = read_json_object(reply)
    if data is not None:
        verdict = data.get("verdict")
        word = verdict.strip().lower() if isinstance(verdict, str) else None
        return word if word in ("correct", "incorrect") else None
    words = re.findall(r"[a-z]+", reply.lower())
    for word in (words[:1] + words[-1:]) if words else []:
        if word in ("correct", "incorrect"):
            return word
    return None


async def judge_instruction(ctx: SampleContext, problem: str) -> dict[str, float] | None:
    reply = await ctx.chat(
        prompts.judge_instruction(problem), stage="instruction-judge", temperature=0.0,
        response_format=INSTRUCTION_FORMAT,
    )
    return read_instruction_judgement(reply)


async def judge_step(ctx: SampleContext, problem: str, steps: Sequence[str], index: int) -> str | None:
    messages = prompts.judge_step(problem, steps[:index], steps[index])
    reply = await ctx.chat(messages, stage="step-judge", variant=index, temperature=0.0, response_format=STEP_FORMAT)
    return read_step_judgement(reply)
