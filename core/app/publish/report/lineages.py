"""The lineages the page's browser holds: a bounded, reproducible sample of seeds, each with every
candidate of its evolution tree (kept, eliminated and failed), and the word-level change from each
candidate's parent.

The sample is the ``limit`` seeds with the smallest hash of their id: it is uniform over the
seeds, the same for the same folder whatever the order rows are read in, and it is chosen while
the files stream past, holding at most ``limit`` lineages in memory. The charts do not use it:
they cover every row.
"""

from __future__ import annotations

import difflib
import hashlib
import heapq
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .folder import ELIMINATED_KIND, FAILED_KIND, KEPT, RowKind

DEFAULT_LINEAGES = 100
"""About 4 MB of lineages when a real model writes answers of 2,000 tokens (some 40 KB per
lineage of 4 rounds with a few eliminated candidates); the whole page then stays under 10 MB."""

DiffSegment = tuple[str, str]
"""``("=", text)`` unchanged, ``("+", text)`` added, ``("-", text)`` removed."""

_TOKENS = re.compile(r"\w+|[^\w\s]+|\s+")


def word_diff(before: str, after: str) -> list[DiffSegment]:
    """The change from ``before`` to ``after`` word by word (punctuation as its own token, so a
    word that gains a comma is not shown as replaced; whitespace kept as it is)."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    segments: list[DiffSegment] = []

    def add(tag: str, tokens: list[str]) -> None:
        text = "".join(tokens)
        if not text:
            return
        if segments and segments[-1][0] == tag:
            segments[-1] = (tag, segments[-1][1] + text)
        else:
            segments.append((tag, text))

    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if tag == "equal":
            add("=", new[new_start:new_end])
        else:
            add("-", old[old_start:old_end])
            add("+", new[new_start:new_end])
    return segments


@dataclass(frozen=True)
class LineageNode:
    """One candidate of a seed's tree, as the browser shows it."""

    id: str
    parent_id: str | None
    round: int
    operation: str
    status: RowKind
    instruction: str | None
    response: str | None = None
    diff: tuple[DiffSegment, ...] | None = None
    """The change from the parent's instruction; None for a root, or without an instruction."""
    elimination: Mapping[str, str] | None = None
    failure: Mapping[str, str] | None = None
    scores: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "parent_id": self.parent_id,
            "round": self.round,
            "operation": self.operation,
            "status": self.status,
            "instruction": self.instruction,
        }
        if self.response is not None:
            data["response"] = self.response
        if self.diff is not None:
            data["diff"] = [list(segment) for segment in self.diff]
        if self.elimination is not None:
            data["elimination"] = dict(self.elimination)
        if self.failure is not None:
            data["failure"] = dict(self.failure)
        if self.scores:
            data["scores"] = _json_safe(dict(self.scores))
        if self.checks:
            data["checks"] = _json_safe(dict(self.checks))
        return data


def _json_safe(value: Any) -> Any:
    """NaN and infinities (which JSON cannot hold) as the strings Python prints for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


@dataclass(frozen=True)
class Lineage:
    seed_id: str
    nodes: tuple[LineageNode, ...]

    @property
    def seed_instruction(self) -> str:
        roots = [node.instruction for node in self.nodes if node.round == 0 and node.instruction is not None]
        return roots[0] if roots else ""

    def count(self, status: RowKind) -> int:
        return sum(1 for node in self.nodes if node.status == status)

    def as_json(self) -> dict[str, Any]:
        return {
            "seed_id": self.seed_id,
            "instruction": self.seed_instruction,
            "kept": self.count(KEPT),
            "eliminated": self.count(ELIMINATED_KIND),
            "failed": self.count(FAILED_KIND),
            "nodes": [node.as_json() for node in self.nodes],
        }


def _key(seed_id: str) -> int:
    # 128 bits: two seeds of one build sharing a key is not a case worth code.
    return int.from_bytes(hashlib.blake2b(seed_id.encode("utf-8"), digest_size=16).digest(), "big")


class LineageSampler:
    """Collects the rows of the ``limit`` seeds with the smallest keys, as rows stream past.

    A seed seen for the first time joins when the sample has room or its key is below the
    largest key held (whose seed then leaves). The largest key held only ever decreases, so a
    seed that left never comes back, and a seed in the final sample was held from its first row.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._heap: list[tuple[int, str]] = []  # (-key, seed id): the largest key on top
        self._rows: dict[str, list[tuple[RowKind, Mapping[str, Any]]]] = {}
        self._order: dict[str, int] = {}

    def offer(self, kind: RowKind, row: Mapping[str, Any]) -> None:
        seed_id = row["seed_id"]
        held = self._rows.get(seed_id)
        if held is not None:
            held.append((kind, row))
            return
        if self.limit <= 0 or seed_id in self._order:  # seen before and not held: it left
            return
        self._order[seed_id] = len(self._order)
        key = _key(seed_id)
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, (-key, seed_id))
        elif key < -self._heap[0][0]:
            _, gone = heapq.heapreplace(self._heap, (-key, seed_id))
            del self._rows[gone]
        else:
            return
        self._rows[seed_id] = [(kind, row)]

    def lineages(self) -> list[Lineage]:
        """The sampled lineages, in the order their seeds first appeared (seed order)."""
        ordered = sorted(self._rows, key=self._order.__getitem__)
        return [build_lineage(seed_id, self._rows[seed_id]) for seed_id in ordered]


def build_lineage(seed_id: str, rows: Iterable[tuple[RowKind, Mapping[str, Any]]]) -> Lineage:
    rows = list(rows)
    instruction_of = {row["id"]: row["instruction"] for kind, row in rows if kind == KEPT}
    nodes = []
    for kind, row in rows:
        parent_instruction = instruction_of.get(row["parent_id"]) if row["parent_id"] else None
        instruction = row.get("instruction")
        diff = None
        if parent_instruction is not None and instruction is not None:
            diff = tuple(word_diff(parent_instruction, instruction))
        nodes.append(
            LineageNode(
                id=row["id"],
                parent_id=row["parent_id"],
                round=row["round"],
                operation=row["operation"],
                status=kind,
                instruction=instruction,
                response=row.get("response"),
                diff=diff,
                elimination=row.get("elimination") if kind == ELIMINATED_KIND else None,
                failure={"stage": row["stage"], "error": row["error"]} if kind == FAILED_KIND else None,
                scores=row.get("scores") or {},
                checks=row.get("checks") or {},
            )
        )
    nodes.sort(key=lambda node: (node.round, ("kept", "eliminated", "failed").index(node.status), node.id))
    return Lineage(seed_id, tuple(nodes))
