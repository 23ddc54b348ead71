"""The build folder knows its own files, however a path reaches them, and writes whole files only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evolinstruct.runtime.output import (
    CURATED, DATASET, ELIMINATED, FAILED, OWN_FILES, SCRATCH, Output, OutputFolder, replaced_when_done,
)
from evolinstruct.runtime.seeds import refuse_output_file
from evolinstruct.runtime.tally import Tally
from evolinstruct.types.errors import UsageError


def made_folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    (out / CURATED).mkdir(parents=True)
    (out / "sub").mkdir()
    for name in OWN_FILES:
        (out / name).write_text(f"the content of {name}\n", encoding="utf-8")
    (out / CURATED / "dataset.jsonl").write_text("curated\n", encoding="utf-8")
    return out


def ways_to(out: Path, name: str, tmp_path: Path) -> list[Path]:
    """The file itself, a symlink to it from outside the folder, and a path through ``..``."""
    link = tmp_path / f"link-to-{name.strip('.').replace('/', '-')}"
    link.symlink_to(out / name)
    return [out / name, link, out / "sub" / ".." / name]


@pytest.mark.parametrize("name", [*OWN_FILES, f"{CURATED}/dataset.jsonl"])
def test_each_own_file_is_known_directly_through_a_symlink_and_through_dotdot(tmp_path: Path, name: str) -> None:
    out = made_folder(tmp_path)
    for path in ways_to(out, name, tmp_path):
        assert OutputFolder(out).own(path) is not None, path


def test_a_hard_link_and_a_shard_folder_are_own_and_a_file_beside_them_is_not(tmp_path: Path) -> None:
    out = made_folder(tmp_path)
    os.link(out / DATASET, tmp_path / "hard-link.jsonl")
    assert OutputFolder(out).own(tmp_path / "hard-link.jsonl") == "the build's dataset (dataset.jsonl)"
    assert OutputFolder(out).own(out / SCRATCH / "shard-1-of-2" / DATASET) is not None
    (out / "my-seeds.jsonl").write_text("{}\n", encoding="utf-8")
    assert OutputFolder(out).own(out / "my-seeds.jsonl") is None
    assert OutputFolder(out).own(tmp_path / "elsewhere.jsonl") is None


@pytest.mark.parametrize("name", [*OWN_FILES, f"{CURATED}/dataset.jsonl"])
def test_seeds_that_are_an_own_file_are_a_usage_error_and_the_file_is_untouched(tmp_path: Path, name: str) -> None:
    out = made_folder(tmp_path)
    before = (out / name).read_bytes()
    for path in ways_to(out, name, tmp_path):
        with pytest.raises(UsageError, match=rf"--seeds {path}: is .*one of the files of --out"):
            refuse_output_file(path, out)
    assert (out / name).read_bytes() == before


def test_the_row_files_are_replaced_only_when_the_pass_closes(tmp_path: Path) -> None:
    for name in (DATASET, ELIMINATED, FAILED):
        (tmp_path / name).write_text("the last pass\n", encoding="utf-8")
    output = Output(tmp_path, {}, Tally(seeds=0, rounds=0))
    assert (tmp_path / DATASET).read_text(encoding="utf-8") == "the last pass\n"  # not emptied by opening
    output.close()
    assert (tmp_path / DATASET).read_text(encoding="utf-8") == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([DATASET, ELIMINATED, FAILED])


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(KeyError):
        with replaced_when_done(path) as temporary:
            temporary.write_text("half", encoding="utf-8")
            raise KeyError("response")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["chat.jsonl"]
