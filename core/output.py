"""The files of a build folder, written as lineages finish (in seed order).

- ``dataset.jsonl``: every kept sample of every round (seeds are round 0);
- ``eliminated.jsonl``: every eliminated candidate, with ``elimination: {filter, reason}``;
- ``failed.jsonl``: every sample whose work could not be finished, with the error.

A rerun rewrites the three files from the cache, so they always describe one complete pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .records import Elimination, Sample

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Failure, Lineage

DATASET = "dataset.jsonl"
ELIMINATED = "eliminated.jsonl"
FAILED = "failed.jsonl"
MANIFEST = "manifest.json"
CACHE = "cache.sqlite"


def sample_row(sample: Sample) -> dict[str, Any]:
    return {
        "id": sample.id,
        "seed_id": sample.seed_id,
        "parent_id": sample.parent_id,
        "round": sample.round,
        "operation": sample.operation,
        "domain": sample.domain,
        "instruction": sample.instruction,
        "response": sample.response,
        "fields": dict(sample.fields),
        "scores": dict(sample.scores),
        "checks": dict(sample.checks),
        "usage": {stage: used.as_dict() for stage, used in sorted(sample.usage.items())},
    }


def eliminated_row(sample: Sample, elimination: Elimination) -> dict[str, Any]:
    row = sample_row(sample)
    row["elimination"] = {"filter": elimination.filter, "reason": elimination.reason}
    return row


def failed_row(failure: Failure) -> dict[str, Any]:
    return {
        "id": failure.sample_id,
        "seed_id": failure.seed_id,
        "parent_id": failure.parent_id,
        "round": failure.round,
        "operation": failure.operation,
        "stage": failure.stage,
        "instruction": failure.instruction,
        "error": failure.error,
        "usage": {stage: used.as_dict() for stage, used in sorted(failure.usage.items())},
    }


def dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(", ", ": "), default=str)


class Output:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, IO[str]] = {
            name: (folder / name).open("w", encoding="utf-8") for name in (DATASET, ELIMINATED, FAILED)
        }

    def write_lineage(self, lineage: Lineage) -> None:
        dataset, eliminated, failed = (self._files[name] for name in (DATASET, ELIMINATED, FAILED))
        for sample in lineage.kept:
            dataset.write(dumps(sample_row(sample)) + "\n")
        for sample, elimination in lineage.eliminated:
            eliminated.write(dumps(eliminated_row(sample, elimination)) + "\n")
        for failure in lineage.failed:
            failed.write(dumps(failed_row(failure)) + "\n")

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
