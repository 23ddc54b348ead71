"""Auto Evol-Instruct as an evolinstruct plugin: an optimizer LLM improves the evolving method
from the failures it observes (Zeng et al. 2024, "Automatic Instruction Evolving for Large
Language Models").

What it registers, through the public API only:
- the build option ``--method METHOD_DIR/method.json`` (``ExtraOptions``), read and checked with
  the other options and recorded in the build folder with the text's digest;
- the operation ``auto`` in every domain (the built-in ones and other plugins'), at weight 0: it
  rewrites with the method ``--method`` names, or the universal initial method without it;
- the provenance entry ``method``: every row the operation ``auto`` evolved names the method in
  ``provenance.method`` (its name and the digest of its text);
- the domain ``autoevol``, which only carries the optimizer's own requests (stages ``analyze`` and
  ``optimize``) through a build, so that they share the session, the cache, resuming and roles;
- the command ``evol method optimize``;
- a report section, with its part of the dataset card: the method's history and text.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Mapping, Sequence

import click

from evolinstruct import (
    Domain, ExtraOperation, ExtraOptions, Message, Operation, ProvenanceEntry, ReportSection, Sample, SampleContext,
    hookimpl,
)

from .method import INITIAL, OPTIMIZER_DOMAIN, STAGE_FIELD, TEMPERATURE_FIELD, AutoEvolOptions, Method


def evolving_method(options: Mapping[str, Any]) -> Method:
    """The method of a build with these options: the one ``--method`` names, else the initial one."""
    return options.get("method") or INITIAL


def prompt_with(method: Method) -> Callable[[Sample, random.Random], Sequence[Message]]:
    def auto_prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
        return ({"role": "user", "content": method.prompt(sample.instruction)},)

    return auto_prompt


def method_of(sample: Sample, options: Mapping[str, Any]) -> dict[str, str] | None:
    """``provenance.method`` of a row: the method that wrote its instruction, for rows the
    operation ``auto`` evolved (a seed, or a row another operation evolved, has none)."""
    if sample.operation != "auto":
        return None
    method = evolving_method(options)
    return {"name": method.name, "digest": method.digest}


def pass_on(sample: Sample, rng: random.Random) -> Sequence[Message]:
    return ({"role": "user", "content": sample.instruction},)


async def answer_for_the_optimizer(ctx: SampleContext, sample: Sample) -> Sample:
    stage = str(sample.fields[STAGE_FIELD])
    temperature = float(sample.fields.get(TEMPERATURE_FIELD) or 0.0)
    reply = await ctx.chat(({"role": "user", "content": sample.instruction},), stage=stage, temperature=temperature)
    return sample.replace(response=reply)


@hookimpl
def evol_operations() -> Iterable[ExtraOperation]:
    yield ExtraOperation(None, Operation(
        "auto", prompt_with(INITIAL), tags=("auto",),
        description="rewrite with an evolving method (--method METHOD_DIR/method.json, else the initial method)",
        weight=0.0,  # drawn only when a schedule names it: a build without it is what it was
        bind=lambda options: prompt_with(evolving_method(options)),
    ))


@hookimpl
def evol_build_options() -> Iterable[ExtraOptions]:
    yield ExtraOptions("autoevol", AutoEvolOptions, description="--method: the evolving method of operation auto")


@hookimpl
def evol_provenance() -> Iterable[ProvenanceEntry]:
    yield ProvenanceEntry("method", method_of,
                          description="the evolving method (name, digest) of a row the operation auto evolved")


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
def evol_report_sections() -> Iterable[ReportSection]:
    from .report import SECTION  # imported only when a report is written

    yield SECTION


@hookimpl
def evol_commands() -> Iterable[click.Command]:
    from .cli import method

    yield method
