"""Near duplicates among short instructions: an article, a word's inflection or punctuation does
not make a different task, one changed task word does."""

from __future__ import annotations

import pytest

from evolinstruct.builtins.curation.near import near_duplicate_rule
from evolinstruct.builtins.curation.runner import RuleRunner
from evolinstruct.builtins.curation.text import near_tokens, normal_tokens


def removed_by_near(*instructions: str) -> dict[int, str | None]:
    """Rows (round 0, in this order) the near-duplicate rule removes: position -> kept twin's id."""
    runner = RuleRunner([near_duplicate_rule()])
    for position, instruction in enumerate(instructions):
        runner.observe(position, {"id": f"r{position}", "instruction": instruction, "response": "r", "round": 0})
    return {position: removal.of for position, removal in runner.finish().items()}


@pytest.mark.parametrize(
    "kept, twin",
    [
        # an article changed, and the end mark
        ("Write a Java code to find a largest number in an array",
         "Write a Java code to find the largest number in an array."),
        # an article dropped, case changed
        ("Create a function that reverses a string.", "create function that reverses the string"),
        # one word's inflection
        ("Write a function to sort the list of numbers", "Write a function to sort the list of number"),
        ("Write a program that prints the prime numbers below 100", "Write a program that printed the prime numbers below 100"),
        # punctuation inside the sentence
        ("Given a string, return the count of vowels.", "Given a string return the count of vowels"),
    ],
)
def test_short_instructions_worded_a_little_differently_are_near_duplicates(kept, twin):
    assert removed_by_near(kept, twin) == {1: "r0"}


@pytest.mark.parametrize(
    "first, second",
    [
        ("Write a Java code to find the largest number in an array", "Write a Java code to find the smallest number in an array"),
        ("Sort a list in ascending order", "Sort a list in descending order"),
        ("Write a function to find the surface area of a cuboid.", "Write a function to find the surface area of a cube."),
        ("Compute the factorial with recursion", "Compute the factorial without recursion"),
        ("Convert Celsius to Fahrenheit", "Convert Fahrenheit to Celsius"),
        ("Check whether a number is even", "Check whether a number is not even"),
        ("Compute 3.5 * 2", "Compute 35 * 2"),
        ("Evaluate f(1,2)", "Evaluate f(12)"),
        ("Encode a string in base64", "Decode a string in base64"),
    ],
)
def test_short_instructions_that_ask_for_a_different_task_are_kept(first, second):
    assert removed_by_near(first, second) == {}


def test_task_words_drop_articles_and_to_and_keep_words_that_change_the_task():
    assert near_tokens("Write a Java code to find the largest numbers in an array.") == [
        "write", "java", "code", "find", "largest", "number", "in", "array"
    ]
    assert near_tokens("not without or from before") == ["not", "without", "or", "from", "befor"]
    # A token with a digit or a symbol is never stemmed.
    assert near_tokens("Sum items_2 and 3.50s") == ["sum", "items_2", "and", "3.50s"]


def test_a_memo_shared_between_texts_reads_every_text_as_a_fresh_read_does():
    texts = ["The Cats, sat!", "cats  sat", '"The" a an to', "", "Ünïcödé café’s ﬁle"]
    memo: dict[str, str] = {}
    assert [near_tokens(t, memo) for t in texts] == [near_tokens(t) for t in texts]
    assert near_tokens('"The" a an to') == []
    # The normal form itself, used by exact duplicates, is unchanged: articles still count there.
    assert normal_tokens("The cats") == ["the", "cats"]
