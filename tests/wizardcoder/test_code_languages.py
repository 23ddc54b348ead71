"""The code domain in other languages than Python: the task's language read from the seed or
its instruction and kept down the lineage, answers asked for and extracted in it, tests written,
checked against trivial stand-ins and run in it, and misdirection code in it that must fail.

The sandbox verdicts come from the real pool; the LLM is the loopback server scripted per stage.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Callable, Mapping

import pytest

from evolinstruct import Sample, SampleContext, SeedError
from evolinstruct.testing import Rule
from wizardcoder.domain import FILTERS, OPERATIONS, language_of, read_seed, respond, score_execution
from wizardcoder.extract import extract_code, extract_snippet
from wizardcoder.prompts import method_text

FENCE = "```"
UNSCRIPTED = Rule(status=400)
WRITE_TESTS = "Write tests for a"


def fenced(code: str, tag: str) -> str:
    return f"{FENCE}{tag}\n{code}\n{FENCE}"


def sample(instruction: str, response: str | None, language: str, *, round_: int = 0, operation: str = "seed",
           fields: Mapping[str, Any] | None = None, checks: Mapping[str, Any] | None = None) -> Sample:
    return Sample(
        id=f"s/r{round_}", seed_id="s", parent_id=None if round_ == 0 else "s", round=round_, operation=operation,
        domain="code", instruction=instruction, response=response, fields={"language": language, **(fields or {})},
        checks=dict(checks or {}),
    )


@pytest.fixture
def context(sample_context_factory: Any) -> Callable[..., SampleContext]:
    def make(*rules: Rule, **settings: Any) -> SampleContext:
        return sample_context_factory([*rules, UNSCRIPTED], **settings)

    return make


def _filter(name: str) -> Callable[..., str | None]:
    return next(f.check for f in FILTERS if f.name == name)


# --- the task's language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "language"),
    [
        ({"instruction": "Write a JavaScript function that reverses a string."}, "javascript"),
        ({"instruction": "Rewrite the following Java program in C++.", "input": "class A {}"}, "cpp"),
        ({"instruction": "Write a SQL query to list every customer older than 30."}, "sql"),
        ({"instruction": "Create an HTML page with a table of the planets."}, "html"),
        ({"instruction": "Write a function that adds two numbers."}, "python"),
        ({"instruction": "Edit the following code to print 2.", "input": "#include <iostream>\nint main() { std::cout << 1; }"}, "cpp"),
        ({"instruction": "Write a function that adds two numbers.", "language": "Go"}, "go"),
        ({"instruction": "Implement quicksort.", "language": "rs"}, "rust"),
    ],
)
def test_the_language_comes_from_the_seed_field_or_the_instruction(record: dict, language: str) -> None:
    assert read_seed(record)["language"] == language


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"instruction": "Write f.", "language": "klingon"}, "language"),
        ({"instruction": "Write f.", "language": 3}, "language"),
        ({"instruction": "Write f.", "language": "java", "tests": ["assert f() == 1"]}, "tests"),
        ({"instruction": "Write f.", "language": "html", "tests": "<p>"}, "tests"),
    ],
)
def test_a_bad_language_or_tests_for_it_name_the_field(record: dict, field: str) -> None:
    with pytest.raises(SeedError) as raised:
        read_seed(record)
    assert raised.value.field == field


def test_seeds_in_another_language_keep_their_tests() -> None:
    seed = read_seed({"instruction": "Write add(a, b) in C++.", "tests": "int main() { return add(1, 2) == 3 ? 0 : 1; }",
                      "entry_point": "add"})
    assert seed["language"] == "cpp" and seed["entry_point"] == "add" and "int main()" in seed["tests"]


def test_the_complexity_method_is_drawn_rarely_as_the_paper_asks() -> None:
    weights = {operation.name: operation.weight for operation in OPERATIONS}
    assert weights == {"add-constraints": 1.0, "rarer-requirement": 1.0, "more-reasoning": 1.0, "erroneous-code": 1.0,
                       "complexity": 0.25}


def test_the_evolving_prompt_keeps_the_task_in_its_language() -> None:
    erroneous = next(op for op in OPERATIONS if op.name == "erroneous-code")
    prompt = erroneous.prompt(sample("Write add(a, b).", None, "rust"), random.Random(0))[-1]["content"]
    assert "Keep the exercise in Rust" in prompt
    assert method_text("erroneous-code", "rust") in prompt and f"{FENCE}rust block" in prompt


def test_the_answer_is_asked_for_in_the_tasks_language(sample_context_factory: Any, loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory([Rule(contains="Write a complete, working", reply="ok"), UNSCRIPTED])
    item = sample("Write a function add(a, b).", None, "java")
    answered = asyncio.run(respond(sample_context_factory(server=server), item))
    prompt = server.requests[0].last_user_message
    assert "Write a complete, working Java solution" in prompt and f"{FENCE}java block" in prompt
    assert "class named Solution" in prompt and "class named Main" in prompt
    assert language_of(answered) == "java"


def test_a_rewrite_that_asks_for_another_language_moves_the_lineage(sample_context_factory: Any,
                                                                      loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory([Rule(contains="Write a complete, working", reply="ok"), UNSCRIPTED])
    parent = sample("Write add(a, b).", fenced("def add(a, b):\n    return a + b", "python"), "python",
                    fields={"tests": ["assert add(1, 2) == 3"], "entry_point": "add"})
    child = sample("Write add(a, b), and implement it in Rust this time.", None, "python", round_=1,
                   fields={"tests": ["assert add(1, 2) == 3"], "entry_point": "add"})
    moved = asyncio.run(respond(sample_context_factory(server=server, parent=parent, sample_id=child.id), child))
    assert language_of(moved) == "rust" and "tests" not in moved.fields
    assert "working Rust solution" in server.requests[0].last_user_message
    # A rewrite that merely mentions a language (its erroneous snippet's) keeps the lineage's.
    mention = sample("Write add(a, b). This Python code has a bug: ...", None, "javascript", round_=1)
    kept = asyncio.run(respond(sample_context_factory(server=server, parent=parent, sample_id="other"), mention))
    assert language_of(kept) == "javascript"


def test_extraction_takes_the_block_in_the_tasks_language() -> None:
    answer = ("Here is a shell session:\n" + fenced("$ node main.js", "bash") + "\nand the code:\n"
              + fenced("function add(a, b) { return a + b; }", "javascript") + "\nUsage:\n" + fenced("console.log(add(1, 2));", "js"))
    assert extract_code(answer, "javascript") == "function add(a, b) { return a + b; }\n"
    assert extract_code("Use a for loop and sum the items.", "javascript") is None
    assert extract_code(fenced("def add(a, b):\n    return a + b", "python"), "cpp") is None
    fixed = fenced("int add(int a, int b) { return a - b; }", "cpp") + "\nCorrected:\n" + fenced("int add(int a, int b) { return a + b; }", "cpp")
    assert extract_code(fixed, "cpp") == "int add(int a, int b) { return a + b; }\n"
    parent = "Write add in Go.\n" + fenced("func add(a, b int) int", "go")
    child = parent + "\nThis attempt is wrong:\n" + fenced("func add(a, b int) int { return a - b }", "go")
    assert extract_snippet(child, parent, "go") == "func add(a, b int) int { return a - b }\n"


def test_no_code_names_the_tasks_language(context: Any) -> None:
    check = _filter("no-code")
    assert check(context(), sample("t", fenced("print(1)", "python"), "cpp")) == "the answer contains no C++ code"
    assert check(context(), sample("t", fenced("int f() { return 1; }", "cpp"), "cpp")) is None


def test_a_language_the_sandbox_cannot_run_is_untested_not_forced_into_python(context: Any) -> None:
    item = sample("Create an HTML page with a table.", fenced("<table><tr><td>1</td></tr></table>", "html"), "html")
    score = asyncio.run(score_execution(context(), item))
    execution = score.checks["execution"]
    assert execution == {"verdict": "UNTESTED", "language": "html", "tested": False,
                         "message": "the sandbox does not run HTML: the answer was not executed"}
    scored = item.replace(checks=score.checks)
    assert _filter("require-pass")(context(), scored) == "no verified tests to pass: the sandbox does not run HTML: the answer was not executed"


# --- with the real sandbox --------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Any:
    from wizardcoder.sandbox import SandboxPool

    pool = SandboxPool(size=2)
    pool.start()
    yield pool
    pool.close()


def run_score(ctx: SampleContext, item: Sample) -> Sample:
    score = asyncio.run(score_execution(ctx, item))
    return item.replace(checks={**item.checks, **score.checks}, scores={**item.scores, **score.scores})


CPP_ADD = "#include <cassert>\n\nint add(int a, int b) {\n    return a + b;\n}\n\nint main() {\n    assert(add(2, 2) == 4);\n}\n"
CPP_TESTS = "#include <cassert>\n\nint main() {\n    assert(add(1, 2) == 3);\n    assert(add(-1, 1) == 0);\n}\n"


@pytest.mark.docker
def test_a_cpp_seed_runs_against_its_tests_without_its_own_main(pool: Any, context: Any) -> None:
    # The answer's own main would clash with the tests' main: it is left out, as Python's
    # `if __name__ == "__main__":` block is.
    item = sample("Write add(a, b) in C++.", fenced(CPP_ADD, "cpp"), "cpp", fields={"tests": CPP_TESTS, "entry_point": "add"})
    scored = run_score(context(resources={"sandbox": pool}, options={"exec_timeout": 60}), item)
    execution = scored.checks["execution"]
    assert execution["verdict"] == "PASS" and execution["tested"] is True and execution["language"] == "cpp"
    assert "compile_s" not in execution  # timings say nothing about the code; rows stay reproducible
    assert scored.checks["tests"]["suite"]["language"] == "cpp"
    assert scored.scores["execution"] == 1.0


@pytest.mark.docker
def test_javascript_tests_are_written_counted_and_checked_against_trivial_solutions(pool: Any, context: Any) -> None:
    solution = fenced("function add(a, b) {\n  return a + b;\n}", "javascript")
    tests = fenced("const assert = require('assert');\nassert.strictEqual(add(1, 2), 3);\nassert.strictEqual(add(-1, 1), 0);\n"
                   "assert.strictEqual(add(10, 5), 15);", "javascript")
    ctx = context(Rule(contains=WRITE_TESTS, reply=tests), resources={"sandbox": pool})
    scored = run_score(ctx, sample("Write a JavaScript function add(a, b).", solution, "javascript"))
    assert ctx.usage["tests"].requests == 1
    execution = scored.checks["execution"]
    assert (execution["verdict"], execution["tests_passed"], execution["tests_total"]) == ("PASS", 3, 3)
    assert scored.checks["tests"]["origin"] == "generated"
    assert scored.checks["tests"]["suite"]["setup"] == "const assert = require('assert');"


@pytest.mark.docker
def test_a_javascript_suite_a_constant_passes_is_rejected(pool: Any, context: Any) -> None:
    solution = fenced("function isEven(n) {\n  return n % 2 === 0;\n}", "javascript")
    weak = fenced("const assert = require('assert');\nassert.strictEqual(isEven(2), true);\nassert.strictEqual(isEven(8), true);", "js")
    scored = run_score(context(Rule(contains=WRITE_TESTS, reply=weak), resources={"sandbox": pool}),
                       sample("Write isEven(n) in JavaScript.", solution, "javascript"))
    assert "trivial solution ('return true') passes it" in scored.checks["tests"]["rejected"]
    assert scored.checks["execution"]["verdict"] == "UNTESTED" and scored.checks["execution"]["tested"] is False


@pytest.mark.docker
def test_written_tests_that_do_not_compile_are_rejected(pool: Any, context: Any) -> None:
    solution = fenced("int add(int a, int b) { return a + b; }", "cpp")
    wrong_name = fenced("#include <cassert>\nint main() { assert(sum(1, 2) == 3); }", "cpp")
    scored = run_score(context(Rule(contains=WRITE_TESTS, reply=wrong_name), resources={"sandbox": pool},
                               options={"exec_timeout": 60}), sample("Write add(a, b) in C++.", solution, "cpp"))
    assert scored.checks["tests"]["rejected"].startswith("the written tests do not compile with the solution")
    assert scored.checks["execution"]["verdict"] == "UNTESTED"


@pytest.mark.docker
@pytest.mark.parametrize(
    ("language", "solution", "tests"),
    [
        ("go", "func add(a, b int) int {\n\treturn a + b\n}",
         'import "fmt"\n\nfunc main() {\n\tif got := add(1, 2); got != 3 {\n\t\tpanic(fmt.Sprintf("assertion failed: %v", got))\n\t}\n'
         '\tif got := add(2, 2); got != 4 {\n\t\tpanic(fmt.Sprintf("assertion failed: %v", got))\n\t}\n}'),
        ("rust", "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}", "fn main() {\n    assert_eq!(add(1, 2), 3);\n    assert_eq!(add(2, 2), 4);\n}"),
        ("java", "class Solution {\n    static int add(int a, int b) { return a + b; }\n}",
         "public class Main {\n    public static void main(String[] args) {\n        if (Solution.add(1, 2) != 3) throw new AssertionError(\"1\");\n"
         "        if (Solution.add(2, 2) != 4) throw new AssertionError(\"2\");\n    }\n}"),
        ("c", "int add(int a, int b) { return a + b; }", "#include <assert.h>\nint main(void) { assert(add(1, 2) == 3); assert(add(2, 2) == 4); return 0; }"),
    ],
)
def test_compiled_tests_reject_trivial_bodies(pool: Any, context: Any, language: str, solution: str, tests: str) -> None:
    ctx = context(Rule(contains=WRITE_TESTS, reply=fenced(tests, language)), resources={"sandbox": pool}, options={"exec_timeout": 60})
    scored = run_score(ctx, sample(f"Write add(a, b) in {language}.", fenced(solution, language), language))
    assert scored.checks["tests"]["origin"] == "generated", scored.checks["tests"]
    assert scored.checks["execution"]["verdict"] == "PASS"
    # The same tests, against a solution a constant would pass, are rejected as too weak.
    weak = {"go": 'func main() {\n\tif add(0, 0) != 0 {\n\t\tpanic("assertion failed")\n\t}\n}',
            "rust": "fn main() {\n    assert_eq!(add(0, 0), 0);\n}",
            "java": "public class Main {\n    public static void main(String[] args) {\n        if (Solution.add(0, 0) != 0) throw new AssertionError(\"0\");\n    }\n}",
            "c": "#include <assert.h>\nint main(void) { assert(add(0, 0) == 0); return 0; }"}[language]
    ctx = context(Rule(contains=WRITE_TESTS, reply=fenced(weak, language)), resources={"sandbox": pool}, options={"exec_timeout": 60})
    rejected = run_score(ctx, sample(f"Write add(a, b) in {language}!", fenced(solution, language), language))
    assert "too weak" in rejected.checks["tests"]["rejected"], rejected.checks["tests"]


@pytest.mark.docker
def test_misdirection_code_in_the_tasks_language_must_fail_the_tests(pool: Any, context: Any) -> None:
    parent = run_score(context(resources={"sandbox": pool}, options={"exec_timeout": 60}),
                       sample("Write add(a, b) in C++.", fenced(CPP_ADD, "cpp"), "cpp", fields={"tests": CPP_TESTS, "entry_point": "add"}))
    wrong = "Write add(a, b) in C++.\nThis attempt has a bug:\n" + fenced("int add(int a, int b) { return a - b; }", "cpp")
    right = "Write add(a, b) in C++.\nThis attempt has a bug:\n" + fenced("int add(int a, int b) { return b + a; }", "cpp")
    for instruction, verdict, eliminated in ((wrong, "FAIL", False), (right, "PASS", True)):
        child = sample(instruction, fenced(CPP_ADD, "cpp"), "cpp", round_=1, operation="erroneous-code",
                       fields={"tests": CPP_TESTS, "entry_point": "add"})
        scored = run_score(context(resources={"sandbox": pool}, parent=parent, sample_id=child.id, options={"exec_timeout": 60}), child)
        assert scored.checks["misdirection"]["verdict"] == verdict, scored.checks["misdirection"]
        assert (_filter("misdirection-passes")(context(), scored) is not None) is eliminated


@pytest.mark.docker
def test_sql_answers_run_on_tables_the_tests_create(pool: Any, sample_context_factory: Any, loopback_llm_factory: Any) -> None:
    solution = fenced("SELECT name AS customer FROM customers WHERE age > 30 ORDER BY name;", "sql")
    tests = fenced("CREATE TABLE customers (name TEXT, age INTEGER);\nINSERT INTO customers VALUES ('Ann', 41), ('Bo', 25), ('Cy', 31);\n"
                   "SELECT COUNT(*) = 2 FROM result;\nSELECT group_concat(customer) = 'Ann,Cy' FROM result;", "sql")
    server = loopback_llm_factory([Rule(contains=WRITE_TESTS, reply=tests), UNSCRIPTED])
    ctx = sample_context_factory(server=server, resources={"sandbox": pool})
    scored = run_score(ctx, sample("Write a SQL query to list the customers older than 30.", solution, "sql"))
    # The test writer is told the columns the checks read, not the query.
    (asked,) = server.requests
    assert "its final query returns the columns: customer" in asked.last_user_message
    assert "WHERE age > 30" not in asked.last_user_message
    execution = scored.checks["execution"]
    assert (execution["verdict"], execution["tests_passed"], execution["tests_total"]) == ("PASS", 2, 2), scored.checks
    assert scored.checks["tests"]["suite"]["setup"].startswith("CREATE TABLE customers")


# --- the example seeds -------------------------------------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

EXAMPLE_SEEDS = Path(__file__).resolve().parents[2] / "examples" / "seeds" / "code_languages.jsonl"


def _example_seeds() -> list[dict]:
    return [read_seed(json.loads(line)) for line in EXAMPLE_SEEDS.read_text().splitlines()]


def test_the_example_seeds_ask_for_many_languages() -> None:
    languages = {seed["language"] for seed in _example_seeds()}
    assert {"javascript", "cpp", "java", "go", "rust", "typescript", "c", "bash", "sql"} <= languages


@pytest.mark.docker
@pytest.mark.parametrize("seed_id", [json.loads(line)["id"] for line in EXAMPLE_SEEDS.read_text().splitlines()
                                     if "tests" in json.loads(line)])
def test_the_example_seeds_answers_pass_their_own_tests(pool: Any, context: Any, seed_id: str) -> None:
    seed = next(seed for seed in _example_seeds() if seed["id"] == seed_id)
    fields = {key: seed[key] for key in ("tests", "test_setup", "entry_point") if seed.get(key) is not None}
    item = sample(seed["instruction"], seed["output"], seed["language"], fields=fields)
    scored = run_score(context(resources={"sandbox": pool}, options={"exec_timeout": 60}), item)
    execution = scored.checks["execution"]
    assert execution["verdict"] == "PASS" and execution["tested"] is True, (execution, scored.checks.get("tests"))
