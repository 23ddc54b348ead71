"""``evol export`` through the real CLI: every core format checked field by field against the
build's rows, the filters every format shares, and the folders it is given."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from evolinstruct.testing import Rule
from tests.conftest import evol

API = {"OPENAI_API_KEY": "sk-loopback"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evolinstruct.testing import LoopbackLLM

    folder = tmp_path_factory.mktemp("export")
    seeds = folder / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"id": f"s{i}", "instruction": f"Describe bridge number {i}."}) + "\n"
                             for i in range(4)), encoding="utf-8")
    with LoopbackLLM(rules=[Rule(contains="Not Equal", reply="Equal", probability=0.4)], seed=2) as server:
        result = evol("build", "--seeds", str(seeds), "--out", str(folder / "out"), "--rounds", "2",
                      env={"OPENAI_BASE_URL": server.base_url, **API})
    assert result.returncode == 0, result.stderr
    return folder / "out"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_chat_sharegpt_and_alpaca_hold_each_row_with_a_system_prompt(built: Path, tmp_path: Path) -> None:
    dataset = rows(built / "dataset.jsonl")
    for fmt in ("chat", "sharegpt", "alpaca"):
        result = evol("export", str(built), "--format", fmt, "--system", "Be brief.", "--output", str(tmp_path / fmt))
        assert result.returncode == 0, result.stderr
        assert f"({len(dataset)} rows)" in result.stdout
    chat = rows(tmp_path / "chat")
    assert [c["messages"] for c in chat] == [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": r["instruction"]},
         {"role": "assistant", "content": r["response"]}] for r in dataset
    ]
    sharegpt = rows(tmp_path / "sharegpt")
    assert [c["conversations"] for c in sharegpt] == [
        [{"from": "system", "value": "Be brief."}, {"from": "human", "value": r["instruction"]},
         {"from": "gpt", "value": r["response"]}] for r in dataset
    ]
    alpaca = json.loads((tmp_path / "alpaca").read_text())
    assert alpaca == [{"instruction": r["instruction"], "input": "", "output": r["response"], "system": "Be brief."}
                      for r in dataset]


def test_parquet_keeps_nested_fields_as_structs(built: Path, tmp_path: Path) -> None:
    result = evol("export", str(built), "--output", str(tmp_path / "d.parquet"))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "d.parquet")
    dataset = rows(built / "dataset.jsonl")
    assert str(table.schema.field("usage").type).startswith("struct<")
    assert str(table.schema.field("provenance").type).startswith("struct<")
    for exported, row in zip(table.to_pylist(), dataset):
        assert exported["id"] == row["id"] and exported["instruction"] == row["instruction"]
        assert exported["provenance"] == row["provenance"]
        assert {k: v for k, v in exported["usage"].items() if v is not None} == row["usage"]


def test_the_filters_every_format_shares(built: Path, tmp_path: Path) -> None:
    dataset = rows(built / "dataset.jsonl")
    result = evol("export", str(built), "--format", "chat", "--min-round", "1", "--output", str(tmp_path / "late"))
    assert result.returncode == 0, result.stderr
    assert len(rows(tmp_path / "late")) == sum(1 for r in dataset if r["round"] >= 1)
    # A general build has no reward and no verdict: such filters cannot match (a mistyped
    # option), refused with the values the rows have (tests/e2e/test_export_refusals.py).
    none = evol("export", str(built), "--format", "chat", "--min-score", "reward=0.5", "--output", str(tmp_path / "none"))
    assert none.returncode == 2 and "no row has such a score" in none.stderr and not (tmp_path / "none").exists()
    verdict = evol("export", str(built), "--format", "chat", "--domain-verdict", "PASS", "--output", str(tmp_path / "v"))
    assert verdict.returncode == 2 and not (tmp_path / "v").exists()
    bad = evol("export", str(built), "--min-score", "reward")
    assert bad.returncode == 2 and "expected NAME=NUMBER" in bad.stderr


def test_export_creates_its_folder_and_names_what_is_missing(built: Path, tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "chat.jsonl"
    assert evol("export", str(built), "--format", "chat", "--output", str(target)).returncode == 0
    assert target.is_file()
    missing = evol("export", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such build folder" in missing.stderr
    unknown = evol("export", str(built), "--format", "csv")
    assert unknown.returncode == 2 and "unknown export format; known: alpaca, chat, dpo, irm, parquet" in unknown.stderr
    help_text = evol("export", "--help").stdout
    for fmt in ("parquet", "chat", "sharegpt", "alpaca", "prm", "stepwise", "irm"):
        assert f"{fmt}:" in " ".join(help_text.split())


def test_an_empty_or_interrupted_build_says_so(built: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "dataset.jsonl").write_text("")
    result = evol("export", str(empty))
    assert result.returncode == 2 and "the dataset is empty" in result.stderr
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "dataset.jsonl").write_text((built / "dataset.jsonl").read_text())
    manifest = json.loads((built / "manifest.json").read_text())
    (partial / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted", "reason": "Ctrl-C"}))
    warned = evol("export", str(partial), "--format", "chat")
    assert warned.returncode == 0
    assert "this build is interrupted (Ctrl-C): the export holds only what it wrote" in warned.stderr


BUILD_FILES = ("dataset.jsonl", "eliminated.jsonl", "failed.jsonl", "manifest.json", "run.json", "cache.sqlite",
               "cache.sqlite-wal", ".lock", "README.md", "report.html", "curated/dataset.jsonl")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_an_output_that_is_one_of_the_build_files_is_refused_and_nothing_changes(built: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(built, folder)
    (folder / "curated").mkdir()
    (folder / "curated" / "dataset.jsonl").write_text((built / "dataset.jsonl").read_text())
    (folder / "cache.sqlite-wal").write_bytes(b"")
    seeds = folder / "seeds.jsonl"
    shutil.copy(built.parent / "seeds.jsonl", seeds)
    (tmp_path / "link.jsonl").symlink_to(folder / "dataset.jsonl")
    os.link(folder / "manifest.json", tmp_path / "hard.json")
    before = snapshot(folder)
    targets = [(folder / name, name) for name in BUILD_FILES] + [
        (folder / ".." / "copy" / "dataset.jsonl", "dataset.jsonl"),
        (tmp_path / "link.jsonl", "dataset.jsonl"),
        (tmp_path / "hard.json", "manifest.json"),
        (seeds, "seeds"),
        (folder, "build folder itself"),
    ]
    for target, named in targets:
        for fmt in ("chat", "parquet"):
            result = evol("export", str(folder), "--format", fmt, "--output", str(target))
            assert result.returncode == 2, (target, result.stdout, result.stderr)
            assert "Traceback" not in result.stderr and "wrote" not in result.stdout
            error = [line for line in result.stderr.splitlines() if "error:" in line]
            assert len(error) == 1 and f"--output {target}" in error[0] and named in error[0], result.stderr
    assert snapshot(folder) == before


def test_an_output_under_a_file_is_a_usage_error(built: Path, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    result = evol("export", str(built), "--format", "chat", "--output", str(afile / "chat.jsonl"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"--output {afile / 'chat.jsonl'}: {afile} is a file, not a folder" in result.stderr
    assert afile.read_text() == "mine\n"
