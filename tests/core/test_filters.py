from __future__ import annotations

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
