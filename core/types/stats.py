"""Summaries of numbers that every chart and table of the report is drawn from.

Charts are drawn from these summaries rather than from the rows themselves, so that a chart covers
every row of a build of any size while the page carries a few numbers per round. A missing value
(no score, a null) is never counted as 0: it is left out of the summary and counted as missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Distribution:
    """Five-number summary, mean and count of some values (whiskers of a box: min and max)."""

    count: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    mean: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Distribution | None:
        ordered = sorted(values)
        if not ordered:
            return None
        return cls(
            count=len(ordered),
            minimum=ordered[0],
            q1=quantile(ordered, 0.25),
            median=quantile(ordered, 0.5),
            q3=quantile(ordered, 0.75),
            maximum=ordered[-1],
            mean=math.fsum(ordered) / len(ordered),
        )


def quantile(ordered: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on sorted values."""
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal-width bins over [start, end]; the last bin includes ``end``.

    Values outside the range are counted in ``below`` and ``above`` rather than dropped, and
    ``missing`` counts the rows that had no value at all.
    """

    start: float
    end: float
    counts: tuple[int, ...]
    below: int = 0
    above: int = 0
    missing: int = 0

    @property
    def width(self) -> float:
        return (self.end - self.start) / len(self.counts)

    @property
    def centers(self) -> list[float]:
        return [self.start + self.width * (index + 0.5) for index in range(len(self.counts))]

    @property
    def present(self) -> int:
        return sum(self.counts) + self.below + self.above

    @classmethod
    def of(cls, values: Iterable[float | None], start: float, end: float, bins: int) -> Histogram:
        counts = [0] * bins
        below = above = missing = 0
        width = (end - start) / bins
        for value in values:
            if value is None or not math.isfinite(value):
                missing += 1
            elif value < start:
                below += 1
            elif value > end:
                above += 1
            else:
                counts[min(int((value - start) / width), bins - 1)] += 1
        return cls(start, end, tuple(counts), below, above, missing)


def number_or_none(value: object) -> float | None:
    """A finite number as float; anything else (missing, null, NaN, a string) is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
