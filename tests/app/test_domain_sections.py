"""The code and math plugins' report sections on real builds, drawn in Chromium.

The sections reach a page through the ``evol_report_sections`` hook; here they are handed to
``render_report`` directly, as the hook will hand them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evolinstruct.app.publish.card import write_card
from evolinstruct.app.publish.report.model import read_build
from evolinstruct.app.publish.report.page import write_report
from evolinstruct.app.publish.report.page import sections_for
from tests.app.conftest import EXAMPLES, open_page, read_rows
from evolinstruct.testing import Rule
from tests.conftest import evol
from wizardcoder.report import NO_VERDICT, NOT_RUN
from wizardcoder.report import SECTION as CODE_SECTION
from wizardcoder.report import verdict_of
from wizardmath.report import REWARDS
from wizardmath.report import SECTION as MATH_SECTION

SECTIONS = [CODE_SECTION, MATH_SECTION]


def plotted(page: Any, chart_id: str) -> dict[str, dict[str, float]]:
    traces = page.evaluate("id => document.getElementById(id).data.map(t => [t.name, t.x, t.y])", chart_id)
    return {name: dict(zip(map(str, x), y)) for name, x, y in traces}


def test_a_section_shows_only_for_its_domain(general_build: Path) -> None:
    report = read_build(general_build)
    names = [section.name for section in sections_for(report, SECTIONS)]
    assert "code-verdicts" not in names and "math-rewards" not in names


def test_verdict_categories_keep_untested_and_unrun_apart() -> None:
    assert verdict_of({"checks": {"execution": {"verdict": "PASS", "tested": True}}}) == "PASS"
    assert verdict_of({"checks": {"execution": {"verdict": "PASS", "tested": False}}}) == "PASS (untested)"
    assert verdict_of({"checks": {"execution": {"verdict": None}}}) == NO_VERDICT
    assert verdict_of({"checks": {}}) == NOT_RUN


def test_math_reward_histograms_count_every_scored_row_and_no_missing_one(
    tmp_path: Path, browser: Any, loopback_llm_factory: Any
) -> None:
    # Half of the instruction judge's replies cannot be read: those rows have no instruction
    # reward and no reward, and must be counted as missing.
    server = loopback_llm_factory([Rule(contains="Rate the problem below", reply="Looks fine.", probability=0.5)])
    out = tmp_path / "math"
    result = evol("build", "--domain", "math", "--seeds", str(EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"),
                  "--out", str(out), "--rounds", "2", "--no-progress",
                  env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode == 0, result.stderr
    page_path = write_report(read_build(out), SECTIONS)
    opened = open_page(browser, page_path)
    assert opened.errors == []
    assert "placeholders" not in opened.page.locator("#math-rewards").inner_text()

    rows = [row for name in ("dataset.jsonl", "eliminated.jsonl") for row in read_rows(out, name)]
    missing_somewhere = False
    for name, _title in REWARDS:
        present = [row["scores"][name] for row in rows if isinstance(row["scores"].get(name), (int, float))]
        missing = len(rows) - len(present)
        missing_somewhere |= missing > 0
        chart = opened.page.locator(f"#chart-math-rewards-{name}")
        if not present:
            assert chart.count() == 0
            continue
        drawn = sum(sum(per_bin.values()) for per_bin in plotted(opened.page, f"chart-math-rewards-{name}").values())
        assert drawn == len(present), name
        caption = chart.locator("xpath=..").locator("figcaption").inner_text()
        assert f"{len(present):,} rows scored; {missing:,} scored without a {name} value" in caption
    # A missing reward is counted as missing, and not one of them was drawn as a 0.
    assert missing_somewhere

    # The card says which checks ran and gives each reward's numbers over the kept rows.
    card = write_card(out).read_text()
    assert "- question-answering" in card and "WizardMath (arXiv:2308.09583)" in card
    kept = read_rows(out, "dataset.jsonl")
    for name, _title in REWARDS:
        present = [row["scores"][name] for row in kept if isinstance(row["scores"].get(name), (int, float))]
        if present:
            found = re.search(rf"^\| {name} \| ([\d,]+) \| ([\d,]+) \| ([\d.]+) \|", card, re.MULTILINE)
            assert found, name
            assert (found.group(1), found.group(2)) == (f"{len(present):,}", f"{len(kept) - len(present):,}"), name
            # The mean to the card's three decimals: a mean on a rounding boundary (0.3865) may
            # print either way, depending on the order the floats were added in.
            assert abs(float(found.group(3)) - sum(present) / len(present)) <= 0.0005 + 1e-9, name


def test_math_rewards_of_an_offline_build_say_they_are_placeholders(tmp_path: Path) -> None:
    out = tmp_path / "math"
    result = evol("build", "--domain", "math", "--seeds", str(EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"),
                  "--out", str(out), "--rounds", "1", "--limit", "2", "--no-progress")  # no endpoint
    assert result.returncode == 0, result.stderr
    # The offline model answers the instruction judge with schema-shaped placeholder numbers.
    assert any(isinstance(row["scores"].get("instruction_reward"), float) for row in read_rows(out, "dataset.jsonl"))
    page = write_report(read_build(out), SECTIONS).read_text(encoding="utf-8")
    section = page[page.index('<section id="math-rewards">'):]
    assert "instruction reward and the reward, are placeholders, not judgements" in section[:section.index("</section>")]


@pytest.mark.docker
def test_code_verdicts_per_round_are_the_rows_verdicts(tmp_path: Path, browser: Any) -> None:
    from tests.wizardcoder.conftest import require_docker

    require_docker()
    out = tmp_path / "code"
    result = evol("build", "--domain", "code", "--seeds", str(EXAMPLES / "seeds" / "code_mbpp.jsonl"), "--out", str(out),
                  "--rounds", "2", "--limit", "3", "--sandbox-workers", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    page_path = write_report(read_build(out), SECTIONS)
    opened = open_page(browser, page_path)
    assert opened.errors == []
    for kind, name in (("kept", "dataset.jsonl"), ("eliminated", "eliminated.jsonl")):
        rows = read_rows(out, name)
        if not rows:
            continue
        expected: dict[str, Counter] = {}
        for row in rows:
            expected.setdefault(verdict_of(row), Counter())[f"round {row['round']}"] += 1
        drawn = plotted(opened.page, f"chart-code-verdicts-verdicts-{kind}")
        assert {verdict: {r: n for r, n in per_round.items() if n} for verdict, per_round in drawn.items()} == {
            verdict: dict(counts) for verdict, counts in expected.items()
        }
