"""The difficulty judge: an LLM rates how hard an instruction is, from 1 to 10.

The WizardLM paper checked that evolution works by asking a strong model to rate each
instruction's difficulty and complexity from 1 to 10 and averaging per round (3.00 for the seeds
up to 7.08 after four rounds). This module is that judge: the messages to send, the structured
output asked for, the reading of the reply, and the build scorer (``evol build --difficulty``).
``evol curate --difficulty`` sends the very same request through the folder's cache (the seed a
build's ``SampleContext`` derives for (run seed, sample id, ``STAGE``, 0), the same decoding and
``response_format``), so a folder built with ``--difficulty`` is curated without a new request.

The judge is asked for ``{"difficulty": N}`` (``FORMAT``); an endpoint without structured output
answers in text, read from the line ``Difficulty: N``. A reply that does not state one rating
from 1 to 10 is no rating: ``None``, never a guess.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...types.context import SampleContext
from ...types.records import Sample, Score
from ...types.registrations import Scorer
from ...types.structured import RatingScale

STAGE = "difficulty"
SCORE = "difficulty"
OPTION = "difficulty"
"""The core build option (``evol build --difficulty``) that switches the scorer on."""
SCALE = RatingScale(SCORE, 10)
FORMAT = SCALE.format
DECODING: dict[str, Any] = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64}
"""A rating, not a composition: deterministic decoding and a short reply. Every parameter is
set, so the request does not depend on the run's own decoding settings."""

JUDGE_PROMPT = """\
Rate how difficult and complex the instruction below is for an AI assistant to carry out well, \
on a scale from 1 to 10:

1-2: a simple fact, a greeting, a one-step task.
3-4: a common task that takes a few steps or a short text.
5-6: a task that needs several steps of reasoning, some domain knowledge or several constraints.
7-8: a task that needs deep expertise, long multi-step reasoning, or many interacting constraints.
9-10: a task that only an expert could do well after careful work.

Judge the instruction itself, not how long it is. Do not carry it out.

Instruction:
<<<
{instruction}
>>>

Reply with one line and nothing else, in exactly this form:
Difficulty: N"""


def judge_messages(instruction: str) -> list[dict[str, str]]:
    """The chat messages that ask for one instruction's difficulty."""
    return [{"role": "user", "content": JUDGE_PROMPT.format(instruction=instruction)}]


def read_rating(reply: str | None) -> int | None:
    """The rating a judge's reply states (``Difficulty: 7``, ``{"difficulty": 7}``, ``7/10``), or
    None when it states none, several, or one outside 1-10 (``RatingScale.read``)."""
    return SCALE.read(reply)


async def score_difficulty(ctx: SampleContext, sample: Sample) -> Score:
    """``scores.difficulty``: the judge's rating of the sample's instruction, or None."""
    completion = await ctx.complete(judge_messages(sample.instruction), stage=STAGE, response_format=FORMAT, **DECODING)
    return SCALE.score(completion)


def _asked_for(options: Mapping[str, Any]) -> bool:
    return bool(options.get(OPTION))


SCORER = Scorer(
    SCORE,
    score_difficulty,
    description="evol build --difficulty: an LLM judge rates each instruction's difficulty from 1 to 10 "
    "(scores.difficulty; null when its reply states no rating), as the WizardLM paper's analysis did",
    enabled=_asked_for,
    requests=lambda options: {STAGE: 1},  # one judge request per answered sample
)
