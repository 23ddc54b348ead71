"""A role of several models (``--role evolve=model-a,model-b``, ``model = [...]`` in a recipe)
spreads its stage's requests over them, through the real CLI against one loopback server that
answers both model names: each model is asked, each row names the model that really wrote its
instruction, a build stopped halfway and resumed draws the same models (so it asks nothing
twice and writes the uninterrupted build's bytes), and the candidates of one parent
(``--irm-candidates``) come from different models."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from evolinstruct.offline.model import offline_reply
from evolinstruct.testing import ChatRequest
from tests.conftest import EXAMPLES, evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}
MODELS = ("model-a", "model-b")
SIGNED = re.compile(r"Written by (model-[ab])\.")


def signed(request: ChatRequest) -> str:
    """The offline model's reply, and for the two pooled models a signature naming the model, so
    a row's instruction tells which model wrote it (the last signature: a rewrite keeps its
    parent's text)."""
    reply = offline_reply(request)
    return f"{reply} Written by {request.model}." if request.model in MODELS else reply


def rows(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def evolved(folder: Path) -> list[dict[str, Any]]:
    return [row for row in rows(folder, "dataset.jsonl") + rows(folder, "eliminated.jsonl") if row["round"] > 0]


def test_each_model_is_asked_and_each_row_names_the_model_that_wrote_it(tmp_path: Path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 8, "Describe lighthouse number {i} for sailors.")
    base, pool = loopback_llm_factory(), loopback_llm_factory(responder=signed)
    out = tmp_path / "out"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--base-url", base.base_url,
                  "--model", "base-model", "--role", f"evolve={','.join(MODELS)}@{pool.base_url}", env=API)
    assert result.returncode == 0, result.stderr

    asked = Counter(r.body["model"] for r in pool.requests)
    assert set(asked) == set(MODELS), asked  # both models wrote rewrites
    assert {r.body["model"] for r in base.requests} == {"base-model"}
    written = evolved(out)
    assert len(written) == len(pool.requests)  # one rewrite per evolved sample, none asked twice
    for row in written:
        named = row["provenance"]["models"]["evolve"]
        assert named == {"model": SIGNED.findall(row["instruction"])[-1], "endpoint": pool.base_url}, row["id"]
    assert Counter(row["provenance"]["models"]["evolve"]["model"] for row in written) == asked
    for row in rows(out, "dataset.jsonl"):
        if row["round"] == 0:  # a seed's instruction is the user's, written by no model
            assert "evolve" not in row["provenance"].get("models", {})

    roles = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["roles"]
    for model in MODELS:
        entry = roles[f"evolve[{model}]"]
        assert (entry["role"], entry["model"], entry["stages"], entry["sent"]) == ("evolve", model, ["evolve"],
                                                                                   asked[model])


def test_a_resumed_build_draws_the_same_models_and_writes_the_uninterrupted_builds_bytes(
    tmp_path: Path, loopback_llm_factory
) -> None:
    seeds = numbered_seeds(tmp_path, 6, "Describe lighthouse number {i} for sailors.")
    pool = loopback_llm_factory(responder=signed)
    recipe = tmp_path / "run.toml"
    recipe.write_text(f'[roles.evolve]\nmodel = ["model-a", "model-b"]\nbase_url = ["{pool.base_url}"]\n'
                      '[prices.model-a]\ninput = 1000\noutput = 2000\n[prices.model-b]\ninput = 1000\noutput = 2000\n'
                      '[prices.base-model]\ninput = 1000\noutput = 2000\n', encoding="utf-8")
    args = ["build", "--config", str(recipe), "--seeds", str(seeds), "--rounds", "2", "--base-url", pool.base_url,
            "--model", "base-model", "--concurrency", "2", "--max-tokens", "256"]

    full = evol(*args, "--out", str(tmp_path / "full"), env=API)
    assert full.returncode == 0, full.stderr
    spent = json.loads((tmp_path / "full" / "manifest.json").read_text(encoding="utf-8"))["cost"]["usd_total"]
    uninterrupted = len(pool.requests)

    capped = tmp_path / "capped"
    stopped = evol(*args, "--out", str(capped), "--max-cost", f"{spent / 2:.6f}", env=API)
    assert stopped.returncode == 3, stopped.stderr
    resumed = evol(*args, "--out", str(capped), "--max-cost", f"{spent * 2:.6f}", env=API)
    assert resumed.returncode == 0, resumed.stderr

    # Both runs of the capped folder asked exactly the requests the uninterrupted build asked,
    # each of them once: a request drawn to another model on resume would be a new one.
    second = [r.key for r in pool.requests[uninterrupted:]]
    first = Counter(r.key for r in pool.requests[:uninterrupted])
    assert Counter(second) == first
    assert (capped / "dataset.jsonl").read_bytes() == (tmp_path / "full" / "dataset.jsonl").read_bytes()
    assert {row["provenance"]["models"]["evolve"]["model"] for row in evolved(capped)} == set(MODELS)


def test_the_candidates_of_one_parent_come_from_different_models(tmp_path: Path, loopback_llm_factory) -> None:
    pool = loopback_llm_factory()
    out = tmp_path / "out"
    result = evol("build", "--domain", "math", "--seeds", str(EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"),
                  "--out", str(out), "--limit", "4", "--rounds", "2", "--irm-candidates", "2",
                  "--base-url", pool.base_url, "--model", "base-model", "--role", f"evolve={','.join(MODELS)}", env=API)
    assert result.returncode == 0, result.stderr

    by_parent: dict[str, list[str]] = {}
    for row in evolved(out):
        by_parent.setdefault(row["parent_id"], []).append(row["provenance"]["models"]["evolve"]["model"])
    assert by_parent and all(len(models) == 2 for models in by_parent.values())
    assert all(sorted(models) == sorted(MODELS) for models in by_parent.values()), by_parent
    evolve_requests = Counter(r.body["model"] for r in pool.requests if r.body["model"] in MODELS)
    assert evolve_requests == Counter(model for models in by_parent.values() for model in models)


def test_the_dry_run_prices_a_stage_of_several_models_at_the_dearest(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 1, "Name harbour number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--dry-run",
                  "--base-url", "http://127.0.0.1:9/v1", "--role", "evolve=cheap,dear",
                  "--price", "cheap=0/0", "--price", "dear=1000/1000")
    assert result.returncode == 0, result.stderr
    # evolve: at most 4 requests (one seed, four rounds); each row of the table: stage, requests, prompt, completion.
    bounds = next(line.split() for line in result.stdout.splitlines() if line.strip().startswith("evolve "))
    tokens = int(bounds[2].replace(",", "")) + int(bounds[3].replace(",", ""))
    assert f"cost at most, evolve (cheap, dear): ${tokens * 1000 / 1e6:,.2f}" in result.stdout
    unpriced = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--dry-run",
                    "--base-url", "http://127.0.0.1:9/v1", "--role", "evolve=cheap,nameless", "--price", "cheap=0/0")
    assert unpriced.returncode == 0, unpriced.stderr
    assert "cost at most, evolve (cheap, nameless): unknown (no price)" in unpriced.stdout
    assert "cost at most: unknown: no price for nameless (--price MODEL=IN/OUT)" in unpriced.stdout


def test_a_recipe_naming_a_model_twice_is_refused_naming_the_file_and_key(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 1, "Name harbour number {i}.")
    recipe = tmp_path / "run.toml"
    recipe.write_text('[roles.evolve]\nmodel = ["model-a", "model-a"]\n', encoding="utf-8")
    result = evol("build", "--config", str(recipe), "--seeds", str(seeds), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"[roles.evolve] model (from {recipe}): model-a named more than once" in result.stderr
    assert "Traceback" not in result.stderr
