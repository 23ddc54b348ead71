"""``evol export``: a build's dataset in another format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..publish.export import ExportFilters, export
from ..publish.options import ExportOptions
from .common import host_for
from .options import cli_options, given_options


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
            if param.name == "format" and isinstance(param, click.Option):
                param.help = f"Export format. {listing}.  [default: {ExportOptions.model_fields['format'].default}]"
        return params


@click.pass_context
def _export(ctx: click.Context, out_dir: Path, **params: Any) -> None:
    options = given_options(ctx, params, ExportOptions)
    filters = ExportFilters(options.min_round, options.domain_verdict, options.min_score or None, options.system)
    exporters = host_for(ctx).registry.exporters
    click.echo(export(exporters, out_dir, options.format, options.output, filters).summary())
    from ..publish.card import refresh_card  # here: the card loads the report's model

    refresh_card(out_dir, exporters, host_for(ctx).registry.report_sections.values())


export_command = ExportCommand(
    "export",
    callback=_export,
    params=[click.Argument(["out_dir"], type=click.Path(path_type=Path), metavar="DIR"), *cli_options(ExportOptions)],
    help="""Export a build's dataset (DIR/dataset.jsonl) to another format.

    The filters apply to every format. The build's rows are only read: the export is a new file (one
    written into DIR is noted in DIR/exports.json with the dataset's digest, and the card refreshed), and an
    --output that is one of the build's own files (dataset, manifest, cache, seeds, curated/, card, report)
    is refused.
    """,
)
