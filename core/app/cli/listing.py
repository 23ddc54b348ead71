"""``evol plugins list`` and ``evol domains list``: what the installed plugins provide."""

from __future__ import annotations

import logging

import click
from rich.console import Console
from rich.table import Table

from ...runtime.roles import JUDGE_GROUP, JUDGING_STAGES, domain_stages
from ...types.errors import PluginError
from ...types.registrations import applies_to
from .common import emit_json, host_for

log = logging.getLogger("evolinstruct.cli")


@click.group("plugins")
def plugins_group() -> None:
    """Inspect installed plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def plugins_list(ctx: click.Context, as_json: bool) -> None:
    """Each plugin: name, distribution, version, status and the hooks it implements."""
    host = host_for(ctx)
    try:
        host.registry  # collecting registrations may find a broken plugin: list what is true afterwards
    except PluginError as error:
        log.warning("%s", error)
    infos = host.infos
    if as_json:
        emit_json([info.as_dict() for info in infos])
        return
    table = Table("plugin", "distribution", "version", "status", "hooks")
    for info in infos:
        status = info.status if info.error is None else f"error: {info.error}"
        if info.essential:
            status += " (essential)"
        table.add_row(info.name, info.distribution, info.version, status, ", ".join(info.hooks))
    Console().print(table)


@click.group("domains")
def domains_group() -> None:
    """Inspect the domains the active plugins provide."""


@domains_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def domains_list(ctx: click.Context, as_json: bool) -> None:
    """Each domain, the plugin that provides it, its evolution operations, options and the stages
    its requests name (what --role STAGE=MODEL accepts; judge: every judging stage)."""
    registry = host_for(ctx).registry

    def stages(domain):  # with the domain's default options, every filter and scorer that may run
        found = domain_stages(
            domain, [f for f in registry.filters.values() if applies_to(f, domain.name)],
            [s for s in registry.scorers.values() if applies_to(s, domain.name)], domain.options(),
            evolve_answers=True,
        )
        return [{"name": stage, "judge": stage in JUDGING_STAGES} for stage in found]

    rows = [
        {
            "name": name,
            "plugin": registry.owner("domain", name),
            "description": domain.description,
            "operations": [
                {"name": op.name, "tags": list(op.tags), "weight": op.weight, "description": op.description}
                for op in domain.operations
            ],
            "options": [f"--{option.replace('_', '-')}" for option in domain.options.model_fields],
            "stages": stages(domain),
        }
        for name, domain in sorted(registry.domains.items())
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("domain", "plugin", "operations", f"stages ({JUDGE_GROUP}*)", "description")
    for row in rows:
        operations = ", ".join(
            op["name"] + (f" (weight {op['weight']:g})" if op["weight"] != 1 else "") for op in row["operations"]
        )
        stage_names = ", ".join(stage["name"] + ("*" if stage["judge"] else "") for stage in row["stages"])
        table.add_row(row["name"], row["plugin"], operations, stage_names, row["description"])
    Console().print(table)
