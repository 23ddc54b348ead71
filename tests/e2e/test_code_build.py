"""``evol build --domain code`` end to end: the real CLI, the loopback LLM and the real sandbox.

The scripted model evolves three MBPP-style example seeds over two rounds (add-constraints, then
erroneous-code) and answers each evolution in a way that exercises one rule: a correct solution
that passes, a wrong one that fails, erroneous reference code that is not erroneous, a rewrite
that shows no code at all, and an answer with no code. Every verdict in the dataset must come
from running the code: the solutions print markers that have to show up in the recorded stdout.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol
from tests.wizardcoder.environment import require_docker, sandbox_env
from wizardcoder.prompts import method_text

SEEDS = EXAMPLES / "seeds" / "code_mbpp.jsonl"
FENCE = "```"
ANSWER = "working Python solution"  # in every request for a solution, and in no other request


def fenced(code: str) -> str:
    return f"{FENCE}python\n{code}\n{FENCE}"


def evolve(method: str, seed_words: str, reply: str, language: str = "python") -> Rule:
    return Rule(contains=method_text(method, language), pattern=re.escape(seed_words), reply=reply)


def answer(marker: str, reply: str) -> Rule:
    return Rule(contains=marker, pattern=ANSWER, reply=reply)


VOWELS = "the vowels (a, e, i, o, u, in either case)"
SECOND = "second largest distinct number"
INTERVALS = "merge overlapping intervals"

A1 = ("Write a function count_vowels(text) that counts the vowels (a, e, i, o, u, in either case) in a "
      "string, treating the letter y as a consonant. (ZA1)")
A2 = A1 + "\n\nZA2: this reference solution contains a mistake:\n" + fenced(
    "def count_vowels(text):\n    return len([c for c in text if c.lower() in 'aeiou'])")
B1 = ("Write a function second_largest(numbers) that returns the second largest distinct number in a list "
      "of integers, or None when there is none, without sorting the whole list. (ZB1)")
B2 = ("Write a function second_largest(numbers) that returns the second largest distinct number in a list "
      "of integers, or None when there is none. (ZB2) This attempt has a bug:\n" + fenced(
          "def second_largest(numbers):\n    return sorted(numbers)[-2] if len(numbers) > 1 else None"))
C1 = ("Write a function merge_intervals(intervals) that merges overlapping [start, end] intervals and returns "
      "them sorted by start, treating intervals that touch as overlapping. (ZC1)")
C2 = ("Write a function merge_intervals(intervals) that merges overlapping [start, end] intervals and returns "
      "them sorted by start. (ZC2) Beware: a common attempt forgets to sort the intervals first.")

RIGHT_VOWELS = ("Here is my solution:\n\n" + fenced(
    "def count_vowels(text):\n    return sum(1 for ch in text.lower() if ch in 'aeiou')\n\n\nprint('EXECUTED-ZA1')")
    + "\n\nIt lowercases the text once and counts the vowels.")
WRONG_SECOND = fenced("def second_largest(numbers):\n    print('EXECUTED-ZB1')\n    return max(numbers) if numbers else None")
RIGHT_SECOND = fenced(
    "def second_largest(numbers):\n    distinct = sorted(set(numbers))\n    print('EXECUTED-ZB2')\n"
    "    return distinct[-2] if len(distinct) > 1 else None")
NO_CODE = ("To solve this, sort the intervals by their start and sweep through them once, extending the last "
           "merged interval whenever the next one overlaps it and starting a new one otherwise.")
RIGHT_INTERVALS = fenced(
    "def merge_intervals(intervals):\n    merged = []\n    for start, end in sorted(intervals):\n"
    "        if merged and start <= merged[-1][1]:\n            merged[-1][1] = max(merged[-1][1], end)\n"
    "        else:\n            merged.append([start, end])\n    return merged")

# First match wins: the later rewrite of a lineage contains the earlier one's marker, so it comes first.
RULES = (
    evolve("add-constraints", VOWELS, A1),
    evolve("erroneous-code", VOWELS, A2),
    evolve("add-constraints", SECOND, B1),
    evolve("erroneous-code", SECOND, B2),
    evolve("add-constraints", INTERVALS, C1),
    evolve("erroneous-code", INTERVALS, C2),
    answer("ZA2", RIGHT_VOWELS),
    answer("ZA1", RIGHT_VOWELS),
    answer("ZB2", RIGHT_SECOND),
    answer("ZB1", WRONG_SECOND),
    answer("ZC2", RIGHT_INTERVALS),
    answer("ZC1", NO_CODE),
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module", autouse=True)
def sandbox_image() -> None:
    """Skip without a Docker engine and a current sandbox image, unless EVOL_REQUIRE_DOCKER=1 (CI)."""
    require_docker()


def build(out: Path, server: Any, *extra: str) -> Any:
    result = evol(
        "build", "--domain", "code", "--seeds", str(SEEDS), "--out", str(out), "--limit", "3",
        "--rounds", "2", "--schedule", "add-constraints,erroneous-code", "--sandbox-workers", "2",
        "--concurrency", "4", "--no-progress", *extra,
        env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback", **sandbox_env()},
    )
    assert result.returncode == 0, result.stderr
    return result


def rows(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, path.read_text().splitlines())}


def sandbox_runs(out: Path) -> int:
    with sqlite3.connect(out / "cache.sqlite") as db:
        return db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'memo:sandbox'").fetchone()[0]


def test_code_build_proves_answers_by_running_them(tmp_path: Path, loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory(RULES)
    out = tmp_path / "strict"
    build(out, server)

    kept = rows(out / "dataset.jsonl")
    eliminated = rows(out / "eliminated.jsonl")
    assert (out / "failed.jsonl").read_text() == ""
    assert sorted(kept) == ["mbpp-1", "mbpp-1/r1", "mbpp-2", "mbpp-2/r2", "mbpp-3"]
    assert {key: row["elimination"]["filter"] for key, row in eliminated.items()} == {
        "mbpp-1/r2": "misdirection-passes",
        "mbpp-2/r1": "require-pass",
        "mbpp-3/r1": "no-code",
        "mbpp-3/r2": "misdirection-missing",
    }

    # Every kept sample was executed against its tests, seeds included.
    for row in kept.values():
        execution = row["checks"]["execution"]
        assert execution["verdict"] == "PASS" and execution["tested"] is True, row["id"]
        assert execution["tests_passed"] == execution["tests_total"] >= 3
        assert not {"duration_s", "compile_s"} & set(execution)

    # The verdicts come from running the code: what it printed was captured in the sandbox.
    assert "EXECUTED-ZA1" in kept["mbpp-1/r1"]["checks"]["execution"]["stdout"]
    assert kept["mbpp-1/r1"]["checks"]["tests"]["origin"] == "seed"
    assert "EXECUTED-ZB2" in kept["mbpp-2/r2"]["checks"]["execution"]["stdout"]
    assert kept["mbpp-2/r2"]["checks"]["misdirection"]["verdict"] == "FAIL"

    wrong = eliminated["mbpp-2/r1"]["checks"]["execution"]
    assert wrong["verdict"] == "FAIL" and wrong["tests_passed"] == 0 and wrong["tests_total"] == 3
    assert "EXECUTED-ZB1" in wrong["stdout"] and "AssertionError" in wrong["stderr"]
    assert eliminated["mbpp-1/r2"]["checks"]["misdirection"]["verdict"] == "PASS"
    assert eliminated["mbpp-3/r1"]["elimination"]["reason"] == "the answer contains no Python code"

    # Running the same command again replays the sandbox from the cache, to the same bytes.
    runs = sandbox_runs(out)
    first = (out / "dataset.jsonl").read_bytes()
    sent = server.request_count
    build(out, server)
    assert (out / "dataset.jsonl").read_bytes() == first
    assert sandbox_runs(out) == runs
    assert server.request_count == sent


def test_no_require_pass_keeps_failing_solutions_flagged(tmp_path: Path, loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory(RULES)
    out = tmp_path / "lenient"
    build(out, server, "--no-require-pass")

    kept = rows(out / "dataset.jsonl")
    eliminated = rows(out / "eliminated.jsonl")
    assert "mbpp-2/r1" in kept and "mbpp-2/r1" not in eliminated
    flagged = kept["mbpp-2/r1"]["checks"]["execution"]
    assert flagged["verdict"] == "FAIL" and "EXECUTED-ZB1" in flagged["stdout"]
    assert kept["mbpp-2/r1"]["scores"]["execution"] == 0.0
    # The rest of the rules hold whatever the option.
    assert eliminated["mbpp-1/r2"]["elimination"]["filter"] == "misdirection-passes"
    assert eliminated["mbpp-3/r1"]["elimination"]["filter"] == "no-code"
    # The failing sample's lineage goes on from it, judged by the same seed tests.
    assert kept["mbpp-2/r2"]["parent_id"] == "mbpp-2/r1"
    assert kept["mbpp-2/r2"]["checks"]["execution"]["verdict"] == "PASS"


# --- tasks in other languages ------------------------------------------------------------------

JS_TASK = "Write a JavaScript function countVowels(text) that counts the vowels of a string, in either case."
CPP_TASK = "Write a C++ function long long sum_of_squares(int n) that returns 1*1 + 2*2 + ... + n*n."
CPP_WRONG_TASK = "Write a C++ function int digit_sum(int n) that returns the sum of the decimal digits of a non-negative n."

JS_SOLUTION = ("function countVowels(text) {\n  console.log('EXECUTED-JS');\n  return [...text.toLowerCase()]"
               ".filter((ch) => 'aeiou'.includes(ch)).length;\n}")
JS_TESTS = ("const assert = require('assert');\nassert.strictEqual(countVowels('hello'), 2);\n"
            "assert.strictEqual(countVowels('AEIOU'), 5);\nassert.strictEqual(countVowels('xyz'), 0);\n"
            "assert.strictEqual(countVowels(''), 0);")
CPP_SOLUTION = ("#include <iostream>\n\nlong long sum_of_squares(int n) {\n    std::cout << \"EXECUTED-CPP\" << std::endl;\n"
                "    long long total = 0;\n    for (long long k = 1; k <= n; ++k) total += k * k;\n    return total;\n}\n\n"
                "int main() {\n    std::cout << sum_of_squares(3) << std::endl;  // the answer's own demo\n}")
CPP_TESTS = ("#include <cassert>\n\nint main() {\n    assert(sum_of_squares(1) == 1);\n    assert(sum_of_squares(3) == 14);\n"
             "    assert(sum_of_squares(0) == 0);\n    assert(sum_of_squares(10) == 385);\n}")
DIGITS_RIGHT = "int digit_sum(int n) {\n    int total = 0;\n    for (; n > 0; n /= 10) total += n % 10;\n    return total;\n}"
DIGITS_WRONG = "int digit_sum(int n) {\n    return n % 10;\n}"
DIGITS_TESTS = ("#include <cassert>\n\nint main() {\n    assert(digit_sum(0) == 0);\n    assert(digit_sum(7) == 7);\n"
                "    assert(digit_sum(123) == 6);\n    assert(digit_sum(9999) == 36);\n}")

POLYGLOT_RULES = (
    evolve("add-constraints", "countVowels", JS_TASK + " Treat the letter y as a consonant. (ZJS1)", "javascript"),
    evolve("add-constraints", "sum_of_squares", CPP_TASK + " Use 64-bit arithmetic throughout. (ZCPP1)", "cpp"),
    evolve("add-constraints", "digit_sum", CPP_WRONG_TASK + " Do it without converting n to a string. (ZCPP2)", "cpp"),
    Rule(contains="ZJS1", pattern="working JavaScript solution", reply=fenced(JS_SOLUTION).replace("```python", "```javascript")),
    Rule(contains="ZCPP1", pattern=re.escape("working C++ solution"), reply="```cpp\n" + CPP_SOLUTION + "\n```"),
    Rule(contains="ZCPP2", pattern=re.escape("working C++ solution"), reply="```cpp\n" + DIGITS_WRONG + "\n```"),
    Rule(contains="Write tests for a JavaScript solution", reply="```javascript\n" + JS_TESTS + "\n```"),
    Rule(contains="Write tests for a C++ solution", pattern="sum_of_squares", reply="```cpp\n" + CPP_TESTS + "\n```"),
    Rule(contains="Write tests for a C++ solution", pattern="digit_sum", reply="```cpp\n" + DIGITS_TESTS + "\n```"),
)


def test_tasks_asking_for_javascript_and_cpp_are_answered_and_run_in_those_languages(tmp_path: Path,
                                                                                      loopback_llm_factory: Any) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("\n".join(json.dumps(record) for record in (
        {"id": "js", "instruction": JS_TASK, "output": "```javascript\n" + JS_SOLUTION + "\n```"},
        {"id": "cpp", "instruction": CPP_TASK, "output": "```cpp\n" + CPP_SOLUTION + "\n```"},
        {"id": "digits", "instruction": CPP_WRONG_TASK, "output": "```cpp\n" + DIGITS_RIGHT + "\n```"},
    )) + "\n")
    server = loopback_llm_factory(POLYGLOT_RULES)
    out = tmp_path / "polyglot"
    done = evol(
        "build", "--domain", "code", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
        "--schedule", "add-constraints", "--sandbox-workers", "2", "--concurrency", "4", "--exec-timeout", "60",
        "--no-progress", env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback", **sandbox_env()},
    )
    assert done.returncode == 0, done.stderr
    kept = rows(out / "dataset.jsonl")
    eliminated = rows(out / "eliminated.jsonl")
    assert (out / "failed.jsonl").read_text() == ""
    assert sorted(kept) == ["cpp", "cpp/r1", "digits", "js", "js/r1"]
    for key, language, marker in (("js", "javascript", "EXECUTED-JS"), ("js/r1", "javascript", "EXECUTED-JS"),
                                  ("cpp", "cpp", "EXECUTED-CPP"), ("cpp/r1", "cpp", "EXECUTED-CPP")):
        row = kept[key]
        execution = row["checks"]["execution"]
        assert row["fields"]["language"] == language and execution["language"] == language, key
        assert execution["verdict"] == "PASS" and execution["tested"] is True, (key, execution)
        # The verdict comes from running the code: its output was captured in the sandbox.
        assert marker in execution["stdout"], key
        assert row["checks"]["tests"]["suite"]["language"] == language
    assert kept["js"]["checks"]["execution"]["tests_total"] == 4  # JavaScript asserts are counted one by one
    assert "compile_s" not in kept["cpp"]["checks"]["execution"]  # no timings in a row
    # The evolved sample is judged by the tests its parent settled, in the same language.
    assert kept["cpp/r1"]["checks"]["tests"]["origin"] == "generated"
    wrong = eliminated["digits/r1"]
    assert wrong["elimination"]["filter"] == "require-pass"
    assert wrong["checks"]["execution"]["verdict"] == "FAIL" and "Assertion" in wrong["checks"]["execution"]["message"]
    # Every answer was asked for in its task's language, never in Python.
    answers = [r.body["messages"][-1]["content"] for r in server.requests if "Write a complete, working" in r.body["messages"][-1]["content"]]
    assert answers and not any("working Python solution" in text for text in answers)


def test_code_that_ran_no_test_is_kept_as_untested_never_as_passed(tmp_path: Path, loopback_llm_factory: Any) -> None:
    # A model that answers with a placeholder raising NotImplementedError and writes no usable
    # tests: nothing is verified, and the dataset says so.
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": "t", "instruction": "Write a function that reverses the words of a sentence."}) + "\n")
    placeholder = fenced("def reverse_words(sentence):\n    raise NotImplementedError")
    server = loopback_llm_factory([Rule(pattern=ANSWER, reply=placeholder),
                                   Rule(pattern="(?i)tests?", reply="No tests can be written.")])
    out = tmp_path / "untested"
    done = evol(
        "build", "--domain", "code", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--no-require-pass",
        "--sandbox-workers", "1", "--no-progress",
        env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback", **sandbox_env()},
    )
    assert done.returncode == 0, done.stderr
    kept = rows(out / "dataset.jsonl")
    evolved = [row for row in kept.values() if row["round"] == 1]
    assert evolved, kept
    for row in evolved:
        execution = row["checks"]["execution"]
        assert "NotImplementedError" in row["response"]
        assert execution["verdict"] == "UNTESTED" and execution["tested"] is False, execution
