"""``evol report`` on folders a user may really have: broken rows, no manifest, a manifest that
disagrees with the rows. Errors name the file, line and field (exit 2, no traceback)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.app.conftest import json_block
from tests.conftest import evol


@pytest.fixture
def build(general_build: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "build"
    shutil.copytree(general_build, folder, ignore=shutil.ignore_patterns("report.html", "README.md"))
    return folder


def replace_line(path: Path, number: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = text
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def assert_user_error(result, *parts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr


def test_a_line_that_is_not_json_is_named(build: Path) -> None:
    replace_line(build / "eliminated.jsonl", 2, '{"id": "x", "seed_id": ')
    assert_user_error(evol("report", str(build)), f"{build / 'eliminated.jsonl'}:2: not valid JSON")
    assert not (build / "report.html").exists()


def test_a_field_of_the_wrong_type_is_named_with_its_line(build: Path) -> None:
    row = json.loads((build / "dataset.jsonl").read_text().splitlines()[4])
    replace_line(build / "dataset.jsonl", 5, json.dumps({**row, "round": "two"}))
    assert_user_error(evol("report", str(build)), f"{build / 'dataset.jsonl'}:5: field 'round'", '"two"')

    replace_line(build / "dataset.jsonl", 5, json.dumps({**row, "scores": {"difficulty": "hard"}}))
    assert_user_error(evol("report", str(build)), f"{build / 'dataset.jsonl'}:5: field 'scores.difficulty'")

    elimination_row = json.loads((build / "eliminated.jsonl").read_text().splitlines()[0])
    del elimination_row["elimination"]["reason"]
    replace_line(build / "eliminated.jsonl", 1, json.dumps(elimination_row))
    replace_line(build / "dataset.jsonl", 5, json.dumps(row))
    assert_user_error(evol("report", str(build)), f"{build / 'eliminated.jsonl'}:1: field 'elimination.reason'")


def test_a_folder_without_a_dataset_is_refused(tmp_path: Path) -> None:
    assert_user_error(evol("report", str(tmp_path)), f"{tmp_path / 'dataset.jsonl'}: no dataset here")


def test_prices_come_in_pairs(build: Path) -> None:
    result = evol("report", str(build), "--price-in", "1")
    assert result.returncode == 2
    assert "give both --price-in and --price-out" in result.stderr


def test_without_a_manifest_the_run_is_unknown_and_the_counts_still_hold(build: Path) -> None:
    (build / "manifest.json").unlink()
    result = evol("report", str(build))
    assert result.returncode == 0, result.stderr
    assert "manifest.json is missing" in result.stderr
    page = (build / "report.html").read_text()
    assert "<td>model</td><td>unknown</td>" in page
    kept = len((build / "dataset.jsonl").read_text().splitlines())
    rounds = {c["id"]: c["figure"] for c in json_block(page, "evol-charts")["charts"]}["chart-rounds-rounds"]
    assert sum(next(trace for trace in rounds["data"] if trace["name"] == "kept")["y"]) == kept
    card = (build / "README.md").read_text()
    assert "The command is unknown (no manifest.json)." in card


def test_a_manifest_that_disagrees_with_the_rows_is_reported_and_the_rows_win(build: Path) -> None:
    manifest = json.loads((build / "manifest.json").read_text())
    said = manifest["counts"]["per_round"]["1"]["kept"]
    manifest["counts"]["per_round"]["1"]["kept"] = said + 5
    (build / "manifest.json").write_text(json.dumps(manifest))
    result = evol("report", str(build))
    assert result.returncode == 0, result.stderr
    message = f"manifest.json says round 1 has {said + 5} kept, the rows hold {said}"
    assert message in result.stderr
    assert message in (build / "report.html").read_text()


def test_an_empty_build_gives_a_page_and_a_card_of_zeros(tmp_path: Path) -> None:
    (tmp_path / "dataset.jsonl").write_text("")
    result = evol("report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "0 samples kept (0 seeds and 0 evolved)" in (tmp_path / "report.html").read_text()
    assert "0 instruction-response pairs in `dataset.jsonl`" in (tmp_path / "README.md").read_text()


def test_credentials_in_the_endpoint_never_reach_the_page(build: Path) -> None:
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["config"]["base_url"] = "https://zq7user:Zq7s3cret@llm.example:8443/v1"
    manifest["command"] += ["--base-url=https://zq7user:Zq7s3cret@llm.example:8443/v1"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    assert evol("report", str(build)).returncode == 0
    page = (build / "report.html").read_text()
    assert "Zq7s3cret" not in page and "zq7user" not in page
    assert "https://***@llm.example:8443/v1" in page
    assert "Zq7s3cret" not in (build / "README.md").read_text()


def test_an_output_that_is_one_of_the_build_files_is_refused(build: Path, tmp_path: Path) -> None:
    assert evol("report", str(build)).returncode == 0  # a card and a page to protect
    (build / "curated").mkdir()
    (build / "curated" / "dataset.jsonl").write_text((build / "dataset.jsonl").read_text())
    (tmp_path / "link.html").symlink_to(build / "dataset.jsonl")
    files = {path: path.read_bytes() for path in build.rglob("*") if path.is_file()}
    targets = [build / name for name in ("dataset.jsonl", "eliminated.jsonl", "failed.jsonl", "manifest.json",
                                          "run.json", "cache.sqlite", ".lock", "README.md", "curated/dataset.jsonl")]
    for target in (*targets, build / "sub" / ".." / "dataset.jsonl", tmp_path / "link.html"):
        for extra in ((), ("--no-card",)):
            result = evol("report", str(build), "--output", str(target), *extra)
            assert_user_error(result, f"--output {target}: ")
            assert len([line for line in result.stderr.splitlines() if "error:" in line]) == 1
    assert {path: path.read_bytes() for path in build.rglob("*") if path.is_file()} == files


def test_an_output_under_a_file_is_a_usage_error_and_a_missing_folder_is_made(build: Path, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    assert_user_error(evol("report", str(build), "--output", str(afile / "r.html")),
                      f"--output {afile / 'r.html'}: {afile} is a file, not a folder")
    assert afile.read_text() == "mine\n"
    elsewhere = tmp_path / "new" / "deeper" / "r.html"
    assert evol("report", str(build), "--output", str(elsewhere), "--no-card").returncode == 0
    assert "<html" in elsewhere.read_text(encoding="utf-8")[:500].lower()
