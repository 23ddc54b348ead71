"""``evol report`` read as a user reads it: rounds in order on every per-round axis (also when a
round kept nothing), a seed list whose ids do not run into their counts, and a math reward table
that does not call rows eliminated before answering "missing". Real builds against the loopback
server, the real CLI, the page opened in Debian's Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evolinstruct.testing import Rule
from tests.app.conftest import open_page
from tests.conftest import EXAMPLES, evol

API = {"OPENAI_API_KEY": "sk-loopback"}
REWRITES = (
    "Name three rivers in Europe and give the length of each in kilometres.",
    "Rewrite the given prompt about rivers.",  # round 2: a template leak, so round 2 keeps nothing
    "Name three rivers in Europe, give the length of each in kilometres and the sea each flows into.",
    "Name three rivers in Europe, give each one's length in kilometres, the sea it flows into and one city on it.",
)


def test_rounds_stay_in_order_and_seed_ids_stay_apart_from_their_counts(tmp_path: Path, loopback_llm_factory, browser: Any) -> None:
    server = loopback_llm_factory([
        Rule(contains="Not Equal", reply="Not Equal"),
        Rule(contains="#Original Instruction#", reply=REWRITES),
    ])
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"instruction": "Name a river in Europe."}) + "\n", encoding="utf-8")  # id: seed-0
    out = tmp_path / "o"
    built = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "4", "--concurrency", "1",
                 "--no-progress", env={"OPENAI_BASE_URL": server.base_url, **API})
    assert built.returncode == 0, built.stderr
    kept_rounds = [json.loads(line)["round"] for line in (out / "dataset.jsonl").read_text().splitlines()]
    assert kept_rounds == [0, 1, 3, 4]  # round 2 kept nothing: the case the axis got wrong
    reported = evol("report", str(out))
    assert reported.returncode == 0, reported.stderr

    page = open_page(browser, out / "report.html").page
    ticks = page.eval_on_selector(
        "#chart-instructions-instruction-words",
        "chart => [...chart.querySelectorAll('.xtick text')].map(tick => tick.textContent)",
    )
    assert ticks == ["round 0", "round 1", "round 2", "round 3", "round 4"]
    entry = page.locator('#seed-list button[data-seed-id="seed-0"]').inner_text()
    assert re.match(r"seed-0\s+4 kept\s+1 eliminated", entry), entry
    assert "seed-04" not in entry


def test_the_math_reward_table_does_not_count_rows_eliminated_before_answering_as_missing(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="#Original Instruction#", reply="Solve the given prompt twice.")])
    out = tmp_path / "math"
    built = evol("build", "--domain", "math", "--seeds", str(EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"), "--out", str(out),
                 "--limit", "2", "--rounds", "1", "--no-progress", env={"OPENAI_BASE_URL": server.base_url, **API})
    assert built.returncode == 0, built.stderr
    eliminated = [json.loads(line) for line in (out / "eliminated.jsonl").read_text().splitlines()]
    assert [(row["elimination"]["filter"], row["response"]) for row in eliminated] == [("template-leak", None)] * 2
    reported = evol("report", str(out))
    assert reported.returncode == 0, reported.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    # The two seeds were scored; the two rewrites were never answered, so never scored.
    for name in ("reward", "instruction_reward", "answer_reward"):
        cells = re.search(rf"<tr><td>{name}</td>((?:<td class=\"num\">[\d,]+</td>)+)</tr>", page)
        assert cells, name
        assert re.findall(r">([\d,]+)<", cells.group(1)) == ["2", "0", "2", "0"], (name, cells.group(1))
    assert "eliminated before it was scored" in page
