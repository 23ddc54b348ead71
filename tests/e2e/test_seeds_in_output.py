"""A build whose --seeds is one of its --out folder's own files is a usage error (exit 2) before
anything is opened for writing: directly, through a symlink and through ``..``, the file is left
as it was (``evol build --seeds OUT/eliminated.jsonl --out OUT`` used to empty it)."""

from __future__ import annotations

from pathlib import Path

import pytest

import evolinstruct
from evolinstruct.types.errors import UsageError
from tests.conftest import evol, numbered_seeds

OWN = ("dataset.jsonl", "eliminated.jsonl", "failed.jsonl", "manifest.json", "run.json", "cache.sqlite",
       "README.md", ".lock")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seeds-in-output")
    seeds = numbered_seeds(folder, 2, "Describe canal number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(folder / "out"), "--rounds", "1")
    assert result.returncode == 0, result.stderr
    (folder / "out" / "sub").mkdir()
    return folder / "out"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_each_own_file_as_seeds_is_refused_directly_via_a_symlink_and_via_dotdot(out: Path, tmp_path: Path) -> None:
    before = snapshot(out)
    for name in OWN:
        assert (out / name).is_file(), name
        link = tmp_path / f"link-{name.strip('.')}"
        link.symlink_to(out / name)
        for seeds in (out / name, link, out / "sub" / ".." / name):
            result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1")
            assert result.returncode == 2, (seeds, result.stderr)
            assert "Traceback" not in result.stderr
            message = " ".join(result.stderr.split())
            assert f"--seeds {seeds}: is " in message and f"({name})" in message, message
    assert snapshot(out) == before


def test_the_python_api_refuses_it_the_same_way(out: Path) -> None:
    before = (out / "eliminated.jsonl").read_bytes()
    with pytest.raises(UsageError, match=r"eliminated\.jsonl\), one of the files of --out"):
        evolinstruct.build(seeds=out / "eliminated.jsonl", out=out, rounds=1)
    assert (out / "eliminated.jsonl").read_bytes() == before
