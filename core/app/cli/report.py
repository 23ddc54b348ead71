"""``evol report DIR``: the build's report page, and its dataset card refreshed."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from ..publish.options import ReportOptions
from ...types.errors import RunAborted, UsageError
from .common import host_for
from .options import cli_options, given_options


def _exports(ctx: click.Context) -> dict[str, str]:
    """Export format -> its default file name, from the active plugins (for the card's configs)."""
    return {name: exporter.default_filename for name, exporter in host_for(ctx).registry.exporters.items()}


@click.pass_context
def _report(ctx: click.Context, folder: Path, **params: Any) -> None:
    options = given_options(ctx, params, ReportOptions)
    from ..publish.card import write_card
    from ..build.folder import check_output
    from ...runtime.output import CARD, REPORT
    from ..publish.report.model import Prices, read_build
    from ..publish.report.page import write_report

    price_in, price_out = options.price_in, options.price_out
    prices = Prices(price_in, price_out) if price_in is not None and price_out is not None else None
    target = options.output or folder / REPORT
    if target.is_dir():
        raise UsageError(f"--output {target}: a folder; the page is a file (e.g. {target / REPORT})")
    # A page written over the dataset would lose the build, and one written over README.md would
    # replace the card (or be replaced by it). Both are refused before anything is read.
    check_output(folder, target, replaces=(REPORT,))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--output {target}: cannot create its folder ({error.strerror or error})") from None
    started = time.monotonic()
    report = read_build(folder, lineages=options.lineages, prices=prices)
    registry = host_for(ctx).registry
    failures: list = []
    written = write_report(report, list(registry.report_sections.values()), target, failures)
    click.echo(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB, {time.monotonic() - started:.1f} s)")
    if options.card:
        card_path = write_card(folder, exports=_exports(ctx), report=report, sections=registry.report_sections.values())
        if card_path is None:
            click.echo(f"evol: {folder / CARD} was not written by evol; left as it is", err=True)
        else:
            click.echo(f"wrote {card_path}")
    for text in report.notes:
        click.echo(f"evol: note: {text}", err=True)
    sys.stdout.flush()
    if failures:
        # A section's code raised: a bug in the plugin. The page shows every other section, and
        # the command ends as a build does on a bug.
        described = "; ".join(
            f"section {section.name!r} of plugin {registry.owner(section.kind, section.name) or '?'!r} raised "
            f"{type(error).__name__}: {error}"
            for section, error in failures
        )
        raise RunAborted(f"the page was written without what failed: {described}")


report_command = click.Command(
    "report",
    callback=_report,
    params=[click.Argument(["folder"], type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR"),
            *cli_options(ReportOptions)],
    help="""Write DIR/report.html: one self-contained page (it opens offline) about a build folder.

    The page shows the run (command, model, settings, versions, requests, tokens per stage and,
    with --price-in and --price-out, the cost), charts of kept, eliminated and failed samples per
    round, eliminations per filter and per operation, instruction length and difficulty per
    round, the domain's own sections, the curation summary when DIR/curated exists, and a lineage
    browser: choose a seed to see its evolution tree with every candidate, why each eliminated
    one was eliminated, and what each rewrite changed.

    It also refreshes the dataset card DIR/README.md (--no-card leaves it alone).
    """,
)
