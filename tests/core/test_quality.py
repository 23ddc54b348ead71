"""``evol build --quality``: the answer-quality judge rates each answer on Deita's 1-6 scale, asks
for structured output and falls back to text, and a reply that states no rating is a null score,
never a default. Through the real CLI against the loopback server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evolinstruct.builtins.quality import JUDGE_PROMPT, read_quality
from evolinstruct.testing import Rule

from ..conftest import evol
from ..judged_builds import build, check_no_judge_without_the_option, judged_rows, offline_build, read

JUDGE = JUDGE_PROMPT.split(",")[0]  # "Rate the quality of the answer below as a reply to its instruction"
RULES = (
    Rule(contains=JUDGE, pattern="Soft rain on the roof\\.\n", reply="Quality: 5"),
    Rule(contains=JUDGE, pattern="The moon's pull\\.\n", reply="It is hard to say; the answer is short."),
)


@pytest.mark.parametrize(
    ("reply", "rating"),
    [
        ('{"quality": 4}', 4),
        ('{"quality": 7}', None),  # off the scale
        ('{"quality": "4"}', None),  # a string is not the schema's integer
        ('{"rating": 4}', None),  # another key is no rating
        ("Quality: 6", 6),
        ("**Quality:** 3/6", 3),
        ("3", 3),
        ("Quality: 3. On reflection, Quality: 4.", None),  # two different ratings
        ("Quality: 0", None),
        ("The answer is good.", None),
        ("", None),
        (None, None),
    ],
)
def test_a_reply_gives_one_rating_from_1_to_6_or_none(reply: str | None, rating: int | None) -> None:
    assert read_quality(reply) == rating


@pytest.mark.parametrize("structured_output", [True, False])
def test_build_quality_scores_each_answer_and_null_when_unreadable(
    tmp_path: Path, loopback_llm_factory: Any, structured_output: bool
) -> None:
    server = loopback_llm_factory(RULES, structured_output=structured_output)
    out = build(tmp_path, server, "--quality")
    rows, asked = judged_rows(out, server, judge=JUDGE, score="quality", highest=6, structured_output=structured_output)
    assert rows["rain"]["scores"]["quality"] == 5.0
    assert len(asked) >= 4
    # The judge sees the instruction and the answer it rates.
    assert any("Write a haiku about rain." in r.last_user_message and "Soft rain on the roof." in r.last_user_message
               for r in asked)


def test_a_build_without_quality_asks_no_quality_judge(tmp_path: Path, loopback_llm_factory: Any) -> None:
    check_no_judge_without_the_option(tmp_path, loopback_llm_factory(RULES), judge=JUDGE, score="quality")


def test_an_offline_build_with_quality_runs(tmp_path: Path) -> None:
    offline_build(tmp_path, score="quality", highest=6)


def test_preference_pairs_need_distinct_texts_and_distinct_scores() -> None:
    from evolinstruct.builtins.exporters import preference_pairs

    def version(text: str, quality: float | None, elimination: dict[str, str] | None = None) -> dict[str, Any]:
        return {"text": text, "quality": quality, "elimination": elimination}

    row = {"instruction": "Q", "fields": {"answer_candidates": [
        version("a", 3.0), version("b", 5.0), version("b ", 2.0),  # "b " is "b" again: one answer, the first score
        version("c", 3.0),  # ties with "a": no pair between them
        version("d", None),  # no score: in no pair
        version("e", 6.0, {"filter": "require-pass", "reason": "fails"}),  # eliminated: in no pair
    ]}}
    pairs = {(p["chosen"], p["rejected"]) for p in preference_pairs(row)}
    assert pairs == {("b", "a"), ("b", "c")}
    assert list(preference_pairs({"instruction": "Q", "fields": {}})) == []


def test_the_report_draws_quality_against_complexity_per_round(tmp_path: Path, loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory(RULES)
    out = build(tmp_path, server, "--quality", "--difficulty")
    rows = read(out / "dataset.jsonl")
    both = [row for row in rows if row["scores"].get("quality") is not None and row["scores"].get("difficulty") is not None]
    assert both  # the loopback answers the judges' schemas
    report = evol("report", str(out))
    assert report.returncode == 0, report.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="chart-quality-quality-complexity"' in page
    assert f"{len(both):,} kept samples carry both scores." in page
    assert "mean quality (1-6)" in page
    # The null quality ("tides": an unreadable reply) is not counted as rated.
    seeds_rated = sum(1 for row in rows if row["round"] == 0 and row["scores"]["quality"] is not None)
    assert seeds_rated == 1
    assert '<tr><td class="num">0</td><td class="num">1</td><td>5.00</td>' in page  # round 0: rain's 5 alone
