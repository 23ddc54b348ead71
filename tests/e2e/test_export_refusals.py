"""``evol export`` refuses what cannot give a file: a format whose records this build does not
have (prm, stepwise, irm on a general build), and filter values no row can match. Exit 2 saying
why, nothing written, and the card never offers an empty export as a configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import evol, numbered_seeds


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("refusals")
    seeds = numbered_seeds(folder, 3, "Describe bridge number {i}.")
    # --difficulty: the rows hold a score (scores.difficulty), the names --min-score may take.
    result = evol("build", "--seeds", str(seeds), "--out", str(folder / "out"), "--rounds", "1", "--difficulty")
    assert result.returncode == 0, result.stderr
    return folder / "out"


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("fmt", ["prm", "stepwise", "irm"])
def test_a_format_this_build_cannot_give_is_refused_with_no_file(built: Path, fmt: str) -> None:
    before = files(built)
    result = evol("export", str(built), "--format", fmt)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert f"--format {fmt}: none of the" in message and "nothing was written" in message, message
    assert "--domain math" in message  # why: where its records come from
    assert files(built) == before  # no file, no temporary
    assert f"{fmt}.jsonl" not in (built / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("option", "value", "listed"), [
    ("--domain-verdict", "pass", "the rows' verdicts:"),
    ("--domain-verdict", "NOPE", "the rows' verdicts:"),
    ("--min-score", "rewrd=0.5", "the rows' scores:"),
])
def test_filter_values_no_row_can_match_are_refused_listing_the_valid_ones(
    built: Path, tmp_path: Path, option: str, value: str, listed: str,
) -> None:
    target = tmp_path / "out.jsonl"
    result = evol("export", str(built), "--format", "chat", option, value, "--output", str(target))
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = " ".join(result.stderr.split())
    assert f"{option} {value.split('=')[0]}" in message and listed in message, message
    assert not target.exists() and files(tmp_path) == []
    if option == "--min-score":
        # The valid names are the ones the rows hold.
        scores = {name for line in (built / "dataset.jsonl").read_text().splitlines()
                  for name in (json.loads(line).get("scores") or {})}
        assert scores and all(name in message for name in scores), message


def test_an_export_that_keeps_no_row_is_no_configuration_of_the_card(built: Path) -> None:
    scores = sorted({name for line in (built / "dataset.jsonl").read_text().splitlines()
                     for name, value in (json.loads(line).get("scores") or {}).items()
                     if isinstance(value, (int, float))})
    assert scores
    # A valid score no row reaches: the file is written empty (a choice, warned about) ...
    result = evol("export", str(built), "--format", "sharegpt", "--min-score", f"{scores[0]}=1e9")
    assert result.returncode == 0, result.stderr
    assert "no row passes the export filters" in result.stderr
    assert (built / "sharegpt.jsonl").read_text() == ""
    # ... and the card neither offers it as a config nor calls it stale.
    card = (built / "README.md").read_text(encoding="utf-8")
    assert "sharegpt" not in card, card
