"""The one reader of row files refuses, naming file, line and field, what no writer can handle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolinstruct.runtime.rows import MAX_NESTING, RowFileError, read_rows


def test_rows_that_every_writer_can_handle_are_read_as_they_are(tmp_path: Path) -> None:
    nested: object = "leaf \U0001f600"  # a surrogate pair in JSON is one real character: fine
    for _ in range(MAX_NESTING - 1):
        nested = [nested]
    path = tmp_path / "dataset.jsonl"
    path.write_text(json.dumps({"id": "a", "deep": nested}) + "\n\n" + '{"id": "b", "t": "\\ud83d\\ude00"}\n', encoding="utf-8")
    rows = list(read_rows(path))
    assert [number for number, _row in rows] == [1, 3]
    assert rows[1][1]["t"] == "\U0001f600"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "instruction": "x\\ud800"}', "field 'instruction': not valid Unicode text: a lone surrogate"),
        ('{"id": "a", "scores": {"judge": ["ok", "\\udc00"]}}', "field 'scores.judge[1]': not valid Unicode text"),
        ('{"id": "a", "x": ' + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1) + "}", "nested too deep"),
        ('{"id": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "lists or objects nested too deep"),
    ],
)
def test_a_row_no_writer_can_handle_names_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "dataset.jsonl"
    path.write_text('{"id": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(RowFileError) as caught:
        list(read_rows(path))
    assert str(caught.value).startswith(f"{path}:2: ")
    assert message in str(caught.value)
