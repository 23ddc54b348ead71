"""What the tests of the build's rating judges (``--difficulty``, ``--quality``) share: two seeds,
a build of them through the real CLI against the loopback server, and the checks every judge on a
rating scale must pass (a score per answered row, null with the reason when the reply states no
rating, structured output asked for and read back as text where the endpoint has none)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import evol

SEEDS = [
    {"id": "rain", "instruction": "Write a haiku about rain.", "output": "Soft rain on the roof."},
    {"id": "tides", "instruction": "Explain why there are two tides a day.", "output": "The moon's pull."},
]
"""The judges' rules rate ``rain`` and give ``tides`` a reply that states no rating."""
EVOLVED = ("rain/r1", "tides/r1")


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def build(tmp_path: Path, server: Any, *extra: str) -> Path:
    """One round from ``SEEDS`` against ``server``, with the build options ``extra``."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(seed) + "\n" for seed in SEEDS), encoding="utf-8")
    out = tmp_path / "run"
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return out


def judged_rows(out: Path, server: Any, *, judge: str, score: str, highest: int,
                structured_output: bool) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """The build's rows by id and the judge's requests, once the checks every rating judge must
    pass hold: one request per row, ``tides`` unrated (null, with why), the schema's 1..highest
    asked for, and the evolved rows' ratings read from the loopback responder's structured reply
    (its plain text states none)."""
    rows = {row["id"]: row for row in read(out / "dataset.jsonl")}
    assert set(rows) == {"rain", "tides", *EVOLVED}
    assert rows["tides"]["scores"][score] is None  # no default for a reply that states no rating
    assert rows["tides"]["checks"][score]["missing"]
    assert all(row["usage"][score]["requests"] == 1 for row in rows.values())
    asked = [r for r in server.requests if judge in r.last_user_message]
    if structured_output:
        assert all(r.body["response_format"]["json_schema"]["schema"]["properties"][score]["enum"]
                   == list(range(1, highest + 1)) and r.status == 200 for r in asked)
        assert rows["rain"]["checks"][score]["structured"] is True
        assert all(rows[i]["scores"][score] in range(1, highest + 1) for i in EVOLVED)
    else:
        assert (400, True) in [(r.status, "response_format" in r.body) for r in asked]
        assert rows["rain"]["checks"][score]["structured"] is False
        assert all(rows[i]["scores"][score] is None for i in EVOLVED)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"][score] is True
    return rows, asked


def check_no_judge_without_the_option(tmp_path: Path, server: Any, *, judge: str, score: str) -> None:
    """A build without ``--SCORE`` sends its judge nothing and its rows hold no such score; the
    option changes what the rows hold, so the folder refuses it without --restart."""
    out = build(tmp_path, server)
    assert not [r for r in server.requests if judge in r.last_user_message]
    assert all(score not in row["scores"] for row in read(out / "dataset.jsonl"))
    again = evol("build", "--seeds", str(tmp_path / "seeds.jsonl"), "--out", str(out), "--rounds", "1", f"--{score}",
                 env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert again.returncode == 2 and f"{score} was None, now True" in again.stderr


def offline_build(tmp_path: Path, *, score: str, highest: int) -> tuple[Path, list[dict[str, Any]]]:
    """A build with ``--SCORE`` and no endpoint: the bundled offline model answers the judge in the
    schema's shape, every row says it came from the offline model, and the build says its numbers
    are placeholders."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(seed) + "\n" for seed in SEEDS), encoding="utf-8")
    out = tmp_path / "run"
    built = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", f"--{score}")  # no endpoint
    assert built.returncode == 0, built.stderr
    assert "placeholders, not judgements" in built.stderr
    rows = read(out / "dataset.jsonl")
    assert all(row["provenance"]["endpoint"] == "offline" for row in rows)
    assert all(row["scores"][score] in range(1, highest + 1) for row in rows)
    return out, rows
