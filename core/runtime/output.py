"""The files of a build folder, written as lineages finish (in seed order), and counted as written.

- ``dataset.jsonl``: every kept sample of every round (seeds are round 0);
- ``eliminated.jsonl``: every eliminated candidate, with ``elimination: {filter, reason}``;
- ``failed.jsonl``: every sample whose work could not be finished, with the error.

A rerun rewrites the three files from the cache, so they always describe one pass. The counts a
build prints and keeps in its manifest are those of the rows written here (``Tally``), so they
cannot disagree with the files, whatever stopped the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Mapping

from ..types.records import Elimination, Sample
from .engine import Lineage
from .failures import Failure
from .tally import Tally

DATASET = "dataset.jsonl"
ELIMINATED = "eliminated.jsonl"
FAILED = "failed.jsonl"
MANIFEST = "manifest.json"
CACHE = "cache.sqlite"


def sample_row(sample: Sample, provenance: Mapping[str, Any]) -> dict[str, Any]:
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
        "provenance": {**provenance, "response": sample.response_source},
    }


def eliminated_row(sample: Sample, elimination: Elimination, provenance: Mapping[str, Any]) -> dict[str, Any]:
    row = sample_row(sample, provenance)
    row["elimination"] = {"filter": elimination.filter, "reason": elimination.reason}
    return row


def failed_row(failure: Failure) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": failure.sample_id,
        "seed_id": failure.seed_id,
        "parent_id": failure.parent_id,
        "round": failure.round,
        "operation": failure.operation,
        "stage": failure.stage,
        "kind": failure.kind,
        "where": failure.where,
        "instruction": failure.instruction,
        "error": failure.error,
        "usage": {stage: used.as_dict() for stage, used in sorted(failure.usage.items())},
    }
    if failure.traceback:
        row["traceback"] = failure.traceback
    return row


def dumps(row: Mapping[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(", ", ": "), default=str)


class Output:
    """The three row files of a build, open for one pass."""

    def __init__(self, folder: Path, provenance: Mapping[str, Any], tally: Tally) -> None:
        self.folder = folder
        self.provenance = dict(provenance)
        self.tally = tally
        self._files: dict[str, IO[str]] = {}
        try:
            for name in (DATASET, ELIMINATED, FAILED):
                self._files[name] = (folder / name).open("w", encoding="utf-8")
        except BaseException:
            self.close()
            raise

    def write_lineage(self, lineage: Lineage) -> None:
        dataset, eliminated, failed = (self._files[name] for name in (DATASET, ELIMINATED, FAILED))
        for sample in lineage.kept:
            dataset.write(dumps(sample_row(sample, self.provenance)) + "\n")
        for sample, elimination in lineage.eliminated:
            eliminated.write(dumps(eliminated_row(sample, elimination, self.provenance)) + "\n")
        for failure in lineage.failed:
            failed.write(dumps(failed_row(failure)) + "\n")
        self.tally.add(lineage)

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
