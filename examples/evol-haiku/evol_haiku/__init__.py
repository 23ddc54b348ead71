"""An example evolinstruct plugin: haiku instructions that grow more specific each round."""

from __future__ import annotations

import random
from typing import Iterable, Sequence

from evolinstruct import Domain, Filter, Message, Operation, Sample, SampleContext, hookimpl

REWRITE = """\
Rewrite the haiku request below so that it is harder to write well: {how} Reply with the \
rewritten request alone, without any heading.

#Original Instruction#
{instruction}

#Rewritten Instruction#
"""

HOW = {
    "add-image": "ask for one more concrete image the poem must contain.",
    "add-season": "name a season word (kigo) the poem must use.",
}


def operation(name: str) -> Operation:
    def prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
        return ({"role": "user", "content": REWRITE.format(how=HOW[name], instruction=sample.instruction)},)

    return Operation(name, prompt, tags=("haiku",), description=HOW[name])


async def respond(ctx: SampleContext, sample: Sample) -> Sample:
    messages = (
        {"role": "system", "content": "You write haiku: exactly three lines, nothing else."},
        {"role": "user", "content": sample.instruction},
    )
    return sample.replace(response=await ctx.chat(messages, stage="respond"))


def three_lines(ctx: SampleContext, sample: Sample) -> str | None:
    lines = [line for line in (sample.response or "").splitlines() if line.strip()]
    return None if len(lines) == 3 else f"a haiku has three lines, this answer has {len(lines)}"


@hookimpl
def evol_domains() -> Iterable[Domain]:
    yield Domain(
        name="haiku",
        description="Haiku-writing instructions (an example third-party plugin)",
        operations=(operation("add-image"), operation("add-season")),
        respond=respond,
        requests=lambda options: {"respond": 1},  # respond() asks one chat request per sample
    )


@hookimpl
def evol_filters() -> Iterable[Filter]:
    yield Filter("three-lines", "response", three_lines, domains=("haiku",), description="the answer must be three lines",
                 requests=lambda options: {})  # it asks the LLM nothing
