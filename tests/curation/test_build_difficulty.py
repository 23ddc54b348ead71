"""``evol build --difficulty`` rates every answered sample with the difficulty judge, and
``evol curate --difficulty`` on the same folder reuses those judgements: no new request, with an
endpoint that honours structured output and with one that does not. Through the real CLI
against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolinstruct.builtins.curation.difficulty import JUDGE_PROMPT
from evolinstruct.testing import Rule

from ..conftest import evol
from ..judged_builds import build, check_no_judge_without_the_option, judged_rows, offline_build, read

JUDGE = JUDGE_PROMPT.split(",")[0]  # "Rate how difficult and complex the instruction below ..."
RULES = (
    Rule(contains=JUDGE, pattern="haiku about rain\\.\n", reply="Difficulty: 2"),
    Rule(contains=JUDGE, pattern="two tides a day\\.\n", reply="Hard to say; it depends on the reader."),
)


@pytest.mark.parametrize("structured_output", [True, False])
def test_curate_reuses_the_build_s_difficulty_judgements(tmp_path: Path, loopback_llm_factory, structured_output: bool) -> None:
    server = loopback_llm_factory(RULES, structured_output=structured_output)
    out = build(tmp_path, server, "--difficulty")
    rows, _ = judged_rows(out, server, judge=JUDGE, score="difficulty", highest=10, structured_output=structured_output)
    assert rows["rain"]["scores"]["difficulty"] == 2.0
    if structured_output:
        # A build against an endpoint draws its ratings per round (an offline one does not: below).
        assert evol("report", str(out)).returncode == 0
        assert 'id="chart-instructions-difficulty"' in (out / "report.html").read_text(encoding="utf-8")

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
    check_no_judge_without_the_option(tmp_path, loopback_llm_factory(RULES), judge=JUDGE, score="difficulty")


def test_an_offline_build_never_presents_its_placeholder_ratings_as_judgements(tmp_path: Path) -> None:
    # The rows carry the placeholder numbers the offline model gave in the schema's shape, and say
    # where they come from.
    out, rows = offline_build(tmp_path, score="difficulty", highest=10)

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
