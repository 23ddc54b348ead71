"""Money through the real CLI: the cost from returned usage at the given price, unknown (never 0)
without one, and --max-cost stopping a build (exit 3) that a higher cap resumes to the dataset an
uncapped build writes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from evolinstruct.runtime.pricing import KNOWN_PRICES, CostMeter, parse_price, price_table
from evolinstruct.types.errors import CostCapReached
from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}
PRICE = (1000.0, 2000.0)  # dollars per million tokens: a few dollars for a small build


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_a_capped_build_stops_within_the_cap_and_a_higher_cap_resumes_it_to_the_uncapped_dataset(
    tmp_path, loopback_llm_factory
) -> None:
    seeds = numbered_seeds(tmp_path, 6, "Describe lighthouse number {i} for sailors.")
    server = loopback_llm_factory()
    args = ["build", "--seeds", str(seeds), "--rounds", "2", "--base-url", server.base_url, "--model", "m1",
            "--price", f"m1={PRICE[0]:g}/{PRICE[1]:g}", "--concurrency", "2", "--max-tokens", "256"]

    full = evol(*args, "--out", str(tmp_path / "full"), env=API)
    assert full.returncode == 0, full.stderr
    tokens = manifest(tmp_path / "full")["requests"]["tokens_this_invocation"]
    expected = (tokens["prompt_tokens"] * PRICE[0] + tokens["completion_tokens"] * PRICE[1]) / 1e6
    cost = manifest(tmp_path / "full")["cost"]
    assert cost["usd_this_invocation"] == pytest.approx(expected, abs=1e-5) and expected > 0
    assert f"${expected:.4f}" in full.stderr

    capped = tmp_path / "capped"
    cap = expected / 2  # a request's worst case (its prompt's bytes, 256 completion tokens) is far below it
    stopped = evol(*args, "--out", str(capped), "--max-cost", f"{cap:.6f}", env=API)
    assert stopped.returncode == 3, stopped.stderr
    assert "stopped at the cost cap" in stopped.stderr and "Traceback" not in stopped.stderr
    first = manifest(capped)
    assert first["status"] == "partial" and "cost cap" in first["reason"]
    assert 0 < first["cost"]["usd_total"] <= cap

    resumed = evol(*args, "--out", str(capped), "--max-cost", f"{expected * 2:.6f}", env=API)
    assert resumed.returncode == 0, resumed.stderr
    second = manifest(capped)
    # Nothing already paid for is asked again: the two runs together cost what one uncapped run does.
    assert second["cost"]["usd_total"] == pytest.approx(expected, abs=1e-5)
    assert (capped / "dataset.jsonl").read_bytes() == (tmp_path / "full" / "dataset.jsonl").read_bytes()


def test_a_model_without_a_price_costs_unknown_and_cannot_be_capped(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    server = loopback_llm_factory()
    args = ["build", "--seeds", str(seeds), "--rounds", "1", "--base-url", server.base_url, "--model", "no-price-7b"]
    run = evol(*args, "--out", str(tmp_path / "out"), env=API)
    assert run.returncode == 0, run.stderr
    cost = manifest(tmp_path / "out")["cost"]
    assert cost["usd_this_invocation"] is None and cost["unpriced_models"] == ["no-price-7b"]
    assert "cost unknown: no price for no-price-7b" in run.stderr

    capped = evol(*args, "--out", str(tmp_path / "o2"), "--max-cost", "1", env=API)
    assert capped.returncode == 2 and "no-price-7b" in capped.stderr and "--price" in capped.stderr
    assert not (tmp_path / "o2" / "dataset.jsonl").exists()

    bad = evol(*args, "--out", str(tmp_path / "o3"), "--price", "no-price-7b=cheap", env=API)
    assert bad.returncode == 2 and "MODEL=IN/OUT" in bad.stderr and "Traceback" not in bad.stderr


def test_prices_a_given_price_overrides_the_built_in_one() -> None:
    assert parse_price("gpt-4o=1/2")[1].cost(1_000_000, 1_000_000) == 3.0
    assert price_table(["gpt-4o=1/2"])["gpt-4o"] != KNOWN_PRICES["gpt-4o"]
    for wrong in ("gpt-4o", "gpt-4o=1", "=1/2", "m=-1/2", "m=inf/1"):
        with pytest.raises(ValueError):
            parse_price(wrong)


def test_the_meter_holds_in_flight_worst_cases_and_stops_after_they_finish() -> None:
    async def scenario() -> list[str]:
        meter = CostMeter(10.0, spent=2.0)
        events: list[str] = []
        await meter.reserve(5.0)  # 2 spent + 5 held: within 10

        async def next_request() -> None:
            try:
                await meter.reserve(5.0)  # 2 + 5 + 5 would pass 10: waits for the one in flight
            except CostCapReached:
                events.append("stopped")

        waiting = asyncio.ensure_future(next_request())
        await asyncio.sleep(0.01)
        events.append("in flight finishes")
        meter.settle(5.0, 1.0)
        await waiting
        assert meter.spent == 3.0 and meter.reserved == 0.0
        return events

    assert asyncio.run(scenario()) == ["in flight finishes", "stopped"]


def test_the_dry_run_prices_each_stage_at_its_roles_model(tmp_path) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Name harbour number {i}.")
    args = ["build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--dry-run", "--rounds", "1",
            "--base-url", "http://127.0.0.1:9/v1", "--model", "writer", "--price", "writer=1/2",
            "--role", "respond=answerer", "--max-tokens", "100"]
    unknown = evol(*args, env=API)
    assert unknown.returncode == 0, unknown.stderr
    assert "cost at most, respond (answerer): unknown (no price)" in unknown.stdout
    assert "cost at most: unknown: no price for answerer" in unknown.stdout

    priced = evol(*args, "--price", "answerer=10/20", env=API)
    assert priced.returncode == 0, priced.stderr
    rows = {line.split()[0]: [int(n.replace(",", "")) for n in line.split()[1:4]]
            for line in priced.stdout.splitlines() if line.startswith("  ") and line.split()[0] in ("evolve", "respond")}
    respond = (rows["respond"][1] * 10 + rows["respond"][2] * 20) / 1e6
    evolve = (rows["evolve"][1] * 1 + rows["evolve"][2] * 2) / 1e6
    assert f"cost at most, respond (answerer): ${respond:,.2f}" in priced.stdout
    assert f"cost at most: ${respond + evolve:,.2f}" in priced.stdout
    assert not (tmp_path / "out").exists()
