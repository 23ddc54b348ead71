"""What a build shows while it runs: a live table on a terminal, log lines elsewhere, and the
summary table at the end (from the written files' counts)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any, Callable, Sequence

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ...runtime.engine import Progress
from ...runtime.llm import LLM
from ...runtime.tally import Tally

log = logging.getLogger("evolinstruct.progress")

LOG_EVERY_S = 10.0


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1_000:
        return f"{count / 1_000:.1f}k"
    return str(count)


def rounds_table(tally: Tally, title: str) -> Table:
    """The summary: per round, the rows written to each file, and the lineages that never got there."""
    table = Table(title=title, title_justify="left")
    for column in ("round", "kept", "eliminated", "failed", "not reached"):
        table.add_column(column, justify="left" if column == "round" else "right")
    for number in range(tally.rounds + 1):
        counts = tally.per_round[number]
        label = "0 (seeds)" if number == 0 else str(number)
        table.add_row(label, str(counts.kept), str(counts.eliminated), str(counts.failed), str(counts.not_reached))
    # Finished, not written: a seed whose samples are only in failed.jsonl is not done.
    table.caption = f"{tally.lineages_finished} of {tally.seeds} seeds finished · tokens {_tokens(tally.total_tokens.total_tokens)}"
    table.caption_justify = "left"
    return table


def _endpoint_status(llm: LLM) -> str:
    down = llm.endpoints.down
    if not down:
        return ""
    if len(down) == len(llm.endpoints.all):
        since = min(endpoint.down_since or time.monotonic() for endpoint in down)
        return f" · PAUSED: no endpoint answers ({time.monotonic() - since:.0f} s), probing"
    return f" · {len(down)} of {len(llm.endpoints.all)} endpoints down, probing"


def _sums(llm: LLM, others: Sequence[LLM]) -> tuple[int, int, int, int]:
    """Sent, from cache, retries and in flight over the build's clients (one per role); a request
    waiting for its batch is in flight."""
    clients = [llm, *others]
    return (sum(c.stats.sent for c in clients), sum(c.stats.cached for c in clients),
            sum(c.stats.retries for c in clients),
            sum(c.endpoints.in_flight + (c.batches.waiting if c.batches is not None else 0) for c in clients))


def live_table(progress: Progress, llm: LLM, others: Sequence[LLM] = (), cost: Callable[[], str] | None = None) -> Table:
    table = Table(title="evol build", title_justify="left")
    for column in ("round", "kept", "eliminated", "failed"):
        table.add_column(column, justify="left" if column == "round" else "right")
    for number in range(progress.rounds + 1):
        counts = progress.attempts.get(number, {"kept": 0, "eliminated": 0, "failed": 0})
        label = "0 (seeds)" if number == 0 else str(number)
        table.add_row(label, str(counts["kept"]), str(counts["eliminated"]), str(counts["failed"]))
    sent, cached, retries, in_flight = _sums(llm, others)
    table.caption = (
        f"lineages {progress.lineages_done}/{progress.seeds} · in flight {in_flight} · "
        f"sent {sent} · from cache {cached} · retries {retries}{cost() if cost else ''}{_endpoint_status(llm)}"
    )
    table.caption_justify = "left"
    return table


class _LiveView:
    def __init__(self, view: BuildProgress) -> None:
        self.view = view

    def __rich__(self) -> Table:
        return live_table(self.view.progress, self.view.llm, self.view.others(), self.view.cost)


class BuildProgress:
    """Runs beside the engine; ``live`` decides between the table and log lines."""

    def __init__(self, progress: Progress, llm: LLM, *, live: bool | None, console: Console,
                 others: Callable[[], Sequence[LLM]] = tuple, cost: Callable[[], str] | None = None) -> None:
        self.progress = progress
        self.llm = llm
        self.others = others
        """The roles' clients beside ``llm`` (asked each time: they open on their first request)."""
        self.cost = cost
        """What the build has spent so far, as text (" · $1.20 of $5"), from returned usage."""
        self.live = sys.stderr.isatty() if live is None else live
        self.console = console

    async def run(self, work: asyncio.Future[Any]) -> None:
        if self.live:
            with Live(_LiveView(self), console=self.console, refresh_per_second=4, transient=True):
                await work
            return
        next_log = time.monotonic() + LOG_EVERY_S
        while True:
            done, _ = await asyncio.wait({work}, timeout=max(0.0, next_log - time.monotonic()))
            if done:
                work.result()
                return
            self.log_line()
            next_log = time.monotonic() + LOG_EVERY_S

    def log_line(self) -> None:
        parts = []
        for number in range(self.progress.rounds + 1):
            counts = self.progress.attempts.get(number, {"kept": 0, "eliminated": 0, "failed": 0})
            parts.append(f"r{number} kept {counts['kept']}, elim {counts['eliminated']}, failed {counts['failed']}")
        sent, cached, _, in_flight = _sums(self.llm, self.others())
        log.info(
            "lineages %d/%d; %s; in flight %d; sent %d; cached %d%s%s",
            self.progress.lineages_done, self.progress.seeds, "; ".join(parts),
            in_flight, sent, cached, self.cost() if self.cost else "", _endpoint_status(self.llm),
        )
