"""The math rewards on real sympy: process reward with and without the step judge, answer reward
against a reference and by consensus, the instruction reward's checks and judge, r = r_I * r_A,
the --min-reward filter and the Math-Shepherd export."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Awaitable, Mapping

import pytest

from evolinstruct import Sample
from evolinstruct.testing import Rule
from wizardmath.prm_export import MARKER, prm_row, shepherd_pair, step_labels, write_prm
from wizardmath.rewards import (
    Consensus,
    answer_check,
    instruction_check,
    min_reward,
    numbers_consistent,
    process_check,
    read_instruction_judgement,
    read_step_judgement,
    score,
)

GOOD_JUDGE = '{"definition": 9, "precision": 8, "integrity": 10, "difficulty": 3}'
OFFLINE_REPLY = (
    "[offline placeholder answer] This text comes from the bundled offline model of evolinstruct, "
    "which is not a language model. Numbers, names and details in this paragraph are illustrative."
)
RIGHT = "Ann buys 3 bags of 4 apples.\nThat is 3 * 4 = 12 apples.\nShe eats 2 of them, so 12 - 2 = 10.\nThe answer is \\boxed{10}"
WRONG_STEP = "Ann buys 3 bags of 4 apples.\nThat is 3 * 4 = 12 apples.\nShe eats 2 of them, so 12 - 2 = 9.\nThe answer is \\boxed{9}"
PROBLEM = "Ann buys 3 bags with 4 apples in each and eats 2 apples. How many apples are left?"
# Phrases only one judge's prompt has (wizardmath/prompts.py): a rule with one of them answers
# that judge; every other request gets the bundled offline model's placeholder answer.
STEP_JUDGE = "You check solutions to math problems one step at a time."
INSTRUCTION_JUDGE = "Rate the problem below on four criteria"


def make(
    response: str,
    *,
    instruction: str = PROBLEM,
    evolved: bool = False,
    checks: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Sample:
    return Sample(
        id="s/r1" if evolved else "s",
        seed_id="s",
        parent_id="s" if evolved else None,
        round=1 if evolved else 0,
        operation="concretize" if evolved else "seed",
        domain="math",
        instruction=instruction,
        response=response,
        fields=fields,
        checks=dict(checks or {}),
    )


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)


# --- reading judges' replies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [("Correct", "correct"), ("Incorrect.", "incorrect"), ("The step is correct.", "correct"),
     ("This is not right: incorrect", "incorrect"), ("**Correct**", "correct"), ("Hmm.", None),
     (OFFLINE_REPLY, None), ("It concerns correct and incorrect steps, as I said before.", None)],
)
def test_step_judgement(reply: str, verdict: str | None) -> None:
    assert read_step_judgement(reply) == verdict


@pytest.mark.parametrize(
    "reply",
    [
        GOOD_JUDGE,
        f"```json\n{GOOD_JUDGE}\n```",
        f"Here is my rating:\n{GOOD_JUDGE}\nI hope this helps.",
        '{"Definition": "9", "Precision": 8.0, "Integrity": 10, "Difficulty": 3}',
        "Definition: 9\nPrecision: 8\nIntegrity: 10\nDifficulty: 3",
    ],
)
def test_instruction_judgement_is_read_robustly(reply: str) -> None:
    assert read_instruction_judgement(reply) == {"definition": 9.0, "precision": 8.0, "integrity": 10.0, "difficulty": 3.0}


@pytest.mark.parametrize(
    "reply", [OFFLINE_REPLY, '{"definition": 9, "precision": 8}', '{"definition": "good", "precision": 8, '
              '"integrity": 10, "difficulty": 3}', "{not json at all}", ""],
)
def test_an_incomplete_judgement_is_missing_not_invented(reply: str) -> None:
    assert read_instruction_judgement(reply) is None


def test_judge_scores_are_clamped_to_the_scale() -> None:
    scores = read_instruction_judgement('{"definition": 12, "precision": 0, "integrity": 5, "difficulty": 5}')
    assert scores == {"definition": 10.0, "precision": 1.0, "integrity": 5.0, "difficulty": 5.0}


# --- process reward -------------------------------------------------------------------------


def test_a_correct_solution_has_process_reward_one(sample_context_factory) -> None:
    process = run(process_check(sample_context_factory(), PROBLEM, RIGHT, judge=False))
    assert process["reward"] == 1.0
    assert process["incorrect"] == []
    assert "incorrect" not in [step["verdict"] for step in process["steps"]]
    assert process["checked"] >= 2


def test_a_wrong_arithmetic_step_is_caught(sample_context_factory) -> None:
    process = run(process_check(sample_context_factory(), PROBLEM, WRONG_STEP, judge=False))
    verdicts = [step["verdict"] for step in process["steps"]]
    assert "incorrect" in verdicts
    wrong = next(step for step in process["steps"] if step["verdict"] == "incorrect")
    assert "12 - 2 = 9" in wrong["text"]
    assert process["reward"] == 0.0


def test_unverifiable_steps_are_no_evidence_without_the_judge(sample_context_factory, loopback_llm) -> None:
    ctx = sample_context_factory(server=loopback_llm)
    process = run(process_check(ctx, PROBLEM, "Think about the apples.\nCount what remains.", judge=False))
    assert {step["verdict"] for step in process["steps"]} == {"unverifiable"}
    assert process["reward"] is None
    assert ctx.usage == {} and loopback_llm.requests == []


def test_the_step_judge_scores_only_unverifiable_steps(sample_context_factory, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains=STEP_JUDGE, reply="Correct")])
    ctx = sample_context_factory(server=server)
    process = run(process_check(ctx, PROBLEM, WRONG_STEP, judge=True))
    judged_texts = [r.last_user_message for r in server.requests if STEP_JUDGE in r.last_user_message]
    assert len(judged_texts) == ctx.usage["step-judge"].requests
    wrong = next(step for step in process["steps"] if step["verdict"] == "incorrect")
    # The judge is never asked about the step sympy refuted, and cannot rescue it.
    assert all(wrong["text"] not in text.split("Next step:")[1] for text in judged_texts)
    assert "judge" not in wrong and wrong["score"] == 0.0
    assert process["reward"] == 0.0
    judged = [step for step in process["steps"] if "judge" in step]
    assert judged and all(step["verdict"] == "unverifiable" and step["score"] == 1.0 for step in judged)


def test_a_judge_saying_incorrect_lowers_the_process_reward(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=STEP_JUDGE, reply="Incorrect")])
    process = run(process_check(ctx, PROBLEM, RIGHT, judge=True))
    assert process["reward"] == 0.0
    assert process["judged"] >= 1


# --- answer reward ----------------------------------------------------------------------------


def test_answer_reward_against_the_reference(sample_context_factory) -> None:
    ctx = sample_context_factory()
    right = run(answer_check(ctx, make(RIGHT, answer="10"), 1.0))
    assert right["source"] == "reference" and right["reward"] == 1.0 and right["verified"] is True
    wrong = run(answer_check(ctx, make(WRONG_STEP, answer="10"), 0.0))
    assert wrong["reward"] == 0.0 and wrong["verified"] is False
    equivalent = run(answer_check(ctx, make("So half.\nThe answer is \\boxed{\\frac{1}{2}}", answer="0.5"), None))
    assert equivalent["reward"] == 1.0


def test_an_evolved_sample_ignores_the_answer_it_inherited(sample_context_factory) -> None:
    consensus = Consensus(("10", "10", "11"), ((0, 1), (2,))).as_dict()
    checked = run(answer_check(sample_context_factory(), make(RIGHT, evolved=True, answer="999", checks={"consensus": consensus}), 0.5))
    assert checked["source"] == "consensus"
    assert checked["agreement"] == pytest.approx(2 / 3)
    assert checked["verified"] is True  # a strict majority of at least two samples
    assert checked["reward"] == pytest.approx(2 / 3 * 0.5)  # agreement times process reward


def test_a_single_sample_neither_confirms_nor_refutes(sample_context_factory) -> None:
    consensus = Consensus(("10",), ((0,),)).as_dict()
    checked = run(answer_check(sample_context_factory(), make(RIGHT, evolved=True, checks={"consensus": consensus}), None))
    assert checked["verified"] is None
    assert checked["reward"] == 1.0


# --- instruction reward -------------------------------------------------------------------------


def test_instruction_reward_from_checks_and_judge(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    checks = run(instruction_check(ctx, make(RIGHT), "10"))
    assert checks["asks_question"] and checks["numbers_consistent"] and checks["answer_parses"]
    assert checks["judge"]["difficulty"] == 3.0
    assert checks["reward"] == pytest.approx((9 + 8 + 10) / 30)


def test_without_a_judgement_the_judge_part_is_recorded_missing(sample_context_factory) -> None:
    checks = run(instruction_check(sample_context_factory(), make(RIGHT), "10"))
    assert checks["judge"] is None and checks["judge_missing"]
    assert checks["reward"] == 1.0


@pytest.mark.parametrize(
    ("instruction", "answer", "failed"),
    [
        ("Ann buys 3 bags with 4 apples in each.", "12", "asks_question"),
        ("A box holds 3 * 4 = 13 eggs. How many eggs are in 2 boxes?", "26", "numbers_consistent"),
        ("A rope is 2..5 metres long. How long are two such ropes?", "5", "numbers_consistent"),
        (PROBLEM, None, "answer_parses"),
    ],
)
def test_a_failed_check_gates_the_instruction_reward(
    instruction: str, answer: str | None, failed: str, sample_context_factory
) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    checks = run(instruction_check(ctx, make(RIGHT, instruction=instruction), answer))
    assert checks[failed] is False
    assert checks["reward"] == 0.0


def test_malformed_numbers() -> None:
    assert numbers_consistent("It costs $1,234 and weighs 2.5 kg.", []) == []
    assert numbers_consistent("It weighs 2.5.1 kg.", [])
    assert numbers_consistent("A rope of 3..4 m.", [])


# --- the combined reward and the filter --------------------------------------------------------


def test_reward_is_instruction_reward_times_answer_reward(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    result = run(score(ctx, make(RIGHT, answer="10")))
    scores = result.scores
    assert scores["answer_reward"] == 1.0 and scores["process_reward"] == 1.0
    assert scores["instruction_reward"] == pytest.approx(0.9)
    assert scores["reward"] == pytest.approx(scores["instruction_reward"] * scores["answer_reward"])
    assert scores["instruction_difficulty"] == 3.0
    assert set(result.checks) == {"process", "answer", "instruction"}


def test_a_wrong_step_in_an_evolved_sample_zeroes_its_reward(sample_context_factory) -> None:
    consensus = Consensus(("9",), ((0,),)).as_dict()
    result = run(score(sample_context_factory(), make(WRONG_STEP, evolved=True, checks={"consensus": consensus})))
    assert result.scores["process_reward"] == 0.0
    assert result.scores["answer_reward"] == 0.0
    assert result.scores["reward"] == 0.0


def test_min_reward_filter(sample_context_factory) -> None:
    sample = make(RIGHT).replace(scores={"reward": 0.4})
    assert min_reward(sample_context_factory(options={"min_reward": 0.0}), sample) is None
    assert min_reward(sample_context_factory(options={"min_reward": 0.4}), sample) is None
    assert "below" in min_reward(sample_context_factory(options={"min_reward": 0.5}), sample)
    assert min_reward(sample_context_factory(), sample) is None


# --- the Math-Shepherd export ---------------------------------------------------------------


def _steps(*verdicts: str, judge: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    rows = [{"index": i, "text": f"step {i}", "verdict": v} for i, v in enumerate(verdicts)]
    for index, said in (judge or {}).items():
        rows[index]["judge"] = said
    return rows


def test_labels_follow_sympy_and_everything_after_an_error_is_bad() -> None:
    assert step_labels(_steps("correct", "incorrect", "correct"), True) == ["+", "-", "-"]


def test_unverifiable_steps_take_the_judge_or_the_final_answers_standing() -> None:
    assert step_labels(_steps("unverifiable", "correct", "unverifiable"), True) == ["+", "+", "+"]
    assert step_labels(_steps("unverifiable", "correct"), False) == ["-", "-"]
    assert step_labels(_steps("unverifiable", "correct", judge={0: "correct"}), None) == ["+", "+"]
    assert step_labels(_steps("unverifiable", "correct"), None) is None
    assert step_labels(_steps("correct", "correct"), None) == ["+", "+"]


def test_shepherd_pair_marks_each_step() -> None:
    given, labelled = shepherd_pair("What is 2 + 3?", ["2 + 3 = 5", "Step 2: The answer is 5"], ["+", "-"])
    assert given == f"What is 2 + 3? Step 1: 2 + 3 = 5 {MARKER}\nStep 2: The answer is 5 {MARKER}"
    assert labelled == "What is 2 + 3? Step 1: 2 + 3 = 5 +\nStep 2: The answer is 5 -"
    assert given.count(MARKER) == 2


def test_prm_export_writes_labelled_rows_and_skips_the_unknowable(tmp_path: Path) -> None:
    row = {"id": "a", "domain": "math", "instruction": "What is 2 + 3?",
           "checks": {"process": {"steps": _steps("correct", "unverifiable")}, "answer": {"verified": True}}}
    unknowable = {**row, "id": "b", "checks": {"process": {"steps": _steps("unverifiable")}, "answer": {"verified": None}}}
    other_domain = {**row, "id": "c", "domain": "general"}
    assert prm_row(unknowable) is None and prm_row(other_domain) is None
    target = tmp_path / "prm.jsonl"
    write_prm([row, unknowable, other_domain], target)
    (line,) = target.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["id"] == "a" and record["task"] == "math"
    assert record["input"].count(MARKER) == 2
    assert record["label"].endswith("Step 2: step 1 +")
