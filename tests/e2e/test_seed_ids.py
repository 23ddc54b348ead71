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
