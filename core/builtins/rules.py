"""The four elimination rules of Evol-Instruct, each a named filter.

1. ``equality``: the evolution brings no information gain over its parent (an LLM judge, asked
   for a structured verdict; a reply that says neither "Equal" nor "Not Equal" keeps the
   candidate).
2. ``sorry-short``: the answer contains "sorry" and is under 80 words: the model found the
   instruction hard to answer.
   ``sorry-rewrite`` applies it to the rewrite itself: the evolver refused ("Sorry, I can't help
   with that.") instead of rewriting, and a refusal must not become an instruction.
3. ``stopwords-only``: the answer is nothing but punctuation and stop words.
4. ``template-leak``: the rewrite copies words of the evolving prompt (its labels).

They are registered by the essential ``core`` plugin and apply to every domain.
"""

from __future__ import annotations

import re

from ..types.context import SampleContext
from ..types.records import Sample
from ..types.registrations import Filter
from ..types.rewrite import leaks_template
from ..types.structured import enum_property, json_schema_format, read_json_object

SORRY_WORD_LIMIT = 80

# Our own list of English function words: an answer made only of these says nothing.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    yes ok okay oh um uh well hmm sure thanks thank please
    """.split()
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def template_leak(ctx: SampleContext, sample: Sample) -> str | None:
    if not sample.instruction.strip():
        return "the rewrite is empty"
    leaked = leaks_template(sample.instruction)
    if leaked:
        return f"the rewrite copies the evolving prompt's wording: {leaked!r}"
    return None


EQUALITY_PROMPT = """\
Below are two instructions. Decide whether they are equal: they are equal when they impose the \
same constraints and requirements and ask for the same depth and breadth of inquiry, even if \
they are worded differently.

First instruction:
{first}

Second instruction:
{second}

Answer with exactly one of: Equal, Not Equal."""


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


EQUAL, NOT_EQUAL = "Equal", "Not Equal"
EQUALITY_FORMAT = json_schema_format("equality_verdict", {"verdict": enum_property([EQUAL, NOT_EQUAL])})


def read_equality_verdict(reply: str) -> bool | None:
    """True for "Equal", False for "Not Equal", None for a reply that gives neither: the
    structured reply's ``verdict``, else the words of a plain-text reply."""
    data = read_json_object(reply)
    if data is not None:
        verdict = data.get("verdict")
        if isinstance(verdict, str):
            reply = verdict
    words = reply.strip().lower()
    # "Not Equal" contains "equal": look for the negation first.
    if re.search(r"\bnot\s+equal\b", words):
        return False
    if re.search(r"\bequal\b", words):
        return True
    return None


async def equality(ctx: SampleContext, sample: Sample) -> str | None:
    parent = ctx.parent
    if parent is None:
        return None
    if _normalised(parent.instruction) == _normalised(sample.instruction):
        return "the rewrite is identical to its parent"
    prompt = EQUALITY_PROMPT.format(first=parent.instruction, second=sample.instruction)
    reply = await ctx.chat(
        [{"role": "user", "content": prompt}], stage="equality", temperature=0.0, response_format=EQUALITY_FORMAT
    )
    if read_equality_verdict(reply):
        return "the equality judge found no information gain over the parent"
    return None  # "Not Equal", or an answer we cannot read: no evidence of equality


def sorry_short(ctx: SampleContext, sample: Sample) -> str | None:
    response = sample.response or ""
    words = len(response.split())
    if "sorry" in response.lower() and words < SORRY_WORD_LIMIT:
        return f"the answer says sorry in {words} words (under {SORRY_WORD_LIMIT})"
    return None


# The evolver refusing to rewrite ("Sorry, I can't help with that.") answers our prompt instead of
# rewriting; kept, the refusal becomes an instruction and is answered. The paper's rule on the
# answer ("sorry" in under 80 words) would eliminate legitimate short instructions that merely
# mention an apology ("Write a note saying sorry ..."), so on the rewrite a refusal is narrower:
# it opens with an apology and says it cannot, or opens with "I can't help/assist/..." itself.
_APOLOGY_OPENING = re.compile(
    r"^\W*(?:(?:i\s*(?:'|’)?\s*m|i\s+am)\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry|sorry|i\s+apologi[sz]e|"
    r"(?:my\s+)?apologies|as\s+an\s+ai\b)",
    re.IGNORECASE,
)
_CANNOT = re.compile(
    r"\b(?:can(?:'|’)?t|cannot|can\s+not|won(?:'|’)t|unable|not\s+able|must\s+decline|not\s+(?:be\s+)?possible)\b",
    re.IGNORECASE,
)
_CANNOT_OPENING = re.compile(
    r"^\W*i\s*(?:can(?:'|’)?t|cannot|can\s+not|won(?:'|’)t|(?:'|’)m\s+unable\s+to|am\s+unable\s+to|must\s+decline)"
    r"(?:\s+\w+){0,2}?\s+(?:help|assist|comply|fulfil+|provide|do|complete|rewrite|create|generate|continue|with)\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """True when a short text is a refusal to do what was asked, not an instruction."""
    if len(text.split()) >= SORRY_WORD_LIMIT:
        return False
    return bool(_APOLOGY_OPENING.search(text) and _CANNOT.search(text)) or bool(_CANNOT_OPENING.search(text))


def sorry_rewrite(ctx: SampleContext, sample: Sample) -> str | None:
    if is_refusal(sample.instruction):
        return f"the rewrite is a refusal, not an instruction ({len(sample.instruction.split())} words)"
    return None


def stopwords_only(ctx: SampleContext, sample: Sample) -> str | None:
    words = [word.lower() for word in _WORD.findall(sample.response or "")]
    if all(word in STOP_WORDS for word in words):
        return "the answer is only punctuation and stop words" if words else "the answer is empty"
    return None


def _no_requests(options: object) -> dict[str, int]:
    return {}


PAPER_RULES = (
    Filter("template-leak", "instruction", template_leak, requests=_no_requests,
           description="rule 4: the rewrite copies the evolving prompt's labels"),
    # Before the equality judge: a refusal is eliminated without paying for a judgement.
    Filter("sorry-rewrite", "instruction", sorry_rewrite, requests=_no_requests,
           description="rule 2 on the rewrite: the evolver refused (an apology and a cannot) instead of rewriting"),
    Filter("equality", "instruction", equality, requests=lambda options: {"equality": 1},
           description="rule 1: an LLM judge finds no information gain over the parent"),
    Filter("sorry-short", "response", sorry_short, requests=_no_requests,
           description='rule 2: the answer says "sorry" in under 80 words'),
    Filter("stopwords-only", "response", stopwords_only, requests=_no_requests,
           description="rule 3: the answer is only punctuation and stop words"),
)
