"""The hooks of the wizardmath plugin."""

from __future__ import annotations

from typing import Iterable

import click

from evolinstruct import hookimpl


@hookimpl
def evol_commands() -> Iterable[click.Command]:
    from .cli import math_group

    yield math_group
