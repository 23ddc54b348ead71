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
    """"correct", "incorrect", or None for a reply that does not give exactly one of the two.

    A structured reply's ``verdict`` is the word. In a plain-text reply every verdict the text
    states counts, read with its negation: "not correct" and "isn't correct" say incorrect. The
    reply is read only when all of them agree; one that states both ("correct, but the total is
    incorrect") or neither, or negates "incorrect" (is "not incorrect" a verdict or a hedge?), is
    unreadable: a missing verdict, never a guess. "The correct value is 12" names another thing,
    not the step, and does not count.
    """
    data = read_json_object(reply)
    if data is not None:
        verdict = data.get("verdict")
        word = verdict.strip().lower() if isinstance(verdict, str) else None
        return word if word in ("correct", "incorrect") else None
    verdicts: set[str | None] = set()
    for mention in _VERDICT_MENTION.finditer(reply.lower()):
        if mention.group("attributive"):
            continue
        if mention.group("distant"):
            verdicts.add(None)  # "there is no error and it is correct": negated or not?
        elif mention.group("word") == "correct":
            verdicts.add("incorrect" if mention.group("negation") else "correct")
        else:
            verdicts.add(None if mention.group("negation") else "incorrect")
    return verdicts.pop() if len(verdicts) == 1 else None


# A verdict word, with a negation right before it ("not correct", "isn't entirely correct",
# "does not seem to be correct"), or with a negation further back in its clause, which may or
# may not bear on it ("there is no error and it is correct"), or after "the" (`the correct
# answer is 12`, about another thing). Punctuation ends a clause: in "No mistakes, so it is
# correct" the verdict is not negated.
_NEGATOR = r"(?:\b(?:not|no|never|hardly|neither|nor|cannot|without)\b|n[’']t\b)"
_BETWEEN = (r"(?:be|been|being|is|are|was|were|seem|seems|look|looks|to|quite|entirely|fully|"
            r"completely|totally|really|actually|exactly|necessarily|strictly|very|so|at|all|"
            r"mathematically|logically|it|this|that|step|the|one)")
_VERDICT_MENTION = re.compile(
    rf"(?:(?P<negation>{_NEGATOR}(?:\s+{_BETWEEN}\b)*\s+)"
    rf"|(?P<distant>{_NEGATOR}(?:[^\w.,;:!?]+[\w’']+){{1,8}}?[^\w.,;:!?]+))?"
    r"(?P<attributive>\bthe\s+)?"
    r"\b(?P<word>correct|incorrect)\b(?(attributive)(?=\s+[a-z]))",
)


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
