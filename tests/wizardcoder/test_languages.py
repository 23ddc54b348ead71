"""Which language a code task asks for."""

from __future__ import annotations

import pytest

from wizardcoder.languages import detect, language, normalise, switched_to

from ..conftest import read_jsonl


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write a JavaScript function that reverses a string.", "javascript"),
        ("How to create a server using Node.js?", "javascript"),
        ("Convert this Python code to C.\nprint(1)", "c"),
        ("Convert this JavaScript function to Python.", "python"),
        ("Rewrite the following Java program in C++.", "cpp"),
        ("Write a Python function that connects to MySQL and counts the rows.", "python"),
        ("Write a Java program that connects to MySQL.", "java"),
        ("Write a SQL query to find the average salary.", "sql"),
        ("Implement quicksort in Go.", "go"),
        ("Go through the list and print every item.", "python"),
        ("Write a C program that prints the first ten squares.", "c"),
        ("Write a Rust function that parses an integer.", "rust"),
        ("Write a TypeScript interface for a user.", "typescript"),
        ("Create a bash script that lists the files of a folder.", "bash"),
        ("Create an HTML page with a form.", "html"),
        ("Create a React component that shows a counter.", "web"),
        ("Construct an Objective-C program to check a palindrome.", "objective-c"),
        ("Write a function that adds two numbers.", "python"),
        ("Fix this code:\n```js\nlet x = 1\n```", "javascript"),
        ("Edit the following code so that it prints 2.\n\n#include <iostream>\nint main() { std::cout << 1; }", "cpp"),
        ("Edit the following code so that it prints 2.\n\npublic class A { public static void main(String[] a) { System.out.println(1); } }", "java"),
    ],
)
def test_the_language_a_task_asks_for(text: str, expected: str) -> None:
    assert detect(text) == expected


def test_names_and_fence_tags_are_normalised() -> None:
    assert [normalise(name) for name in ("C++", "js", "golang", "Python3", "sqlite", "klingon")] == \
        ["cpp", "javascript", "go", "python", "sql", None]
    assert language("ts").display == "TypeScript" and not language("php").runnable


def test_only_a_firm_request_moves_a_lineage_to_another_language() -> None:
    assert switched_to("Now implement it in Rust instead.", "python") == "rust"
    assert switched_to("This Python code contains a mistake: ...", "javascript") is None
    assert switched_to("Keep writing it in JavaScript, and handle empty arrays.", "javascript") is None


def test_the_language_of_each_sample_task_is_read() -> None:
    """The project's own sample of tasks in 13 languages (tests/data/code_tasks.jsonl), each
    labelled with the language it asks for, named or only shown."""
    tasks = read_jsonl("code_tasks.jsonl")
    assert len({task["language"] for task in tasks}) >= 10
    misread = {task["id"]: (task["language"], detect(task["instruction"] + "\n\n" + task["input"]))
               for task in tasks if detect(task["instruction"] + "\n\n" + task["input"]) != task["language"]}
    assert misread == {}
