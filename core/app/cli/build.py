"""``evol build``: options in, a ``Build`` run, its summary out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ...runtime.urls import public_url
from ...types.errors import UsageError
from ..build.config import make_config, read_recipe
from .common import host_for

# The command-line name of each BuildConfig field where it differs from --field-name.
FIELD_OF_PARAMETER = {"seeds_path": "seeds", "out_dir": "out", "run_seed": "seed"}


class Price(click.FloatRange):
    """A price per million tokens: a finite number >= 0 (click's FloatRange lets inf and nan by)."""

    name = "price"

    def __init__(self) -> None:
        super().__init__(min=0)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class BuildCommand(click.Command):
    """``evol build`` with every domain's own options added when the command is looked up."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = list(super().get_params(ctx))
        known = {param.name for param in params}
        try:
            domains = host_for(ctx).registry.domains
        except Exception:  # reported when the build runs; help must still print
            domains = {}
        for domain in domains.values():
            for option in domain.options:
                if option.name not in known:
                    known.add(option.name)
                    params.insert(-1, option)  # before --help
        return params


@click.command("build", cls=BuildCommand)
@click.option("--config", "recipe", type=click.Path(path_type=Path), default=None,
              help="A TOML recipe with the same options (the domain's under [options]); options given here override it.")
@click.option("--domain", default=None, help="Domain to evolve (see `evol domains list`).  [default: general]")
@click.option("--seeds", "seeds_path", type=click.Path(path_type=Path), default=None,
              help="Seed instructions: JSONL, a JSON array (Alpaca style) or Parquet.  [required]")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder; running the same command on it again resumes.  [required]")
@click.option("--rounds", type=int, default=None, help="Evolution rounds per seed.  [default: 4, or the schedule's length]")
@click.option("--schedule", default=None,
              help="Per-round operations or tags, comma-separated (e.g. down,down,up,up,up).  [default: a draw from all of the domain's operations]")
@click.option("--operation-weights", default=None, metavar="NAME=W,...",
              help="Relative chance of each operation in a round's draw (e.g. complexity=0.25).  [default: the domain's]")
@click.option("--model", default=None, help="Model name.  [default: $EVOL_MODEL, else gpt-4o-mini]")
@click.option("--base-url", multiple=True,
              help="OpenAI-compatible endpoint; repeat it for several replicas of one model.  [default: $OPENAI_BASE_URL (comma-separated), else OpenAI's when an API key is set, else the bundled offline model]")
@click.option("--api-key", default=None, help="API key.  [default: $OPENAI_API_KEY]")
@click.option("--endpoint-id", default=None,
              help="A name for the endpoint in cache keys and provenance, for replicas whose URLs change.  [default: the URLs]")
@click.option("--concurrency", type=int, default=None, help="Most requests in flight per endpoint; lowered on 429 and grown back.  [default: 32]")
@click.option("--seed", "run_seed", type=int, default=None, help="Run seed: operation draws and request seeds derive from it.  [default: 0]")
@click.option("--limit", type=int, default=None, help="Use only the first K seeds.")
@click.option("--shard", default=None, metavar="I/N", help="Build only seeds whose index is I modulo N; shards of one run merge into the same dataset.")
@click.option("--temperature", type=float, default=None, help="Sampling temperature, 0 to 2.  [default: 1.0]")
@click.option("--top-p", type=float, default=None, help="Nucleus sampling, above 0 and at most 1.  [default: 0.9]")
@click.option("--max-tokens", type=int, default=None, help="Most tokens per completion.  [default: 2048]")
@click.option("--max-attempts", type=int, default=None, help="Attempts per request before its sample is recorded as failed.  [default: 6]")
@click.option("--timeout", type=float, default=None, help="Seconds before one request is abandoned and retried.  [default: 600]")
@click.option("--max-outage", type=float, default=None, help="Seconds the run waits for an unreachable endpoint before it stops (exit 3).  [default: 600]")
@click.option("--difficulty", is_flag=True, default=None,
              help="Rate each answered sample's instruction 1-10 with an LLM judge (scores.difficulty; null when "
              "its reply states no rating), the requests evol curate --difficulty reuses from the cache.")
@click.option("--skip-invalid", is_flag=True, default=None, help="Skip malformed seed records (listed in the manifest) instead of stopping.")
@click.option("--restart", is_flag=True, default=None, help="Start the folder over with these settings (the response cache is kept).")
@click.option("--progress/--no-progress", default=None, help="Live progress display.  [default: on a terminal]")
@click.option("--dry-run", is_flag=True, default=None,
              help="Check everything, then print the most requests and tokens per stage the build would send, and stop; nothing is sent or written.")
@click.option("--price-in", type=Price(), default=None, help="With --dry-run: price per million prompt tokens, to show the most it can cost.")
@click.option("--price-out", type=Price(), default=None, help="With --dry-run: price per million completion tokens.")
@click.option("--ray", "ray", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the build on a Ray cluster, one shard per CPU: at ADDRESS, else $RAY_ADDRESS, else a new "
                   "local cluster (`--ray local`: always a new one). The output folder and the seeds must be on "
                   "storage every node mounts at the same path. Needs the extra: pip install \"evolinstruct[ray]\".")
@click.pass_context
def build_command(ctx: click.Context, **params: Any) -> None:
    """Evolve seed instructions for --rounds rounds, eliminate failed evolutions, answer the
    survivors and check the answers.

    Writes OUT/dataset.jsonl (kept samples of every round), eliminated.jsonl, failed.jsonl and
    manifest.json. Every response is cached in OUT/cache.sqlite as it arrives: running the same
    command again resumes without paying twice and gives a byte-identical dataset. A folder
    refuses a rerun with other settings (--restart starts it over).

    With no --base-url, OPENAI_BASE_URL or OPENAI_API_KEY, the build runs against the bundled
    offline model: placeholder text that exercises the whole pipeline, not a real model.
    """
    host = host_for(ctx)
    given = {name: value for name, value in params.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    recipe_path = given.pop("recipe", None)
    dry_run = bool(given.pop("dry_run", False))
    prices = (given.pop("price_in", None), given.pop("price_out", None))
    values: dict[str, Any] = read_recipe(recipe_path) if recipe_path is not None else {}
    sources = {key: str(recipe_path) for key in values}

    domain_option_names = {option.name for d in host.registry.domains.values() for option in d.options}
    domain_given = {name: value for name, value in given.items() if name in domain_option_names}
    core_given = {name: value for name, value in given.items() if name not in domain_option_names}
    for name, value in core_given.items():
        field = FIELD_OF_PARAMETER.get(name, name)
        values[field] = value
        sources[field] = "the command line"
    schedule = values.get("schedule")
    # A schedule says how many rounds there are; one of another type is the configuration's to refuse.
    if schedule and isinstance(schedule, (str, list, tuple)) and "rounds" not in values:
        values["rounds"] = len(schedule.split(",") if isinstance(schedule, str) else schedule)
    for required in ("seeds", "out"):
        if values.get(required) is None:
            raise click.UsageError(f"Missing option '--{required}' (or '{required}' in the --config recipe).")

    domain_name = values.get("domain", "general")
    domain = host.registry.domains.get(domain_name)
    if domain is not None:
        own = {option.name for option in domain.options}
        foreign = sorted(name for name in domain_given if name not in own)
        if foreign:
            owners = {option.name: d.name for d in host.registry.domains.values() for option in d.options}
            raise UsageError(
                "; ".join(f"--{name.replace('_', '-')} is an option of domain {owners[name]!r}, not of "
                          f"{domain_name!r}" for name in foreign)
            )
    values["options"] = {**values.get("options", {}), **domain_given}
    values["command"] = tuple(_mask_secrets(["evol", *sys.argv[1:]]))
    config = make_config(values, sources=sources)

    from ..build.build import Build  # here: the HTTP client and the engine load only when a build runs

    if dry_run:
        from ..build.estimate import describe

        with Build(config, host=host) as build:
            for line in describe(build.dry_run(), price_in=prices[0], price_out=prices[1]):
                click.echo(line)
        return
    with Build(config, host=host) as build:
        build.prepare()
        summary = build.run()
        build.report(summary)
    ctx.exit(int(summary.exit_code))


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
