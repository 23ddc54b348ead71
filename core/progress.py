"""What a build shows while it runs: a live table on a terminal, plain log lines elsewhere, and
a summary table at the end."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

from .tally import Tally

if TYPE_CHECKING:  # pragma: no cover
    from .llm import LLM

LOG_EVERY_S = 10.0


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1_000:
        return f"{count / 1_000:.1f}k"
    return str(count)


def rounds_table(tally: Tally, llm: LLM | None, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("round", "done", "kept", "eliminated", "failed"):
        table.add_column(column, justify="right" if column != "round" else "left")
    for number in range(tally.rounds + 1):
        counts = tally.per_round[number]
        label = "0 (seeds)" if number == 0 else str(number)
        table.add_row(label, f"{counts.done}/{tally.seeds}", str(counts.kept), str(counts.eliminated), str(counts.failed))
    if llm is not None:
        stats = llm.stats
        table.caption = (
            f"in flight {llm.limit.in_flight} (limit {llm.limit.limit}) · sent {stats.sent} · "
            f"from cache {stats.cached} · retries {stats.retries} · "
            f"tokens {_tokens(tally.total_tokens.total_tokens)}"
        )
        table.caption_justify = "left"
    return table


class _LiveView:
    def __init__(self, tally: Tally, llm: LLM) -> None:
        self.tally = tally
        self.llm = llm

    def __rich__(self) -> Table:
        return rounds_table(self.tally, self.llm, "evol build")


class BuildProgress:
    """Runs beside the engine; ``live`` decides between the table and log lines."""

    def __init__(self, tally: Tally, llm: LLM, *, live: bool | None) -> None:
        self.tally = tally
        self.llm = llm
        self.live = sys.stderr.isatty() if live is None else live
        self.console = Console(stderr=True)

    async def run(self, work: asyncio.Future[None] | asyncio.Task[None]) -> None:
        if self.live:
            with Live(_LiveView(self.tally, self.llm), console=self.console, refresh_per_second=4, transient=False):
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
        for number in range(self.tally.rounds + 1):
            counts = self.tally.per_round[number]
            parts.append(f"r{number} {counts.done}/{self.tally.seeds} (kept {counts.kept}, elim {counts.eliminated}, failed {counts.failed})")
        stats = self.llm.stats
        print(
            f"evol: {'; '.join(parts)}; in flight {self.llm.limit.in_flight}; sent {stats.sent}; "
            f"cached {stats.cached}; tokens {self.tally.total_tokens.total_tokens}",
            file=sys.stderr,
            flush=True,
        )
