"""Money: the price of each model, what a build spent, and the cap it must not pass.

A price is US dollars per million prompt tokens and per million completion tokens. It comes from
``--price MODEL=IN/OUT`` (repeatable), else a recipe's table (``[prices."gpt-4o"] input = 2.5,
output = 10``, ``RecipePrice``), else ``KNOWN_PRICES``. A model with none has no price: its cost is
unknown (None), never 0.

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

from pydantic import BaseModel, ConfigDict, Field

from ..types.errors import CostCapReached
from ..types.records import Usage


BATCH_DISCOUNT = 0.5
"""The share of a price a request sent through a provider's Batch API does not cost: OpenAI and
Azure OpenAI charge half for batches (``Price.batch_discount`` overrides it for one model)."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    prompt: float
    completion: float
    batch_discount: float = BATCH_DISCOUNT

    def batched(self) -> Price:
        """The price of the same tokens through the Batch API."""
        share = 1.0 - self.batch_discount
        return Price(self.prompt * share, self.completion * share, batch_discount=0.0)

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


class RecipePrice(BaseModel):
    """One model's entry of a recipe's ``[prices]`` table: dollars per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    input: float = Field(ge=0)
    """Per million prompt tokens."""
    output: float = Field(ge=0)
    """Per million completion tokens."""
    batch_discount: float = Field(BATCH_DISCOUNT, ge=0, le=1)
    """The share of the price the provider's Batch API takes off (``--batch``)."""

    @property
    def price(self) -> Price:
        return Price(self.input, self.output, self.batch_discount)


def price_table(given: Iterable[str], recipe: Mapping[str, RecipePrice] | None = None) -> dict[str, Price]:
    """``KNOWN_PRICES``, a recipe's ``[prices]`` over them, and the given ``MODEL=IN/OUT`` entries
    (the command line) over both."""
    table = dict(KNOWN_PRICES)
    table.update((model, entry.price) for model, entry in (recipe or {}).items())
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

    def paid(self, cost: float) -> None:
        """Money spent on an answer no request of this run held a worst case for (a batch's
        answer that arrived before its lineage asked for it)."""
        self.spent += cost

    def settle(self, worst: float, spent: float) -> None:
        """After a request: its hold is released and what it cost is spent."""
        self.spent += spent
        if self.cap is None:
            return
        self.reserved -= worst
        self.in_flight -= 1
        if self.in_flight == 0:
            self._event().set()
