"""Auto Evol-Instruct as an evolinstruct plugin: an optimizer LLM improves the evolving method
from the failures it observes (Zeng et al. 2024, "Automatic Instruction Evolving for Large
Language Models").

What it registers, through the public API only:
- the operation ``auto`` in the ``general`` domain: it rewrites with the method named by
  ``EVOL_METHOD`` (a ``method.json``), or the universal initial method when that is unset; every
  row it evolves says which method in ``checks.auto_method`` (its name and digest);
- the domain ``autoevol``, which only carries the optimizer's own requests (stages ``analyze`` and
  ``optimize``) through a build, so that they share the session, the cache, resuming and roles;
- the command ``evol method optimize``.
"""

from __future__ import annotations

import random
from typing import Iterable, Sequence

import click

from evolinstruct import (
    Domain, ExtraOperation, Message, Operation, ReportSection, RunContext, Sample, SampleContext, Score, Scorer, hookimpl,
)

from .method import OPTIMIZER_DOMAIN, STAGE_FIELD, TEMPERATURE_FIELD, current_method


def auto_prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
    return ({"role": "user", "content": current_method().prompt(sample.instruction)},)


async def name_the_method(ctx: SampleContext, sample: Sample) -> Score:
    if sample.operation != "auto":
        return Score()
    method = current_method()
    return Score(checks={"auto_method": {"name": method.name, "digest": method.digest}})


def pass_on(sample: Sample, rng: random.Random) -> Sequence[Message]:
    return ({"role": "user", "content": sample.instruction},)


async def answer_for_the_optimizer(ctx: SampleContext, sample: Sample) -> Sample:
    stage = str(sample.fields[STAGE_FIELD])
    temperature = float(sample.fields.get(TEMPERATURE_FIELD) or 0.0)
    reply = await ctx.chat(({"role": "user", "content": sample.instruction},), stage=stage, temperature=temperature)
    return sample.replace(response=reply)


@hookimpl
def evol_operations() -> Iterable[ExtraOperation]:
    yield ExtraOperation("general", Operation(
        "auto", auto_prompt, tags=("auto",),
        description="rewrite with an evolving method (EVOL_METHOD=method.json from evol method optimize)",
        weight=0.0,  # drawn only when a schedule names it: a build without it is what it was
    ))


@hookimpl
def evol_scorers() -> Iterable[Scorer]:
    yield Scorer("auto-method", name_the_method, domains=("general",),
                 description="names the evolving method (and its digest) of a row the auto operation evolved",
                 requests=lambda options: {})


@hookimpl
def evol_domains() -> Iterable[Domain]:
    yield Domain(
        name=OPTIMIZER_DOMAIN,
        description="the optimizer's requests of evol method optimize (analyze, optimize); not a dataset",
        # Its builds run 0 rounds: the optimizer's prompts are the seeds, answered once. A domain
        # needs an operation; this one would only pass a prompt on unchanged.
        operations=(Operation("pass-on", pass_on, description="the request as it is (never drawn: 0 rounds)"),),
        respond=answer_for_the_optimizer,
        requests=lambda options: {"analyze": 1, "optimize": 1},
    )


@hookimpl
def evol_run_start(run: RunContext) -> None:
    # A method file that cannot be used stops the build (exit 2) before the first request.
    if run.domain.name == "general":
        current_method()


@hookimpl
def evol_report_sections() -> Iterable[ReportSection]:
    from .report import SECTION  # imported only when a report is written

    yield SECTION


@hookimpl
def evol_commands() -> Iterable[click.Command]:
    from .cli import method

    yield method
