"""Reading seed instructions: JSONL, a JSON array (Alpaca style) or Parquet.

A seeds file is read twice: once to validate every record before any request is sent (a bad
record stops the build naming file, line and field, unless ``--skip-invalid``), and once, lazily,
while the build runs, so that a million seeds never sit in memory at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..types.errors import SeedError, UsageError
from .output import OutputFolder
from .rows import TOO_DEEP, find_unwritable
from ..types.records import Seed
from ..types.registrations import Domain

COMMON_FIELDS = ("instruction", "input", "output", "id")

# The engine names round R of seed S ``S/rR`` (``S/rRcN`` for candidate N). A seed id that ends
# the same way could be another seed's evolution (seeds ``a`` and ``a/r1`` would both give a row
# ``a/r1``); refusing those ids keeps every row id unique by construction, whatever else the ids
# hold (``HumanEval/0`` stays fine).
DERIVED_ID_SUFFIX = re.compile(r"/r\d+(?:c\d+)?\Z")


@dataclass(frozen=True)
class InvalidSeed:
    source: str
    field: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class Selection:
    """Which valid seeds a build uses: the first ``limit`` of them, then one shard."""

    limit: int | None = None
    shard: tuple[int, int] | None = None

    def keeps(self, index: int) -> bool:
        if self.limit is not None and index >= self.limit:
            return False
        if self.shard is not None:
            part, parts = self.shard
            return index % parts == part
        return True


GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"


def _sniff(path: Path) -> bytes:
    """The file's first bytes, after checking it is a readable file at all."""
    if path.is_dir():
        raise SeedError("is a folder; give the seeds file itself (JSONL, a JSON array or Parquet)", source=str(path))
    if not path.is_file():
        raise SeedError("no such file", source=str(path))
    with path.open("rb") as handle:
        head = handle.read(8192)
    if head.startswith(GZIP_MAGIC):
        raise SeedError("is gzip-compressed; decompress it first (gunzip -k FILE)", source=str(path))
    return head


def _raw_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(source, record) pairs; source is ``file:line`` or ``file:item N`` or ``file:row N``.

    A record that cannot be read (bad JSON, bad UTF-8) is yielded as a ``SeedError`` so that
    ``--skip-invalid`` can skip it; a file that is not a seeds file at all raises at once.
    """
    name = str(path)
    head = _sniff(path)
    if path.suffix.lower() == ".parquet" or head.startswith(PARQUET_MAGIC):
        yield from _parquet_records(path, head)
        return
    if b"\x00" in head:
        raise SeedError("is a binary file, not JSON lines, a JSON array or Parquet", source=name)
    # Windows editors (Notepad, Excel's "UTF-8" export) start a file with a byte order mark; it
    # says nothing about the records, so it is skipped, not taken for a broken first record.
    first = head.removeprefix(UTF8_BOM).lstrip()[:1]
    if first == b"[":
        yield from _json_array_records(path)
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            source = f"{name}:{number}"
            if number == 1:
                raw = raw.removeprefix(UTF8_BOM)
            if b"\x00" in raw:
                raise SeedError("contains NUL bytes: a binary file, not JSON lines", source=source)
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                byte = raw[error.start]
                yield source, SeedError(f"not UTF-8: byte 0x{byte:02x} at byte {error.start + 1} of the line", source=source)
                continue
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield source, SeedError(f"not valid JSON ({error.msg}, column {error.colno})", source=source)
                continue
            except RecursionError:
                yield source, SeedError(TOO_DEEP, source=source)
                continue
            yield source, record


def _json_array_records(path: Path) -> Iterator[tuple[str, Any]]:
    name = str(path)
    data = path.read_bytes().removeprefix(UTF8_BOM)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SeedError(f"not UTF-8: byte 0x{data[error.start]:02x}", source=f"{name}:{line}") from None
    try:
        items = json.loads(text)
    except json.JSONDecodeError as error:
        raise SeedError(f"not valid JSON: {error.msg} (column {error.colno})", source=f"{name}:{error.lineno}") from None
    except RecursionError:
        raise SeedError(TOO_DEEP, source=name) from None
    if not isinstance(items, list):
        raise SeedError("a JSON file of seeds must hold an array of objects", source=name)
    for number, record in enumerate(items, start=1):
        yield f"{name}:item {number}", record


def _parquet_records(path: Path, head: bytes) -> Iterator[tuple[str, Any]]:
    import pyarrow
    import pyarrow.parquet as pq

    name = str(path)
    if not head.startswith(PARQUET_MAGIC):
        kind = "JSON" if head.lstrip()[:1] in (b"{", b"[") else "something else"
        raise SeedError(f"is named .parquet but is not a Parquet file (it looks like {kind})", source=name)
    try:
        table = pq.ParquetFile(path)
        row = 0
        for batch in table.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                row += 1
                yield f"{name}:row {row}", record
    except (pyarrow.ArrowException, OSError) as error:
        raise SeedError(f"cannot be read as Parquet: {error}", source=name) from None


def _to_seed(source: str, record: Any, index: int, domain: Domain) -> Seed:
    if isinstance(record, SeedError):
        raise record
    if not isinstance(record, Mapping):
        raise SeedError(f"expected a JSON object, got {type(record).__name__}", source=source)
    # Before the domain sees it: a lone surrogate would pass every check here and fail only when
    # the first request or row is written, far into the build.
    problem = find_unwritable(record)
    if problem is not None:
        raise SeedError(problem[1], source=source, field=problem[0])
    if domain.read_seed is not None:
        try:
            record = domain.read_seed(record)
        except SeedError as error:
            raise SeedError(error.detail, source=source, field=error.field) from None
    instruction = record.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        problem = "is missing" if instruction is None else "must be a non-empty string"
        raise SeedError(problem, source=source, field="instruction")
    extra_input = record.get("input")
    if extra_input is not None and not isinstance(extra_input, str):
        raise SeedError("must be a string", source=source, field="input")
    output = record.get("output")
    if output is not None and not isinstance(output, str):
        raise SeedError("must be a string", source=source, field="output")
    seed_id = record.get("id")
    if seed_id is None:
        seed_id = f"seed-{index}"
    elif not isinstance(seed_id, (str, int)) or isinstance(seed_id, bool):
        raise SeedError("must be a string or an integer", source=source, field="id")
    elif DERIVED_ID_SUFFIX.search(str(seed_id)):
        raise SeedError(
            f"{seed_id!r} ends like the id of an evolved row ('/r' and a round number), so it could "
            "collide with another seed's evolution; rename it (for example replace '/' with '-')",
            source=source,
            field="id",
        )
    prompt = instruction.strip()
    if extra_input and extra_input.strip():
        prompt = f"{prompt}\n\n{extra_input.strip()}"
    fields = {key: value for key, value in record.items() if key not in COMMON_FIELDS}
    return Seed(
        id=str(seed_id),
        index=index,
        instruction=prompt,
        output=output if output and output.strip() else None,
        fields=fields,
        source=source,
        input=extra_input.strip() if extra_input and extra_input.strip() else None,
    )


@dataclass
class SeedFile:
    path: Path
    domain: Domain
    skip_invalid: bool = False
    invalid: list[InvalidSeed] = field(default_factory=list)
    valid_count: int = 0

    def validate(self) -> SeedFile:
        """Check every record; raises the first ``SeedError`` unless skipping invalid ones.

        A file with no usable record is an error either way: a build of zero seeds would look
        like a success and hold nothing.
        """
        self.invalid.clear()
        self.valid_count = sum(1 for _seed in self._seeds(self.invalid))
        if self.valid_count == 0:
            if self.invalid:
                raise SeedError(
                    f"none of its {len(self.invalid)} records is usable (first: {self.invalid[0].source}: "
                    f"{self.invalid[0].message})",
                    source=str(self.path),
                )
            raise SeedError("holds no seed records", source=str(self.path))
        return self

    def _seeds(self, invalid: list[InvalidSeed]) -> Iterator[Seed]:
        seen: dict[str, str] = {}
        index = 0
        for source, record in _raw_records(self.path):
            try:
                seed = _to_seed(source, record, index, self.domain)
                if seed.id in seen:
                    raise SeedError(f"duplicate id {seed.id!r} (first at {seen[seed.id]})", source=source, field="id")
            except SeedError as error:
                if not self.skip_invalid:
                    raise
                invalid.append(InvalidSeed(error.source, error.field, error.detail))
                continue
            seen[seed.id] = source
            index += 1
            yield seed

    def __iter__(self) -> Iterator[Seed]:
        return self._seeds([])


def refuse_output_file(seeds: Path, out: Path) -> None:
    """``UsageError`` (exit 2) when the seeds file is one of the build folder's own files, or
    resolves to one (a symlink, ``..``, a hard link): the build opens those for writing, which
    would empty the seeds before they are read. Called before anything is opened for writing."""
    what = OutputFolder(out).own(seeds)
    if what is not None:
        raise UsageError(
            f"--seeds {seeds}: is {what}, one of the files of --out {out}, which the build writes; "
            "copy the seeds out of the folder first, or choose another --out"
        )
