"""The rewrites of answers (``--evolve-answers K``) are a stage a role can bind: ``--role
evolve-answer=MODEL@URL`` sends exactly those requests to that server, the rows say which model
rewrote the answers, and ``evol domains list`` shows the stage. Through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evolinstruct.builtins.quality import EVOLVE_PROMPT
from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}
REWRITE_REQUEST = EVOLVE_PROMPT.splitlines()[0]  # "Below is an instruction and an answer to it. ..."


def test_a_role_serves_the_answer_rewrites_and_only_them(tmp_path: Path, loopback_llm_factory: Any) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Describe lighthouse number {i} for sailors.")
    base, rewriter = loopback_llm_factory(), loopback_llm_factory()
    out = tmp_path / "out"
    result = evol(
        "build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--quality", "--evolve-answers", "2",
        "--base-url", base.base_url, "--model", "base-model",
        "--role", f"evolve-answer=rewrite-model@{rewriter.base_url}", env=API,
    )
    assert result.returncode == 0, result.stderr

    assert rewriter.requests, "the role's server was never asked"
    assert {r.body["model"] for r in rewriter.requests} == {"rewrite-model"}
    assert all(REWRITE_REQUEST in r.last_user_message for r in rewriter.requests)
    assert not any(REWRITE_REQUEST in r.last_user_message for r in base.requests)
    kept = [json.loads(line) for line in (out / "dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in kept:
        assert row["provenance"]["models"]["evolve-answer"] == {"model": "rewrite-model", "endpoint": rewriter.base_url}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["roles"]["evolve-answer"]["sent"] == len(rewriter.requests)


def test_the_stage_is_one_of_builds_that_rewrite_answers(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    without = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--role", "evolve-answer=m")
    assert without.returncode == 2, without.stderr
    assert "--role evolve-answer: no such stage" in without.stderr and "Traceback" not in without.stderr


def test_domains_list_shows_the_stage_for_domains_that_can_check_a_rewritten_answer() -> None:
    result = evol("domains", "list", "--json")
    assert result.returncode == 0, result.stderr
    stages = {row["name"]: {s["name"]: s["judge"] for s in row["stages"]} for row in json.loads(result.stdout)}
    assert stages["general"]["evolve-answer"] is False  # it writes an answer: not a judging stage
    assert stages["math"]["evolve-answer"] is False
