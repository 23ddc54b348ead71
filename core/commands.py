"""The core's own commands: plugins, domains (build and export live in their own modules)."""

from __future__ import annotations

import functools

import click
from rich.console import Console
from rich.table import Table

from .cli import emit_json, host_for


@click.group("plugins")
def plugins_group() -> None:
    """Inspect installed plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def plugins_list(ctx: click.Context, as_json: bool) -> None:
    """Each plugin: name, distribution, version, status and the hooks it implements."""
    infos = host_for(ctx).infos
    if as_json:
        emit_json([info.as_dict() for info in infos])
        return
    table = Table("plugin", "distribution", "version", "status", "hooks")
    for info in infos:
        status = info.status if info.error is None else f"error: {info.error}"
        table.add_row(info.name, info.distribution, info.version, status, ", ".join(info.hooks))
    Console().print(table)


@click.group("domains")
def domains_group() -> None:
    """Inspect the domains the active plugins provide."""


@domains_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def domains_list(ctx: click.Context, as_json: bool) -> None:
    """Each domain, the plugin that provides it, and its evolution operations."""
    registry = host_for(ctx).registry
    rows = [
        {
            "name": name,
            "plugin": registry.domain_owner[name],
            "description": domain.description,
            "operations": [
                {"name": op.name, "tags": list(op.tags), "description": op.description}
                for op in domain.operations
            ],
            "options": [f"--{option.name.replace('_', '-')}" for option in domain.options],
        }
        for name, domain in sorted(registry.domains.items())
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("domain", "plugin", "operations", "description")
    for row in rows:
        table.add_row(
            row["name"],
            row["plugin"],
            ", ".join(op["name"] for op in row["operations"]),
            row["description"],
        )
    Console().print(table)


@functools.cache
def core_commands() -> dict[str, click.Command]:
    from .build_command import build_command, export_command
    from .app.report.command import report_command
    from .testing.command import serve_command

    commands = [plugins_group, domains_group, build_command, export_command, serve_command, report_command]
    return {command.name: command for command in commands}
