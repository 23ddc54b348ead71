"""Finding the solution in an answer, and the erroneous snippet in an evolved instruction."""

from __future__ import annotations

import pytest

from wizardcoder.extract import (
    code_blocks,
    extract_misdirection,
    extract_solution,
    unfenced_code,
    without_main_guard,
)

FENCE = "```"


def fenced(code: str, tag: str = "python") -> str:
    return f"{FENCE}{tag}\n{code}\n{FENCE}"


def test_one_fenced_block_is_the_solution() -> None:
    answer = "Here you go:\n\n" + fenced("def add(a, b):\n    return a + b") + "\n\nIt adds."
    assert extract_solution(answer) == "def add(a, b):\n    return a + b\n"


@pytest.mark.parametrize("tag", ["python", "py", "Python3", "{python}", "", "python title=\"sol.py\""])
def test_python_tags_and_untagged_blocks(tag: str) -> None:
    assert extract_solution(fenced("def f():\n    return 1", tag)) == "def f():\n    return 1\n"


@pytest.mark.parametrize("tag", ["bash", "sql", "javascript", "text", "json", "console"])
def test_blocks_in_other_languages_are_not_code_to_run(tag: str) -> None:
    assert extract_solution("Run it like this:\n" + fenced("echo x = 1", tag)) is None


def test_usage_example_blocks_are_left_out() -> None:
    answer = (
        fenced("def double(x):\n    return 2 * x")
        + "\nExample:\n"
        + fenced("print(double(3))\ndouble(None)  # raises TypeError")
    )
    assert extract_solution(answer) == "def double(x):\n    return 2 * x\n"


def test_a_corrected_version_replaces_the_first_attempt() -> None:
    answer = (
        "First try:\n" + fenced("def f(x):\n    return x - 1")
        + "\nOops, fixed:\n" + fenced("def f(x):\n    return x + 1")
    )
    code = extract_solution(answer)
    scope: dict = {}
    exec(code, scope)
    assert scope["f"](1) == 2


def test_imports_in_their_own_block_are_kept() -> None:
    answer = fenced("import math") + "\nthen\n" + fenced("def area(r):\n    return math.pi * r * r")
    assert extract_solution(answer) == "import math\n\ndef area(r):\n    return math.pi * r * r\n"


def test_a_script_without_definitions_is_the_last_block() -> None:
    answer = fenced("print(sum(range(10)))") + "\n" + fenced("total = 0", "text")
    assert extract_solution(answer) == "print(sum(range(10)))\n"


def test_an_unclosed_fence_at_the_end_still_counts() -> None:
    answer = "Solution:\n```python\ndef f():\n    return 42\n"
    assert extract_solution(answer) == "def f():\n    return 42\n"
    assert code_blocks(answer)[0].closed is False


def test_tilde_fences_and_indented_blocks_in_lists() -> None:
    answer = "1. Define it:\n\n   ~~~python\n   def f():\n       return 1\n   ~~~\n"
    assert extract_solution(answer) == "def f():\n    return 1\n"


def test_repl_transcripts_keep_what_was_typed() -> None:
    answer = fenced(">>> def f(x):\n...     return x * 3\n>>> f(2)\n6", "pycon")
    assert extract_solution(answer) == "def f(x):\n    return x * 3\nf(2)\n"


def test_unfenced_code_is_found_between_prose() -> None:
    answer = "You can write it as follows.\ndef square(n):\n    return n * n\n\nThis returns the square of n."
    assert extract_solution(answer) == "def square(n):\n    return n * n\n"


def test_a_bare_program_is_the_whole_answer() -> None:
    code = "import sys\n\ndef main():\n    return 0\n"
    assert extract_solution(code) == code


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        None,
        "I'm sorry, but I can't help with that request.",
        "The answer is 42.",
        "Use a dictionary to count the words, then sort the items by count.",
        fenced("not python at all ((", "python"),
    ],
)
def test_answers_without_code(answer: str | None) -> None:
    assert extract_solution(answer) is None


def test_prose_that_happens_to_parse_is_not_code() -> None:
    assert unfenced_code("hello") is None


def test_the_main_guard_is_removed_but_nothing_else() -> None:
    code = 'def f():\n    return 1\n\nif __name__ == "__main__":\n    print(f(input()))\nprint("kept")\n'
    assert without_main_guard(code) == 'def f():\n    return 1\n\nprint("kept")\n'
    assert without_main_guard("x = (\n") == "x = (\n"  # what does not parse is left alone


def test_misdirection_is_the_new_code_of_the_rewrite() -> None:
    parent = "Complete this function:\n" + fenced("def f(xs):\n    '''Sum xs.'''")
    child = (
        parent
        + "\nThe following attempt contains a mistake:\n"
        + fenced("def f(xs):\n    return sum(xs[1:])")
    )
    assert extract_misdirection(child, parent) == "def f(xs):\n    return sum(xs[1:])\n"


def test_no_misdirection_when_the_rewrite_adds_no_code() -> None:
    parent = "Write f.\n" + fenced("def f(): pass")
    assert extract_misdirection(parent + "\nAlso handle empty input.", parent) is None
    assert extract_misdirection("Write a function that sorts a list.", "Write a sort.") is None


def test_unfenced_misdirection() -> None:
    child = "Write f that doubles x. This reference is wrong:\ndef f(x):\n    return x + x + 1\n"
    assert extract_misdirection(child, "Write f that doubles x.") == "def f(x):\n    return x + x + 1\n"
