"""Seed files as users write them: row ids stay unique whatever the seed ids, and a file saved
with a byte order mark is read like any other. Through the real CLI and the offline model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import evol


def write_seeds(path: Path, records: list[dict[str, object]], prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + "".join(json.dumps(record) + "\n" for record in records).encode("utf-8"))
    return path


@pytest.mark.parametrize("colliding", ["a/r1", "a/r2c1", "x/y/r12"])
def test_a_seed_id_shaped_like_an_evolved_row_is_refused_naming_file_line_and_field(tmp_path: Path, colliding: str) -> None:
    seeds = write_seeds(tmp_path / "seeds.jsonl", [{"id": "a", "instruction": "Name a river."},
                                                   {"id": colliding, "instruction": "Name a lake."}])
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "2")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{seeds}:2: field 'id': '{colliding}' ends like the id of an evolved row" in " ".join(result.stderr.split())
    assert not (tmp_path / "o" / "dataset.jsonl").exists()


def test_seed_ids_with_slashes_that_cannot_collide_give_unique_row_ids(tmp_path: Path) -> None:
    # HumanEval's ids hold a slash; only the engine's own '/rN' ending is reserved.
    seeds = write_seeds(tmp_path / "seeds.jsonl", [{"id": "a", "instruction": "Name a river."},
                                                   {"id": "HumanEval/0", "instruction": "Name a lake."},
                                                   {"id": "a/rx", "instruction": "Name a sea."}])
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "2")
    assert result.returncode == 0, result.stderr
    ids = [json.loads(line)["id"] for name in ("dataset.jsonl", "eliminated.jsonl")
           for line in (tmp_path / "o" / name).read_text(encoding="utf-8").splitlines()]
    assert {"a", "HumanEval/0", "a/rx", "HumanEval/0/r1", "a/rx/r1"} <= set(ids)
    assert [id_ for id_, count in Counter(ids).items() if count > 1] == []


@pytest.mark.parametrize("layout", ["jsonl", "json array"])
def test_a_seeds_file_starting_with_a_byte_order_mark_is_read(tmp_path: Path, layout: str) -> None:
    records = [{"id": "first", "instruction": "Name a river."}, {"id": "second", "instruction": "Name a lake."}]
    if layout == "jsonl":
        seeds = write_seeds(tmp_path / "seeds.jsonl", records, prefix=b"\xef\xbb\xbf")
    else:
        seeds = tmp_path / "seeds.json"
        seeds.write_bytes(b"\xef\xbb\xbf" + json.dumps(records).encode("utf-8"))
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "0")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "o" / "dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(row["id"], row["instruction"]) for row in rows] == [("first", "Name a river."), ("second", "Name a lake.")]


def test_the_alpaca_export_gives_a_seeds_input_back_apart(tmp_path: Path) -> None:
    seeds = write_seeds(tmp_path / "seeds.jsonl", [{"id": "a", "instruction": "Sort the list.", "input": "[3, 1, 2]"},
                                                   {"id": "b", "instruction": "Name a lake."}])
    out = tmp_path / "o"
    built = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1")
    assert built.returncode == 0, built.stderr
    rows = {row["id"]: row for row in map(json.loads, (out / "dataset.jsonl").read_text(encoding="utf-8").splitlines())}
    # The model saw the input with the instruction; the row keeps that prompt and the input apart.
    assert rows["a"]["instruction"] == "Sort the list.\n\n[3, 1, 2]" and rows["a"]["input"] == "[3, 1, 2]"
    assert "input" not in rows["b"] and "input" not in rows["a/r1"]
    exported = evol("export", str(out), "--format", "alpaca")
    assert exported.returncode == 0, exported.stderr
    alpaca = json.loads((out / "alpaca.json").read_text(encoding="utf-8"))
    by_instruction = {record["instruction"]: record["input"] for record in alpaca}
    assert by_instruction["Sort the list."] == "[3, 1, 2]"
    assert by_instruction["Name a lake."] == ""
    evolved = [record for record in alpaca if record["instruction"] not in ("Sort the list.", "Name a lake.")]
    assert len(evolved) == 2 and all(record["input"] == "" for record in evolved)
    curated = evol("curate", str(out))
    assert curated.returncode == 0, curated.stderr  # the tool reads its own output
