"""``evol build`` and ``evol export``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from .cli import host_for

DEFAULT_CONCURRENCY = 32


class BuildCommand(click.Command):
    """``evol build`` with every domain's own options added when the command is looked up."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = list(super().get_params(ctx))
        known = {param.name for param in params}
        try:
            domains = host_for(ctx).registry.domains
        except Exception:  # reported by the group; help must still print
            domains = {}
        for domain in domains.values():
            for option in domain.options:
                if option.name not in known:
                    known.add(option.name)
                    params.insert(-1, option)  # before --help
        return params


@click.command("build", cls=BuildCommand)
@click.option("--domain", default="general", show_default=True, help="Domain to evolve (see `evol domains list`).")
@click.option(
    "--seeds",
    "seeds_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Seed instructions: JSONL, a JSON array (Alpaca style) or Parquet.",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder; running again on it resumes.")
@click.option("--rounds", default=4, show_default=True, type=click.IntRange(0, 100), help="Evolution rounds per seed.")
@click.option("--model", default=None, help="Model name.  [default: $EVOL_MODEL, else gpt-4o-mini; the bundled offline model when no endpoint is set]")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint.  [default: $OPENAI_BASE_URL]")
@click.option("--api-key", default=None, help="API key.  [default: $OPENAI_API_KEY]")
@click.option("--concurrency", default=DEFAULT_CONCURRENCY, show_default=True, type=click.IntRange(1, 4096), help="Most requests in flight; lowered on 429 and grown back.")
@click.option("--seed", "run_seed", default=0, show_default=True, type=int, help="Run seed: operation draws and request seeds derive from it.")
@click.option("--limit", default=None, type=click.IntRange(1), help="Use only the first K seeds.")
@click.option("--temperature", default=1.0, show_default=True, type=float)
@click.option("--top-p", default=0.9, show_default=True, type=float)
@click.option("--max-tokens", default=2048, show_default=True, type=int)
@click.option("--schedule", default=None, help="Per-round operations or tags, comma-separated (e.g. down,down,up,up,up); default: a uniform draw from all of the domain's operations.")
@click.option("--max-attempts", default=6, show_default=True, type=click.IntRange(1), help="Attempts per request before the sample is recorded as failed.")
@click.option("--timeout", "request_timeout", default=600.0, show_default=True, type=float, help="Seconds before one request is abandoned and retried.")
@click.option("--skip-invalid", is_flag=True, help="Skip malformed seed records (listed in the manifest) instead of stopping.")
@click.option("--shard", default=None, metavar="I/N", help="Build only seeds whose index is I modulo N; shards of one run merge into the same dataset.")
@click.option("--progress/--no-progress", default=None, help="Live progress display.  [default: on a terminal]")
@click.pass_context
def build_command(ctx: click.Context, **params: Any) -> None:
    """Evolve seed instructions for --rounds rounds, eliminate failed evolutions, answer the
    survivors and check the answers.

    Writes DIR/dataset.jsonl (kept samples of every round), eliminated.jsonl, failed.jsonl and
    manifest.json. Every request is cached in DIR/cache.sqlite: running the same command again
    resumes without paying twice, and gives a byte-identical dataset.

    With no --base-url and no OPENAI_BASE_URL, the build runs against the bundled offline model:
    placeholder text that exercises the whole pipeline, not a real model.
    """
    from .build import BuildConfig, run_build

    host = host_for(ctx)
    registry = host.registry
    domain = registry.domains.get(params["domain"])
    if domain is None:
        raise click.BadParameter(
            f"no domain {params['domain']!r}; active domains: {', '.join(sorted(registry.domains)) or 'none'}",
            param_hint="--domain",
        )
    domain_option_names = {option.name for option in domain.options}
    core_names = {param.name for param in build_command.params}
    options = {name: value for name, value in params.items() if name in domain_option_names}
    core = {name: value for name, value in params.items() if name in core_names}
    rounds_given = ctx.get_parameter_source("rounds") is not click.core.ParameterSource.DEFAULT
    config = BuildConfig.from_cli(
        core, options, argv=["evol", *sys.argv[1:]], environ=os.environ, rounds_given=rounds_given
    )
    exit_code = run_build(config, host)
    ctx.exit(exit_code)


@click.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", default="parquet", show_default=True, help="Export format: parquet, or one a plugin adds (prm: process-reward data in the Math-Shepherd layout).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Where to write.  [default: a file in DIR named by the format]")
@click.pass_context
def export_command(ctx: click.Context, out_dir: Path, fmt: str, output: Path | None) -> None:
    """Export a build's dataset.jsonl to another format."""
    from .export import export

    written = export(host_for(ctx).registry.exporters, out_dir, fmt, output)
    click.echo(f"wrote {written}")
