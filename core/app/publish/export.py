"""``evol export``: a build's rows, through the filters every format shares, into one format.

The rows are read from the folder's files each time an exporter iterates them (an exporter may
pass over them twice, as the Parquet one does to unify its schema), so a million rows never sit
in memory at once. Each is checked against the row declaration as it is read, and the first pass
(which counts the rows the filters keep) also finds a row without a field the format needs
(``Exporter.needs``): the export then stops, naming file, line and field, before a file is
opened. The file is written under a temporary name and renamed when complete, so an export that
fails leaves no file, and the one an earlier export wrote stays as it was.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from ...runtime.output import DATASET, ELIMINATED, EXPORTS_RECORD, MANIFEST, OutputFolder, replaced_when_done, write_text
from ...runtime.rows import BUILD_REQUIRES
from ...types.errors import UsageError
from ...types.registrations import Exporter
from ..build.folder import check_output, file_digest
from ..build.manifest import read_status

log = logging.getLogger("evolinstruct.export")


@dataclass(frozen=True)
class ExportFilters:
    """What every format may keep: rows from a round on, with a verdict, with scores at least X."""

    min_round: int | None = None
    domain_verdict: str | None = None
    """Keep rows one of whose checks has this ``verdict`` (``checks.execution.verdict`` for code)."""
    min_scores: Mapping[str, float] | None = None
    """Keep rows whose ``scores[name]`` is at least the value; a missing or null score fails."""
    system: str | None = None

    def keeps(self, row: Mapping[str, Any]) -> bool:
        if self.min_round is not None and int(row.get("round", 0)) < self.min_round:
            return False
        if self.domain_verdict is not None:
            checks = row.get("checks") or {}
            verdicts = {check.get("verdict") for check in checks.values() if isinstance(check, Mapping)}
            if self.domain_verdict not in verdicts:
                return False
        for name, least in (self.min_scores or {}).items():
            value = (row.get("scores") or {}).get(name)
            if not isinstance(value, (int, float)) or value < least:
                return False
        return True


class ExportRows:
    """The rows an exporter receives; iterating reads the files again."""

    def __init__(self, folder: Path, filters: ExportFilters, *, include_eliminated: bool) -> None:
        self.folder = OutputFolder(folder)
        self.filters = filters
        self.files = [DATASET] + ([ELIMINATED] if include_eliminated else [])

    def numbered(self) -> Iterator[tuple[Path, int, dict[str, Any]]]:
        """(file, line, row) of every row the filters keep."""
        for name in self.files:
            if not self.folder.file(name).is_file():
                raise UsageError(f"{self.folder.file(name)}: no such file; run evol build with --out {self.folder.path} first")
            for number, row in self.folder.rows(name, require=BUILD_REQUIRES):
                if self.filters.keeps(row):
                    if self.filters.system:
                        row["system"] = self.filters.system
                    yield self.folder.file(name), number, row

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for _path, _number, row in self.numbered():
            yield row

    def check_filters(self) -> None:
        """``UsageError`` for a filter value no row of the files can match (a verdict or a score
        name that no row has, ``pass`` for ``PASS``), listing the values the rows do have: such
        a filter is a mistyped option, not a choice that happens to keep nothing."""
        wanted_verdict = self.filters.domain_verdict
        wanted_scores = set(self.filters.min_scores or {})
        if wanted_verdict is None and not wanted_scores:
            return
        verdicts: set[str] = set()
        scores: set[str] = set()
        for name in self.files:
            if not self.folder.file(name).is_file():
                continue
            for _number, row in self.folder.rows(name, require=BUILD_REQUIRES):
                for check in (row.get("checks") or {}).values():
                    if isinstance(check, Mapping) and isinstance(check.get("verdict"), str):
                        verdicts.add(check["verdict"])
                scores.update(str(key) for key in (row.get("scores") or {}))
        if wanted_verdict is not None and wanted_verdict not in verdicts:
            raise UsageError(
                f"--domain-verdict {wanted_verdict}: no row has a check with this verdict; the rows' verdicts: "
                f"{', '.join(sorted(verdicts)) or 'none (no check of this build gives a verdict)'}"
            )
        unknown = sorted(wanted_scores - scores)
        if unknown:
            raise UsageError(
                f"--min-score {', '.join(unknown)}: no row has such a score; the rows' scores: "
                f"{', '.join(sorted(scores)) or 'none'}"
            )

    def count(self, fmt: str, needs: tuple[str, ...]) -> dict[str, int]:
        """How many rows of each file the format receives; ``UsageError`` naming the first row
        that lacks a field the format needs (missing or null)."""
        kept = {name: 0 for name in self.files}
        for path, number, row in self.numbered():
            for name in needs:
                if row.get(name) is None:
                    lacking = "is missing" if name not in row else "is null"
                    raise UsageError(
                        f"{path}:{number}: field {name!r} {lacking}, and --format {fmt} needs {' and '.join(needs)} "
                        "in every row it writes; nothing was written (filter such rows out, e.g. with "
                        "--min-round, or choose another format)"
                    )
            kept[path.name] += 1
        return kept


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the file, the dataset rows given to the format (after the filters),
    the eliminated rows given to a format that reads them too, and the records the file holds
    (None when the format's writer does not say)."""

    path: Path
    rows: int
    records: int | None
    eliminated: int = 0

    def summary(self) -> str:
        given = f"{self.rows} dataset rows" + (f" and {self.eliminated} eliminated rows" if self.eliminated else "")
        if self.records is None:
            return f"wrote {self.path} (from {given})"
        if self.records == self.rows and not self.eliminated:
            return f"wrote {self.path} ({self.records} rows)"
        return f"wrote {self.path} ({self.records} records from {given})"


def export(
    exporters: Mapping[str, Exporter], folder: Path, fmt: str, output: Path | None, filters: ExportFilters
) -> Exported:
    """Write the folder's rows in format ``fmt``."""
    exporter = exporters.get(fmt)
    if exporter is None:
        raise UsageError(f"--format {fmt}: unknown export format; known: {', '.join(sorted(exporters))}")
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such build folder")
    if not (folder / DATASET).is_file():
        raise UsageError(f"{folder}: no dataset.jsonl here; run evol build with --out {folder} first")
    target = output or folder / exporter.default_filename
    # Checked before anything else is read or the file opened: opening it for writing empties it.
    # An export the folder records (this format's earlier file, say) may be written again.
    check_output(folder, target, replaces=tuple(OutputFolder(folder).recorded_exports()))
    _warn_if_unfinished(folder)
    if not any(True for _ in OutputFolder(folder).rows(DATASET, require=BUILD_REQUIRES)):
        raise UsageError(f"{folder / DATASET}: the dataset is empty: there is nothing to export")
    rows = ExportRows(folder, filters, include_eliminated=exporter.include_eliminated)
    rows.check_filters()
    per_file = rows.count(fmt, exporter.needs)
    kept = sum(per_file.values())
    if kept == 0:
        log.warning("no row passes the export filters: %s will be empty", fmt)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--output {target}: cannot create its folder ({error.strerror or error})") from None
    if target.is_dir():
        raise UsageError(f"--output {target}: is a folder; give a file name")
    with replaced_when_done(target) as temporary:
        records = exporter.write(rows, temporary)
        if not isinstance(records, int) or isinstance(records, bool):
            records = None  # a writer that does not count: say what is known
        elif records == 0 and kept:
            # Raised inside the block: the empty file is removed, an earlier export stays.
            source = f"; its records come from {exporter.gives_records_from}" if exporter.gives_records_from else ""
            raise UsageError(
                f"--format {fmt}: none of the {kept} rows of {folder} gives a {fmt} record{source}; "
                "nothing was written"
            )
    record_export(folder, target, fmt, records if records is not None else (None if kept else 0))
    return Exported(target, per_file.get(DATASET, 0), records, per_file.get(ELIMINATED, 0))


def record_export(folder: Path, target: Path, fmt: str, records: int | None = None) -> None:
    """Note in ``DIR/exports.json`` which dataset an export written into the folder was made from.

    The card lists an export only while that dataset is the folder's (``export_is_current``): a
    rebuild (``--restart``, other settings) leaves the old ``chat.jsonl`` in place, and a card
    offering it as a config of the new dataset would describe rows that are not there. The
    dataset's digest, not its modification time, identifies it: a resumed build rewrites the same
    rows (a newer file, the same dataset), and a copied folder may not keep times. The export's
    own size and time are noted too, so that a file replaced by other means is not vouched for.
    """
    if target.resolve().parent != folder.resolve():
        return  # only files in the folder are the card's configs
    recorded = read_export_record(folder)
    stat = target.stat()
    recorded[target.name] = {
        "format": fmt,
        "dataset_sha256": file_digest(folder / DATASET),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        # An export of no record is no configuration of the dataset: the card leaves it out.
        "records": records,
    }
    write_text(folder / EXPORTS_RECORD, json.dumps(recorded, indent=2, sort_keys=True) + "\n")


def read_export_record(folder: Path) -> dict[str, Any]:
    """The folder's export record; empty when there is none or it cannot be read (every export
    is then of unknown origin, which the card says, rather than an error that stops an export)."""
    return OutputFolder(folder).recorded_exports()


def export_is_current(folder: Path, filename: str, dataset_sha256: str) -> bool:
    """True when ``folder/filename`` is, unchanged, what ``evol export`` made from the dataset
    whose digest is given."""
    entry = read_export_record(folder).get(filename)
    if entry is None:
        return False
    try:
        stat = (folder / filename).stat()
    except OSError:
        return False
    return (entry.get("dataset_sha256") == dataset_sha256 and entry.get("size") == stat.st_size
            and entry.get("mtime_ns") == stat.st_mtime_ns)


def export_is_empty(folder: Path, filename: str) -> bool:
    """True when the folder's record says ``folder/filename`` holds no record (filters that kept
    no row): such a file is no configuration of the dataset, nor a stale one."""
    entry = read_export_record(folder).get(filename)
    return entry is not None and entry.get("records") == 0


def _warn_if_unfinished(folder: Path) -> None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("%s has no readable manifest.json: cannot tell whether the build finished", folder)
        return
    endpoint = manifest.get("endpoint")
    if isinstance(endpoint, dict) and endpoint.get("offline") is True:
        log.warning("this build ran against the bundled offline model: its rows, and the numbers its judges "
                    "gave (scores, labels, rankings), are placeholders, not for training")
    standing = read_status(manifest if isinstance(manifest, dict) else None)  # a killed build is interrupted
    if standing.status != "complete":
        reason = standing.reason or ""
        log.warning("this build is %s%s: the export holds only what it wrote", standing.status or "of unknown status",
                    f" ({reason})" if reason else "")
