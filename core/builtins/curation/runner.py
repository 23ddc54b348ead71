"""Applying a list of curation rules to a dataset's rows, in order, with every row accounted for.

The pipeline streams the rows once: row-by-row rules see them in batches as they are read, and
only the fields that whole-dataset rules read are kept in memory. Then the whole-dataset rules
run in their turn over the rows no earlier rule removed. The result maps each removed row's
position to the rule that removed it first (in the order of the list) and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ...types.curation import Candidate, CurationRule, Progress, Removal, Verdict, no_progress

BATCH = 2048


@dataclass(frozen=True)
class Decision:
    rule: str
    reason: str
    of: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "reason": self.reason, "of": self.of}


def _project(row: Mapping[str, Any], reads: Sequence[str]) -> dict[str, Any]:
    values = {name: row.get(name) for name in reads}
    values["id"] = row.get("id")
    return values


def _as_removal(verdict: Verdict, rule: CurationRule) -> Removal | None:
    if verdict is None:
        return None
    if isinstance(verdict, str):
        return Removal(verdict)
    if isinstance(verdict, Removal):
        return verdict
    raise TypeError(f"curation rule {rule.name!r} returned {verdict!r}; expected a Removal, a reason or None")


class RuleRunner:
    """Feed it every row with ``observe``, then ``finish`` gives the removals."""

    def __init__(self, rules: Sequence[CurationRule]) -> None:
        names = [rule.name for rule in rules]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"curation rules with the same name: {', '.join(duplicates)}")
        self.rules = list(rules)
        self.kept_fields = sorted({name for rule in rules if rule.mode == "dataset" for name in rule.reads})
        self.candidates: list[Candidate] = []
        # position -> (index of the rule in the list, removal): the first rule wins
        self.flags: dict[int, tuple[int, Removal]] = {}
        self._batches: dict[int, list[tuple[int, dict[str, Any]]]] = {
            index: [] for index, rule in enumerate(self.rules) if rule.mode == "row"
        }

    def observe(self, position: int, row: Mapping[str, Any]) -> None:
        domain = row.get("domain")
        for index, batch in self._batches.items():
            rule = self.rules[index]
            if rule.applies_to(domain):
                batch.append((position, _project(row, rule.reads)))
                if len(batch) >= BATCH:
                    self._flush(index)
        if self.kept_fields:
            values = {name: row.get(name) for name in self.kept_fields}
        else:
            values = {}
        round_ = row.get("round")
        self.candidates.append(Candidate(position, row.get("id"), round_, domain, values))

    def _flush(self, index: int) -> None:
        batch = self._batches[index]
        if not batch:
            return
        rule = self.rules[index]
        verdicts = rule.check_rows([values for _, values in batch])
        if len(verdicts) != len(batch):
            raise RuntimeError(f"curation rule {rule.name!r} returned {len(verdicts)} verdicts for {len(batch)} rows")
        for (position, _), verdict in zip(batch, verdicts):
            removal = _as_removal(verdict, rule)
            if removal is not None:
                self._flag(position, index, removal)
        batch.clear()

    def _flag(self, position: int, index: int, removal: Removal) -> None:
        current = self.flags.get(position)
        if current is None or index < current[0]:
            self.flags[position] = (index, removal)

    def finish(self, progress: Progress = no_progress) -> dict[int, Decision]:
        for index in self._batches:
            self._flush(index)
        for index, rule in enumerate(self.rules):
            if rule.mode != "dataset":
                continue
            present = [
                candidate
                for candidate in self.candidates
                if rule.applies_to(candidate.domain) and self._present_for(candidate.position, index)
            ]
            for position, removal in rule.check_dataset(present, progress):
                if not isinstance(removal, Removal):
                    raise TypeError(f"curation rule {rule.name!r} yielded {removal!r}; expected a Removal")
                self._flag(position, index, removal)
        return {
            position: Decision(self.rules[index].name, removal.reason, removal.of)
            for position, (index, removal) in sorted(self.flags.items())
        }

    def _present_for(self, position: int, rule_index: int) -> bool:
        flag = self.flags.get(position)
        return flag is None or flag[0] > rule_index
