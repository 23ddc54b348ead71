"""The rewrite cleaner and the leak rule against legitimate instructions and real leaks.

Cleaning may remove only what our evolving prompt put around a rewrite (its labels, a first line
that introduces the rewrite, wrapping quotes), never a word of a legitimate instruction; the leak
rule matches our labels and the WizardLM paper's phrases, not ordinary English.
"""

from __future__ import annotations

import pytest

from evolinstruct import clean_rewrite, leaks_template

# Legitimate instructions whose first words look like a label, a courtesy or a preamble.
LEGITIMATE = [
    "New question types appear every week on our forum; design a taxonomy that can absorb them.",
    "Given problem constraints n <= 10^5 and q <= 10^5, answer every range-sum query in O(log n).",
    "OK, imagine you run a bakery.\nPlan the week's flour orders for three shops.",
    "Sure-footed goats climb cliffs; explain the anatomy that lets them do it.",
    "Original research is hard to fund. Write a grant abstract for a study of river deltas.",
    "Rewritten history is a theme of Orwell's 1984: discuss two scenes where it appears.",
    "Created in 1889, the Eiffel Tower was meant to be temporary. Why was it kept?",
    "Revised estimates show a 3% rise in costs: update the budget table below.\n\n| item | cost |\n|---|---|\n| rent | 1200 |",
    "New instruction sets such as AVX-512 change compiler output; compare two loops compiled with and without it.",
    "Here is a list of five cities: Lyon, Oslo, Quito, Perth, Hanoi. Sort them by population.",
    "Certainly the hardest part of chess is the endgame: explain opposition with a king-and-pawn example.",
    "Evolved antibiotic resistance is a growing problem; summarise two mechanisms bacteria use.",
    "Question: what is the boiling point of water at 2,000 m? Show the calculation.",
    "Here's a riddle for a child: what has keys but cannot open locks? Explain the answer.",
    "Given prompt engineering's popularity, write a short guide to evaluating prompts with test sets.",
    # A first line that introduces the instruction's own content, not the rewrite.
    "Here are the new requirements for the task:\n- accept negative numbers\n- run in O(n)",
    "Here is a modified version of the function that contains a bug:\n```python\ndef add(a, b):\n    return a - b\n```\n"
    "Find and fix the error.",
    "Here are the harder questions from the quiz:\n1. What is 2+2?\n2. What is 3*3?",
    "Here's the updated version of my code:\nprint(sum(range(10)))\nWhy does it print 45?",
    "Here is the problem:\nA train leaves at 3 pm at 80 km/h. When does it arrive 200 km away?",
]

# Ordinary English that uses the leak rule's words without copying the template.
NOT_LEAKS = [
    "Explain how a CPU fetches the original instruction stream after a branch misprediction.",
    "The rewritten instruction cache must be flushed: describe when an operating system does it.",
    "Write a new instruction manual for a coffee machine in five steps.",
    "Describe the original score of the film and how it was rewritten for the stage version.",
]

# What models really wrap around a rewrite, and the instruction inside.
WRAPPED = [
    ("#Rewritten Instruction#: List three rivers in Africa.", "List three rivers in Africa."),
    ("#Rewritten Instruction#:\nList three rivers in Africa.", "List three rivers in Africa."),
    ("**Rewritten Instruction:** List three rivers in Africa.", "List three rivers in Africa."),
    ("Rewritten Instruction: List three rivers in Africa.", "List three rivers in Africa."),
    ("## New Instruction\nList three rivers in Africa.", "List three rivers in Africa."),
    ("Sure! Here is the rewritten instruction:\nList three rivers in Africa.", "List three rivers in Africa."),
    ("Certainly, here's a more challenging version of the prompt:\n\nList three rivers in Africa.", "List three rivers in Africa."),
    ("Here's a more complex version:\n\n**Rewritten Instruction:** List three rivers.", "List three rivers."),
    ('"List three rivers in Africa."', "List three rivers in Africa."),
    ("Of course! Here is the new question:\n#New Instruction#: Name a desert.", "Name a desert."),
    ("Here is a new, more challenging task:\nSort a list of words by length.", "Sort a list of words by length."),
    ("Sure, here's the revised prompt:\n\nSort a list of words by length.", "Sort a list of words by length."),
    ("Here is a more difficult version of the given problem:\nSort a list.", "Sort a list."),
]

# Rewrites that still carry the template after cleaning: eliminated by template-leak.
LEAKS = [
    "Make the #Rewritten Instruction# longer and add a constraint.",
    "Rewrite the given prompt so that it rhymes.",
    "In the created prompt, ask for three examples.",
    "Answer the #Original Instruction# in French.",
    "Expand the rewritten prompt with a table.",
]


@pytest.mark.parametrize("instruction", LEGITIMATE + NOT_LEAKS)
def test_cleaning_never_removes_a_word_of_a_legitimate_instruction(instruction: str) -> None:
    assert clean_rewrite(instruction) == instruction


@pytest.mark.parametrize("instruction", LEGITIMATE + NOT_LEAKS)
def test_ordinary_english_is_not_a_template_leak(instruction: str) -> None:
    if "given prompt" in instruction.lower():
        # The paper names "given prompt" itself as a leak: an instruction about prompts that uses
        # the phrase is the rule's one known false positive, kept because the paper's rule says so.
        assert leaks_template(instruction) == "Given prompt"
        return
    assert leaks_template(instruction) is None


@pytest.mark.parametrize(("raw", "clean"), WRAPPED)
def test_what_our_prompt_put_around_a_rewrite_is_removed(raw: str, clean: str) -> None:
    assert clean_rewrite(raw) == clean
    assert leaks_template(clean_rewrite(raw)) is None


@pytest.mark.parametrize("rewrite", LEAKS)
def test_a_rewrite_that_copies_the_template_is_a_leak(rewrite: str) -> None:
    assert leaks_template(clean_rewrite(rewrite)) is not None


def test_quotes_inside_an_instruction_stay() -> None:
    assert clean_rewrite('He said "hi" and "bye".') == 'He said "hi" and "bye".'
    assert clean_rewrite("List three rivers.\n\n```python\nprint(1)\n```") == "List three rivers.\n\n```python\nprint(1)\n```"
