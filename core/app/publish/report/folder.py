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

from ....runtime.output import DATASET, ELIMINATED, FAILED, MANIFEST
from ....runtime.rows import read_rows
from ....types.errors import EvolError

RowKind = Literal["kept", "eliminated", "failed"]
KEPT: RowKind = "kept"
ELIMINATED_KIND: RowKind = "eliminated"
FAILED_KIND: RowKind = "failed"
ALL_KINDS: tuple[RowKind, ...] = (KEPT, ELIMINATED_KIND, FAILED_KIND)

CURATED = "curated"
CURATION = "curation.json"
REPORT = "report.html"
CARD = "README.md"

FILE_OF_KIND: dict[RowKind, str] = {KEPT: DATASET, ELIMINATED_KIND: ELIMINATED, FAILED_KIND: FAILED}


class FolderError(EvolError):
    """A build folder's file that cannot be read as the build writes it."""


@dataclass(frozen=True)
class BuildFolder:
    """Where a build's files are, and how to read them."""

    path: Path

    def __post_init__(self) -> None:
        if not (self.path / DATASET).is_file():
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
        """Every row of the given kinds (all when none is given), file by file, in file order."""
        for kind in kinds or ALL_KINDS:
            path = self.path / FILE_OF_KIND[kind]
            if not path.is_file():
                if kind == KEPT:
                    raise FolderError(f"{path}: missing")
                continue  # an older or partial folder: no eliminated or failed rows
            for row in read_jsonl(path, kind):
                yield kind, row


def read_jsonl(path: Path, kind: RowKind) -> Iterator[dict[str, Any]]:
    for number, row in read_rows(path):
        problem = row_problem(row, kind)
        if problem is not None:
            raise FolderError(f"{path}:{number}: {problem}")
        yield row


def row_problem(row: Any, kind: RowKind) -> str | None:
    """What makes a row unusable for the report, naming the field; None when it is usable."""
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    for name in ("id", "seed_id", "operation"):
        if not isinstance(row.get(name), str):
            return _field(name, "a string", row.get(name))
    if "parent_id" not in row or not (row["parent_id"] is None or isinstance(row["parent_id"], str)):
        return _field("parent_id", "a string or null", row.get("parent_id"))
    round_ = row.get("round")
    if not isinstance(round_, int) or isinstance(round_, bool) or round_ < 0:
        return _field("round", "an integer >= 0", round_)
    instruction = row.get("instruction")
    if kind == FAILED_KIND:
        if not (instruction is None or isinstance(instruction, str)):
            return _field("instruction", "a string or null", instruction)
        for name in ("stage", "error"):
            if not isinstance(row.get(name), str):
                return _field(name, "a string", row.get(name))
    else:
        if not isinstance(instruction, str):
            return _field("instruction", "a string", instruction)
        if not (row.get("response") is None or isinstance(row.get("response"), str)):
            return _field("response", "a string or null", row.get("response"))
        for name in ("scores", "checks"):
            if not isinstance(row.get(name, {}), dict):
                return _field(name, "an object", row.get(name))
        for name, value in (row.get("scores") or {}).items():
            if not (value is None or _is_number(value)):
                return _field(f"scores.{name}", "a number or null", value)
    if kind == ELIMINATED_KIND:
        elimination = row.get("elimination")
        if not isinstance(elimination, dict):
            return _field("elimination", "an object {filter, reason}", elimination)
        for name in ("filter", "reason"):
            if not isinstance(elimination.get(name), str):
                return _field(f"elimination.{name}", "a string", elimination.get(name))
    usage = row.get("usage", {})
    if not isinstance(usage, dict):
        return _field("usage", "an object of stages", usage)
    for stage, used in usage.items():
        if not isinstance(used, dict):
            return _field(f"usage.{stage}", "an object", used)
        for name in ("prompt_tokens", "completion_tokens", "requests"):
            value = used.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                return _field(f"usage.{stage}.{name}", "an integer >= 0", value)
    return None


def _field(name: str, expected: str, got: Any) -> str:
    return f"field {name!r}: expected {expected}, got {json.dumps(got)[:80]}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def nested(mapping: Mapping[str, Any] | None, dotted: str) -> Any:
    """``nested(row, "checks.execution.verdict")``: the value, or None when any part is missing."""
    value: Any = mapping
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value
