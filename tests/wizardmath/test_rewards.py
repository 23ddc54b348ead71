"""The math rewards on real sympy and a real SampleContext (loopback LLM): step labels and the
process reward with the step judge and rollouts, the answer gate against a reference and by
consensus, the instruction reward's checks and judge, r_A = g_A * process reward,
r = r_I * r_A, a missing judgement as a missing reward, and the --min-reward filter."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Mapping

import pytest

from evolinstruct import Sample
from evolinstruct.testing import Rule
from wizardmath.consensus import Consensus
from wizardmath.judges import read_instruction_judgement, read_step_judgement
from wizardmath.process import process_check, process_settings
from wizardmath.rewards import answer_check, instruction_check, min_reward, numbers_consistent, score

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
ROLLOUT = "Continue the solution from where it stops"


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


def test_a_structured_reply_goes_through_the_same_reader() -> None:
    assert read_instruction_judgement({"Definition": 9, "precision": 8, "integrity": 10, "difficulty": 3}) == {
        "definition": 9.0, "precision": 8.0, "integrity": 10.0, "difficulty": 3.0}
    assert read_instruction_judgement({"definition": 9}) is None


# --- step labels and the process reward -------------------------------------------------------


def check(ctx, solution: str, *, outcome: bool | None, target: str | None = None, **options: Any) -> dict:
    return run(process_check(ctx, PROBLEM, solution, outcome=outcome, target=target,
                             settings=process_settings(options)))


def test_a_solution_reaching_the_reference_labels_every_step_good(sample_context_factory) -> None:
    process = check(sample_context_factory(), RIGHT, outcome=True, target="10")
    assert [step["verdict"] for step in process["steps"]][1:3] == ["claims true", "claims true"]
    assert {(step["label"], step["label_source"]) for step in process["steps"]} == {(True, "outcome")}
    assert process["reward"] == 1.0


def test_claims_true_alone_is_never_a_label(sample_context_factory, loopback_llm) -> None:
    ctx = sample_context_factory(server=loopback_llm)
    process = check(ctx, RIGHT, outcome=None)  # no target answer is known
    assert "claims true" in [step["verdict"] for step in process["steps"]]
    assert [step["label"] for step in process["steps"]] == [None] * 4
    assert [step["score"] for step in process["steps"]] == [0.5] * 4
    assert process["reward"] == 0.5
    assert ctx.usage == {} and loopback_llm.requests == []  # nothing asked without --step-judge


def test_a_false_claim_is_a_bad_step_whatever_the_answer(sample_context_factory) -> None:
    process = check(sample_context_factory(), WRONG_STEP, outcome=None)
    wrong = process["steps"][2]
    assert "12 - 2 = 9" in wrong["text"]
    assert wrong["verdict"] == "a claim is false"
    assert (wrong["label"], wrong["label_source"], wrong["score"]) == (False, "sympy", 0.0)
    assert wrong["claims"] == [{"text": "12 - 2 = 9", "verdict": "false"}]
    assert process["reward"] == 0.0


def test_a_wrong_final_answer_makes_the_last_step_bad(sample_context_factory) -> None:
    wrong_answer = "Ann buys 3 bags of 4 apples.\nShe eats 2 of them.\nThe answer is \\boxed{11}"
    process = check(sample_context_factory(), wrong_answer, outcome=False, target="10")
    assert [step["label"] for step in process["steps"]] == [None, None, False]
    assert process["steps"][-1]["label_source"] == "outcome"
    assert process["reward"] == 0.0


def test_the_step_judge_labels_only_steps_without_a_label(sample_context_factory, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains=STEP_JUDGE, reply="Correct")])
    ctx = sample_context_factory(server=server)
    process = check(ctx, WRONG_STEP, outcome=None, step_judge=True)
    asked = [r.last_user_message.split("Next step:")[1] for r in server.requests]
    # Steps 0 and 1 have no label; the false step and the one after it are never asked about.
    assert len(asked) == 2 == ctx.usage["step-judge"].requests
    assert "12 - 2 = 9" not in "".join(asked)
    assert [step.get("judge") for step in process["steps"]] == ["correct", "correct", None, None]
    assert [step["label_source"] for step in process["steps"][:3]] == ["judge", "judge", "sympy"]
    assert process["reward"] == 0.0


def test_a_judge_saying_incorrect_lowers_the_process_reward(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=STEP_JUDGE, reply="Incorrect")])
    process = check(ctx, RIGHT, outcome=None, step_judge=True)
    assert {step["label"] for step in process["steps"]} == {False}
    assert process["reward"] == 0.0


def test_an_unreadable_judge_reply_leaves_the_step_unlabelled(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=STEP_JUDGE, reply="It depends on the reading.")])
    process = check(ctx, RIGHT, outcome=None, unlabelled_steps="judge")
    assert [step["judge"] for step in process["steps"]] == [None] * 4
    assert {step["label"] for step in process["steps"]} == {None}
    assert process["reward"] == 0.5


def test_rollouts_label_steps_by_whether_a_completion_reaches_the_answer(
    sample_context_factory, loopback_llm_factory
) -> None:
    # A completion from the first step reaches 10; completions from later steps end at 11.
    first_step = "Steps so far:\nAnn buys 3 bags of 4 apples.\n"
    server = loopback_llm_factory([
        Rule(pattern=f"{first_step}$", reply=("So 12 - 2 = 10.\nThe answer is \\boxed{10}", "The answer is \\boxed{11}")),
        Rule(contains=ROLLOUT, reply="The answer is \\boxed{11}"),
    ])
    ctx = sample_context_factory(server=server)
    wrong_answer = "Ann buys 3 bags of 4 apples.\nThat is 3 * 4 = 12 apples.\nShe eats one.\nThe answer is \\boxed{11}"
    process = check(ctx, wrong_answer, outcome=False, target="10", step_labels="rollout", rollouts=2)
    steps = process["steps"]
    assert [step["label"] for step in steps] == [True, False, False, False]
    assert [step["label_source"] for step in steps] == ["rollout", "rollout", "rollout", "outcome"]
    assert steps[0]["rollouts"] == {"of": 2, "reached": 1, "answers": ["10", "11"]}
    assert "rollouts" not in steps[-1]  # the last step's prefix is the whole solution
    assert process["reward"] == 0.0 and process["rollouts"] == 2
    # 2 completions from each of the first three steps, each request with its own seed.
    assert ctx.usage["rollout"].requests == 6 == len(server.requests)
    assert len({r.body["seed"] for r in server.requests}) == 6


def test_no_rollouts_from_a_false_step_and_it_stays_bad(sample_context_factory, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains=ROLLOUT, reply="The answer is \\boxed{10}")])
    ctx = sample_context_factory(server=server)
    process = check(ctx, WRONG_STEP, outcome=False, target="10", step_labels="rollout", rollouts=3)
    assert [step["label"] for step in process["steps"]][:3] == [True, True, False]
    assert process["steps"][2]["label_source"] == "sympy" and "rollouts" not in process["steps"][2]
    assert len(server.requests) == 6  # steps 0 and 1 only


def test_rollouts_need_a_target_answer(sample_context_factory, loopback_llm) -> None:
    process = check(sample_context_factory(server=loopback_llm), RIGHT, outcome=None, step_labels="rollout")
    assert loopback_llm.requests == [] and process["rollouts"] == 0


# --- the answer gate ----------------------------------------------------------------------------


def test_answer_against_the_reference(sample_context_factory) -> None:
    ctx = sample_context_factory()
    right = run(answer_check(ctx, make(RIGHT, answer="10")))
    assert (right["source"], right["outcome"], right["gate"], right["target"]) == ("reference", True, 1.0, "10")
    wrong = run(answer_check(ctx, make(WRONG_STEP, answer="10")))
    assert (wrong["outcome"], wrong["gate"]) == (False, 0.0)
    missing = run(answer_check(ctx, make("No idea.", answer="10")))
    assert (missing["outcome"], missing["gate"]) == (False, 0.0)
    half = run(answer_check(ctx, make("So half.\nThe answer is \\boxed{\\frac{1}{2}}", answer="0.5")))
    assert half["outcome"] is True


def test_an_evolved_sample_ignores_the_answer_it_inherited(sample_context_factory) -> None:
    consensus = Consensus(("10", "10", "11"), ((0, 1), (2,))).as_dict()
    checked = run(answer_check(sample_context_factory(), make(RIGHT, evolved=True, answer="999", checks={"consensus": consensus})))
    assert checked["source"] == "consensus"
    assert checked["agreement"] == pytest.approx(2 / 3)
    assert (checked["confirmed"], checked["outcome"], checked["target"], checked["gate"]) == (True, True, "10", 1.0)


def test_a_single_sample_neither_confirms_nor_refutes(sample_context_factory) -> None:
    consensus = Consensus(("10",), ((0,),)).as_dict()
    checked = run(answer_check(sample_context_factory(), make(RIGHT, evolved=True, checks={"consensus": consensus})))
    assert (checked["outcome"], checked["target"], checked["gate"]) == (None, None, 1.0)
    split = Consensus(("10", "11"), ((0,), (1,))).as_dict()
    checked = run(answer_check(sample_context_factory(), make(RIGHT, evolved=True, checks={"consensus": split})))
    assert (checked["confirmed"], checked["outcome"]) == (False, None)
    none = Consensus((None, None), ()).as_dict()
    checked = run(answer_check(sample_context_factory(), make("Hmm.", evolved=True, checks={"consensus": none})))
    assert (checked["outcome"], checked["gate"]) == (False, 0.0)


# --- instruction reward -------------------------------------------------------------------------


def test_instruction_reward_from_checks_and_judge(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    checks = run(instruction_check(ctx, make(RIGHT), "10"))
    assert checks["asks_question"] and checks["numbers_consistent"] and checks["answer_parses"]
    assert checks["gate"] == 1.0
    assert checks["judge"]["difficulty"] == 3.0
    assert checks["reward"] == pytest.approx((9 + 8 + 10) / 30)


@pytest.mark.parametrize("structured_output", [True, False])
def test_an_unreadable_judgement_is_a_missing_reward(
    structured_output: bool, sample_context_factory, loopback_llm_factory
) -> None:
    server = loopback_llm_factory([Rule(contains=INSTRUCTION_JUDGE, reply="This problem looks fine to me.")],
                                  structured_output=structured_output)
    checks = run(instruction_check(sample_context_factory(server=server), make(RIGHT), "10"))
    assert checks["judge"] is None and checks["judge_missing"]
    assert checks["reward"] is None


def test_the_judges_ask_for_a_schema_and_read_text_where_the_endpoint_has_none(
    sample_context_factory, loopback_llm_factory
) -> None:
    # With structured output the offline model answers in the schema (placeholder numbers).
    server = loopback_llm_factory()
    checks = run(instruction_check(sample_context_factory(server=server), make(RIGHT), "10"))
    (asked,) = [r for r in server.requests if INSTRUCTION_JUDGE in r.last_user_message]
    schema = asked.body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["definition", "precision", "integrity", "difficulty"]
    assert schema["properties"]["precision"]["enum"] == list(range(1, 11))
    assert set(checks["judge"]) == {"definition", "precision", "integrity", "difficulty"}
    assert all(value in range(1, 11) for value in checks["judge"].values())

    # Without it, the request is sent again in plain text, and the text reply is read.
    plain = loopback_llm_factory([Rule(contains=INSTRUCTION_JUDGE, reply=f"My rating:\n{GOOD_JUDGE}")],
                                 structured_output=False)
    checks = run(instruction_check(sample_context_factory(server=plain), make(RIGHT), "10"))
    assert [(r.status, "response_format" in r.body) for r in plain.requests
            if INSTRUCTION_JUDGE in r.last_user_message] == [(400, True), (200, False)]
    assert checks["judge"] == {"definition": 9.0, "precision": 8.0, "integrity": 10.0, "difficulty": 3.0}
    assert checks["reward"] == pytest.approx(27 / 30)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [('{"verdict": "Correct"}', "correct"), ('{"verdict": "Incorrect"}', "incorrect"),
     ('{"verdict": "maybe"}', None), ('{"other": "Correct"}', None)],
)
def test_a_structured_step_verdict(reply: str, verdict: str | None) -> None:
    assert read_step_judgement(reply) == verdict


def test_the_step_judge_reads_text_from_an_endpoint_without_structured_output(
    sample_context_factory, loopback_llm_factory
) -> None:
    from wizardmath.judges import judge_step

    plain = loopback_llm_factory([Rule(contains=STEP_JUDGE, reply="Incorrect.")], structured_output=False)
    ctx = sample_context_factory(server=plain)
    assert run(judge_step(ctx, PROBLEM, RIGHT.split("\n"), 1)) == "incorrect"
    unreadable = loopback_llm_factory([Rule(contains=STEP_JUDGE, reply="It depends on the reading.")])
    assert run(judge_step(sample_context_factory(server=unreadable), PROBLEM, RIGHT.split("\n"), 1)) is None
    asked = [r for r in unreadable.requests if STEP_JUDGE in r.last_user_message]
    assert asked[0].body["response_format"]["json_schema"]["schema"]["properties"]["verdict"]["enum"] == [
        "Correct", "Incorrect"]


@pytest.mark.parametrize(
    ("instruction", "answer", "failed"),
    [
        ("Ann buys 3 bags with 4 apples in each.", "12", "asks_question"),
        ("A box holds 3 * 4 = 13 eggs. How many eggs are in 2 boxes?", "26", "numbers_consistent"),
        ("A rope is 2..5 metres long. How long are two such ropes?", "5", "numbers_consistent"),
        (PROBLEM, None, "answer_parses"),
    ],
)
@pytest.mark.parametrize("judge_reply", [GOOD_JUDGE, "no scores here"])
def test_a_failed_check_gates_the_instruction_reward(
    instruction: str, answer: str | None, failed: str, judge_reply: str, sample_context_factory
) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=judge_reply)])
    checks = run(instruction_check(ctx, make(RIGHT, instruction=instruction), answer))
    assert checks[failed] is False
    assert checks["reward"] == 0.0  # known from the checks, whether or not the judge answered


def test_malformed_numbers() -> None:
    assert numbers_consistent("It costs $1,234 and weighs 2.5 kg.", []) == []
    assert numbers_consistent("It weighs 2.5.1 kg.", [])
    assert numbers_consistent("A rope of 3..4 m.", [])


# --- the combined reward and the filter --------------------------------------------------------


def test_reward_formulas(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    result = run(score(ctx, make(RIGHT, answer="10")))
    scores = result.scores
    assert scores["process_reward"] == 1.0
    assert scores["answer_reward"] == 1.0 * scores["process_reward"]  # r_A = g_A * process reward
    assert scores["instruction_reward"] == pytest.approx((9 + 8 + 10) / 30)
    assert scores["reward"] == pytest.approx(scores["instruction_reward"] * scores["answer_reward"])
    assert scores["instruction_difficulty"] == 3.0
    assert set(result.checks) == {"process", "answer", "instruction"}
    assert result.checks["answer"]["reward"] == scores["answer_reward"]


def test_an_evolved_sample_without_evidence_gets_the_neutral_process_reward(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    consensus = Consensus(("10",), ((0,),)).as_dict()
    scores = run(score(ctx, make(RIGHT, evolved=True, checks={"consensus": consensus}))).scores
    assert scores["process_reward"] == 0.5 and scores["answer_reward"] == 0.5
    assert scores["reward"] == pytest.approx(0.9 * 0.5)


def test_a_wrong_step_in_an_evolved_sample_zeroes_its_reward(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    consensus = Consensus(("9",), ((0,),)).as_dict()
    result = run(score(ctx, make(WRONG_STEP, evolved=True, checks={"consensus": consensus})))
    assert result.scores["process_reward"] == 0.0
    assert result.scores["answer_reward"] == 0.0
    assert result.scores["reward"] == 0.0


def test_a_wrong_answer_gates_r_a(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply=GOOD_JUDGE)])
    scores = run(score(ctx, make(RIGHT, answer="11"))).scores
    assert scores["answer_reward"] == 0.0 and scores["reward"] == 0.0


def test_an_unreadable_judge_makes_the_reward_missing_not_perfect(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains=INSTRUCTION_JUDGE, reply="A fine problem, clearly stated.")])
    scores = run(score(ctx, make(RIGHT, answer="10"))).scores
    assert scores["instruction_reward"] is None and scores["reward"] is None
    assert scores["answer_reward"] == 1.0  # what is known stays known
    assert "instruction_difficulty" not in scores


def test_min_reward_filter(sample_context_factory) -> None:
    sample = make(RIGHT).replace(scores={"reward": 0.4})
    assert min_reward(sample_context_factory(options={"min_reward": 0.0}), sample) is None
    assert min_reward(sample_context_factory(options={"min_reward": 0.4}), sample) is None
    assert "below" in min_reward(sample_context_factory(options={"min_reward": 0.5}), sample)
    assert min_reward(sample_context_factory(), sample) is None


def test_min_reward_treats_a_missing_reward_as_failing_unless_told(sample_context_factory) -> None:
    unscored = make(RIGHT).replace(scores={"reward": None})
    assert "missing" in min_reward(sample_context_factory(options={"min_reward": 0.1}), unscored)
    keep = {"min_reward": 0.1, "missing_reward": "keep"}
    assert min_reward(sample_context_factory(options=keep), unscored) is None
    assert min_reward(sample_context_factory(options={"min_reward": 0.0}), unscored) is None
