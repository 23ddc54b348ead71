"""``evol build --difficulty`` rates every answered sample with the difficulty judge, and
``evol curate --difficulty`` on the same folder reuses those judgements: no new request, with an
endpoint that honours structured output and with one that does not. Through the real CLI
against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evolinstruct.builtins.curation.difficulty import JUDGE_PROMPT
from evolinstruct.testing import Rule

from ..conftest import evol

JUDGE = JUDGE_PROMPT.split(",")[0]  # "Rate how difficult and complex the instruction below ..."
SEEDS = [
    {"id": "rain", "instruction": "Write a haiku about rain.", "output": "Soft rain on the roof."},
    {"id": "tides", "instruction": "Explain why there are two tides a day.", "output": "The moon's pull."},
]
RULES = (
    Rule(contains=JUDGE, pattern="haiku about rain\\.\n", reply="Difficulty: 2"),
    Rule(contains=JUDGE, pattern="two tides a day\\.\n", reply="Hard to say; it depends on the reader."),
)


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def build(tmp_path: Path, server: Any, *extra: str) -> Path:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(seed) + "\n" for seed in SEEDS), encoding="utf-8")
    out = tmp_path / "run"
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", *extra, env=env)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("structured_output", [True, False])
def test_curate_reuses_the_build_s_difficulty_judgements(tmp_path: Path, loopback_llm_factory, structured_output: bool) -> None:
    server = loopback_llm_factory(RULES, structured_output=structured_output)
    out = build(tmp_path, server, "--difficulty")
    rows = {row["id"]: row for row in read(out / "dataset.jsonl")}
    assert set(rows) == {"rain", "tides", "rain/r1", "tides/r1"}
    assert rows["rain"]["scores"]["difficulty"] == 2.0
    # A reply that states no rating is a missing score, never a number.
    assert rows["tides"]["scores"]["difficulty"] is None
    assert rows["tides"]["checks"]["difficulty"]["missing"]
    assert all(row["usage"]["difficulty"]["requests"] == 1 for row in rows.values())
    asked = [r for r in server.requests if JUDGE in r.last_user_message]
    if structured_output:
        assert all(r.body["response_format"]["json_schema"]["schema"]["properties"]["difficulty"]["enum"]
                   == list(range(1, 11)) and r.status == 200 for r in asked)
        assert rows["rain"]["checks"]["difficulty"]["structured"] is True
        # The evolved rows were answered by the offline responder in the schema's shape.
        assert all(rows[i]["scores"]["difficulty"] in range(1, 11) for i in ("rain/r1", "tides/r1"))
        # A build against an endpoint draws its ratings per round (an offline one does not: below).
        assert evol("report", str(out)).returncode == 0
        assert 'id="chart-instructions-difficulty"' in (out / "report.html").read_text(encoding="utf-8")
    else:
        assert (400, True) in [(r.status, "response_format" in r.body) for r in asked]
        assert rows["rain"]["checks"]["difficulty"]["structured"] is False
        # The offline responder's plain text states no rating.
        assert all(rows[i]["scores"]["difficulty"] is None for i in ("rain/r1", "tides/r1"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["difficulty"] is True

    unrated = sorted(row_id for row_id, row in rows.items() if row["scores"]["difficulty"] is None)
    sent = server.request_count
    curated = evol("curate", str(out), "--difficulty", "--no-progress",
                   env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert curated.returncode == 0, curated.stderr
    assert server.request_count == sent  # no new judge request
    report = json.loads((out / "curated" / "curation.json").read_text(encoding="utf-8"))
    # Rows rated by the build keep their rating; the others are asked again, from the cache.
    assert report["difficulty"]["asked"] == len(unrated) and report["difficulty"]["sent"] == 0
    assert report["difficulty"]["from_cache"] == len(unrated)
    ratings = {line["id"]: line["difficulty"] for line in read(out / "curated" / "difficulty.jsonl")}
    assert ratings == {row_id: None if row["scores"]["difficulty"] is None else int(row["scores"]["difficulty"])
                       for row_id, row in rows.items()}


def test_a_build_without_difficulty_asks_no_difficulty_judge(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    out = build(tmp_path, server)
    assert not [r for r in server.requests if JUDGE in r.last_user_message]
    assert all("difficulty" not in row["scores"] for row in read(out / "dataset.jsonl"))
    # --difficulty changes what the rows hold: the folder refuses it without --restart.
    again = evol("build", "--seeds", str(tmp_path / "seeds.jsonl"), "--out", str(out), "--rounds", "1", "--difficulty",
                 env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert again.returncode == 2 and "difficulty was None, now True" in again.stderr


def test_an_offline_build_never_presents_its_placeholder_ratings_as_judgements(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps(seed) + "\n" for seed in SEEDS), encoding="utf-8")
    out = tmp_path / "run"
    built = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--difficulty")  # no endpoint
    assert built.returncode == 0, built.stderr
    assert "placeholders, not judgements" in built.stderr
    rows = read(out / "dataset.jsonl")
    # The rows carry the placeholder numbers the offline model gave in the schema's shape, and say
    # where they come from.
    assert all(row["provenance"]["endpoint"] == "offline" for row in rows)
    assert all(row["scores"]["difficulty"] in range(1, 11) for row in rows)

    # The report neither draws them as difficulty per round nor lists them without a warning.
    report = evol("report", str(out))
    assert report.returncode == 0, report.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="chart-instructions-difficulty"' not in page
    assert "Difficulty per round is not drawn" in page
    assert "the judges&#x27; numbers below are placeholders" in page or "the judges' numbers below are placeholders" in page
    assert "placeholders, not judgements" in (out / "README.md").read_text(encoding="utf-8")

    # evol curate counts none of them as rated, and says why.
    curated = evol("curate", str(out), "--no-progress")
    assert curated.returncode == 0, curated.stderr
    summary = json.loads((out / "curated" / "curation.json").read_text(encoding="utf-8"))
    assert summary["offline_rows"] == len(rows)
    assert all(group["rated"] == 0 and group["mean_difficulty"] is None for group in summary["per_round"].values())
    assert "placeholder, not a rating" in curated.stdout

    exported = evol("export", str(out), "--format", "chat")
    assert exported.returncode == 0 and "placeholders, not for training" in exported.stderr
