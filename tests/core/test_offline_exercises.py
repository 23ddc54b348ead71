"""The offline model's own exercises: its functions pass their tests and their wrong versions and
constant bodies fail them; its word problems read back and solve to the right number."""

from __future__ import annotations

import hashlib
import re

import pytest
import sympy

from evolinstruct.offline.exercises import FUNCTIONS, new_problem, read_problem, wrong_version
from evolinstruct.offline.model import offline_reply
from evolinstruct.offline.requests import ChatRequest


def passes(code: str, tests: tuple[str, ...]) -> bool:
    scope: dict = {}
    exec(code, scope)  # the offline model's own constant code, not a model's output
    try:
        for test in tests:
            exec(test, scope)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_each_function_passes_its_tests_and_every_wrong_or_trivial_version_fails(function) -> None:
    assert passes(function.code, function.tests)
    header = function.code.splitlines()[0]
    trivial = [f"{header}\n    return {value}\n" for value in ("None", "0", "''", "[]", "True", "False")]
    for code in (*function.wrong, *trivial):
        assert not passes(code, function.tests), code


def test_a_wrong_version_is_one_the_instruction_does_not_show_yet() -> None:
    function = FUNCTIONS[0]
    shown = "Task.\n```python\n" + function.wrong[0] + "```"
    assert wrong_version(function, shown, 0) != function.wrong[0]


def digest(word: str) -> bytes:
    return hashlib.sha256(word.encode()).digest()


@pytest.mark.parametrize("word", ["a", "b", "c", "d", "e", "f"])
def test_word_problems_read_back_and_each_solution_line_is_a_true_equation(word: str) -> None:
    problem = new_problem(digest(word), 2).harder(digest(word + "!"))
    assert read_problem(problem.text()) == problem
    lines = problem.solution()
    for line in lines[:-1]:
        left, right = re.search(r"([\d\s*+-]+?)\s*=\s*(\d+)", line).groups()
        assert sympy.sympify(left) == int(right), line
    assert lines[-1] == f"The answer is \\boxed{{{problem.total()}}}" and problem.total() > 0
    assert problem.simpler().simpler() != problem and len(problem.simpler().steps) == len(problem.steps) - 1
    assert read_problem("A bakery sells muffins for $3 each. How many are left?") is None


def request(text: str) -> ChatRequest:
    return ChatRequest(model="m", messages=({"role": "user", "content": text},), seed=None, temperature=None,
                       top_p=None, max_tokens=None, n=1, key=hashlib.sha256(text.encode()).hexdigest())


def test_a_math_solution_request_for_its_own_problem_is_solved_and_another_is_not() -> None:
    problem = new_problem(digest("x"), 2)
    solve = "Solve the following math problem.\n\nWork step by step.\n\nProblem:\n" + problem.text() + "\n"
    assert offline_reply(request(solve)) == "\n".join(problem.solution())
    other = offline_reply(request("Solve the following math problem.\n\nProblem:\nWhat is the speed of light?\n"))
    assert other.startswith("[offline placeholder answer]")
    steps = "\n".join(problem.solution()[:2])
    rest = offline_reply(request("Below are a math problem and the first steps of a solution to it. Continue.\n\n"
                                 f"Problem:\n{problem.text()}\n\nSteps so far:\n{steps}\n"))
    assert rest == "\n".join(problem.solution()[2:])


def test_code_tests_are_written_only_for_its_own_functions() -> None:
    function = FUNCTIONS[2]
    asked = ("Write tests for a Python solution of the programming task below.\n\nTask:\nDo it.\n\n"
             "The solution is used through these definitions:\n")
    assert offline_reply(request(asked + function.code.splitlines()[0])) == "```python\n" + "\n".join(function.tests) + "\n```"
    assert "assert" not in offline_reply(request(asked + "def count_vowels(text):"))
