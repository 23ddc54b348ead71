"""Roles through the real CLI: a model and endpoint per stage, each server asked only for its
stages, rows and the manifest naming the models, and a resume that changes a role refused."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def is_judging(body: dict) -> bool:
    # The equality check and the difficulty rating ask at temperature 0; rewrites and answers at the build's.
    return body.get("temperature") == 0


def test_three_servers_one_per_role_each_asked_only_for_its_stages(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 6, "Describe lighthouse number {i} for sailors.")
    base, answers, judge = (loopback_llm_factory() for _ in range(3))
    out = tmp_path / "out"
    result = evol(
        "build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--difficulty",
        "--base-url", base.base_url, "--model", "base-model",
        "--role", f"respond=answer-model@{answers.base_url}", "--role", f"judge=judge-model@{judge.base_url}",
        env=API,
    )
    assert result.returncode == 0, result.stderr

    assert {r.body["model"] for r in base.requests} == {"base-model"}
    assert {r.body["model"] for r in answers.requests} == {"answer-model"}
    assert {r.body["model"] for r in judge.requests} == {"judge-model"}
    kept = rows(out / "dataset.jsonl")
    # Answers: one per kept sample, each the instruction alone; judges only judge; the build's
    # model only rewrites (one per evolved sample).
    assert sorted(r.last_user_message for r in answers.requests) == sorted(row["instruction"] for row in kept)
    assert all(is_judging(r.body) for r in judge.requests) and judge.requests
    assert not any(is_judging(r.body) for r in base.requests)
    assert len(base.requests) == sum(1 for row in kept if row["round"] > 0)

    for row in kept:
        models = row["provenance"]["models"]
        assert models["respond"] == {"model": "answer-model", "endpoint": answers.base_url}
        assert models["difficulty"]["model"] == models["equality"]["model"] == "judge-model"
        assert row["provenance"]["model"] == "base-model"  # the stages no role claims: evolve

    manifest = json.loads((out / "manifest.json").read_text())
    roles = manifest["roles"]
    assert roles["respond"]["sent"] == len(answers.requests) and roles["respond"]["stages"] == ["respond"]
    assert roles["judge"]["sent"] == len(judge.requests)
    assert sorted(roles["judge"]["stages"]) == ["difficulty", "equality"]
    assert roles["default"]["sent"] == len(base.requests) and roles["default"]["stages"] == ["evolve"]
    assert manifest["requests"]["sent"] == len(base.requests) + len(answers.requests) + len(judge.requests)

    # The same command again resumes from the cache; another model for a role is refused, naming it.
    again = evol(
        "build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--difficulty",
        "--base-url", base.base_url, "--model", "base-model",
        "--role", f"respond=other-model@{answers.base_url}", "--role", f"judge=judge-model@{judge.base_url}",
        env=API,
    )
    assert again.returncode == 2, again.stderr
    assert "role respond" in again.stderr and "other-model" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_recipe_role_table_sets_the_model_endpoint_key_and_decoding(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Name harbour number {i}.")
    base, answers = loopback_llm_factory(), loopback_llm_factory()
    recipe = tmp_path / "run.toml"
    recipe.write_text(
        f'rounds = 1\n[roles.respond]\nmodel = "answer-model"\nbase-url = ["{answers.base_url}"]\n'
        'api-key-env = "ANSWER_KEY"\ntemperature = 0.25\n', encoding="utf-8",
    )
    out = tmp_path / "out"
    result = evol("build", "--config", str(recipe), "--seeds", str(seeds), "--out", str(out),
                  "--base-url", base.base_url, env={**API, "ANSWER_KEY": "sk-answers"})
    assert result.returncode == 0, result.stderr
    assert answers.requests and all(r.body["temperature"] == 0.25 for r in answers.requests)
    assert {r.body["model"] for r in answers.requests} == {"answer-model"}
    assert all(r.body["temperature"] != 0.25 for r in base.requests)

    missing = evol("build", "--config", str(recipe), "--seeds", str(seeds), "--out", str(tmp_path / "o2"),
                   "--base-url", base.base_url, env=API)
    assert missing.returncode == 2 and "ANSWER_KEY" in missing.stderr and "Traceback" not in missing.stderr


def test_an_unknown_stage_is_refused_listing_the_valid_roles(tmp_path) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--role", "answer=some-model")
    assert result.returncode == 2
    assert "--role answer" in result.stderr
    assert "valid roles: equality, evolve, respond, judge" in result.stderr
    # The difficulty judge is a stage of builds with --difficulty only.
    with_difficulty = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--difficulty",
                           "--role", "answer=some-model")
    assert with_difficulty.returncode == 2
    assert "valid roles: difficulty, equality, evolve, respond, judge" in with_difficulty.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "dataset.jsonl").exists()

    malformed = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--role", "respond")
    assert malformed.returncode == 2 and "--role" in malformed.stderr and "STAGE=MODEL" in malformed.stderr


def test_domains_list_shows_each_domains_stages() -> None:
    result = evol("domains", "list", "--json")
    assert result.returncode == 0, result.stderr
    stages = {row["name"]: {s["name"]: s["judge"] for s in row["stages"]} for row in json.loads(result.stdout)}
    general = stages["general"]
    assert {"difficulty": True, "equality": True, "evolve": False, "respond": False}.items() <= general.items()
    assert stages["math"]["step-judge"] is True and stages["math"]["rollout"] is False
