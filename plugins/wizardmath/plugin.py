"""The hooks of the wizardmath plugin."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import click

from evolinstruct import BuildResource, Domain, Exporter, Filter, ReportSection, RunContext, Scorer, build_resources, hookimpl


@hookimpl
def evol_commands() -> Iterable[click.Command]:
    from .cli import math_group

    yield math_group


@hookimpl
def evol_domains() -> Iterable[Domain]:
    from .domain import MATH

    yield MATH


@hookimpl
def evol_scorers() -> Iterable[Scorer]:
    from .rewards import SCORER

    yield SCORER


@hookimpl
def evol_filters() -> Iterable[Filter]:
    from .rewards import MIN_REWARD

    yield MIN_REWARD


@hookimpl
def evol_exporters() -> Iterable[Exporter]:
    from .exports import PRM, STEPWISE
    from .irm import IRM

    yield PRM
    yield STEPWISE
    yield IRM


@hookimpl
def evol_report_sections() -> Iterable[ReportSection]:
    from .report import SECTION  # here: drawing loads plotly, which a build never needs

    yield SECTION


@contextmanager
def checker_pool(run: RunContext) -> Iterator[Any]:
    """The killable worker processes the math checks of one build run in (sympy can hang).
    Opened for every build: a worker starts only when a check first runs, so a build of
    another domain starts none."""
    from .bounded import pool_scope

    with pool_scope() as pool:
        yield pool


evol_run_start, evol_run_end = build_resources(BuildResource("math-checkers", checker_pool))
