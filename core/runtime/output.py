"""The build folder: every file name it holds, which of them are the build's own, and the one way
its rows are written and read back.

- ``dataset.jsonl``: every kept sample of every round (seeds are round 0);
- ``eliminated.jsonl``: every eliminated candidate, with ``elimination: {filter, reason}``;
- ``failed.jsonl``: every sample whose work could not be finished, with the error.

The rows are declared in rows.py; they are written here as lineages finish (in seed order), and
counted as written. A rerun rewrites the three files from the cache, so they always describe one
pass: each is written under a temporary name and renamed over the old one when the pass ends
(``replaced_when_done``, which every file the tool writes goes through). The counts a build
prints and keeps in its manifest are those of the rows written here (``Tally``), so they cannot
disagree with the files, whatever stopped the run.

``OutputFolder.own`` says whether a path is one of the folder's own files (the build's, what
``evol curate``, ``evol export`` and ``evol report`` wrote into it), through a symlink, a ``..`` or
a hard link too: no command may read its input from one (a seeds file) or write its output over
one (an ``--output``), since opening it for writing would already have emptied it.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Collection, Iterator, Mapping

from ..types.records import Elimination, Sample
from .engine import Lineage
from .failures import Failure
from .rows import ELIMINATED_ROW, FAILED_ROW, SAMPLE_ROW, RowSchema, read_rows
from .tally import Tally

DATASET = "dataset.jsonl"
ELIMINATED = "eliminated.jsonl"
FAILED = "failed.jsonl"
MANIFEST = "manifest.json"
CACHE = "cache.sqlite"
RUN_STATE = "run.json"
"""The settings the folder's dataset was built with, which a rerun must match to resume."""
LOCK = ".lock"
BATCHES = "batches.json"
"""The Batch API batches a build sent and has not collected yet (``runtime.batches``): a resumed
build collects them instead of paying for their requests again."""
EXPORTS_RECORD = "exports.json"
"""Which dataset each export written into the folder was made from."""
REPORT = "report.html"
CARD = "README.md"
CURATED = "curated"
"""The folder ``evol curate`` writes, holding the files below."""
CURATED_DATASET = "dataset.jsonl"
CURATED_REMOVED = "removed.jsonl"
CURATION_REPORT = "curation.json"
CURATED_DIFFICULTY = "difficulty.jsonl"
SCRATCH = ".ray"
"""Where the shards of a cluster build work (``shard-J-of-S/``)."""
TEMPORARY_SUFFIX = ".tmp"
"""What a file is called while it is written (``replaced_when_done``)."""

ROW_FILES: Mapping[str, RowSchema] = {DATASET: SAMPLE_ROW, ELIMINATED: ELIMINATED_ROW, FAILED: FAILED_ROW}
"""Each row file of a build and the declaration of its rows."""

OWN_FILES: Mapping[str, str] = {
    DATASET: "the build's dataset",
    ELIMINATED: "the build's eliminated candidates",
    FAILED: "the build's failed samples",
    MANIFEST: "the build's manifest",
    RUN_STATE: "the settings the build resumes with",
    CACHE: "the build's response cache",
    CACHE + "-wal": "the build's response cache (its write-ahead log)",
    CACHE + "-shm": "the build's response cache (its shared memory)",
    CACHE + "-journal": "the build's response cache (its journal)",
    LOCK: "the build's lock",
    BATCHES: "the build's batches in flight",
    EXPORTS_RECORD: "the record of which dataset each export was made from",
    REPORT: "the build's report page",
    CARD: "the dataset card",
}
"""The files at the top of a build folder that the tool writes, with what each is."""

OWN_FOLDERS: Mapping[str, str] = {
    CURATED: "written by evol curate from this build",
    SCRATCH: "where the shards of a cluster build of this folder work",
}


@dataclass(frozen=True)
class OutputFolder:
    """A build folder: where each of its files is, which paths are its own, and its rows."""

    path: Path

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def curated(self) -> Path:
        return self.path / CURATED

    def own(self, candidate: Path) -> str | None:
        """What ``candidate`` is when it is the folder itself or one of its own files (resolved:
        through symlinks and ``..``; by identity: a hard link); None when it is not."""
        home = self.path.resolve()
        target = candidate.resolve()
        if target == home:
            return "the build folder itself"
        names = {**OWN_FILES, **{name: f"an export of this build ({entry.get('format', 'unknown format')})"
                                  for name, entry in self.recorded_exports().items()}}
        for name, what in names.items():
            for variant in (name, name + TEMPORARY_SUFFIX):
                if same_file(target, home / variant):
                    return f"{what} ({variant})"
        for name, what in OWN_FOLDERS.items():
            inside = home / name
            if target == inside or inside in target.parents:
                return f"inside {inside}, {what}"
        return None

    def recorded_exports(self) -> dict[str, dict[str, Any]]:
        """The folder's export record (``exports.json``); empty when there is none or it cannot be
        read (every export is then of unknown origin, which the card says)."""
        try:
            data = json.loads((self.path / EXPORTS_RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {name: entry for name, entry in data.items() if isinstance(entry, dict)}

    def rows(self, name: str, require: Collection[str] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line, row) of the row file ``name`` (``DATASET``...), each checked against its
        declaration with the fields this reader needs (``require``); ``RowFileError`` names file,
        line and field of the first row that is not usable."""
        return read_rows(self.path / name, ROW_FILES[name], require)


def same_file(target: Path, protected: Path) -> bool:
    """Whether ``target`` (resolved) is ``protected``: the same path, or the same file through a
    link."""
    if target == protected.resolve():
        return True
    try:
        return target.exists() and protected.exists() and os.path.samefile(target, protected)
    except OSError:
        return False


def temporary_name(path: Path) -> Path:
    return path.with_name(path.name + TEMPORARY_SUFFIX)


@contextlib.contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; renamed over ``path`` when the block
    ends normally, removed when it raises: a reader never meets a half-written file, and a
    failed write leaves no file behind (nor loses the one that was there)."""
    temporary = temporary_name(path)
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)


def write_text(path: Path, text: str) -> None:
    """``path`` holds ``text``, written whole or not at all."""
    with replaced_when_done(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


ProvenanceOf = Callable[[Sample], Mapping[str, Any]]
"""What plugins add to one row's provenance (their ``ProvenanceEntry`` values)."""


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
        "provenance": {**provenance, "response": sample.response_source,
                       # A stage several models share: the one that served this sample.
                       **({"models": {**provenance.get("models", {}), **sample.models}} if sample.models else {})},
        # Only a seed with an Alpaca input has it: the end of its instruction, given back apart.
        **({"input": sample.input} if sample.input is not None else {}),
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
    """The three row files of a build, open for one pass. Each is written under its temporary
    name and renamed into place by ``close``: the files in place always hold a whole pass (the
    last one, or the one before when a pass is killed)."""

    def __init__(self, folder: Path, provenance: Mapping[str, Any], tally: Tally, extra: ProvenanceOf | None = None) -> None:
        self.folder = folder
        self.provenance = dict(provenance)
        self.extra = extra
        self.tally = tally
        self._files: dict[str, IO[str]] = {}
        try:
            for name in ROW_FILES:
                self._files[name] = temporary_name(folder / name).open("w", encoding="utf-8")
        except BaseException:
            for name, handle in self._files.items():  # nothing was written: the old files stay
                handle.close()
                temporary_name(folder / name).unlink(missing_ok=True)
            self._files.clear()
            raise

    def write_lineage(self, lineage: Lineage) -> None:
        dataset, eliminated, failed = (self._files[name] for name in ROW_FILES)
        for sample in lineage.kept:
            dataset.write(dumps(sample_row(sample, self.provenance_of(sample))) + "\n")
        for sample, elimination in lineage.eliminated:
            eliminated.write(dumps(eliminated_row(sample, elimination, self.provenance_of(sample))) + "\n")
        for failure in lineage.failed:
            failed.write(dumps(failed_row(failure)) + "\n")
        self.tally.add(lineage)

    def provenance_of(self, sample: Sample) -> Mapping[str, Any]:
        return self.provenance if self.extra is None else {**self.extra(sample), **self.provenance}

    def close(self) -> None:
        """Close the files and put them in place (what was written so far is the pass's)."""
        opened = list(self._files)
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        for name in opened:
            os.replace(temporary_name(self.folder / name), self.folder / name)
