"""The ``evol`` command line.

Plugins are loaded when a subcommand is looked up, after ``-p no:NAME`` options were parsed, so
that a disabled plugin neither adds commands nor runs any of its code.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .errors import EvolError
from .plugins import PluginError, PluginHost

def _disabled_from(values: tuple[str, ...]) -> set[str]:
    names = set()
    for value in values:
        if not value.startswith("no:"):
            raise click.BadParameter(f"expected no:NAME, got {value!r}", param_hint="-p")
        names.add(value[3:])
    return names


def host_for(ctx: click.Context) -> PluginHost:
    """The plugin host of this invocation, loaded once."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if "host" not in root.obj:
        disabled = _disabled_from(root.params.get("plugin_options") or ())
        root.obj["host"] = PluginHost(disabled).load()
    return root.obj["host"]


class EvolGroup(click.Group):
    """The root group: core commands plus whatever the active plugins register."""

    def _core(self) -> dict[str, click.Command]:
        from . import commands

        return commands.core_commands()

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(self._core())
        try:
            names |= set(host_for(ctx).registry.commands)
        except PluginError as error:
            raise click.ClickException(str(error)) from error
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        core = self._core()
        if name in core:
            return core[name]
        try:
            return host_for(ctx).registry.commands.get(name)
        except PluginError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=EvolGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-p",
    "plugin_options",
    multiple=True,
    metavar="no:NAME",
    help="Disable the plugin NAME for this invocation (repeatable). "
    "EVOL_DISABLE_PLUGINS=a,b does the same; EVOL_PLUGINS=a,b loads only those.",
)
@click.version_option(package_name="evolinstruct", prog_name="evol")
@click.pass_context
def cli(ctx: click.Context, plugin_options: tuple[str, ...]) -> None:
    """Build Evol-Instruct datasets (WizardLM, WizardCoder, WizardMath) from your seeds.

    Start with `evol build --help`. `evol plugins list` and `evol domains list` show what the
    installed plugins provide.
    """
    _disabled_from(plugin_options)  # fail early on a malformed -p


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def main() -> None:
    try:
        cli.main(prog_name="evol", standalone_mode=True)
    except (EvolError, PluginError) as error:
        click.echo(f"evol: error: {error}", err=True)
        sys.exit(2)
