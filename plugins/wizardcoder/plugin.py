"""The hooks of the wizardcoder plugin: the ``code`` domain, its filters and scorer, the sandbox
pool that lives exactly as long as a code build, and the ``evol sandbox`` commands."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import click

from evolinstruct import (
    BuildResource,
    Domain,
    EvolError,
    Filter,
    ReportSection,
    RunContext,
    Scorer,
    build_resources,
    hookimpl,
)

from .domain import CODE, FILTERS, NAME, SCORERS

SANDBOX = "sandbox"  # the key of the pool in run.resources


@hookimpl
def evol_commands() -> Iterable[click.Command]:
    from .sandbox.cli import sandbox_group

    yield sandbox_group


@hookimpl
def evol_domains() -> Iterable[Domain]:
    yield CODE


@hookimpl
def evol_filters() -> Iterable[Filter]:
    yield from FILTERS


@hookimpl
def evol_scorers() -> Iterable[Scorer]:
    yield from SCORERS


@contextmanager
def sandbox_pool(run: RunContext) -> Iterator[Any]:
    """The warm sandbox pool of a code build; a build that cannot run code stops here, before
    the first request is paid for."""
    fix = "run `evol sandbox doctor` to see what is missing, and `evol sandbox build` to build the image"
    try:
        from .sandbox import SandboxPool, SandboxUnavailable
    except ImportError as error:
        raise EvolError(f"the code domain needs the Docker sandbox, which cannot be loaded ({error})") from None
    size = run.options.get("sandbox_workers") or os.cpu_count() or 1
    try:
        # The pool's containers start at the build's memory limit, so no job has to resize one.
        pool = SandboxPool(size=size, memory_mb=run.options.get("exec_memory"))
        pool.start()
    except SandboxUnavailable as error:
        # The sandbox's own messages usually say what to run; add ours only when they do not.
        advice = "" if "evol sandbox" in str(error) else f"; {fix}"
        raise EvolError(f"the code domain runs every answer in the Docker sandbox, which is not available: {error}{advice}") from None
    try:
        yield pool
    finally:
        pool.close()


evol_run_start, evol_run_end = build_resources(BuildResource(SANDBOX, sandbox_pool, domains=(NAME,)))


@hookimpl
def evol_report_sections() -> Iterable[ReportSection]:
    from .report import SECTION  # here: drawing loads plotly, which a build never needs

    yield SECTION
