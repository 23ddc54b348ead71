"""``evol build --domain math`` as a subprocess against the loopback server, with scripted
rewrites and solutions: one evolved problem is solved correctly, the other with a wrong
arithmetic step that the process reward must catch; the reward formulas as the rows show them,
a judge reply that cannot be read, rollout labels; then ``evol export --format prm`` and
``--format stepwise``, checked field by field."""

from __future__ import annotations

import json
import re
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
    assert [row["verdict"] for row in good["checks"]["process"]["steps"]][:3] == ["claims true"] * 3

    # The wrong step: three samples agree on the wrong 130, but sympy refutes 300 - 180 = 130.
    wrong = eliminated["seed-1/r1"]
    assert wrong["elimination"]["filter"] == "min-reward"
    steps = wrong["checks"]["process"]["steps"]
    refuted = [row for row in steps if row["verdict"] == "a claim is false"]
    assert len(refuted) == 1 and "300 - 180 = 130" in refuted[0]["text"]
    assert wrong["scores"]["process_reward"] == 0.0
    assert wrong["scores"]["reward"] == 0.0

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # The domain's options, at least: an installed plugin may add options to every domain (autoevol's --method).
    assert manifest["config"]["options"].items() >= {
        "samples": 3, "step_labels": "answer", "rollouts": 8, "step_judge": False,
        "unlabelled_steps": "skip", "irm_candidates": 1, "min_reward": 0.5, "missing_reward": "eliminate"}.items()

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
    # Three samples agree on 130, so the first step reaches the consensus; the second is false.
    assert label == f"{LENA} Step 1: In 9 evenings Lena reads 20 * 9 = 180 pages. +\nStep 2: She still has 300 - 180 = 130 pages to read. -"


def test_stepwise_export_field_by_field(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    out = tmp_path / "run"
    build(server, out)
    kept = rows(out / "dataset.jsonl")
    exported = evol("export", str(out), "--format", "stepwise")
    assert exported.returncode == 0, exported.stderr
    stepwise = rows(out / "stepwise.jsonl")
    assert set(stepwise) == {"seed-0", "seed-1", "seed-0/r1", "seed-1/r1"}
    assert f"(4 records from {len(kept)} dataset rows)" in exported.stdout or (
        len(kept) == 4 and "(4 rows)" in exported.stdout), exported.stdout
    for record in stepwise.values():
        assert set(record) == {"id", "prompt", "completions", "labels"}
        assert len(record["completions"]) == len(record["labels"])
        assert all(isinstance(label, bool) for label in record["labels"])
    assert stepwise["seed-0/r1"] == {
        "id": "seed-0/r1",
        "prompt": BAKERY,
        "completions": BAKERY_SOLUTION.split("\n"),
        "labels": [True, True, True, True],
    }
    assert stepwise["seed-1/r1"] == {
        "id": "seed-1/r1",
        "prompt": LENA,
        "completions": LENA_WRONG.split("\n")[:2],  # the row ends at the false step
        "labels": [True, False],
    }
    seed = stepwise["seed-0"]
    assert seed["prompt"] == kept["seed-0"]["instruction"]
    assert seed["completions"] == [step["text"] for step in kept["seed-0"]["checks"]["process"]["steps"]]
    assert seed["labels"] == [True] * len(seed["completions"])
    # Every label comes from evidence, never from sympy's "claims true" alone.
    for row in kept.values():
        for step in row["checks"]["process"]["steps"]:
            assert step["label_source"] in ("sympy", "outcome", "rollout", "judge") or step["label"] is None


def test_reward_formulas_in_the_rows_and_one_process_reward(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    out = tmp_path / "run"
    build(server, out)
    kept = rows(out / "dataset.jsonl")
    lines = []
    for row in kept.values():
        scores, checks = row["scores"], row["checks"]
        answer = checks["answer"]
        assert scores["answer_reward"] == answer["gate"] * scores["process_reward"]  # r_A = g_A * process
        assert scores["reward"] == scores["instruction_reward"] * scores["answer_reward"]  # r = r_I * r_A
        assert scores["process_reward"] == min(step["score"] for step in checks["process"]["steps"])
        line = {"id": row["id"], "solution": row["response"]}
        if answer["target"] is not None:
            line["answer"] = answer["target"]
        lines.append(json.dumps(line))
    assert {row["id"]: row["scores"]["process_reward"] for row in kept.values()} == {
        "seed-0": 1.0, "seed-1": 1.0, "seed-0/r1": 1.0, "seed-1/r1": 0.0}
    # `evol math steps` computes the same process reward for the same solution and target answer.
    source = tmp_path / "solutions.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checked = evol("math", "steps", str(source))
    assert checked.returncode == 0, checked.stderr
    by_cli = {line["id"]: line for line in map(json.loads, checked.stdout.splitlines())}
    for row in kept.values():
        assert by_cli[row["id"]]["process_reward"] == row["scores"]["process_reward"], row["id"]
        assert [s["label"] for s in by_cli[row["id"]]["steps"]] == [
            s["label"] for s in row["checks"]["process"]["steps"]]


UNREADABLE_JUDGE = (Rule(contains="Rate the problem below", reply="This problem looks fine to me."), *RULES[1:])


def test_an_unreadable_judge_is_a_missing_reward_and_fails_min_reward(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(UNREADABLE_JUDGE)
    out = tmp_path / "run"
    build(server, out, "--min-reward", "0.1")
    kept, eliminated = rows(out / "dataset.jsonl"), rows(out / "eliminated.jsonl")
    assert set(kept) == {"seed-0", "seed-1"}  # seeds are never eliminated
    assert kept["seed-0"]["scores"]["instruction_reward"] is None
    assert kept["seed-0"]["scores"]["reward"] is None
    assert kept["seed-0"]["scores"]["answer_reward"] == 1.0
    assert set(eliminated) == {"seed-0/r1", "seed-1/r1"}
    assert "missing" in eliminated["seed-0/r1"]["elimination"]["reason"]

    kept_anyway = tmp_path / "keep"
    build(server, kept_anyway, "--min-reward", "0.1", "--missing-reward", "keep")
    kept = rows(kept_anyway / "dataset.jsonl")
    assert "seed-0/r1" in kept and kept["seed-0/r1"]["scores"]["reward"] is None
    # r_I is missing, so r is missing too; r_A, which needs no judge, is known.
    assert kept["seed-1/r1"]["scores"]["reward"] is None
    assert kept["seed-1/r1"]["scores"]["answer_reward"] == 0.0


# A seed whose own solution misses its reference answer (110 instead of 108).
ROLLOUT_SEED = {
    "instruction": "Lena reads 18 pages of her book every evening. The book has 270 pages. After 9 "
    "evenings, how many pages does she still have to read?",
    "output": "In 9 evenings Lena reads 18 * 9 = 162 pages.\nShe has 270 - 162 pages left.\n"
    "That makes 110 pages.\nThe answer is \\boxed{110}",
    "answer": "108",
}
FIRST_STEP_ONLY = re.escape("Steps so far:\nIn 9 evenings Lena reads 18 * 9 = 162 pages.\n") + "$"
ROLLOUT_RULES = (
    Rule(contains="Rate the problem below", reply=JUDGE),
    Rule(pattern=FIRST_STEP_ONLY, reply="She has 270 - 162 = 108 pages left.\nThe answer is \\boxed{108}"),
    Rule(contains="Continue the solution from where it stops", reply="So 110 pages.\nThe answer is \\boxed{110}"),
)


def test_rollout_labels(tmp_path: Path, loopback_llm_factory) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps(ROLLOUT_SEED) + "\n", encoding="utf-8")
    server = loopback_llm_factory(ROLLOUT_RULES)
    out = tmp_path / "run"
    command = ("build", "--domain", "math", "--seeds", str(seeds), "--out", str(out), "--rounds", "0",
               "--step-labels", "rollout", "--rollouts", "3")
    env = {"OPENAI_BASE_URL": server.base_url, **API}
    result = evol(*command, env=env)
    assert result.returncode == 0, result.stderr
    (row,) = rows(out / "dataset.jsonl").values()
    process = row["checks"]["process"]
    steps = process["steps"]
    assert process["outcome"] is False and process["target"] == "108"
    assert [step["label"] for step in steps] == [True, False, False, False]
    assert [step["label_source"] for step in steps] == ["rollout", "rollout", "rollout", "outcome"]
    assert steps[0]["rollouts"] == {"of": 3, "reached": 3, "answers": ["108"] * 3}
    assert steps[1]["rollouts"] == {"of": 3, "reached": 0, "answers": ["110"] * 3}
    assert row["usage"]["rollout"]["requests"] == 9  # 3 completions from each of the first 3 steps
    rollout_seeds = [r.body["seed"] for r in server.requests if "Continue the solution" in r.last_user_message]
    assert len(set(rollout_seeds)) == 9
    assert row["scores"]["process_reward"] == 0.0

    # Completions are cached like every request: a rerun sends none.
    sent = len(server.requests)
    again = evol(*command, env=env)
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == sent
    assert rows(out / "dataset.jsonl")[row["id"]] == row

    exported = evol("export", str(out), "--format", "stepwise")
    assert exported.returncode == 0, exported.stderr
    (record,) = rows(out / "stepwise.jsonl").values()
    assert record["completions"] == ["In 9 evenings Lena reads 18 * 9 = 162 pages.", "She has 270 - 162 pages left."]
    assert record["labels"] == [True, False]


def test_unlabelled_steps_skip_drop_or_judge(tmp_path: Path, loopback_llm_factory) -> None:
    """With one sample per problem an evolved problem has no target answer: its steps have no
    label but sympy's false claims, and --unlabelled-steps decides what the export does."""

    def stepwise_of(name: str, *extra: str, rules: tuple[Rule, ...] = RULES) -> dict[str, dict[str, Any]]:
        out = tmp_path / name
        result = evol(
            "build", "--domain", "math", "--seeds", str(SEEDS), "--out", str(out), "--limit", "2",
            "--schedule", "up", *extra, env={"OPENAI_BASE_URL": loopback_llm_factory(rules).base_url, **API},
        )
        assert result.returncode == 0, result.stderr
        exported = evol("export", str(out), "--format", "stepwise")
        assert exported.returncode == 0, exported.stderr
        return rows(out / "stepwise.jsonl")

    skipped = stepwise_of("skip")
    assert set(skipped) == {"seed-0", "seed-1"}  # the seeds reach their references

    dropped = stepwise_of("drop", "--unlabelled-steps", "drop")
    assert set(dropped) == {"seed-0", "seed-1", "seed-1/r1"}
    assert dropped["seed-1/r1"]["completions"] == ["\n".join(LENA_WRONG.split("\n")[:2])]
    assert dropped["seed-1/r1"]["labels"] == [False]

    judge_rules = (Rule(contains="one step at a time", reply="Correct"), *RULES)
    judged = stepwise_of("judge", "--unlabelled-steps", "judge", rules=judge_rules)
    assert judged["seed-0/r1"] == {"id": "seed-0/r1", "prompt": BAKERY,
                                   "completions": BAKERY_SOLUTION.split("\n"), "labels": [True] * 4}
    assert judged["seed-1/r1"]["labels"] == [True, False]
