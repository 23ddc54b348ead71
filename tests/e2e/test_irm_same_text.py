"""Two candidates of a round with the same text are one candidate, never a preference pair: through
the real CLI, a math build with ``--irm-candidates 2`` whose evolver writes the same rewrite twice
and whose judge scores it 0.8 once and 0.2 the other time."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol

SEEDS = EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"
SEED = json.loads(SEEDS.read_text(encoding="utf-8").splitlines()[0])["question"]
JUDGE = "Rate the problem below"
TWICE = ("A bakery sells muffins for $3 each. On Monday it sold 45 muffins, and on Tuesday it sold 12 more "
         "than on Monday. How much money did it take in over the two days?")


def judged(score: int) -> str:
    return json.dumps({"definition": score, "precision": score, "integrity": score, "difficulty": 4})


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_candidates_with_the_same_text_are_one_candidate(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([
        Rule(contains=JUDGE, pattern=r"\s+".join(map(re.escape, TWICE.split())), reply=(judged(8), judged(2))),
        Rule(contains=JUDGE, pattern=re.escape(SEED), reply=judged(7)),
        # Every rewrite of the seed is the same text, spaced differently the second time.
        Rule(contains="#Original Instruction#", reply=(TWICE, TWICE.replace(". ", ".  "))),
    ])
    out = tmp_path / "run"
    built = evol("build", "--domain", "math", "--seeds", str(SEEDS), "--out", str(out), "--limit", "1",
                 "--schedule", "up", "--irm-candidates", "2",
                 env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert built.returncode == 0, built.stderr
    assert "1 eliminated (1 of them not chosen among a round's candidates)" in " ".join(built.stderr.split())
    rows = {row["id"]: row for row in read(out / "dataset.jsonl") + read(out / "eliminated.jsonl")}
    first, second = rows["seed-0/r1c1"], rows["seed-0/r1c2"]
    # Both were judged, differently: exactly the case that must not become a pair.
    assert {first["scores"]["instruction_reward"], second["scores"]["instruction_reward"]} == {0.8, 0.2}
    assert first["checks"]["candidates"]["chosen"] is True and "elimination" not in first
    assert second["elimination"]["filter"] == "same-text"
    assert second["checks"]["candidates"] == {"of": 2, "rank": None, "by": "instruction_reward", "chosen": False,
                                              "duplicate_of": "seed-0/r1c1"}

    exported = evol("export", str(out), "--format", "irm")
    assert "Traceback" not in exported.stderr
    pairs = read(out / "irm.jsonl")
    assert [pair for pair in pairs if " ".join(pair["chosen"].split()) == " ".join(pair["rejected"].split())] == []
    assert pairs == []


def test_an_older_folder_with_same_text_candidates_exports_no_pair_of_them(tmp_path: Path) -> None:
    # A folder written before candidates were deduplicated: both rows ranked, no duplicate_of.
    def row(id_: str, score: float, chosen: bool) -> dict[str, Any]:
        return {"id": id_, "seed_id": "s", "parent_id": "s", "round": 1, "operation": "concretize", "domain": "math",
                "instruction": TWICE, "response": "x", "fields": {}, "scores": {"instruction_reward": score},
                "checks": {"candidates": {"of": 2, "rank": 1 if chosen else 2, "by": "instruction_reward", "chosen": chosen}},
                "usage": {}, "provenance": {"endpoint": "e", "model": "m", "response": "model"}}
    from wizardmath.irm import irm_rows

    seed = {"id": "s", "seed_id": "s", "parent_id": None, "round": 0, "instruction": SEED}
    assert list(irm_rows([seed, row("s/r1c1", 0.8, True), row("s/r1c2", 0.2, False)])) == []
