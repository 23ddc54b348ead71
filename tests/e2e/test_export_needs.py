"""``evol export`` on rows that lack what a format needs: a usage error naming file, line and field,
and no file left behind (nor an earlier export lost), for every export format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evolinstruct.app.build.host import load_host
from tests.conftest import evol, numbered_seeds


def formats() -> dict[str, tuple[str, ...]]:
    """Every export format the installed plugins register, with the fields it needs."""
    registry = load_host().registry
    return {name: exporter.needs for name, exporter in registry.exporters.items()}


FORMATS = formats()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("needs")
    seeds = numbered_seeds(folder, 3, "Describe tunnel number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(folder / "out"), "--rounds", "1")
    assert result.returncode == 0, result.stderr
    return folder / "out"


def with_second_row(built: Path, tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "copy"
    shutil.copytree(built, folder)
    lines = (folder / "dataset.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 2
    row = json.loads(lines[1])
    change(row)
    lines[1] = json.dumps(row)
    (folder / "dataset.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def assert_refused_and_nothing_written(folder: Path, fmt: str, *, field: str, target: Path) -> None:
    before = sorted(p.name for p in target.parent.iterdir())
    result = evol("export", str(folder), "--format", fmt, "--output", str(target))
    assert result.returncode == 2, (fmt, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert f"{folder / 'dataset.jsonl'}:2: field {field!r}" in " ".join(result.stderr.split()), result.stderr
    assert sorted(p.name for p in target.parent.iterdir()) == before  # no file, no temporary left


def test_the_core_conversation_formats_declare_what_they_need() -> None:
    for fmt in ("chat", "sharegpt", "alpaca"):
        assert FORMATS[fmt] == ("instruction", "response")


@pytest.mark.parametrize("fmt", sorted(name for name, needs in FORMATS.items() if needs))
@pytest.mark.parametrize("how", ["missing", "null"])
def test_a_format_on_rows_without_its_field_is_exit_2_and_leaves_no_file(built: Path, tmp_path: Path, fmt: str, how: str) -> None:
    field = FORMATS[fmt][-1]
    folder = with_second_row(built, tmp_path, lambda row: row.pop(field) if how == "missing" else row.update({field: None}))
    out = tmp_path / "exports"
    out.mkdir()
    assert_refused_and_nothing_written(folder, fmt, field=field, target=out / f"out.{fmt}")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_on_rows_without_an_instruction_is_exit_2_and_keeps_the_earlier_export(built: Path, tmp_path: Path, fmt: str) -> None:
    folder = with_second_row(built, tmp_path, lambda row: row.pop("instruction"))
    target = tmp_path / "exports" / f"earlier.{fmt}"
    target.parent.mkdir()
    target.write_text("an earlier export\n", encoding="utf-8")
    assert_refused_and_nothing_written(folder, fmt, field="instruction", target=target)
    assert target.read_text(encoding="utf-8") == "an earlier export\n"
