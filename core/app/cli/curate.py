"""``evol curate``: the curation pipeline (``evolinstruct.app.curate.curate``) with progress bars and a
summary, the plugins' rules included."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import click

from ..curate.curate import DEFAULT_EMBEDDING_MODEL, CurationReport, CurationSettings, LLMSettings, curate
from ...runtime.output import CARD, CURATED
from ...runtime.session import parse_base_urls, resolve_endpoint
from ...types.errors import UsageError
from ...builtins.curation import difficulty as judge
from ...builtins.curation.near import DEFAULT_THRESHOLD as NEAR_DUP_THRESHOLD, SHINGLE
from ...builtins.curation.selection import DEFAULT_SIMILARITY
from .common import host_for

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


@click.command("curate")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR")
@click.option(
    "--against",
    multiple=True,
    metavar="NAME|FILE",
    help="Benchmark to decontaminate against (repeatable): humaneval, mbpp, gsm8k, math500, or a "
    "JSONL/Parquet file of yours (text in prompt/question/problem/text/instruction).  [default: all built-in]",
)
@click.option(
    "--near-dup-threshold",
    default=NEAR_DUP_THRESHOLD,
    show_default=True,
    type=click.FloatRange(0.0, 1.0, min_open=True),
    help=f"Jaccard similarity of word {SHINGLE}-shingles from which two instructions are near duplicates.",
)
@click.option("--budget", default=None, type=click.IntRange(0), metavar="N", help="Keep at most N rows: the best by --by, skipping rows too similar to ones chosen (Deita).")
@click.option("--by", default=judge.SCORE, show_default=True, metavar="SCORE", help="Score the budget ranks by: difficulty, or any numeric scores.NAME (e.g. reward), or a product of them (complexity*quality).")
@click.option(
    "--budget-similarity",
    default=DEFAULT_SIMILARITY,
    show_default=True,
    type=click.FloatRange(0.0, 1.0, min_open=True),
    help="With --budget: Jaccard similarity from which a row is too close to one already chosen.",
)
@click.option(
    "--diversity",
    default=None,
    type=click.FloatRange(0.0, 1.0, min_open=True),
    metavar="COSINE",
    help="With --budget: skip a row whose instruction embedding has a cosine similarity above this with a row "
    "already chosen (Deita), instead of --budget-similarity; embeddings from the endpoint's /embeddings, cached "
    "in DIR/cache.sqlite.",
)
@click.option("--embedding-model", default=DEFAULT_EMBEDDING_MODEL, show_default=True, help="Embedding model for --diversity.")
@click.option("--difficulty", is_flag=True, help="Rate each instruction's difficulty 1-10 with an LLM judge (rows that have scores.difficulty keep theirs); cached in DIR/cache.sqlite.")
@click.option("--skip", multiple=True, metavar="RULE", help="Do not apply this rule (repeatable): contamination, exact-duplicate, near-duplicate, or a plugin's.")
@click.option("--model", default=None, help="Judge model.  [default: $EVOL_MODEL, else gpt-4o-mini]")
@click.option("--base-url", multiple=True, help="OpenAI-compatible endpoint for --difficulty and --diversity, as for evol build.  [default: $OPENAI_BASE_URL, else OpenAI's when an API key is set]")
@click.option("--api-key", default=None, help="API key.  [default: $OPENAI_API_KEY]")
@click.option("--endpoint-id", default=None, help="The endpoint's name in cache keys, as given to evol build.  [default: the URLs]")
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 4096), help="Most judge requests in flight.")
@click.option("--seed", "run_seed", default=0, show_default=True, type=int, help="Request seeds derive from it; the build's --seed reuses its cached judgements.")
@click.option("--progress/--no-progress", default=None, help="Progress bars.  [default: on a terminal]")
@click.pass_context
def curate_command(ctx: click.Context, folder: Path, **params: Any) -> None:
    """Remove duplicates and benchmark contamination from DIR/dataset.jsonl, optionally rate
    difficulty and keep a budget of the best rows.

    Writes DIR/curated/dataset.jsonl (kept rows, unchanged), removed.jsonl (each removed row,
    unchanged, plus "removal": {rule, reason, of}) and curation.json (counts per rule, settings,
    benchmark versions, difficulty and length per round and per operation). Every row is in
    exactly one of the two JSONL files. The build's card (DIR/README.md) is refreshed to state the
    curation and the selection that made the curated set.
    """
    # The judge's endpoint is resolved exactly as a build's, so the two share cached requests.
    try:
        base_urls = parse_base_urls(list(params["base_url"]))
    except ValueError as error:
        raise UsageError(f"--base-url: {error}") from None
    endpoint = resolve_endpoint(
        os.environ, base_url=base_urls, api_key=params["api_key"], model=params["model"],
        endpoint_id=params["endpoint_id"], concurrency=params["concurrency"],
    )
    llm = LLMSettings(endpoint=endpoint, run_seed=params["run_seed"])
    settings = CurationSettings(
        against=tuple(params["against"]) or None,
        near_dup_threshold=params["near_dup_threshold"],
        budget=params["budget"],
        by=params["by"],
        budget_similarity=params["budget_similarity"],
        diversity=params["diversity"],
        embedding_model=params["embedding_model"],
        difficulty=params["difficulty"],
        skip=tuple(params["skip"]),
        llm=llm,
        progress=params["progress"],
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
