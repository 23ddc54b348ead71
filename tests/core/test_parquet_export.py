"""The parquet exporter on rows whose values do not share one Arrow type across rows."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from evolinstruct.builtins.exporters import JSON_COLUMNS_KEY, write_parquet


def test_a_field_that_is_a_list_in_one_row_and_text_in_another_is_written_as_json_text(tmp_path) -> None:
    rows = [
        {"id": "a", "fields": {"tests": ["assert f(1) == 2", "assert f(2) == 4"]}, "checks": {"execution": {"verdict": "PASS", "tests": None}}},
        {"id": "b", "fields": {"tests": "assert f(3) == 6"}, "checks": {"execution": {"verdict": "FAIL", "tests": None}}},
    ]
    path = tmp_path / "out.parquet"
    assert write_parquet(rows, path) == 2
    table = pq.read_table(path)
    assert table.schema.metadata[JSON_COLUMNS_KEY] == b"fields"
    assert [json.loads(text) for text in table.column("fields").to_pylist()] == [row["fields"] for row in rows]
    # A subfield no row filled (null everywhere) stays a nested column, its values null.
    assert table.column("checks").to_pylist() == [row["checks"] for row in rows]


def test_a_column_whose_type_changes_between_batches_is_kept_as_json_text(tmp_path, monkeypatch) -> None:
    from evolinstruct.builtins import exporters

    monkeypatch.setattr(exporters, "BATCH_ROWS", 1)  # every row its own batch: the types meet across batches
    rows = [{"id": "a", "fields": {"n": 1}, "round": 0}, {"id": "b", "fields": {"n": "one"}, "round": 1}]
    path = tmp_path / "out.parquet"
    assert write_parquet(rows, path) == 2
    table = pq.read_table(path)
    assert table.column_names == ["id", "fields", "round"]
    assert [json.loads(text) for text in table.column("fields").to_pylist()] == [{"n": 1}, {"n": "one"}]
    assert table.column("round").to_pylist() == [0, 1]
