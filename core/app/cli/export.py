"""``evol export``: a build's dataset in another format."""

from __future__ import annotations

from pathlib import Path

import click

from ..publish.export import ExportFilters, export
from .common import host_for


class ExportCommand(click.Command):
    """``evol export`` whose --format lists every format, the plugins' included, in its help."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = list(super().get_params(ctx))
        try:
            exporters = host_for(ctx).registry.exporters
        except Exception:  # reported when the command runs; help must still print
            return params
        listing = "; ".join(f"{name}: {exporters[name].description} ({exporters[name].default_filename})"
                            for name in sorted(exporters))
        for param in params:
            if param.name == "fmt" and isinstance(param, click.Option):
                param.help = f"Export format. {listing}."
        return params


def _min_scores(values: tuple[str, ...]) -> dict[str, float]:
    scores = {}
    for value in values:
        name, sep, least = value.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            scores[name] = float(least)
        except ValueError:
            raise click.BadParameter(f"expected NAME=NUMBER, got {value!r}", param_hint="--min-score") from None
    return scores


@click.command("export", cls=ExportCommand)
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--format", "fmt", default="parquet", show_default=True, help="Export format.")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="Where to write; its folder is created.  [default: a file in DIR named by the format]")
@click.option("--system", default=None, help="A system prompt added to every conversation (chat, sharegpt, alpaca).")
@click.option("--min-round", type=click.IntRange(0), default=None, help="Keep rows of this round and later (0: seeds).")
@click.option("--domain-verdict", default=None, metavar="VERDICT",
              help="Keep rows with a check of this verdict (e.g. PASS: code that passed its tests).")
@click.option("--min-score", multiple=True, metavar="NAME=X",
              help="Keep rows whose score NAME is at least X (a missing score fails); repeatable.")
@click.pass_context
def export_command(ctx: click.Context, out_dir: Path, fmt: str, output: Path | None, system: str | None,
                   min_round: int | None, domain_verdict: str | None, min_score: tuple[str, ...]) -> None:
    """Export a build's dataset (DIR/dataset.jsonl) to another format.

    The filters apply to every format. The build's rows are only read: the export is a new file (one
    written into DIR is noted in DIR/exports.json with the dataset's digest, and the card refreshed), and an
    --output that is one of the build's own files (dataset, manifest, cache, seeds, curated/, card, report)
    is refused.
    """
    filters = ExportFilters(min_round, domain_verdict, _min_scores(min_score) or None, system)
    exporters = host_for(ctx).registry.exporters
    click.echo(export(exporters, out_dir, fmt, output, filters).summary())
    from ..publish.card import refresh_card  # here: the card loads the report's model

    refresh_card(out_dir, exporters, host_for(ctx).registry.report_sections.values())


