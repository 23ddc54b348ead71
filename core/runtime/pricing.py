"""Money: the price of each model, what a build spent, and the cap it must not pass.

A price is US dollars per million prompt tokens and per million completion tokens. It comes from
``--price MODEL=IN/OUT`` (repeatable, also a recipe's ``price`` list), else from ``KNOWN_PRICES``.
A model with neither has no price: its cost is unknown (None), never 0.

``CostMeter`` holds one build's spending across every role's client. Before a request is sent,
the money already spent plus the worst case of every request in flight plus this one's must stay
within ``--max-cost``; a request that would pass it is not sent: it waits until the requests in
flight have finished (their answers are cached), then the run stops with ``CostCapReached``
(exit 3), and the same command with a higher cap resumes it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ..types.errors import CostCapReached
from ..types.records import Usage


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1e6

    def of(self, usage: Usage) -> float:
        return self.cost(usage.prompt_tokens, usage.completion_tokens)


KNOWN_PRICES: Mapping[str, Price] = {
    # OpenAI's published list prices for standard (not batch) requests, 2025; --price overrides them.
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "o3-mini": Price(1.10, 4.40),
}


def parse_price(spec: str) -> tuple[str, Price]:
    """``MODEL=IN/OUT`` (dollars per million tokens) as (model, price); ``ValueError`` saying why."""
    model, sep, rates = spec.partition("=")
    prompt, slash, completion = rates.partition("/")
    try:
        if not sep or not slash or not model.strip():
            raise ValueError
        price = Price(float(prompt), float(completion))
    except ValueError:
        raise ValueError(f"must be MODEL=IN/OUT in dollars per million tokens (gpt-4o=2.5/10), got {spec!r}") from None
    if not (0 <= price.prompt < float("inf") and 0 <= price.completion < float("inf")):
        raise ValueError(f"prices must be finite numbers >= 0, got {spec!r}")
    return model.strip(), price


def price_table(given: Iterable[str]) -> dict[str, Price]:
    """``KNOWN_PRICES`` with the given ``MODEL=IN/OUT`` entries over them."""
    table = dict(KNOWN_PRICES)
    table.update(parse_price(spec) for spec in given)
    return table


def worst_prompt_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    """A bound on a request's prompt tokens: its messages' bytes (no usual tokenizer makes more
    tokens than bytes), plus a margin for the chat template's few tokens per message."""
    return len(json.dumps(list(messages), ensure_ascii=False).encode()) + 8 * len(messages)


class CostMeter:
    """One build's spending against its cap (None: no cap, only counted)."""

    def __init__(self, cap: float | None, *, spent: float = 0.0) -> None:
        self.cap = cap
        self.spent = spent
        """Dollars spent, from ``spent`` (what earlier runs of the folder spent) on."""
        self.reserved = 0.0
        self.in_flight = 0
        self.stopped = False
        self._idle: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
            self._idle.set()
        return self._idle

    async def reserve(self, worst: float) -> None:
        """Before a request is sent: its worst case is held, or, when it would pass the cap, the
        run stops once the requests in flight are done."""
        if self.cap is None:
            return
        if self.stopped or self.spent + self.reserved + worst > self.cap:
            self.stopped = True
            await self._event().wait()  # the requests in flight finish and are cached
            raise CostCapReached(
                f"stopped at the cost cap: ${self.spent:.4f} spent in all of --max-cost ${self.cap:g}; the next request "
                "could pass it. The finished lineages are written; run again with a higher --max-cost to continue"
            )
        self.reserved += worst
        self.in_flight += 1
        self._event().clear()

    def settle(self, worst: float, spent: float) -> None:
        """After a request: its hold is released and what it cost is spent."""
        self.spent += spent
        if self.cap is None:
            return
        self.reserved -= worst
        self.in_flight -= 1
        if self.in_flight == 0:
            self._event().set()
