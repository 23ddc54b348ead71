"""What a build shows while it runs: a live table on a terminal, log lines elsewhere, and the
summary table at the end (from the written files' counts)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

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
    table.caption = f"{tally.lineages} of {tally.seeds} seeds written · tokens {_tokens(tally.total_tokens.total_tokens)}"
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


def live_table(progress: Progress, llm: LLM) -> Table:
    table = Table(title="evol build", title_justify="left")
    for column in ("round", "kept", "eliminated", "failed"):
        table.add_column(column, justify="left" if column == "round" else "right")
    for number in range(progress.rounds + 1):
        counts = progress.attempts.get(number, {"kept": 0, "eliminated": 0, "failed": 0})
        label = "0 (seeds)" if number == 0 else str(number)
        table.add_row(label, str(counts["kept"]), str(counts["eliminated"]), str(counts["failed"]))
    stats = llm.stats
    table.caption = (
        f"lineages {progress.lineages_done}/{progress.seeds} · in flight {llm.endpoints.in_flight} · "
        f"sent {stats.sent} · from cache {stats.cached} · retries {stats.retries}{_endpoint_status(llm)}"
    )
    table.caption_justify = "left"
    return table


class _LiveView:
    def __init__(self, progress: Progress, llm: LLM) -> None:
        self.progress = progress
        self.llm = llm

    def __rich__(self) -> Table:
        return live_table(self.progress, self.llm)


class BuildProgress:
    """Runs beside the engine; ``live`` decides between the table and log lines."""

    def __init__(self, progress: Progress, llm: LLM, *, live: bool | None, console: Console) -> None:
        self.progress = progress
        self.llm = llm
        self.live = sys.stderr.isatty() if live is None else live
        self.console = console

    async def run(self, work: asyncio.Future[Any]) -> None:
        if self.live:
            with Live(_LiveView(self.progress, self.llm), console=self.console, refresh_per_second=4, transient=True):
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
        stats = self.llm.stats
        log.info(
            "lineages %d/%d; %s; in flight %d; sent %d; cached %d%s",
            self.progress.lineages_done, self.progress.seeds, "; ".join(parts),
            self.llm.endpoints.in_flight, stats.sent, stats.cached, _endpoint_status(self.llm),
        )
