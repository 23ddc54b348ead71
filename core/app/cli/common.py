"""What every ``evol`` command shares: the plugin host of the invocation, JSON output, logging."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

from ...runtime.plugins import PluginHost
from ..build.host import load_host


def disabled_from(values: tuple[str, ...]) -> set[str]:
    names = set()
    for value in values:
        if not value.startswith("no:") or not value[3:]:
            raise click.BadParameter(f"expected no:NAME, got {value!r}", param_hint="-p")
        names.add(value[3:])
    return names


def host_for(ctx: click.Context) -> PluginHost:
    """The plugin host of this invocation, loaded once (after ``-p no:NAME`` was parsed)."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if "host" not in root.obj:
        root.obj["host"] = load_host(disabled_from(root.params.get("plugin_options") or ()))
    return root.obj["host"]


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def setup_logging(verbose: bool = False) -> None:
    """Diagnostics go through ``logging``: rich's handler on a terminal, plain lines elsewhere."""
    root = logging.getLogger("evolinstruct")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(
            console=Console(stderr=True), show_time=False, show_path=False, markup=False, rich_tracebacks=True
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter())
    root.addHandler(handler)


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"evol: {record.levelname.lower()}: {message}"
        return f"evol: {message}"
