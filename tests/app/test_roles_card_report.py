"""The dataset card and the report show each role's requests, tokens, failures, latency and cost,
read from the manifest, for a build with roles through the real CLI: the numbers are what the
loopback servers received and what the prices make of the tokens, and a model without a price
costs "unknown", never 0."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}
HEADERS = ["role", "model", "stages", "sent", "from the cache", "failed", "prompt tokens", "completion tokens",
           "mean latency (s)", "cost (USD)"]


def card_roles(card: str) -> dict[str, dict[str, str]]:
    lines = card.splitlines()
    start = lines.index("| " + " | ".join(HEADERS) + " |")
    table = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        table[cells[0]] = dict(zip(HEADERS, cells))
    return table


def report_roles(page: str) -> dict[str, dict[str, str]]:
    section = page.split("<h3>Per role (last invocation)</h3>", 1)[1].split("</table>", 1)[0]
    assert [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", section)] == HEADERS
    table = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>", 1)[1]):
        cells = [html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        table[cells[0]] = dict(zip(HEADERS, cells))
    return table


def test_the_card_and_the_report_show_each_roles_numbers_from_the_manifest(tmp_path: Path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 5, "Describe lighthouse number {i} for sailors.")
    base, answers = loopback_llm_factory(), loopback_llm_factory()
    out = tmp_path / "out"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--base-url", base.base_url,
                  "--model", "base-model", "--role", f"respond=answer-model@{answers.base_url}",
                  "--role", "evolve=writer-a,writer-b", "--price", "answer-model=1000/2000",
                  "--price", "writer-a=1/1", "--price", "writer-b=1/1", env=API)
    assert result.returncode == 0, result.stderr
    report = evol("report", str(out))
    assert report.returncode == 0, report.stderr

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["roles"]
    card = card_roles((out / "README.md").read_text(encoding="utf-8"))
    page = report_roles((out / "report.html").read_text(encoding="utf-8"))
    assert card == page
    assert set(card) == {"default", "respond", "evolve[writer-a]", "evolve[writer-b]"}

    respond = card["respond"]
    assert (respond["model"], respond["stages"]) == ("answer-model", "respond")
    assert int(respond["sent"].replace(",", "")) == len(answers.requests) > 0
    tokens = manifest["respond"]["tokens"]
    assert int(respond["prompt tokens"].replace(",", "")) == tokens["prompt_tokens"]
    cost = (tokens["prompt_tokens"] * 1000 + tokens["completion_tokens"] * 2000) / 1e6
    assert respond["cost (USD)"] == f"{cost:.4f}" and cost > 0
    assert float(respond["mean latency (s)"]) == round(manifest["respond"]["mean_latency_s"], 3)

    # The build's own model has no price: its cost is unknown, never 0.
    assert card["default"]["model"] == "base-model" and card["default"]["cost (USD)"] == "unknown"
    assert card["default"]["stages"] == "equality"
    # The two models of the evolve role together sent what the base server received for rewrites.
    writers = [r for r in base.requests if r.body["model"] in ("writer-a", "writer-b")]
    assert sum(int(card[f"evolve[{m}]"]["sent"]) for m in ("writer-a", "writer-b")) == len(writers) > 0
    for model in ("writer-a", "writer-b"):
        assert int(card[f"evolve[{model}]"]["sent"]) == sum(1 for r in writers if r.body["model"] == model)


def test_a_build_without_roles_shows_no_role_table(tmp_path: Path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    server = loopback_llm_factory()
    out = tmp_path / "out"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--base-url", server.base_url,
                  env=API)
    assert result.returncode == 0, result.stderr
    assert "| role | model |" not in (out / "README.md").read_text(encoding="utf-8")
    assert evol("report", str(out)).returncode == 0
    assert "Per role (last invocation)" not in (out / "report.html").read_text(encoding="utf-8")
