"""The math domain: operations and their tags, prompts, seed formats, the responder's k-sample
consensus, and what an evolved sample keeps of its seed's fields."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest

from evolinstruct import CREATED_LABEL, GIVEN_LABEL, REWRITTEN_LABEL, Sample, SeedError, stable_int
from evolinstruct.runtime.engine import operations_per_round
from evolinstruct.types.rewrite import leaks_template
from evolinstruct.runtime.seeds import SeedFile
from evolinstruct.testing import Rule
from wizardmath import prompts
from wizardmath.domain import MATH, clean_math_rewrite, read_seed, respond
from wizardmath.references import reference_answer

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "examples" / "seeds"
SOLVE = "Solve the following math problem."  # only the solving prompt says this


def sample(instruction: str = "What is 2 + 3?", *, parent: str | None = None, **fields: Any) -> Sample:
    return Sample(
        id="s" if parent is None else "s/r1",
        seed_id="s",
        parent_id=parent,
        round=0 if parent is None else 1,
        operation="seed" if parent is None else "simplify",
        domain="math",
        instruction=instruction,
        fields=fields,
    )


# --- operations and prompts -------------------------------------------------------------------


def test_operations_are_tagged_up_and_down() -> None:
    tags = {op.name: op.tags for op in MATH.operations}
    assert tags == {
        "add-constraints": ("up",),
        "concretize": ("up",),
        "increase-reasoning": ("up",),
        "simplify": ("down",),
        "new-easier-question": ("down",),
    }


def test_the_wizardmath_schedule_resolves_through_tags() -> None:
    rounds = operations_per_round(MATH.operations, 5, ("down", "down", "up", "up", "up"))
    assert [sorted(op.name for op in ops) for ops in rounds] == [
        ["new-easier-question", "simplify"],
        ["new-easier-question", "simplify"],
        ["add-constraints", "concretize", "increase-reasoning"],
        ["add-constraints", "concretize", "increase-reasoning"],
        ["add-constraints", "concretize", "increase-reasoning"],
    ]


@pytest.mark.parametrize("operation", [op.name for op in MATH.operations])
def test_evolving_prompts_carry_the_labels_only_as_headings(operation: str) -> None:
    op = next(op for op in MATH.operations if op.name == operation)
    problem = "Tom has 3 apples and buys 4 more. How many apples does he have?"
    (message,) = op.prompt(sample(problem), random.Random(0))
    text = message["content"]
    assert problem in text
    assert GIVEN_LABEL in text
    answer_label = CREATED_LABEL if operation == "new-easier-question" else REWRITTEN_LABEL
    assert text.rstrip().endswith(answer_label)
    # The rules above the headings never name a label: a model that reads one echoes it.
    rules = text[: text.index(GIVEN_LABEL)]
    assert leaks_template(rules) is None
    assert "none of the headings of this message" in rules


def test_judge_prompts_cannot_be_mistaken_for_rewrites_or_solutions() -> None:
    for text in (
        prompts.judge_instruction("What is 2 + 3?")[0]["content"],
        prompts.judge_step("What is 2 + 3?", ["2 + 3 = 5"], "The answer is 5")[0]["content"],
    ):
        for marker in (GIVEN_LABEL, REWRITTEN_LABEL, CREATED_LABEL, "Not Equal", "\\boxed"):
            assert marker not in text


def test_the_solving_prompt_asks_for_the_fixed_final_form() -> None:
    text = prompts.solve("What is 2 + 3?")[0]["content"]
    assert "The answer is \\boxed{ANSWER}" in text
    assert "What is 2 + 3?" in text


def test_a_rewrite_loses_a_solution_the_model_appended() -> None:
    assert clean_math_rewrite("Sure! Here is the rewritten problem:\nWhat is 7 * 8?\n\nSolution: 56") == "What is 7 * 8?"
    assert clean_math_rewrite("What is 7 * 8?\n**Answer:** 56") == "What is 7 * 8?"
    # A problem line that merely starts with the word stays.
    kept = "A shop sells pens at $2.\nAnswer in dollars: how much do 5 pens cost?"
    assert clean_math_rewrite(kept) == kept


def test_domain_options() -> None:
    defaults = MATH.options()
    assert set(MATH.options.model_fields) == {"samples", "step_labels", "rollouts", "step_judge", "unlabelled_steps",
                                              "irm_candidates", "min_reward", "missing_reward"}
    assert defaults.samples == 1
    assert defaults.irm_candidates == 1  # one candidate per round: the plain method
    assert defaults.step_labels == "answer"
    assert defaults.rollouts == 8  # Math-Shepherd's N
    assert defaults.step_judge is False
    assert defaults.unlabelled_steps == "skip"
    assert defaults.min_reward == 0.0
    assert defaults.missing_reward == "eliminate"
    assert MATH.options(step_judge="true", samples="3").samples == 3  # values as the command line gives them


# --- seeds ----------------------------------------------------------------------------------


def test_gsm8k_record_becomes_the_common_form() -> None:
    record = {"question": "Ann has 2 cats and 3 dogs. How many pets?", "answer": "She has 2 + 3 = <<2+3=5>>5 pets.\n#### 5"}
    common = read_seed(record)
    assert common["instruction"] == "Ann has 2 cats and 3 dogs. How many pets?"
    assert common["answer"] == "5"
    # The reasoning and its checkable annotations stay; "#### 5" becomes the fixed final form.
    assert common["output"] == "She has 2 + 3 = <<2+3=5>>5 pets.\nThe answer is \\boxed{5}"


def test_math_record_becomes_the_common_form_and_keeps_its_metadata() -> None:
    record = {"problem": "Compute $6 \\cdot 7$.", "solution": "$6 \\cdot 7 = \\boxed{42}$.", "answer": "42", "level": "Level 1"}
    common = read_seed(record)
    assert common == {
        "instruction": "Compute $6 \\cdot 7$.",
        "output": "$6 \\cdot 7 = \\boxed{42}$.",
        "answer": "42",
        "level": "Level 1",
    }


def test_math_record_without_an_answer_takes_it_from_the_solution() -> None:
    common = read_seed({"problem": "Compute $6 + 7$.", "solution": "We get $\\boxed{13}$."})
    assert common["answer"] == "13"


def test_math_solution_without_a_final_form_gets_one() -> None:
    common = read_seed({"problem": "Compute $6 + 7$.", "solution": "Adding gives 13.", "answer": "13"})
    assert common["output"] == "Adding gives 13.\nThe answer is \\boxed{13}"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"question": "How many?", "answer": "Two."}, "answer"),
        ({"question": "How many?", "answer": "Two.\n####  "}, "answer"),
        ({"question": "", "answer": "#### 2"}, "question"),
        ({"question": "How many?"}, "answer"),
        ({"problem": "Compute it."}, "answer"),
        ({"text": "no problem here"}, "question"),
    ],
)
def test_unusable_records_name_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(SeedError) as raised:
        read_seed(record)
    assert raised.value.field == field


@pytest.mark.parametrize("name", ["math_gsm8k_style.jsonl", "math_competition_style.jsonl"])
def test_example_seeds_are_valid_and_have_reference_answers(name: str) -> None:
    seeds = list(SeedFile(SEEDS / name, MATH).validate())
    assert len(seeds) >= 8
    for seed in seeds:
        assert seed.output and seed.fields["answer"]
        assert "\\boxed{" in seed.output


# --- responses --------------------------------------------------------------------------------


def solutions(*answers: str) -> Rule:
    """The solving requests, answered in the order they are made: the i-th gets answers[i]."""
    return Rule(contains=SOLVE, reply=tuple(f"We work it out.\nThe answer is \\boxed{{{answer}}}" for answer in answers))


def test_the_response_comes_from_the_largest_group_of_equal_answers(sample_context_factory, loopback_llm_factory) -> None:
    server = loopback_llm_factory([solutions("7", "0.5", "\\frac{1}{2}", "1/2", "7")])
    ctx = sample_context_factory(server=server, options={"samples": 5})
    answered = asyncio.run(respond(ctx, sample()))
    consensus = answered.checks["consensus"]
    assert consensus["groups"] == [[0, 4], [1, 2, 3]]
    assert consensus["chosen"] == 1
    assert consensus["agreement"] == pytest.approx(3 / 5)
    assert answered.response.endswith("\\boxed{0.5}")
    # k distinct requests, variants 0 to 4 in that order, every one a solving request.
    assert [r.body["seed"] for r in server.requests] == [stable_int(ctx.run.seed, ctx.sample_id, "respond", v) for v in range(5)]
    assert all(r.rule == 0 for r in server.requests)
    assert list(ctx.usage) == ["respond"] and ctx.usage["respond"].requests == 5


def test_one_sample_by_default(sample_context_factory) -> None:
    ctx = sample_context_factory([solutions("5")])
    answered = asyncio.run(respond(ctx, sample()))
    assert list(ctx.usage) == ["respond"] and ctx.usage["respond"].requests == 1
    assert answered.checks["consensus"]["agreement"] == 1.0


def test_solutions_without_an_answer_count_against_the_agreement(sample_context_factory) -> None:
    refusal = "I cannot solve this problem, sorry, it is not clear at all."
    ctx = sample_context_factory([Rule(contains=SOLVE, reply=("\\boxed{5}", refusal))], options={"samples": 2})
    answered = asyncio.run(respond(ctx, sample()))
    assert answered.checks["consensus"]["groups"] == [[0]]
    assert answered.checks["consensus"]["agreement"] == 0.5


def test_an_evolved_problem_does_not_keep_its_seeds_answer(sample_context_factory) -> None:
    inherited = MATH.inherit_fields({"answer": "5", "level": "Level 1"})
    assert inherited == {"seed_answer": "5", "level": "Level 1"}
    evolved = sample("What is 20 + 30?", parent="s", **inherited)
    ctx = sample_context_factory([solutions("50")], domain=MATH, sample_id=evolved.id)
    answered = asyncio.run(respond(ctx, evolved))
    assert list(ctx.usage) == ["respond"]
    assert "answer" not in answered.fields
    assert answered.fields["seed_answer"] == "5"
    assert reference_answer(answered) is None


def test_a_seed_keeps_its_reference_answer(sample_context_factory) -> None:
    seed = sample(answer="5")
    ctx = sample_context_factory([solutions("5")], domain=MATH)
    answered = asyncio.run(respond(ctx, seed))
    assert list(ctx.usage) == ["respond"]
    assert answered.fields["answer"] == "5"
    assert reference_answer(answered) == "5"
    # Even before the responder ran, only a seed offers a reference.
    assert reference_answer(sample("What is 20 + 30?", parent="s", answer="5")) is None
