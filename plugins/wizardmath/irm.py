"""Instruction-reward ranking data: pairs of evolutions of one parent, the better one first.

WizardMath trains its Instruction Reward Model from rankings of several evolved versions of the
same instruction. A build with ``--irm-candidates K`` evolves each parent K times per round and
scores every candidate (``checks.candidates``, written by the engine, says which score ranked
them and which candidate continued the lineage); the chosen candidate is in dataset.jsonl, the
others in eliminated.jsonl. ``evol export OUT --format irm`` turns each round's candidates into
``irm.jsonl``, TRL's explicit-prompt preference layout (what ``RewardTrainer`` reads)::

    {"prompt": <parent instruction>, "chosen": <better evolution>, "rejected": <worse evolution>,
     "score_chosen": 0.9, "score_rejected": 0.6, "score": "instruction_reward",
     "parent_id": ..., "seed_id": ..., "round": 1, "chosen_id": ..., "rejected_id": ...,
     "chosen_operation": ..., "rejected_operation": ...}

- one row per pair of candidates of the same parent and round whose scores differ, the higher
  score as ``chosen``: K candidates with distinct scores give K(K-1)/2 rows;
- a candidate without the score (eliminated before it was scored, or a judge reply that could
  not be read: null) is in no pair; equal scores make no pair;
- candidates with the same text (up to spacing) are one candidate, never a pair: the first of
  them stands for the text (the engine marks the others ``duplicate_of``; a folder built before
  it did is deduplicated here the same way);
- candidates eliminated after they were scored (by ``--min-reward``, or ``outranked``) are in
  pairs: the score ranks their instructions whatever happened to their answers;
- the prompt is the parent's instruction, read from its row: a round whose parent row the
  export filters left out is skipped, and the count is logged.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from evolinstruct import Exporter

log = logging.getLogger("wizardmath.irm")

GroupKey = tuple[str, int]  # (parent id, round)


@dataclass(frozen=True)
class RankedCandidate:
    """What a pair needs of one candidate row."""

    id: str
    seed_id: str
    instruction: str
    operation: str
    score: float
    by: str


def candidate_of(row: Mapping[str, Any]) -> tuple[GroupKey, RankedCandidate] | None:
    """The row as a ranked candidate, or None when it is not one or has no usable score."""
    info = (row.get("checks") or {}).get("candidates")
    if not isinstance(info, Mapping) or not isinstance(info.get("by"), str):
        return None
    if info.get("duplicate_of") is not None:
        return None  # its text is an earlier candidate's: one candidate, one score
    parent_id, round_ = row.get("parent_id"), row.get("round")
    if not isinstance(parent_id, str) or not isinstance(round_, int):
        return None
    by = info["by"]
    score = (row.get("scores") or {}).get(by)
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        return None  # null: the judge gave no readable score, and a guess is no ranking
    return (parent_id, round_), RankedCandidate(
        id=str(row.get("id")), seed_id=str(row.get("seed_id")), instruction=str(row.get("instruction") or ""),
        operation=str(row.get("operation") or ""), score=float(score), by=by,
    )


def irm_rows(rows: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """The pairs, round by round in the order of the seeds, then by the chosen candidate's
    score. ``rows`` is iterated twice: once for the candidates, once for their parents' text."""
    groups: dict[GroupKey, list[RankedCandidate]] = {}
    texts: dict[GroupKey, set[str]] = {}
    seed_order: dict[str, int] = {}
    for row in rows:
        seed_order.setdefault(str(row.get("seed_id")), len(seed_order))
        found = candidate_of(row)
        if found is not None:
            key, candidate = found
            text = " ".join(candidate.instruction.split())
            if text in texts.setdefault(key, set()):
                continue
            texts[key].add(text)
            groups.setdefault(key, []).append(candidate)
    paired = {key: members for key, members in groups.items() if len({c.score for c in members}) > 1}
    parents: dict[str, str] = {}
    wanted = {parent_id for parent_id, _ in paired}
    for row in rows:
        if row.get("id") in wanted and "elimination" not in row:
            parents[str(row["id"])] = str(row.get("instruction") or "")
    missing = sum(1 for parent_id, _ in paired if parent_id not in parents)
    if missing:
        log.warning("irm: %d rounds left out: their parent row is not among the exported rows (export "
                    "filters?), and the parent's instruction is the pairs' prompt", missing)

    def order(key: GroupKey) -> tuple[int, int, str]:
        members = paired[key]
        return (seed_order.get(members[0].seed_id, len(seed_order)), key[1], key[0])

    for key in sorted(paired, key=order):
        parent_id, round_ = key
        prompt = parents.get(parent_id)
        if prompt is None:
            continue
        ranked = sorted(paired[key], key=lambda c: -c.score)  # stable: ties keep the rows' order
        for high_index, high in enumerate(ranked):
            for low in ranked[high_index + 1:]:
                if low.score == high.score:
                    continue
                yield {
                    "prompt": prompt,
                    "chosen": high.instruction,
                    "rejected": low.instruction,
                    "score_chosen": high.score,
                    "score_rejected": low.score,
                    "score": high.by,
                    "parent_id": parent_id,
                    "seed_id": high.seed_id,
                    "round": round_,
                    "chosen_id": high.id,
                    "rejected_id": low.id,
                    "chosen_operation": high.operation,
                    "rejected_operation": low.operation,
                }


def write_irm(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
    written = 0
    with output.open("w", encoding="utf-8") as handle:
        for record in irm_rows(rows):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    if not written:
        log.warning("irm: no pair of candidates with different scores; rankings come from a build with "
                    "--irm-candidates 2 or more")
    return written


IRM = Exporter(
    "irm",
    write_irm,
    "irm.jsonl",
    "Instruction-reward ranking pairs of a build with --irm-candidates K: prompt (the parent "
    "problem), chosen and rejected (two of its evolutions, the higher score first), score_chosen, "
    "score_rejected (TRL's preference layout, explicit prompt)",
    include_eliminated=True,
    gives_records_from=("the candidates of one round with different scores, which an evol build --domain math "
                        "--irm-candidates 2 or more writes"),
)
