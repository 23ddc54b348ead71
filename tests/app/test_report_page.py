"""``evol report`` on a real build, opened in Debian's Chromium: the page loads offline with no
console error, every chart draws the rows' numbers, and the lineage browser shows each seed's tree
with its eliminated and failed branches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import json_block, open_page, read_rows
from tests.conftest import evol

# Plotly's marks: bars are paths under g.point, boxes are path.box; each must have a real size.
VISIBLE_MARKS = """chart => [...chart.querySelectorAll('.cartesianlayer .trace .point path, .cartesianlayer .trace.boxes path.box')]
    .filter(mark => { const box = mark.getBBox(); return box.width > 0 && box.height > 0; }).length"""


@pytest.fixture(scope="module")
def report(general_build: Path) -> Path:
    result = evol("report", str(general_build), "--price-in", "0.5", "--price-out", "1.5")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return general_build / "report.html"


def all_rows(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        (kind, row)
        for kind, name in (("kept", "dataset.jsonl"), ("eliminated", "eliminated.jsonl"), ("failed", "failed.jsonl"))
        for row in read_rows(folder, name)
    ]


def test_the_page_opens_offline_with_no_console_error_and_every_chart_drawn(report: Path, browser: Any) -> None:
    opened = open_page(browser, report)
    page = opened.page
    assert opened.errors == []
    assert opened.requests == [report.resolve().as_uri()]  # nothing but the file itself
    charts = page.locator(".chart")
    assert set(charts.evaluate_all("charts => charts.map(chart => chart.id)")) == {
        "chart-run-tokens-per-stage",
        "chart-rounds-rounds",
        "chart-eliminations-eliminations-per-filter",
        "chart-eliminations-outcome-per-operation",
        "chart-instructions-instruction-words",
    }
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart_id = chart.get_attribute("id")
        assert chart.locator("svg.main-svg").count() > 0, chart_id
        assert chart.evaluate(VISIBLE_MARKS) > 0, f"{chart_id} drew no visible bar or box"


def test_the_charts_plot_the_counts_of_every_row(report: Path, general_build: Path, browser: Any) -> None:
    page = open_page(browser, report).page
    rows = all_rows(general_build)
    plotted = page.evaluate(
        "id => document.getElementById(id).data.map(trace => [trace.name, trace.x, trace.y])", "chart-rounds-rounds"
    )
    per_round = {name: dict(zip(x, y)) for name, x, y in plotted}
    for kind in ("kept", "eliminated", "failed"):
        counted = Counter(f"round {row['round']}" for found, row in rows if found == kind)
        assert {label: value for label, value in per_round[kind].items() if value} == dict(counted), kind
    # The failed lineage (the bicycle seed, at round 1) skipped rounds 2 to 4.
    assert per_round["not reached"] == {"round 0": 0, "round 1": 0, "round 2": 1, "round 3": 1, "round 4": 1}

    filters = page.evaluate("id => document.getElementById(id).data[0]", "chart-eliminations-eliminations-per-filter")
    expected = Counter(row["elimination"]["filter"] for kind, row in rows if kind == "eliminated")
    assert dict(zip(filters["y"], filters["x"])) == dict(expected)
    assert set(expected) == {"equality", "template-leak"}

    operations = page.evaluate(
        "id => document.getElementById(id).data.map(trace => [trace.name, trace.y, trace.x])",
        "chart-eliminations-outcome-per-operation",
    )
    for kind, names, values in operations:
        counted = Counter(row["operation"] for found, row in rows if found == kind and row["round"] > 0)
        assert {name: value for name, value in zip(names, values) if value} == dict(counted), kind


def test_clicking_a_seed_shows_its_tree_with_the_eliminated_branches(report: Path, general_build: Path, browser: Any) -> None:
    opened = open_page(browser, report)
    page = opened.page
    rows = [(kind, row) for kind, row in all_rows(general_build) if row["seed_id"] == "g1"]
    eliminated = [row for kind, row in rows if kind == "eliminated"]
    assert {row["elimination"]["filter"] for row in eliminated} >= {"template-leak"}

    page.locator('#seed-list button[data-seed-id="g1"]').click()
    tree = page.locator("#lineage-tree")
    assert tree.locator(".node").count() == len(rows)
    for row in eliminated:
        node = tree.locator(f'.node[data-node-id="{row["id"]}"]')
        assert node.get_attribute("data-status") == "eliminated"
        assert row["elimination"]["filter"] in node.locator(".elimination").inner_text()
        assert row["elimination"]["reason"] in node.locator(".elimination").inner_text()
        # An eliminated candidate hangs under the sample it was evolved from.
        parent = tree.locator(f'li:has(> .node[data-node-id="{row["parent_id"]}"])')
        assert parent.locator(f'ul .node[data-node-id="{row["id"]}"]').count() == 1
    # A kept evolution highlights what it changed in its parent's instruction.
    evolved = [row for kind, row in rows if kind == "kept" and row["round"] > 0]
    assert evolved
    node = tree.locator(f'.node[data-node-id="{evolved[0]["id"]}"]')
    assert node.locator(".instruction ins").count() > 0
    assert node.locator(".instruction").inner_text().replace("\n", " ").strip() != ""
    node.locator("details.response summary").click()
    assert evolved[0]["response"][:40] in node.locator("details.response pre").inner_text()
    assert opened.errors == []


def test_a_failed_evolution_is_shown_with_its_stage_and_error(report: Path, general_build: Path, browser: Any) -> None:
    failed = read_rows(general_build, "failed.jsonl")
    assert [(row["seed_id"], row["round"]) for row in failed] == [("g7", 1)]
    page = open_page(browser, report).page
    page.locator('#seed-list button[data-seed-id="g7"]').click()
    node = page.locator(f'#lineage-tree .node[data-node-id="{failed[0]["id"]}"]')
    assert node.get_attribute("data-status") == "failed"
    assert f"failed at {failed[0]['stage']}" in node.inner_text()


def test_the_search_and_the_elimination_filter_narrow_the_seed_list(report: Path, general_build: Path, browser: Any) -> None:
    page = open_page(browser, report).page
    rows = all_rows(general_build)

    def visible() -> set[str]:
        return set(page.eval_on_selector_all("#seed-list li:not([hidden]) button", "buttons => buttons.map(b => b.dataset.seedId)"))

    assert visible() == {row["seed_id"] for _, row in rows}
    page.fill("#lineage-search", "lighthouse")
    assert visible() == {row["seed_id"] for _, row in rows if "lighthouse" in (row["instruction"] or "").lower()} == {"g2"}
    page.fill("#lineage-search", "")
    page.check("#lineage-eliminated-only")
    assert visible() == {row["seed_id"] for kind, row in rows if kind == "eliminated"}


def test_the_cost_and_tokens_come_from_the_rows_usage(report: Path, general_build: Path) -> None:
    text = report.read_text(encoding="utf-8")
    prompt = completion = 0
    for _, row in all_rows(general_build):
        for used in row.get("usage", {}).values():
            prompt += used["prompt_tokens"]
            completion += used["completion_tokens"]
    cost = (prompt * 0.5 + completion * 1.5) / 1e6
    assert f"completion tokens: {cost:,.4f}." in text
    charts = {chart["id"]: chart["figure"] for chart in json_block(text, "evol-charts")["charts"]}
    tokens = charts["chart-run-tokens-per-stage"]["data"]
    assert sum(tokens[0]["y"]) == prompt and sum(tokens[1]["y"]) == completion


def test_a_bounded_sample_of_lineages_leaves_the_charts_whole(general_build: Path, tmp_path: Path) -> None:
    output = tmp_path / "small.html"
    result = evol("report", str(general_build), "--lineages", "3", "--output", str(output), "--no-card")
    assert result.returncode == 0, result.stderr
    text = output.read_text(encoding="utf-8")
    lineages = json_block(text, "evol-lineages")["lineages"]
    assert len(lineages) == 3
    assert "3 of 8 lineages" in text
    rows = all_rows(general_build)
    for lineage in lineages:  # each sampled lineage is whole
        assert len(lineage["nodes"]) == sum(1 for _, row in rows if row["seed_id"] == lineage["seed_id"])
    charts = {chart["id"]: chart["figure"] for chart in json_block(text, "evol-charts")["charts"]}
    plotted = sum(sum(trace["y"]) for trace in charts["chart-rounds-rounds"]["data"] if trace["name"] != "not reached")
    assert plotted == len(rows)
    # The same folder gives the same sample.
    again = tmp_path / "again.html"
    assert evol("report", str(general_build), "--lineages", "3", "--output", str(again), "--no-card").returncode == 0
    assert [item["seed_id"] for item in json_block(again.read_text(), "evol-lineages")["lineages"]] == [
        item["seed_id"] for item in lineages
    ]
