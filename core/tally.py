"""Counts kept while a build runs: they drive the progress display and become the manifest."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .records import Elimination, Sample, Usage


@dataclass
class RoundCounts:
    done: int = 0
    kept: int = 0
    eliminated: int = 0
    failed: int = 0
    skipped: int = 0
    """Lineages that stopped at an earlier round's failure and so never reached this one."""

    def as_dict(self) -> dict[str, int]:
        return {
            "done": self.done,
            "kept": self.kept,
            "eliminated": self.eliminated,
            "failed": self.failed,
            "skipped": self.skipped,
        }


@dataclass
class Tally:
    seeds: int = 0
    rounds: int = 0
    per_round: dict[int, RoundCounts] = field(default_factory=lambda: defaultdict(RoundCounts))
    per_operation: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_filter: Counter[str] = field(default_factory=Counter)
    tokens_per_stage: dict[str, Usage] = field(default_factory=dict)
    lineages_done: int = 0

    def _usage(self, sample: Sample) -> None:
        for stage, used in sample.usage.items():
            self.tokens_per_stage[stage] = self.tokens_per_stage.get(stage, Usage()) + used

    def kept(self, sample: Sample) -> None:
        counts = self.per_round[sample.round]
        counts.done += 1
        counts.kept += 1
        self.per_operation[sample.operation]["kept"] += 1
        self._usage(sample)

    def eliminated(self, sample: Sample, elimination: Elimination) -> None:
        counts = self.per_round[sample.round]
        counts.done += 1
        counts.eliminated += 1
        self.per_operation[sample.operation]["eliminated"] += 1
        self.per_filter[elimination.filter] += 1
        self._usage(sample)

    def failed(self, round_: int, operation: str, usage: dict[str, Usage]) -> None:
        counts = self.per_round[round_]
        counts.done += 1
        counts.failed += 1
        self.per_operation[operation]["failed"] += 1
        for stage, used in usage.items():
            self.tokens_per_stage[stage] = self.tokens_per_stage.get(stage, Usage()) + used

    def skipped(self, round_: int) -> None:
        counts = self.per_round[round_]
        counts.done += 1
        counts.skipped += 1

    @property
    def total_tokens(self) -> Usage:
        total = Usage()
        for used in self.tokens_per_stage.values():
            total = total + used
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "seeds": self.seeds,
            "rounds": self.rounds,
            "per_round": {str(number): self.per_round[number].as_dict() for number in sorted(self.per_round)},
            "per_operation": {name: dict(sorted(counts.items())) for name, counts in sorted(self.per_operation.items())},
            "eliminations_per_filter": dict(sorted(self.per_filter.items())),
            "tokens_per_stage": {stage: used.as_dict() for stage, used in sorted(self.tokens_per_stage.items())},
            "tokens_total": self.total_tokens.as_dict(),
        }
