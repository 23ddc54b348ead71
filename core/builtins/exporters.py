"""The core's export formats: Parquet, and the conversation layouts fine-tuning tools read.

Each is an ``Exporter``: ``write(rows, path)`` gets the build's rows (dicts as in dataset.jsonl,
already through the export filters every format shares) and may iterate them more than once.
A row may carry ``system``, the system prompt given with ``evol export --system``.

- ``parquet``: one row per sample; ``fields``, ``scores``, ``checks``, ``usage`` and
  ``provenance`` are nested columns (structs), their keys unified over the whole dataset.
- ``chat``: ``{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}``, the OpenAI
  fine-tuning and TRL SFT layout.
- ``sharegpt``: ``{"conversations": [{"from": "human", ...}, {"from": "gpt", ...}]}``.
- ``alpaca``: a JSON array of ``{"instruction", "input", "output"}``: a seed that had an input
  gives it back apart (its row's ``input``, which its instruction ends with); an evolved
  instruction is one text, so its ``input`` is empty.
- ``dpo``: preference pairs ``{"prompt", "chosen", "rejected", "score_chosen", "score_rejected"}``
  from the answer versions of a build with ``--quality --evolve-answers K``
  (``fields.answer_candidates``): every two surviving versions of one row with distinct texts and
  distinct quality scores, the higher score chosen. A version the domain's checks eliminated, or
  one the judge gave no score, is in no pair.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..types.registrations import Exporter

log = logging.getLogger("evolinstruct.export")

NESTED = ("fields", "scores", "checks", "usage", "provenance")
BATCH_ROWS = 10_000
JSON_COLUMNS_KEY = b"evolinstruct.json_columns"


def _batches(rows: Iterable[Mapping[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append({key: value for key, value in row.items() if key != "system"})
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _unified_schema(rows: Iterable[Mapping[str, Any]]) -> tuple[Any, set[str]]:
    """One schema for every row (struct keys unioned, ints widened to floats where they mix),
    and the columns that cannot be nested columns and are written as JSON text instead."""
    import pyarrow as pa

    schema = None
    as_json: set[str] = set()
    order: dict[str, None] = {}  # every column, in the order of its first appearance
    for batch in _batches(rows):
        for row in batch:
            order.update(dict.fromkeys(row))
            for name in as_json:
                row.pop(name, None)
        inferred = _batch_schema(batch, as_json)
        if schema is None:
            schema = inferred
            continue
        try:
            schema = pa.unify_schemas([schema, inferred], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            for field in inferred:
                if field.name in schema.names:
                    try:
                        pa.unify_schemas([pa.schema([schema.field(field.name)]), pa.schema([field])],
                                         promote_options="permissive")
                    except (pa.ArrowInvalid, pa.ArrowTypeError):
                        as_json.add(field.name)
            schema = pa.schema([f for f in schema if f.name not in as_json])
            rest = pa.schema([f for f in inferred if f.name not in as_json])
            schema = pa.unify_schemas([schema, rest], promote_options="permissive")
    if schema is None:
        return pa.schema([]), as_json
    fields = []
    for name in order:
        field = schema.field(name) if name in schema.names and name not in as_json else None
        if field is None or _unwritable(field.type):
            as_json.add(name)
            fields.append(pa.field(name, pa.string()))
        else:
            fields.append(field.with_type(_nulls_as_text(field.type)))
    return pa.schema(fields), as_json


def _batch_schema(batch: list[dict[str, Any]], as_json: set[str]) -> Any:
    """The batch's schema, column by column: a column whose values share no Arrow type (a list
    in one row, a string in another) joins ``as_json`` instead of failing the export."""
    import pyarrow as pa

    names = list(dict.fromkeys(name for row in batch for name in row))
    fields = []
    for name in names:
        try:
            kind = pa.array([row.get(name) for row in batch]).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            as_json.add(name)
            for row in batch:
                row.pop(name, None)
            continue
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def _unwritable(kind: Any) -> bool:
    """Parquet cannot hold a struct without fields: such a column is written as JSON text."""
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_unwritable(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _unwritable(kind.value_type)
    return False


def _nulls_as_text(kind: Any) -> Any:
    """The type with every all-null part (a field no row ever filled) typed as text: Parquet has
    no column of nothing but nulls, and the values stay null."""
    import pyarrow as pa

    if pa.types.is_null(kind):
        return pa.string()
    if pa.types.is_struct(kind):
        return pa.struct([kind.field(i).with_type(_nulls_as_text(kind.field(i).type)) for i in range(kind.num_fields)])
    if pa.types.is_list(kind):
        return pa.list_(_nulls_as_text(kind.value_type))
    if pa.types.is_large_list(kind):
        return pa.large_list(_nulls_as_text(kind.value_type))
    return kind


def write_parquet(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    inferred, as_json = _unified_schema(rows)
    fields = [pa.field(f.name, pa.string()) if f.name in as_json else f for f in inferred]
    schema = pa.schema(fields, metadata={JSON_COLUMNS_KEY: ",".join(sorted(as_json)).encode()})
    if as_json:
        log.info("export: %s written as JSON text (their values cannot share one Parquet type)", ", ".join(sorted(as_json)))
    written = 0
    with pq.ParquetWriter(output, schema) as writer:
        for batch in _batches(rows):
            for row in batch:
                for name in as_json:
                    if name in row:
                        row[name] = json.dumps(row[name], ensure_ascii=False, sort_keys=True)
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            written += len(batch)
    return written


def _jsonl(output: Path, records: Iterable[Mapping[str, Any]]) -> int:
    written = 0
    with output.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    return written


def write_chat(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
    def records() -> Iterator[dict[str, Any]]:
        for row in rows:
            system = [{"role": "system", "content": row["system"]}] if row.get("system") else []
            yield {
                "messages": system
                + [{"role": "user", "content": row["instruction"]}, {"role": "assistant", "content": row["response"]}]
            }

    return _jsonl(output, records())


def write_sharegpt(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
    def records() -> Iterator[dict[str, Any]]:
        for row in rows:
            system = [{"from": "system", "value": row["system"]}] if row.get("system") else []
            yield {
                "conversations": system
                + [{"from": "human", "value": row["instruction"]}, {"from": "gpt", "value": row["response"]}]
            }

    return _jsonl(output, records())


def _alpaca_instruction(row: Mapping[str, Any]) -> tuple[str, str]:
    """(instruction, input) in Alpaca's layout. A seed's row holds its input both at the end of
    its instruction (the prompt the model saw) and apart; a curated dataset may hold it apart only."""
    instruction, extra = row["instruction"], row.get("input") or ""
    joined = "\n\n" + extra
    if extra and instruction.endswith(joined):
        instruction = instruction[: -len(joined)]
    return instruction, extra


def write_alpaca(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
    written = 0
    with output.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for number, row in enumerate(rows):
            written += 1
            instruction, extra = _alpaca_instruction(row)
            record: dict[str, Any] = {"instruction": instruction, "input": extra, "output": row["response"]}
            if row.get("system"):
                record["system"] = row["system"]
            handle.write(("\n" if number == 0 else ",\n") + json.dumps(record, ensure_ascii=False))
        handle.write("\n]\n")
    return written


def preference_pairs(row: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The dpo records of one row: its scored surviving answer versions, two by two, whenever
    their texts and their quality scores differ (equal scores say nothing about which is better)."""
    candidates = (row.get("fields") or {}).get("answer_candidates")
    if not isinstance(candidates, list):
        return
    scored: dict[str, tuple[str, float]] = {}  # by text up to spacing: one text is one answer
    for candidate in candidates:
        if not isinstance(candidate, Mapping) or candidate.get("elimination") is not None:
            continue
        text, score = candidate.get("text"), candidate.get("quality")
        if not isinstance(text, str) or isinstance(score, bool) or not isinstance(score, (int, float)) or score != score:
            continue
        scored.setdefault(" ".join(text.split()), (text, float(score)))
    ranked = sorted(scored.values(), key=lambda version: -version[1])
    for high, (chosen, chosen_score) in enumerate(ranked):
        for rejected, rejected_score in ranked[high + 1:]:
            if chosen_score > rejected_score:
                yield {"prompt": row["instruction"], "chosen": chosen, "rejected": rejected,
                       "score_chosen": chosen_score, "score_rejected": rejected_score}


def write_dpo(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
    return _jsonl(output, (pair for row in rows for pair in preference_pairs(row)))


CONVERSATION = ("instruction", "response")
"""What a conversation layout is made of: a row without a response would be an empty turn."""

EXPORTERS = (
    Exporter("parquet", write_parquet, "dataset.parquet",
             "every column of dataset.jsonl; fields, scores, checks, usage and provenance as nested columns"),
    Exporter("chat", write_chat, "chat.jsonl",
             'SFT conversations: {"messages": [user, assistant]} (OpenAI fine-tuning, TRL)', needs=CONVERSATION),
    Exporter("sharegpt", write_sharegpt, "sharegpt.jsonl",
             'SFT conversations: {"conversations": [human, gpt]} (ShareGPT layout)', needs=CONVERSATION),
    Exporter("alpaca", write_alpaca, "alpaca.json",
             "a JSON array of {instruction, input, output} (Alpaca layout)", needs=CONVERSATION),
    Exporter("dpo", write_dpo, "dpo.jsonl",
             "Preference pairs from the answer versions of a build with --quality --evolve-answers K: prompt, chosen, "
             "rejected (distinct texts, the higher quality chosen), score_chosen, score_rejected (TRL's layout)",
             needs=("instruction",),
             gives_records_from="the answer versions with distinct texts and distinct quality scores that an evol "
             "build --quality --evolve-answers 1 or more writes"),
)
