"""The hooks of the wizardcoder plugin."""

from __future__ import annotations

from typing import Iterable

import click

from evolinstruct import hookimpl


@hookimpl
def evol_commands() -> Iterable[click.Command]:
    from .sandbox.cli import sandbox_group

    yield sandbox_group
