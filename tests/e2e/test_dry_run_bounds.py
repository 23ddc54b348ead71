"""``evol build --dry-run`` against what the same build then sends, through the real CLI and the
loopback server: the bound holds, is no longer dozens of times what the run uses, and the typical
estimate from the seeds' lengths is near what was used."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLES, evol

API = {"OPENAI_API_KEY": "sk-loopback"}
SEEDS = EXAMPLES / "seeds" / "general.jsonl"


def table(stdout: str) -> dict[str, list[int]]:
    lines = [line.split() for line in stdout.splitlines() if line.startswith("  ") and line.split()[1][:1].isdigit()]
    return {words[0]: [int(word.replace(",", "")) for word in words[1:4]] for words in lines}


def test_the_dry_run_bounds_what_the_build_sends_by_the_prompts_it_really_sends(tmp_path: Path, loopback_llm) -> None:
    env = {"OPENAI_BASE_URL": loopback_llm.base_url, **API}
    out = tmp_path / "o"
    dry = evol("build", "--seeds", str(SEEDS), "--out", str(out), "--rounds", "3", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    bounds = table(dry.stdout)
    typical = int(dry.stdout.split("typical prompt tokens: about ")[1].split()[0].replace(",", ""))
    built = evol("build", "--seeds", str(SEEDS), "--out", str(out), "--rounds", "3", "--no-progress", env=env)
    assert built.returncode == 0, built.stderr
    used = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["requests"]["tokens_this_invocation"]

    assert loopback_llm.request_count <= bounds["total"][0]
    assert used["prompt_tokens"] <= bounds["total"][1]
    # Our template and three texts as long as a completion for every request was 80 times the use;
    # each stage's own template and texts keep it within 30.
    assert bounds["total"][1] <= 30 * used["prompt_tokens"], (bounds, used)
    assert used["prompt_tokens"] / 2 <= typical <= used["prompt_tokens"] * 2, (typical, used)
    # In bytes, which no tokenizer exceeds: every rewrite request fits the evolve stage's bound.
    evolve = [request for request in loopback_llm.requests if "#Original Instruction#" in request.last_user_message]
    per_request = bounds["evolve"][1] // bounds["evolve"][0]
    assert evolve and max(sum(len(m["content"].encode()) for m in r.body["messages"]) for r in evolve) <= per_request
