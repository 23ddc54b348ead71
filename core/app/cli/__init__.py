"""The ``evol`` command line: a thin layer over the application's objects.

Plugins are loaded when a subcommand is looked up, after ``-p no:NAME`` options were parsed, so
that a disabled plugin neither adds commands nor runs any of its code. Every error a user can
act on (``EvolError``) is one plain line and its exit code; see ``ExitCode``.
"""

from __future__ import annotations

import sys

import click

from ...types.errors import EvolError, ExitCode
from .build import build_command
from .common import disabled_from, host_for, setup_logging
from .curate import curate_command
from .export import export_command
from .listing import domains_group, plugins_group
from .loopback import loopback_command
from .report import report_command

CORE_COMMANDS: dict[str, click.Command] = {
    command.name: command  # type: ignore[misc]
    for command in (build_command, export_command, curate_command, report_command, plugins_group, domains_group,
                    loopback_command)
}


class EvolGroup(click.Group):
    """The root group: core commands plus whatever the active plugins register."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(CORE_COMMANDS) | set(host_for(ctx).registry.commands))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in CORE_COMMANDS:
            return CORE_COMMANDS[name]
        return host_for(ctx).registry.commands.get(name)


@click.group(cls=EvolGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-p",
    "plugin_options",
    multiple=True,
    metavar="no:NAME",
    help="Disable the plugin NAME for this invocation (repeatable). EVOL_DISABLE_PLUGINS=a,b does the "
    "same; EVOL_PLUGINS=a,b loads only those. The essential plugin 'core' cannot be disabled.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show debug diagnostics.")
@click.version_option(package_name="evolinstruct", prog_name="evol")
@click.pass_context
def cli(ctx: click.Context, plugin_options: tuple[str, ...], verbose: bool) -> None:
    """Build Evol-Instruct datasets (WizardLM, WizardCoder, WizardMath) from your seeds.

    Start with `evol build --help`. `evol plugins list` and `evol domains list` show what the
    installed plugins provide.

    Exit codes: 0 done; 2 usage or configuration error (nothing lost); 3 some samples failed or
    an endpoint outage stopped the run (run again to resume); 4 aborted on a systematic failure;
    130 interrupted.
    """
    setup_logging(verbose)
    disabled_from(plugin_options)  # fail early on a malformed -p


def main() -> None:
    setup_logging()
    try:
        # Outside standalone mode click hands back a command's exit code instead of exiting.
        code = cli.main(prog_name="evol", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.USAGE if error.exit_code == 2 else error.exit_code)
    except click.exceptions.Abort:
        click.echo("evol: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except EvolError as error:
        click.echo(f"evol: error: {error}", err=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        click.echo("evol: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
