"""The quality judge: an LLM rates how good an answer is for its instruction, from 1 to 6.

Evol-Instruct raises the complexity of instructions; Deita (Liu et al. 2024) showed that a
dataset is chosen better by complexity *and* the quality of its answers. This judge gives the
second number: ``scores.quality`` on every answered sample of a build with ``--quality``.

The scale is Deita's six points, described in this project's words:

====  ============================================================================
 1    unusable: wrong, off-topic, refuses without reason, or does not answer
 2    poor: attempts the task but with major errors or large missing parts
 3    fair: mostly correct but shallow, vague or missing something asked for
 4    good: correct and complete, clear, with minor weaknesses
 5    very good: correct, complete, well organised, with useful depth or detail
 6    excellent: could not reasonably be improved for this instruction
====  ============================================================================

The judge is asked for ``{"quality": N}`` (``FORMAT``); an endpoint without structured output
answers in text, read from the line ``Quality: N``. A reply that does not state one rating from
1 to 6 is no rating: ``None``, never a guess or a default.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..runtime.engine import EVOLVE_ANSWER_STAGE, AnswerEvolution
from ..types.context import SampleContext
from ..types.records import Sample, Score
from ..types.registrations import Scorer
from ..types.structured import RatingScale
from .curation.difficulty import SCORE as DIFFICULTY_SCORE

STAGE = "quality"
SCORE = "quality"
OPTION = "quality"
"""The core build option (``evol build --quality``) that switches the scorer on."""
SCALE = RatingScale(SCORE, 6)
FORMAT = SCALE.format
DECODING: dict[str, Any] = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64}
"""A rating, not a composition: deterministic decoding and a short reply, every parameter set so
the request does not depend on the run's own decoding settings."""

SHOWN = """\
Instruction:
<<<
{instruction}
>>>

Answer:
<<<
{answer}
>>>"""
"""How the judge's and the rewriter's prompts show the instruction and its answer."""

JUDGE_PROMPT = """\
Rate the quality of the answer below as a reply to its instruction, on a scale from 1 to 6:

1: unusable: wrong, off-topic, a refusal without reason, or no answer to the instruction.
2: poor: it attempts the task but has major errors or leaves out large parts of it.
3: fair: mostly correct but shallow, vague, or missing something the instruction asks for.
4: good: correct and complete, clear, with minor weaknesses.
5: very good: correct, complete and well organised, with useful depth or detail.
6: excellent: it could not reasonably be improved as a reply to this instruction.

Judge helpfulness, relevance, accuracy, depth and level of detail; do not reward length alone.

""" + SHOWN + """

Reply with one line and nothing else, in exactly this form:
Quality: N"""


def judge_messages(instruction: str, answer: str) -> list[dict[str, str]]:
    """The chat messages that ask for one answer's quality."""
    return [{"role": "user", "content": JUDGE_PROMPT.format(instruction=instruction, answer=answer)}]


def read_quality(reply: str | None) -> int | None:
    """The rating a judge's reply states (``Quality: 5``, ``{"quality": 5}``, ``5/6``), or None
    when it states none, several, or one outside 1-6 (``RatingScale.read``)."""
    return SCALE.read(reply)


async def score_quality(ctx: SampleContext, sample: Sample) -> Score:
    """``scores.quality``: the judge's rating of the sample's answer, or None."""
    if sample.response is None:
        check = {"rating": None, "scale": "1-6", "missing": "the sample has no answer to rate"}
        return Score(checks={SCORE: check}, scores={SCORE: None})
    completion = await ctx.complete(judge_messages(sample.instruction, sample.response), stage=STAGE,
                                    response_format=FORMAT, **DECODING)
    return SCALE.score(completion)


def _asked_for(options: Mapping[str, Any]) -> bool:
    return bool(options.get(OPTION))


SCORER = Scorer(
    SCORE,
    score_quality,
    description="evol build --quality: an LLM judge rates each answer for its instruction from 1 to 6, Deita's "
    "scale (scores.quality; null when its reply states no rating)",
    enabled=_asked_for,
    requests=lambda options: {STAGE: 1},  # one judge request per answered sample
)


# --- EvolQuality: rewriting an answer to be better --------------------------------------------

EVOLVE_STAGE = EVOLVE_ANSWER_STAGE
EVOLVE_OPTION = "evolve_answers"
"""The core build option (``evol build --evolve-answers K``): K rewrites of each answer."""
DIRECTIONS: dict[str, str] = {
    "helpfulness": "Make the answer more helpful: address what the person asking actually needs, anticipate the "
    "obvious follow-up question, and give practical guidance where it fits.",
    "relevance": "Make the answer more relevant: keep everything that bears on the instruction, remove what does "
    "not, and follow every constraint the instruction states.",
    "depth": "Make the answer deeper: explain the reasoning behind each point, the principles it rests on and the "
    "cases where it would not hold.",
    "creativity": "Make the answer more creative: find a fresher angle, a telling example or an original way of "
    "presenting it, while staying correct and on task.",
    "level of detail": "Make the answer more detailed: add the specific steps, figures, examples or definitions that "
    "a careful reader would otherwise have to look up.",
}
"""Deita's five directions for improving an answer, each with the request sent to the model."""

EVOLVE_PROMPT = """\
Below is an instruction and an answer to it. Rewrite the answer so that it is better in one respect.

{direction}

Rules:
- Keep everything in the answer that is correct. Never change a result, a final answer, code \
behaviour that is right, or a fact, to make the answer sound better.
- If the answer contains code, the rewritten answer must contain complete, working code that does \
the same job.
- Do not mention the rewriting, the original answer or these rules.
- Reply with the rewritten answer only.

""" + SHOWN


def evolve_messages(instruction: str, answer: str, direction: str) -> list[dict[str, str]]:
    """The chat messages that ask for one answer rewritten along ``direction`` (a key of DIRECTIONS)."""
    prompt = EVOLVE_PROMPT.format(direction=DIRECTIONS[direction], instruction=instruction, answer=answer)
    return [{"role": "user", "content": prompt}]


def answer_evolution(count: int) -> AnswerEvolution | None:
    """What the engine needs for ``--evolve-answers count`` (None: no answer is rewritten).
    Versions are ranked by this judge's ``scores.quality``; the difficulty judge reads only the
    instruction, so a rewritten answer does not ask it again."""
    if count <= 0:
        return None
    return AnswerEvolution(count=count, directions=tuple(DIRECTIONS), messages=evolve_messages, rank_by=SCORE,
                           instruction_only=frozenset({DIFFICULTY_SCORE}), stage=EVOLVE_STAGE)
