"""The hooks of the wizardmath plugin."""

from __future__ import annotations

from typing import Iterable

import click

from evolinstruct import Domain, Exporter, Filter, ReportSection, Scorer, hookimpl


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
