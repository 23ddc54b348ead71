from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evolinstruct import SeedError
from evolinstruct.builtins.general import GENERAL
from evolinstruct.runtime.seeds import SeedFile, Selection


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_seeds_keep_domain_fields_and_append_input(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "seeds.jsonl",
        [
            json.dumps({"id": "a", "instruction": "Sort the list.", "input": "[3, 1, 2]", "tests": ["assert 1"]}),
            json.dumps({"instruction": "Name a colour.", "output": "Blue."}),
        ],
    )
    seeds = list(SeedFile(path, GENERAL).validate())
    assert [seed.id for seed in seeds] == ["a", "seed-1"]
    assert seeds[0].instruction == "Sort the list.\n\n[3, 1, 2]"
    assert seeds[0].fields == {"tests": ["assert 1"]}
    assert seeds[0].output is None
    assert seeds[1].output == "Blue."
    assert seeds[0].source.endswith("seeds.jsonl:1")


def test_alpaca_json_array_and_parquet_read_the_same(tmp_path: Path) -> None:
    records = [{"instruction": f"Task {i}", "input": "", "output": f"Answer {i}"} for i in range(3)]
    array = tmp_path / "alpaca.json"
    array.write_text(json.dumps(records), encoding="utf-8")
    parquet = tmp_path / "seeds.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    from_array = [(s.id, s.instruction, s.output) for s in SeedFile(array, GENERAL).validate()]
    from_parquet = [(s.id, s.instruction, s.output) for s in SeedFile(parquet, GENERAL).validate()]
    assert from_array == from_parquet == [(f"seed-{i}", f"Task {i}", f"Answer {i}") for i in range(3)]


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('{"input": "x"}', "instruction", "is missing"),
        ('{"instruction": "  "}', "instruction", "non-empty string"),
        ('{"instruction": 7}', "instruction", "non-empty string"),
        ('{"instruction": "ok", "output": ["x"]}', "output", "must be a string"),
        ('{"instruction": "ok", "id": {"a": 1}}', "id", "string or an integer"),
        # JSON lets an escape name half a surrogate pair; no UTF-8 request or row can hold it.
        ('{"instruction": "a\\ud800"}', "instruction", "not valid Unicode text: a lone surrogate"),
        ('{"instruction": "ok", "tests": ["x", "\\udfff"]}', "tests[1]", "a lone surrogate"),
        ('{"instruction": "ok", "meta": {"\\ud800": 1}}', "meta", "a lone surrogate in a key"),
        ('{"instruction": "ok", "a": ' + "[" * 150 + "]" * 150 + "}", "a" + "[0]" * 99, "nested too deep"),
    ],
)
def test_a_bad_record_names_file_line_and_field(tmp_path: Path, line: str, field: str, message: str) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", ['{"instruction": "fine"}', line])
    with pytest.raises(SeedError) as caught:
        SeedFile(path, GENERAL).validate()
    assert caught.value.source == f"{path}:2"
    assert caught.value.field == field
    assert f"{path}:2: field '{field}': " in str(caught.value)
    assert message in str(caught.value)


def test_broken_json_and_duplicate_ids_are_reported(tmp_path: Path) -> None:
    broken = write_jsonl(tmp_path / "broken.jsonl", ['{"instruction": "a"}', "", '{"instruction": '])
    with pytest.raises(SeedError, match=r"broken\.jsonl:3: not valid JSON"):
        SeedFile(broken, GENERAL).validate()
    dupes = write_jsonl(tmp_path / "dupes.jsonl", ['{"id": 1, "instruction": "a"}', '{"id": "1", "instruction": "b"}'])
    with pytest.raises(SeedError, match=r"dupes\.jsonl:2: field 'id': duplicate id '1' \(first at .*dupes\.jsonl:1\)"):
        SeedFile(dupes, GENERAL).validate()


def test_nesting_beyond_the_decoder_is_an_error_naming_the_line(tmp_path: Path) -> None:
    deep = '{"instruction": "a", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = write_jsonl(tmp_path / "deep.jsonl", ['{"instruction": "fine"}', deep])
    with pytest.raises(SeedError, match=r"deep\.jsonl:2: lists or objects nested too deep"):
        SeedFile(path, GENERAL).validate()
    array = tmp_path / "deep.json"
    array.write_text("[" + deep + "]", encoding="utf-8")
    with pytest.raises(SeedError, match=r"deep\.json: lists or objects nested too deep"):
        SeedFile(array, GENERAL).validate()


def test_skip_invalid_lists_what_it_skipped(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "seeds.jsonl", ['{"instruction": "a"}', "{oops", '{"input": "b"}', '{"instruction": "c"}'])
    seed_file = SeedFile(path, GENERAL, skip_invalid=True).validate()
    assert seed_file.valid_count == 2
    assert [(item.source.rsplit(":", 1)[1], item.field) for item in seed_file.invalid] == [("2", None), ("3", "instruction")]
    # Indices count valid seeds only, so --limit and --shard see a dense sequence.
    assert [(seed.index, seed.instruction) for seed in seed_file] == [(0, "a"), (1, "c")]


def test_missing_file_is_a_seed_error(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="no such file"):
        SeedFile(tmp_path / "nope.jsonl", GENERAL).validate()


def test_selection_limits_then_shards() -> None:
    assert [i for i in range(10) if Selection(limit=6).keeps(i)] == [0, 1, 2, 3, 4, 5]
    shards = [[i for i in range(10) if Selection(shard=(part, 3)).keeps(i)] for part in range(3)]
    assert sorted(sum(shards, [])) == list(range(10))
    assert shards[1] == [1, 4, 7]
