"""``evol export``: a build's dataset in another format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from .errors import EvolError
from .output import DATASET
from .records import Exporter


def read_rows(folder: Path) -> Iterator[dict[str, Any]]:
    path = folder / DATASET
    if not path.is_file():
        raise EvolError(f"{path}: no dataset here; run evol build with --out {folder} first")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise EvolError(f"{path}:{number}: not valid JSON ({error.msg})") from None


def write_parquet(rows: Iterable[Mapping[str, Any]], output: Path) -> None:
    """Nested fields (fields, scores, checks, usage) are stored as JSON strings: their keys differ
    between domains and samples, and a stable flat schema is what dataset tools load best."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    nested = ("fields", "scores", "checks", "usage")
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("seed_id", pa.string()),
            ("parent_id", pa.string()),
            ("round", pa.int32()),
            ("operation", pa.string()),
            ("domain", pa.string()),
            ("instruction", pa.string()),
            ("response", pa.string()),
            *((name, pa.string()) for name in nested),
        ]
    )
    with pq.ParquetWriter(output, schema) as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            flat = {name: row.get(name) for name in schema.names}
            for name in nested:
                flat[name] = json.dumps(row.get(name) or {}, ensure_ascii=False, sort_keys=True)
            batch.append(flat)
            if len(batch) >= 10_000:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch.clear()
        writer.write_table(pa.Table.from_pylist(batch, schema=schema))


PARQUET = Exporter(
    "parquet",
    write_parquet,
    "dataset.parquet",
    "The dataset as Parquet; nested fields, scores, checks and usage as JSON strings.",
)


def export(exporters: Mapping[str, Exporter], folder: Path, fmt: str, output: Path | None) -> Path:
    exporter = exporters.get(fmt)
    if exporter is None:
        raise EvolError(f"unknown export format {fmt!r}; known: {', '.join(sorted(exporters))}")
    target = output or folder / exporter.default_filename
    exporter.write(read_rows(folder), target)
    return target
