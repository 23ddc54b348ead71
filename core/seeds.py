"""Reading seed instructions: JSONL, a JSON array (Alpaca style) or Parquet.

A seeds file is read twice: once to validate every record before any request is sent (a bad
record stops the build naming file, line and field, unless ``--skip-invalid``), and once, lazily,
while the build runs, so that a million seeds never sit in memory at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from .errors import SeedError
from .records import Domain, Seed

COMMON_FIELDS = ("instruction", "input", "output", "id")


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


def _raw_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(source, record) pairs; source is ``file:line`` or ``file:item N`` or ``file:row N``."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path)
        row = 0
        for batch in table.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                row += 1
                yield f"{name}:row {row}", record
        return
    with path.open("r", encoding="utf-8") as handle:
        first = ""
        while not first:
            char = handle.read(1)
            if not char:
                return
            if not char.isspace():
                first = char
        handle.seek(0)
        if first == "[":
            try:
                items = json.load(handle)
            except json.JSONDecodeError as error:
                raise SeedError(f"not valid JSON: {error.msg}", source=f"{name}:{error.lineno}") from None
            for number, record in enumerate(items, start=1):
                yield f"{name}:item {number}", record
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield f"{name}:{number}", SeedError(f"not valid JSON ({error.msg}, column {error.colno})", source=f"{name}:{number}")
                continue
            yield f"{name}:{number}", record


def _to_seed(source: str, record: Any, index: int, domain: Domain) -> Seed:
    if isinstance(record, SeedError):
        raise record
    if not isinstance(record, Mapping):
        raise SeedError(f"expected a JSON object, got {type(record).__name__}", source=source)
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
    )


@dataclass
class SeedFile:
    path: Path
    domain: Domain
    skip_invalid: bool = False
    invalid: list[InvalidSeed] = field(default_factory=list)
    valid_count: int = 0

    def validate(self) -> SeedFile:
        """Check every record; raises the first ``SeedError`` unless skipping invalid ones."""
        if not self.path.is_file():
            raise SeedError("no such file", source=str(self.path))
        self.invalid.clear()
        self.valid_count = sum(1 for _seed in self._seeds(self.invalid))
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
