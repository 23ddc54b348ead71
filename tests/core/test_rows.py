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


# --- the row declaration: what the writers make and every reader checks ----------------------

from evolinstruct import Elimination, Sample, Usage  # noqa: E402
from evolinstruct.runtime.failures import Failure  # noqa: E402
from evolinstruct.runtime.output import DATASET, ELIMINATED, FAILED, OutputFolder, eliminated_row, failed_row, sample_row  # noqa: E402
from evolinstruct.runtime.rows import BUILD_REQUIRES, ELIMINATED_ROW, FAILED_ROW, SAMPLE_ROW  # noqa: E402

SAMPLE = Sample(id="s1/r1", seed_id="s1", parent_id="s1", round=1, operation="deepen", domain="general",
                instruction="Explain tides.", response="The moon pulls.", scores={"difficulty": 4.0},
                usage={"evolve": Usage(prompt_tokens=3, completion_tokens=5, requests=1)})
FAILURE = Failure(sample_id="s2/r1", seed_id="s2", parent_id="s2", round=1, operation="deepen", stage="respond",
                  kind="transient", error="LLMFailure: 500", traceback="Traceback ...")


def test_the_writers_make_exactly_the_declared_fields_and_they_pass_the_check() -> None:
    row = sample_row(SAMPLE, {"endpoint": "e", "model": "m"})
    assert tuple(row) == SAMPLE_ROW.names
    assert SAMPLE_ROW.problem(row, BUILD_REQUIRES) is None
    eliminated = eliminated_row(SAMPLE, Elimination("sorry", "says sorry"), {})
    assert tuple(eliminated) == ELIMINATED_ROW.names
    assert ELIMINATED_ROW.problem(eliminated, BUILD_REQUIRES) is None
    failed = failed_row(FAILURE)
    assert set(failed) == set(FAILED_ROW.names)
    assert FAILED_ROW.problem(failed, BUILD_REQUIRES) is None


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (DATASET, {"round": "two"}, "field 'round': expected an integer >= 0, got \"two\""),
        (DATASET, {"instruction": " "}, "field 'instruction': expected a non-empty string"),
        (DATASET, {"response": 3}, "field 'response': expected a string or null, got 3"),
        (DATASET, {"scores": {"difficulty": "high"}}, "field 'scores.difficulty': expected a number or null"),
        (DATASET, {"usage": {"evolve": {"requests": -1}}}, "field 'usage.evolve.requests': expected an integer >= 0"),
        (DATASET, {"removal": {"rule": "x"}}, "field 'removal': is written only into curated/removed.jsonl"),
        (ELIMINATED, {"elimination": {"filter": "f"}}, "field 'elimination.reason': expected a string"),
        (FAILED, {"error": None}, "field 'error': expected a string, got null"),
    ],
)
def test_every_reader_gets_one_check_naming_file_line_and_field(tmp_path: Path, name: str, change: dict, message: str) -> None:
    good = {DATASET: sample_row(SAMPLE, {}), ELIMINATED: eliminated_row(SAMPLE, Elimination("f", "r"), {}),
            FAILED: failed_row(FAILURE)}[name]
    path = tmp_path / name
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, **change}) + "\n", encoding="utf-8")
    with pytest.raises(RowFileError) as caught:
        list(OutputFolder(tmp_path).rows(name))
    assert str(caught.value).startswith(f"{path}:2: ")
    assert message in str(caught.value)


def test_a_reader_names_the_field_it_needs_and_the_row_lacks(tmp_path: Path) -> None:
    path = tmp_path / DATASET
    path.write_text(json.dumps({"id": "a", "instruction": "hi"}) + "\n", encoding="utf-8")
    assert [row for _, row in OutputFolder(tmp_path).rows(DATASET, require=("id", "instruction"))] == [{"id": "a", "instruction": "hi"}]
    with pytest.raises(RowFileError, match=r"dataset\.jsonl:1: field 'response': is missing"):
        list(OutputFolder(tmp_path).rows(DATASET, require=("id", "instruction", "response")))
