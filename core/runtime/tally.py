"""Counts of what a build wrote: they become the summary and the manifest.

Counted as each lineage is written, so they are the counts of the rows in the files. A lineage
that stopped at a failure never reached its later rounds: those rounds count it as not reached,
not as done.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..types.records import Usage

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Lineage


@dataclass
class RoundCounts:
    kept: int = 0
    eliminated: int = 0
    failed: int = 0
    not_reached: int = 0
    """Lineages that stopped at an earlier round's failure and so never reached this one."""

    def as_dict(self) -> dict[str, int]:
        return {"kept": self.kept, "eliminated": self.eliminated, "failed": self.failed, "not_reached": self.not_reached}


@dataclass
class Tally:
    seeds: int = 0
    """Seeds selected for the build."""
    rounds: int = 0
    lineages: int = 0
    """Lineages written (all of them once a build completes), those with a failed sample too."""
    lineages_finished: int = 0
    """Lineages written without a failed sample: the seeds whose work is done."""
    per_round: dict[int, RoundCounts] = field(default_factory=lambda: defaultdict(RoundCounts))
    per_operation: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_filter: Counter[str] = field(default_factory=Counter)
    failures_per_kind: Counter[str] = field(default_factory=Counter)
    tokens_per_stage: dict[str, Usage] = field(default_factory=dict)

    def add(self, lineage: Lineage) -> None:
        self.lineages += 1
        self.lineages_finished += not lineage.failed
        for sample in lineage.kept:
            self.per_round[sample.round].kept += 1
            self.per_operation[sample.operation]["kept"] += 1
            self._usage(sample.usage)
        for sample, elimination in lineage.eliminated:
            self.per_round[sample.round].eliminated += 1
            self.per_operation[sample.operation]["eliminated"] += 1
            self.per_filter[elimination.filter] += 1
            self._usage(sample.usage)
        for failure in lineage.failed:
            self.per_round[failure.round].failed += 1
            self.per_operation[failure.operation]["failed"] += 1
            self.failures_per_kind[failure.kind] += 1
            self._usage(failure.usage)
        if lineage.failed:
            for later in range(max(f.round for f in lineage.failed) + 1, self.rounds + 1):
                self.per_round[later].not_reached += 1

    def absorb(self, other: Tally) -> None:
        """Add the counts of another pass over other seeds (a shard's); seeds and rounds stay."""
        self.lineages += other.lineages
        self.lineages_finished += other.lineages_finished
        for number, counts in other.per_round.items():
            mine = self.per_round[number]
            mine.kept += counts.kept
            mine.eliminated += counts.eliminated
            mine.failed += counts.failed
            mine.not_reached += counts.not_reached
        for operation, counter in other.per_operation.items():
            self.per_operation[operation].update(counter)
        self.per_filter.update(other.per_filter)
        self.failures_per_kind.update(other.failures_per_kind)
        self._usage(other.tokens_per_stage)

    def _usage(self, usage: Any) -> None:
        for stage, used in usage.items():
            self.tokens_per_stage[stage] = self.tokens_per_stage.get(stage, Usage()) + used

    @property
    def kept(self) -> int:
        return sum(counts.kept for counts in self.per_round.values())

    @property
    def eliminated(self) -> int:
        return sum(counts.eliminated for counts in self.per_round.values())

    @property
    def failed(self) -> int:
        return sum(counts.failed for counts in self.per_round.values())

    @property
    def total_tokens(self) -> Usage:
        total = Usage()
        for used in self.tokens_per_stage.values():
            total = total + used
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "seeds": self.seeds,
            "lineages_written": self.lineages,
            "lineages_finished": self.lineages_finished,
            "rounds": self.rounds,
            "kept": self.kept,
            "eliminated": self.eliminated,
            "failed": self.failed,
            "per_round": {str(n): self.per_round[n].as_dict() for n in range(self.rounds + 1)},
            "per_operation": {name: dict(sorted(c.items())) for name, c in sorted(self.per_operation.items())},
            "eliminations_per_filter": dict(sorted(self.per_filter.items())),
            "failures_per_kind": dict(sorted(self.failures_per_kind.items())),
            "tokens_per_stage": {stage: used.as_dict() for stage, used in sorted(self.tokens_per_stage.items())},
            "tokens_total": self.total_tokens.as_dict(),
        }
