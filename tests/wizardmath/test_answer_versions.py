"""What a rewritten math solution (``--evolve-answers``) must keep: the verified final answer
(the reference, or a confirmed consensus), else the original's own unverified one; on real sympy
and a real SampleContext. The build through the CLI is in tests/e2e/test_evolve_answers.py."""

from __future__ import annotations

import asyncio
from typing import Any

from evolinstruct import Sample
from wizardmath.consensus import Consensus
from wizardmath.domain import MATH
from wizardmath.rewards import KEEPS_FINAL_ANSWER, keeps_final_answer

PROBLEM = "Ann buys 3 bags with 4 apples in each and eats 2 apples. How many apples are left?"
TEN = "3 * 4 = 12 and 12 - 2 = 10.\nThe answer is \\boxed{10}"
TEN_AGAIN = "Twelve apples, two eaten: ten are left.\nThe answer is \\boxed{10}"
ELEVEN = "3 * 4 = 12 and 12 - 1 = 11.\nThe answer is \\boxed{11}"


def sample(response: str, *, evolved: bool, consensus: Consensus | None = None, **fields: Any) -> Sample:
    return Sample(id="s/r1" if evolved else "s", seed_id="s", parent_id="s" if evolved else None,
                  round=1 if evolved else 0, operation="concretize" if evolved else "seed", domain="math",
                  instruction=PROBLEM, response=response, fields=fields,
                  checks={"consensus": consensus.as_dict()} if consensus is not None else {})


def kept(ctx: Any, original: Sample, text: str) -> str | None:
    return asyncio.run(keeps_final_answer(ctx, original, original.replace(response=text)))


def test_the_domain_declares_the_rule() -> None:
    assert MATH.answer_evolution and MATH.answer_rule is KEEPS_FINAL_ANSWER


def test_a_seed_version_must_reach_the_reference(sample_context_factory: Any) -> None:
    ctx = sample_context_factory()
    # The original's own answer was wrong: a version is held to the reference, not to it.
    original = sample(ELEVEN, evolved=False, answer="10")
    assert kept(ctx, original, TEN) is None
    assert kept(ctx, original, ELEVEN) == "the rewritten solution's final answer 11 differs from the reference answer, 10"


def test_an_evolved_version_must_keep_the_confirmed_consensus(sample_context_factory: Any) -> None:
    ctx = sample_context_factory()
    confirmed = Consensus(("10", "10", "11"), ((0, 1), (2,)))
    # An evolved sample ignores its seed's reference (here a wrong one, moved to seed_answer).
    original = sample(TEN, evolved=True, consensus=confirmed, seed_answer="999")
    assert kept(ctx, original, TEN_AGAIN) is None
    assert kept(ctx, original, ELEVEN) == ("the rewritten solution's final answer 11 differs from the answer the "
                                           "consensus of the sampled solutions confirmed, 10")


def test_without_a_verified_answer_a_version_keeps_the_original_one(sample_context_factory: Any) -> None:
    ctx = sample_context_factory()
    single = sample(TEN, evolved=True, consensus=Consensus(("10",), ((0,),)))
    assert kept(ctx, single, TEN_AGAIN) is None
    assert kept(ctx, single, ELEVEN) == ("the rewritten solution's final answer 11 differs from the original "
                                         "solution's final answer (unverified), 10")
    nothing = sample("I am not sure.", evolved=True, consensus=Consensus((None,), ()))
    assert kept(ctx, nothing, TEN) == "the original solution states no final answer, so a rewrite has none to keep"
