"""A build folder's files, read row by row and checked as they are read.

The report and the dataset card say only what these files say, so a row that cannot be read is an
error naming the file, the line and the field, never a row quietly skipped: a skipped row would
make every count on the page untrue. The files are read again for each pass (the report's
aggregates, a plugin's section) rather than held in memory, so a build of any size fits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping

from ....runtime.output import (
    CARD, CURATED, CURATION_REPORT as CURATION, DATASET, ELIMINATED, FAILED, MANIFEST, REPORT, OutputFolder,
)
from ....runtime.rows import BUILD_REQUIRES, RowFileError
from ...build.manifest import RUNNING, read_status
from ....types.errors import EvolError

RowKind = Literal["kept", "eliminated", "failed"]
KEPT: RowKind = "kept"
ELIMINATED_KIND: RowKind = "eliminated"
FAILED_KIND: RowKind = "failed"
ALL_KINDS: tuple[RowKind, ...] = (KEPT, ELIMINATED_KIND, FAILED_KIND)

FILE_OF_KIND: dict[RowKind, str] = {KEPT: DATASET, ELIMINATED_KIND: ELIMINATED, FAILED_KIND: FAILED}
__all__ = ["CARD", "CURATED", "CURATION", "REPORT", "BuildFolder", "FolderError", "RowKind", "nested"]


class FolderError(EvolError):
    """A build folder's file that cannot be read as the build writes it."""


@dataclass(frozen=True)
class BuildFolder:
    """Where a build's files are, and how to read them."""

    path: Path

    def __post_init__(self) -> None:
        if not (self.path / DATASET).is_file():
            try:
                standing = read_status(self.manifest())
            except FolderError:
                standing = read_status(None)
            if standing.status in (RUNNING, "interrupted"):
                # A first build writes its rows under temporary names until it ends.
                raise FolderError(
                    f"{self.path / DATASET}: no dataset yet: the folder's first build is {standing.status}"
                    + (f" ({standing.reason})" if standing.reason else "")
                    + (", and its rows are put in place when it ends" if standing.status == RUNNING else "")
                )
            raise FolderError(f"{self.path / DATASET}: no dataset here; run evol build with --out {self.path} first")

    def file(self, name: str) -> Path:
        return self.path / name

    def manifest(self) -> dict[str, Any] | None:
        """The manifest, or None when the folder has none (it is then "unknown" on the page)."""
        path = self.path / MANIFEST
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise FolderError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
        except UnicodeDecodeError as error:
            raise FolderError(f"{path}: not UTF-8 ({error.reason} at byte {error.start + 1})") from None
        if not isinstance(data, dict):
            raise FolderError(f"{path}: expected a JSON object, got {type(data).__name__}")
        return data

    def rows(self, *kinds: RowKind) -> Iterator[tuple[RowKind, dict[str, Any]]]:
        """Every row of the given kinds (all when none is given), file by file, in file order,
        each checked against the row declaration (what a build writes: ``BUILD_REQUIRES``)."""
        folder = OutputFolder(self.path)
        for kind in kinds or ALL_KINDS:
            path = self.path / FILE_OF_KIND[kind]
            if not path.is_file():
                if kind == KEPT:
                    raise FolderError(f"{path}: missing")
                continue  # an older or partial folder: no eliminated or failed rows
            try:
                for _number, row in folder.rows(FILE_OF_KIND[kind], require=_needs(kind)):
                    yield kind, row
            except RowFileError as error:
                raise FolderError(str(error)) from None


def _needs(kind: RowKind) -> tuple[str, ...]:
    """What the report reads of every row: the lineage (ids, round, operation), and for failed
    rows what failed and why."""
    if kind == FAILED_KIND:
        return (*BUILD_REQUIRES, "stage", "error")
    if kind == ELIMINATED_KIND:
        return (*BUILD_REQUIRES, "elimination")
    return BUILD_REQUIRES


def nested(mapping: Mapping[str, Any] | None, dotted: str) -> Any:
    """``nested(row, "checks.execution.verdict")``: the value, or None when any part is missing."""
    value: Any = mapping
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
