from __future__ import annotations

import pytest

from evolinstruct import Sample
from evolinstruct.builtins.rules import sorry_short, stopwords_only, template_leak


def sample(instruction: str = "Do a thing.", response: str | None = None) -> Sample:
    return Sample("s/r1", "s", "s", 1, "deepen", "general", instruction, response)


def test_template_leak_catches_label_words_and_empty_rewrites() -> None:
    assert template_leak(None, sample("Make the #Rewritten Instruction# longer")) is not None  # type: ignore[arg-type]
    assert "given prompt" in template_leak(None, sample("Rewrite the given prompt so that it rhymes"))  # type: ignore[arg-type]
    assert template_leak(None, sample("   ")) == "the rewrite is empty"  # type: ignore[arg-type]
    assert template_leak(None, sample("Describe the original score of the film.")) is None  # type: ignore[arg-type]


def test_sorry_short_needs_both_sorry_and_fewer_than_80_words() -> None:
    assert sorry_short(None, sample(response="Sorry, I cannot help with that.")) is not None  # type: ignore[arg-type]
    long_answer = "Sorry for the long answer. " + "word " * 80
    assert sorry_short(None, sample(response=long_answer)) is None  # type: ignore[arg-type]
    assert sorry_short(None, sample(response="A short but real answer.")) is None  # type: ignore[arg-type]


def test_stopwords_only() -> None:
    assert stopwords_only(None, sample(response="... and, or; the!")) is not None  # type: ignore[arg-type]
    assert stopwords_only(None, sample(response="")) == "the answer is empty"  # type: ignore[arg-type]
    assert stopwords_only(None, sample(response="The mitochondria.")) is None  # type: ignore[arg-type]


def _run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


@pytest.mark.parametrize(
    ("reply", "structured_output", "eliminated"),
    [
        ('{"verdict": "Equal"}', True, True),
        ('{"verdict": "Not Equal"}', True, False),
        ("Equal", False, True),
        ("Not Equal.", False, False),
        ("I cannot tell.", True, False),  # no verdict is no evidence of equality
        ('{"verdict": "same-ish"}', True, False),
    ],
)
def test_the_equality_judge_reads_a_structured_or_a_text_verdict(
    reply: str, structured_output: bool, eliminated: bool, sample_context_factory, loopback_llm_factory
) -> None:
    from evolinstruct.builtins.rules import equality
    from evolinstruct.testing import Rule

    server = loopback_llm_factory([Rule(contains="Not Equal", reply=reply)], structured_output=structured_output)
    parent = sample("Name a river.")
    ctx = sample_context_factory(server=server, parent=parent)
    reason = _run(equality(ctx, sample("Name a river in Africa and its length.")))
    assert (reason is not None) is eliminated
    asked = server.requests
    assert asked[0].body["response_format"]["json_schema"]["schema"]["properties"]["verdict"]["enum"] == ["Equal", "Not Equal"]
    if not structured_output:
        assert [(r.status, "response_format" in r.body) for r in asked] == [(400, True), (200, False)]


def test_the_offline_model_answers_the_equality_schema_with_not_equal(sample_context_factory, loopback_llm_factory) -> None:
    from evolinstruct.builtins.rules import equality

    for number in range(8):  # whatever the request's hash
        ctx = sample_context_factory(server=loopback_llm_factory(), parent=sample("Name a river."), sample_id=f"s{number}")
        assert _run(equality(ctx, sample(f"Name river number {number} and its length."))) is None
