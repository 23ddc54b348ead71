"""``evol curate``: the curation pipeline (``evolinstruct.app.curate.curate``) with progress bars and a
summary, the plugins' rules included."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import click

from ..curate.curate import CurationReport, CurationSettings, LLMSettings, curate
from ..curate.options import CurateOptions
from ...runtime.output import CARD, CURATED
from ...runtime.session import resolve_endpoint
from .common import host_for
from .options import cli_options, given_options

T = TypeVar("T")



class RichProgress:
    """Progress bars on stderr for the long steps (a terminal, or --progress)."""

    def __init__(self, live: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.live = live
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not live,
            transient=False,
        )

    @contextmanager
    def shown(self) -> Iterator[RichProgress]:
        with self.bars:
            yield self

    def __call__(self, items: Iterable[T], *, total: int, description: str) -> Iterable[T]:
        if not self.live:
            print(f"evol curate: {description}", file=sys.stderr, flush=True)
            return items
        return self._track(items, total, description)

    def _track(self, items: Iterable[T], total: int, description: str) -> Iterator[T]:
        task = self.bars.add_task(description, total=total)
        for item in items:
            # Byte-counted steps yield (line number, raw line): advance by the line's size.
            if description in ("reading rows", "writing") and isinstance(item, tuple):
                self.bars.advance(task, len(item[1]))
            else:
                self.bars.advance(task, 1)
            yield item
        self.bars.update(task, completed=total)


def print_summary(report: CurationReport) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    rules = Table(title=f"evol curate: {report.kept} of {report.rows} rows kept", title_justify="left")
    rules.add_column("rule")
    rules.add_column("removed", justify="right")
    for name, count in report.removed_per_rule.items():
        rules.add_row(name, str(count))
    console.print(rules)
    for title, groups in (("round", report.per_round), ("operation", report.per_operation)):
        table = Table(title=f"per {title}", title_justify="left")
        for column in (title, "rows", "kept", "mean difficulty (rated)", "instruction words", "response words"):
            table.add_column(column, justify="left" if column == title else "right")
        for name, stats in groups.items():
            shown = "-" if stats.mean_difficulty is None else f"{stats.mean_difficulty:.2f}"
            table.add_row(
                name,
                str(stats.rows),
                str(stats.kept),
                f"{shown} ({stats.rated})",
                f"{stats.mean_instruction_words:.1f}",
                f"{stats.mean_response_words:.1f}",
            )
        console.print(table)
    if report.offline_rows:
        console.print(
            f"{report.offline_rows} rows were written by the bundled offline model: the numbers its judges "
            "gave are placeholders. Their difficulty (a placeholder, not a rating) is not counted as rated; "
            "a --budget by another judge's score would rank placeholders.",
            style="yellow", soft_wrap=True, highlight=False, markup=False,
        )


@click.pass_context
def _curate(ctx: click.Context, folder: Path, **params: Any) -> None:
    options = given_options(ctx, params, CurateOptions)
    # The judge's endpoint is resolved exactly as a build's, so the two share cached requests.
    api_key = options.api_key.get_secret_value() if options.api_key is not None else None
    endpoint = resolve_endpoint(
        os.environ, base_url=list(options.base_url), api_key=api_key, model=options.model,
        endpoint_id=options.endpoint_id, concurrency=options.concurrency,
    )
    settings = CurationSettings(
        against=options.against or None,
        near_dup_threshold=options.near_dup_threshold,
        budget=options.budget,
        by=options.by,
        budget_similarity=options.budget_similarity,
        diversity=options.diversity,
        embedding_model=options.embedding_model,
        difficulty=options.difficulty,
        skip=options.skip,
        llm=LLMSettings(endpoint=endpoint, run_seed=options.seed),
        progress=options.progress,
    )
    live = sys.stderr.isatty() if settings.progress is None else settings.progress
    bars = RichProgress(live)
    with bars.shown():
        report = curate(folder, settings, rules=list(host_for(ctx).registry.curation_rules.values()), progress=bars)
    print_summary(report)
    if (folder / CARD).is_file():  # a build's folder: its card states the curation (a foreign README stays as it is)
        from ..publish.card import refresh_card  # here: the card loads the report's model

        registry = host_for(ctx).registry
        refresh_card(folder, registry.exporters, registry.report_sections.values())
    click.echo(
        f"evol: {folder / CURATED}: {report.kept} kept, {report.removed} removed "
        f"({', '.join(f'{name} {count}' for name, count in report.removed_per_rule.items())})",
        err=True,
    )


curate_command = click.Command(
    "curate",
    callback=_curate,
    params=[click.Argument(["folder"], type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR"),
            *cli_options(CurateOptions)],
    help="""Remove duplicates and benchmark contamination from DIR/dataset.jsonl, optionally rate
    difficulty and keep a budget of the best rows.

    Writes DIR/curated/dataset.jsonl (kept rows, unchanged), removed.jsonl (each removed row,
    unchanged, plus "removal": {rule, reason, of}) and curation.json (counts per rule, settings,
    benchmark versions, difficulty and length per round and per operation). Every row is in
    exactly one of the two JSONL files. The build's card (DIR/README.md) is refreshed to state the
    curation and the selection that made the curated set.
    """,
)
