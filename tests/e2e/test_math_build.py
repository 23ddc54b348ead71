"""``evol build --domain math`` as a subprocess against the loopback server, with scripted
rewrites and solutions: one evolved problem is solved correctly, the other with a wrong
arithmetic step that the process reward must catch; then ``evol export --format prm``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol

SEEDS = EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"
API = {"OPENAI_API_KEY": "sk-loopback"}
MARKER = "ки"

BAKERY = (
    "A bakery sells muffins for $3 each and cookies for $2 each. On Monday it sold 45 muffins and "
    "20 cookies. How much money did it take in on Monday?"
)
BAKERY_SOLUTION = (
    "The muffins brought in 45 * 3 = 135 dollars.\n"
    "The cookies brought in 20 * 2 = 40 dollars.\n"
    "Together that is 135 + 40 = 175 dollars.\n"
    "The answer is \\boxed{175}"
)
LENA = (
    "Lena reads 20 pages of her book every evening. The book has 300 pages. After 9 evenings, "
    "how many pages does she still have to read?"
)
# 300 - 180 is 120: the second step's arithmetic is wrong.
LENA_WRONG = (
    "In 9 evenings Lena reads 20 * 9 = 180 pages.\n"
    "She still has 300 - 180 = 130 pages to read.\n"
    "The answer is \\boxed{130}"
)
JUDGE = '{"definition": 9, "precision": 9, "integrity": 9, "difficulty": 4}'

# The judge's rule comes first: its prompt quotes the problem after "Problem:" too.
RULES = (
    Rule(contains="Rate the problem below", reply=JUDGE),
    Rule(contains="#Original Instruction#\nA bakery sells muffins", reply=BAKERY),
    Rule(contains="#Original Instruction#\nLena reads 18 pages", reply=LENA),
    Rule(contains=f"Problem:\n{BAKERY}", reply=BAKERY_SOLUTION),
    Rule(contains=f"Problem:\n{LENA}", reply=LENA_WRONG),
)


def rows(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def build(server: Any, out: Path, *extra: str) -> None:
    result = evol(
        "build", "--domain", "math", "--seeds", str(SEEDS), "--out", str(out), "--limit", "2",
        "--schedule", "up", "--samples", "3", *extra,
        env={"OPENAI_BASE_URL": server.base_url, **API},
    )
    assert result.returncode == 0, result.stderr


def test_a_wrong_arithmetic_step_is_caught_and_eliminated(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    out = tmp_path / "run"
    build(server, out, "--min-reward", "0.5")

    kept = rows(out / "dataset.jsonl")
    eliminated = rows(out / "eliminated.jsonl")
    assert set(kept) == {"seed-0", "seed-1", "seed-0/r1"}
    assert set(eliminated) == {"seed-1/r1"}

    # Seeds: their GSM8K solutions check out against their reference answers.
    seed = kept["seed-0"]
    assert seed["fields"]["answer"] == "306"
    assert seed["scores"]["answer_reward"] == 1.0
    assert seed["scores"]["process_reward"] == 1.0

    # The correct evolved sample: consensus of three equal answers, every step right.
    good = kept["seed-0/r1"]
    assert good["instruction"] == BAKERY
    assert good["operation"] in {"add-constraints", "concretize", "increase-reasoning"}  # --schedule up
    assert "answer" not in good["fields"] and good["fields"]["seed_answer"] == "306"
    assert good["checks"]["consensus"]["agreement"] == 1.0
    assert good["checks"]["answer"]["source"] == "consensus"
    assert good["scores"]["process_reward"] == 1.0
    assert good["scores"]["instruction_reward"] == 0.9
    assert good["scores"]["reward"] == 0.9
    assert [row["verdict"] for row in good["checks"]["process"]["steps"]][:3] == ["correct"] * 3

    # The wrong step: three samples agree on the wrong 130, but sympy refutes 300 - 180 = 130.
    wrong = eliminated["seed-1/r1"]
    assert wrong["elimination"]["filter"] == "min-reward"
    steps = wrong["checks"]["process"]["steps"]
    refuted = [row for row in steps if row["verdict"] == "incorrect"]
    assert len(refuted) == 1 and "300 - 180 = 130" in refuted[0]["text"]
    assert wrong["scores"]["process_reward"] == 0.0
    assert wrong["scores"]["reward"] == 0.0

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"]["options"] == {"samples": 3, "step_judge": False, "min_reward": 0.5}

    exported = evol("export", str(out), "--format", "prm")
    assert exported.returncode == 0, exported.stderr
    prm = rows(out / "prm.jsonl")
    assert {"seed-0", "seed-1", "seed-0/r1"} <= set(prm)
    for record in prm.values():
        assert record["task"] == "math"
        assert record["input"].count(MARKER) == record["label"].count("\n") + 1
        assert MARKER not in record["label"]
    assert f"20 * 2 = 40 dollars. {MARKER}" in prm["seed-0/r1"]["input"]
    assert "20 * 2 = 40 dollars. +" in prm["seed-0/r1"]["label"]


def test_without_min_reward_the_wrong_step_is_kept_and_labelled_bad(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    out = tmp_path / "run"
    build(server, out)
    kept = rows(out / "dataset.jsonl")
    assert "seed-1/r1" in kept and kept["seed-1/r1"]["scores"]["reward"] == 0.0

    exported = evol("export", str(out), "--format", "prm", "--output", str(tmp_path / "shepherd.jsonl"))
    assert exported.returncode == 0, exported.stderr
    label = rows(tmp_path / "shepherd.jsonl")["seed-1/r1"]["label"]
    assert "Step 1: In 9 evenings Lena reads 20 * 9 = 180 pages. +" in label
    assert "300 - 180 = 130 pages to read. -" in label
    # Everything after the first bad step builds on a wrong value.
    assert label.rstrip().endswith("-")
