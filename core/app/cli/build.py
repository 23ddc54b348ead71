"""``evol build``: options in, a ``Build`` run, its summary out."""

from __future__ import annotations

import sys
from typing import Any

import click
from click.core import ParameterSource

from ...runtime.urls import public_url
from ...types.errors import UsageError
from ..build.config import BuildConfig, InvocationOptions, checked, make_config, read_recipe, relative_to_recipe
from .common import host_for
from .options import cli_options


class BuildCommand(click.Command):
    """``evol build``: its options are generated from the option models (``cli/options.py``),
    every domain's own options added when the command is looked up."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = list(super().get_params(ctx))
        known = {param.name for param in params}
        for option in domain_params(ctx):
            if option.name not in known:
                known.add(option.name)
                params.insert(-1, option)  # before --help
        return params


def domain_params(ctx: click.Context) -> list[click.Option]:
    try:
        domains = host_for(ctx).registry.domains
    except Exception:  # reported when the build runs; help must still print
        return []
    return [option for domain in domains.values() for option in cli_options(domain.options)]


BUILD_PARAMS: list[click.Parameter] = [*cli_options(InvocationOptions), *cli_options(BuildConfig)]


@click.pass_context
def _build(ctx: click.Context, **params: Any) -> None:
    host = host_for(ctx)
    given = {name: value for name, value in params.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    invocation = checked(InvocationOptions, {name: given.pop(name) for name in list(given)
                                             if name in InvocationOptions.model_fields},
                         sources={name: "the command line" for name in InvocationOptions.model_fields})
    values: dict[str, Any] = read_recipe(invocation.config) if invocation.config is not None else {}
    sources = {key: str(invocation.config) for key in values}
    domain_given = {name: value for name, value in given.items() if name not in BuildConfig.model_fields}
    for name, value in given.items():
        if name in BuildConfig.model_fields:
            values[name] = value
            sources[name] = "the command line"
    for required in ("seeds", "out"):
        if values.get(required) is None:
            raise click.UsageError(f"Missing option '--{required}' (or '{required}' in the --config recipe).")

    domain_name = values.get("domain", "general")
    domain = host.registry.domains.get(domain_name)
    if domain is not None and invocation.config is not None and isinstance(values.get("options"), dict):
        values["options"] = {**values["options"], **relative_to_recipe(invocation.config, values["options"], domain.options)}
    if domain is not None:
        foreign = sorted(name for name in domain_given if name not in domain.options.model_fields)
        if foreign:
            owners = {name: d.name for d in host.registry.domains.values() for name in d.options.model_fields}
            raise UsageError(
                "; ".join(f"--{name.replace('_', '-')} is an option of domain {owners[name]!r}, not of "
                          f"{domain_name!r}" for name in foreign)
            )
    values["options"] = {**values.get("options", {}), **domain_given}
    if domain is not None:
        # Checked here too, where each option's source is known: a bad value names its recipe.
        from ..build.build import domain_options

        domain_options(domain, values["options"], sources={
            name: "the command line" if name in domain_given else f"{invocation.config} [options]"
            for name in values["options"]})
    values["command"] = tuple(_mask_secrets(["evol", *sys.argv[1:]]))
    config = make_config(values, sources=sources)

    # Here: the HTTP client and the engine load only when a build runs.
    from ..api import run_build
    from ..build.build import Build

    if invocation.dry_run:
        from ..build.estimate import describe

        with Build(config, host=host) as build:
            dry = build.dry_run()
            for line in describe(dry, price_in=invocation.price_in, price_out=invocation.price_out,
                                 stage_prices=build.stage_prices()):
                click.echo(line)
        return
    summary = run_build(config, host=host, report=True)
    ctx.exit(int(summary.exit_code))


build_command = BuildCommand(
    "build",
    callback=_build,
    params=BUILD_PARAMS,
    help="""Evolve seed instructions for --rounds rounds, eliminate failed evolutions, answer the
    survivors and check the answers.

    Writes OUT/dataset.jsonl (kept samples of every round), eliminated.jsonl, failed.jsonl and
    manifest.json. Every response is cached in OUT/cache.sqlite as it arrives: running the same
    command again resumes without paying twice and gives a byte-identical dataset. A folder
    refuses a rerun with other settings (--restart starts it over).

    With no --base-url, OPENAI_BASE_URL or OPENAI_API_KEY, the build runs against the bundled
    offline model: placeholder text that exercises the whole pipeline, not a real model.
    """,
)


def _mask_secrets(argv: list[str]) -> list[str]:
    masked, hide_next = [], False
    for arg in argv:
        if hide_next:
            masked.append("***")
            hide_next = False
        elif arg == "--api-key":
            masked.append(arg)
            hide_next = True
        elif arg.startswith("--api-key="):
            masked.append("--api-key=***")
        elif "://" in arg and "@" in arg:  # a URL with a user name and password in it
            prefix, equals, url = arg.rpartition("=") if arg.startswith("--") else ("", "", arg)
            masked.append(prefix + equals + public_url(url))
        else:
            masked.append(arg)
    return masked
