"""The code domain: seed reading, operations, test suites, settling, scoring and filters.

Most tests run the domain's steps against the REAL sandbox pool (``@pytest.mark.docker``): the
verdicts must come from executing code. The domain code gets a real SampleContext whose LLM talks
to a loopback server scripted by a phrase of each stage's prompt, so each rule can be tested on
its own; the server refuses every request a test did not script.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest

from evolinstruct import GIVEN_LABEL, REWRITTEN_LABEL, Domain, EvolError, Sample, SampleContext, SeedError
from evolinstruct.testing import Rule
from wizardcoder import plugin
from wizardcoder.domain import (
    CODE,
    FILTERS,
    OPERATIONS,
    SandboxFault,
    inherited_suite,
    read_seed,
    respond,
    score_execution,
)
from wizardcoder.prompts import method_text
from wizardcoder.suites import (
    GENERATED,
    REDUCED,
    SEED,
    Suite,
    imports_for,
    misfit,
    parse_generated,
    parse_review,
    signatures_for,
    trivial_solutions,
)

ROOT = Path(__file__).resolve().parents[2]
FENCE = "```"


def fenced(code: str) -> str:
    return f"{FENCE}python\n{code}\n{FENCE}"


# --- a real SampleContext, scripted by stage ---------------------------------------------------

# Phrases only one stage's prompt has (wizardcoder/prompts.py).
RESPOND = "Write a complete, working Python solution."
WRITE_TESTS = "Write tests for a Python solution of the programming task below."
REVIEW = "The tests below were written for an earlier version of it."
# Every request a test did not script is refused (400, never retried): the domain code gets an
# LLMFailure and the test fails, as it did when a stage nobody expected was asked.
UNSCRIPTED = Rule(status=400)


@pytest.fixture
def context(sample_context_factory: Any) -> Callable[..., SampleContext]:
    """``context(*rules, **settings)``: a real SampleContext answering only ``rules``."""

    def make(*rules: Rule, **settings: Any) -> SampleContext:
        return sample_context_factory([*rules, UNSCRIPTED], **settings)

    return make


@pytest.fixture
def scripted(loopback_llm_factory: Any, sample_context_factory: Any) -> Callable[..., tuple[SampleContext, Any]]:
    """``scripted(*rules, **settings)``: like ``context``, with the server, for its request log."""

    def make(*rules: Rule, **settings: Any) -> tuple[SampleContext, Any]:
        server = loopback_llm_factory([*rules, UNSCRIPTED])
        return sample_context_factory(server=server, **settings), server

    return make


def sample(instruction: str, response: str | None, *, round_: int = 0, operation: str = "seed",
           fields: Mapping[str, Any] | None = None, checks: Mapping[str, Any] | None = None) -> Sample:
    return Sample(
        id=f"s/r{round_}", seed_id="s", parent_id=None if round_ == 0 else "s", round=round_,
        operation=operation, domain="code", instruction=instruction, response=response,
        fields=dict(fields or {}), checks=dict(checks or {}),
    )


MBPP = {
    "task_id": 7,
    "text": "Write a function that doubles every number of a list.",
    "code": "def double_all(xs):\n    return [2 * x for x in xs]\n",
    "test_list": ["assert double_all([1, 2]) == [2, 4]", "assert double_all([]) == []", "assert double_all([-3]) == [-6]"],
    "test_setup_code": "",
}
DOUBLE_TESTS = {"tests": MBPP["test_list"], "entry_point": "double_all"}


# --- seeds ------------------------------------------------------------------------------------


def test_mbpp_records_keep_their_tests() -> None:
    seed = read_seed(MBPP)
    assert seed["instruction"] == MBPP["text"]
    assert seed["tests"] == MBPP["test_list"]
    assert seed["entry_point"] == "double_all"
    assert seed["id"] == "mbpp-7"
    assert seed["output"] == fenced(MBPP["code"].rstrip())
    assert "test_setup" not in seed


def test_mbpp_setup_code_is_kept() -> None:
    record = {**MBPP, "test_setup_code": "from fractions import Fraction",
              "test_list": ["assert double_all([Fraction(1, 2)]) == [1]"]}
    assert read_seed(record)["test_setup"] == "from fractions import Fraction"


def test_humaneval_records_become_a_check_script() -> None:
    record = {
        "task_id": "HumanEval/x",
        "prompt": 'def inc(n: int) -> int:\n    """Add one."""\n',
        "canonical_solution": "    return n + 1\n",
        "test": "def check(candidate):\n    assert candidate(1) == 2\n",
        "entry_point": "inc",
    }
    seed = read_seed(record)
    assert seed["tests"].endswith("check(inc)\n")
    assert seed["entry_point"] == "inc"
    assert seed["id"] == "HumanEval/x"
    assert "def inc(n: int) -> int:" in seed["instruction"]
    assert "return n + 1" in seed["output"]


def test_code_alpaca_records_pass_through_with_their_language() -> None:
    record = {"instruction": "Write a function.", "input": "", "output": "def f():\n    return 1"}
    assert read_seed(record) == {**record, "language": "python"}
    with_tests = read_seed({**record, "tests": ["assert f() == 1"]})
    assert with_tests["entry_point"] == "f"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({**MBPP, "test_list": "assert x"}, "test_list"),
        ({**MBPP, "test_list": []}, "test_list"),
        ({**MBPP, "test_list": ["assert ((("]}, "test_list"),
        ({**MBPP, "text": ""}, "text"),
        ({**MBPP, "code": "def ((:"}, "code"),
        ({"prompt": "def f():\n", "test": "def check(candidate):\n    pass\n"}, "entry_point"),
        ({"prompt": "def f():\n", "test": "assert True", "entry_point": "f"}, "test"),
        ({"prompt": "def f():\n", "test": "def check(c): pass", "entry_point": "not valid"}, "entry_point"),
        ({"instruction": "Write f.", "tests": [3]}, "tests"),
    ],
)
def test_unusable_records_name_the_field(record: dict, field: str) -> None:
    with pytest.raises(SeedError) as raised:
        read_seed(record)
    assert raised.value.field == field


@pytest.mark.parametrize("name", ["code_mbpp.jsonl", "code_alpaca.jsonl"])
def test_example_seeds_read(name: str) -> None:
    lines = (ROOT / "examples" / "seeds" / name).read_text().splitlines()
    assert len(lines) >= 8
    for line in lines:
        seed = read_seed(json.loads(line))
        assert seed["instruction"].strip()
        if name == "code_mbpp.jsonl":
            assert seed["tests"] and seed["entry_point"]


# --- operations and prompts -------------------------------------------------------------------


def test_the_five_wizardcoder_operations_and_nothing_else() -> None:
    assert [op.name for op in CODE.operations] == [
        "add-constraints", "rarer-requirement", "more-reasoning", "erroneous-code", "complexity",
    ]
    assert not {"deepen", "complicate-input", "in-breadth"} & {op.name for op in OPERATIONS}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_one_template_frames_the_instruction_with_the_labels(operation: Any) -> None:
    prompt = operation.prompt(sample("Write f(x).", None), random.Random(0))[-1]["content"]
    assert method_text(operation.name) in prompt
    assert prompt.count(GIVEN_LABEL) == 1 and prompt.count(REWRITTEN_LABEL) == 1
    rules = prompt.split(GIVEN_LABEL)[0]
    assert "none of the headings of this message" in rules
    assert prompt.index(GIVEN_LABEL) < prompt.index("Write f(x).") < prompt.index(REWRITTEN_LABEL)


def test_options_are_declared_on_the_domain() -> None:
    defaults = CODE.options()
    assert defaults.require_pass is True
    assert defaults.sandbox_workers is None
    assert {"exec_timeout", "exec_memory"} <= set(CODE.options.model_fields)


def test_respond_asks_for_a_fenced_block_naming_the_lineage_signature(scripted: Any) -> None:
    parent = sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS)
    child = sample("Double every number, skipping None values.", None, round_=1, fields=DOUBLE_TESTS)
    ctx, server = scripted(Rule(contains=RESPOND, reply="ok"), parent=parent, sample_id=child.id)
    answered = asyncio.run(respond(ctx, child))
    assert answered.response == "ok"
    assert list(ctx.usage) == ["respond"]
    prompt = server.requests[0].last_user_message
    assert prompt.startswith(child.instruction)
    assert f"{FENCE}python" in prompt and "`def double_all(xs)`" in prompt


# --- suites -----------------------------------------------------------------------------------


def test_a_suite_fits_while_names_and_parameters_stay() -> None:
    suite = Suite(tuple(MBPP["test_list"]), entry_point="double_all")
    assert misfit(suite, "def double_all(xs, factor=2):\n    return xs") is None
    assert "does not define double_all" in misfit(suite, "def double_each(xs):\n    return xs")
    assert "does not fit" in misfit(suite, "def double_all(xs, factor):\n    return xs")
    assert "does not fit" in misfit(suite, "def double_all():\n    return []")


def test_humaneval_calls_through_candidate_are_checked() -> None:
    script = "def check(candidate):\n    assert candidate(1, 2) == 3\n\ncheck(add)\n"
    suite = Suite(script, entry_point="add")
    assert misfit(suite, "def add(a, b):\n    return a + b") is None
    assert misfit(suite, "def add(a):\n    return a") is not None


def test_classes_are_checked_through_init() -> None:
    suite = Suite(("s = Stack(3)\nassert s.size == 3",))
    assert misfit(suite, "class Stack:\n    def __init__(self, size):\n        self.size = size") is None
    assert misfit(suite, "class Stack:\n    def __init__(self):\n        pass") is not None


def test_standard_modules_are_not_the_solutions_to_define() -> None:
    suite = Suite(("assert math.isclose(area(1), math.pi)",))
    assert misfit(suite, "def area(r):\n    return 3.14159 * r * r") is None
    assert imports_for(suite) == "import math\n"


def test_generated_suites_are_the_asserts_of_the_reply() -> None:
    reply = (
        "Here are the tests:\n"
        + fenced("import math\nassert f(2) == 4\nassert f(\n    3\n) == 6\nprint('done')\nassert f(2) == 4")
    )
    suite = parse_generated(reply)
    assert suite.tests == ("assert f(2) == 4", "assert f(\n    3\n) == 6")
    assert suite.setup == "import math"
    assert suite.origin == GENERATED
    assert parse_generated("I cannot write tests for this.") is None


def test_trivial_solutions_stand_in_for_every_definition() -> None:
    suite = Suite(("assert f(1) == g(2)", "assert Box().size() == 0"))
    stubs = trivial_solutions(suite, "def f(x): pass\ndef g(x): pass\nclass Box: pass")
    assert {body for body, _ in stubs} >= {"pass", "return 0"}
    for _body, code in stubs:
        scope: dict = {}
        exec(code, scope)
        assert callable(scope["f"]) and callable(scope["g"]) and callable(scope["Box"]().size)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Contradicted: 2, 3", [1, 2]),
        ("Thinking...\nContradicted: none", []),
        ("**Contradicted:** 1", [0]),
        ("Contradicted: 9", []),
        ("I am not sure.", None),
    ],
)
def test_review_answers(reply: str, expected: list[int] | None) -> None:
    assert parse_review(reply, 3) == expected


def test_signatures_come_from_the_parent_solution() -> None:
    suite = Suite(tuple(MBPP["test_list"]), entry_point="double_all")
    assert signatures_for(suite, MBPP["code"]) == ["def double_all(xs)"]


def test_the_parent_settled_suite_flows_down(context: Any) -> None:
    settled = Suite(("assert f(1) == 2",), origin=GENERATED)
    parent = sample("p", "x", checks={"tests": {"origin": GENERATED, "suite": settled.as_dict()}})
    assert inherited_suite(context(parent=parent), sample("c", None, round_=1)) == settled
    rejected = sample("p", "x", checks={"tests": {"origin": None, "rejected": "weak"}}, fields=DOUBLE_TESTS)
    assert inherited_suite(context(parent=rejected), sample("c", None, round_=1, fields=DOUBLE_TESTS)) is None
    seed_suite = inherited_suite(context(), sample("s", None, fields=DOUBLE_TESTS))
    assert seed_suite.origin == SEED and seed_suite.entry_point == "double_all"


# --- filters without the sandbox --------------------------------------------------------------


def _filter(name: str) -> Callable[..., str | None]:
    return next(f.check for f in FILTERS if f.name == name)


def test_no_code_filter(context: Any) -> None:
    check = _filter("no-code")
    assert check(context(), sample("t", "Sorry, I can only describe it: use a loop.")) == "the answer contains no Python code"
    assert check(context(), sample("t", fenced("def f():\n    return 1"))) is None


def test_require_pass_is_an_option(context: Any) -> None:
    check = _filter("require-pass")
    failing = sample("t", "x", checks={"execution": {"verdict": "FAIL", "tested": True, "tests_passed": 1, "tests_total": 3}})
    assert check(context(options={"require_pass": True}), failing) == "the solution does not pass its tests (FAIL, 1/3 tests passed)"
    assert check(context(options={"require_pass": False}), failing) is None
    untested = sample("t", "x", checks={"execution": {"verdict": "PASS", "tested": False}, "tests": {"rejected": "too weak"}})
    assert check(context(), untested) == "no verified tests to pass: too weak"


def test_misdirection_filters(context: Any) -> None:
    passes = _filter("misdirection-passes")
    missing = _filter("misdirection-missing")
    found = {"found": True, "verdict": "PASS", "tests_passed": 3, "tests_total": 3}
    erroneous = sample("t", "x", round_=1, operation="erroneous-code", checks={"misdirection": found})
    assert "passes the tests (3/3 tests)" in passes(context(), erroneous)
    wrong = sample("t", "x", round_=1, operation="erroneous-code", checks={"misdirection": {**found, "verdict": "FAIL"}})
    assert passes(context(), wrong) is None
    none = sample("t", "x", round_=1, operation="erroneous-code", checks={"misdirection": {"found": False}})
    assert missing(context(), none) == "the erroneous-code evolution shows no code"


# --- the run's sandbox resource ---------------------------------------------------------------


def test_other_domains_get_no_pool_and_closing_nothing_is_fine(context: Any) -> None:
    run = context(domain=Domain(name="general", description="another domain", operations=())).run
    plugin.evol_run_start(run)
    assert run.resources == {}
    plugin.evol_run_end(run)
    plugin.evol_run_end(context(domain=CODE).run)


def test_a_missing_sandbox_stops_the_build_with_a_fix(monkeypatch: pytest.MonkeyPatch, context: Any) -> None:
    import wizardcoder.sandbox as sandbox

    class Broken:
        def __init__(self, **kwargs: Any) -> None:
            pass

        def start(self) -> None:
            raise sandbox.SandboxUnavailable("the image evolinstruct-sandbox is not built")

    monkeypatch.setattr(sandbox, "SandboxPool", Broken)
    with pytest.raises(EvolError, match="evol sandbox build"):
        plugin.evol_run_start(context(domain=CODE).run)


def test_a_sandbox_error_is_a_failure_not_a_verdict(context: Any) -> None:
    from wizardcoder.sandbox import Result, Verdict

    class FaultyPool:
        async def run_async(self, job: Any) -> Any:
            return Result(job.id, Verdict.SANDBOX_ERROR, 0.1, "", "", None, None, "container vanished")

    ctx = context(resources={"sandbox": FaultyPool()})
    seed = sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS)
    with pytest.raises(SandboxFault, match="container vanished") as raised:
        asyncio.run(score_execution(ctx, seed))
    assert ctx.run.cache.count() == 0  # not remembered: running the build again retries it
    from evolinstruct.runtime.failures import classify

    assert classify(raised.value) == "transient"  # a fault of the infrastructure, not a bug of ours


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


@pytest.mark.docker
def test_a_seed_solution_runs_against_its_tests(pool: Any, context: Any) -> None:
    code = MBPP["code"] + "print('RAN-IN-SANDBOX')\n"
    scored = run_score(context(resources={"sandbox": pool}), sample(MBPP["text"], fenced(code), fields=DOUBLE_TESTS))
    execution = scored.checks["execution"]
    assert execution["verdict"] == "PASS" and execution["tested"] is True
    assert (execution["tests_passed"], execution["tests_total"]) == (3, 3)
    assert "RAN-IN-SANDBOX" in execution["stdout"]
    assert "duration_s" not in execution  # timings say nothing about the code; rows stay reproducible
    assert scored.checks["tests"]["origin"] == SEED
    assert scored.scores["execution"] == 1.0


@pytest.mark.docker
def test_a_wrong_evolved_solution_fails_and_the_review_keeps_the_tests(pool: Any, context: Any) -> None:
    parent = run_score(context(resources={"sandbox": pool}), sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS))
    wrong = fenced("def double_all(xs):\n    return [x + 2 for x in xs]")
    child = sample("Double every number of a list in one pass.", wrong, round_=1, operation="add-constraints", fields=DOUBLE_TESTS)
    ctx = context(Rule(contains=REVIEW, reply="Contradicted: none"), resources={"sandbox": pool}, parent=parent, sample_id=child.id)
    scored = run_score(ctx, child)
    assert list(ctx.usage) == ["tests-review"] and ctx.usage["tests-review"].requests == 1
    assert scored.checks["execution"]["verdict"] == "FAIL"
    assert scored.checks["execution"]["tests_passed"] == 1
    assert _filter("require-pass")(ctx, scored).startswith("the solution does not pass its tests (FAIL")
    assert _filter("require-pass")(context(options={"require_pass": False}), scored) is None


@pytest.mark.docker
def test_contradicted_tests_are_dropped_for_the_rewrite(pool: Any, context: Any) -> None:
    parent = run_score(context(resources={"sandbox": pool}), sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS))
    # The rewrite says negative numbers are dropped: the third seed test no longer holds.
    solution = fenced("def double_all(xs):\n    return [2 * x for x in xs if x >= 0]")
    child = sample("Double every number of a list, dropping negative numbers.", solution, round_=1,
                   operation="rarer-requirement", fields=DOUBLE_TESTS)
    ctx = context(Rule(contains=REVIEW, reply="Contradicted: 3"), resources={"sandbox": pool}, parent=parent, sample_id=child.id)
    scored = run_score(ctx, child)
    assert scored.checks["tests"]["contradicted"] == [3]
    assert scored.checks["tests"]["origin"] == REDUCED
    assert scored.checks["execution"]["verdict"] == "PASS"
    assert scored.checks["execution"]["tests_total"] == 2


@pytest.mark.docker
def test_a_changed_signature_gets_generated_tests(pool: Any, context: Any, scripted: Any) -> None:
    parent = run_score(context(resources={"sandbox": pool}), sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS))
    solution = fenced("def scale_all(xs, factor):\n    return [factor * x for x in xs]")
    written = fenced("assert scale_all([1, 2], 3) == [3, 6]\nassert scale_all([], 5) == []\nassert scale_all([-1], 2) == [-2]")
    child = sample("Multiply every number of a list by a given factor.", solution, round_=1, fields=DOUBLE_TESTS)
    ctx, server = scripted(Rule(contains=WRITE_TESTS, reply=written), resources={"sandbox": pool}, parent=parent,
                           sample_id=child.id)
    scored = run_score(ctx, child)
    assert list(ctx.usage) == ["tests"] and ctx.usage["tests"].requests == 1
    (asked,) = server.requests
    assert "def scale_all(xs, factor)" in asked.last_user_message
    assert "return [factor" not in asked.last_user_message  # the test writer never sees the body
    assert scored.checks["tests"]["inherited"].startswith("does not apply: the solution does not define double_all")
    assert scored.checks["tests"]["origin"] == GENERATED
    assert scored.checks["execution"]["verdict"] == "PASS" and scored.checks["execution"]["tests_total"] == 3


@pytest.mark.docker
def test_a_suite_a_trivial_solution_passes_is_rejected(pool: Any, context: Any) -> None:
    solution = fenced("def is_even(n):\n    return n % 2 == 0")
    weak = fenced("assert is_even(4)\nassert is_even(10)")  # `return True` passes this
    item = sample("Write is_even(n).", solution)
    scored = run_score(context(Rule(contains=WRITE_TESTS, reply=weak), resources={"sandbox": pool}), item)
    assert "trivial solution ('return True') passes it" in scored.checks["tests"]["rejected"]
    assert scored.checks["execution"]["tested"] is False
    assert "execution" not in scored.scores
    assert _filter("require-pass")(context(), scored).startswith("no verified tests to pass")


@pytest.mark.docker
def test_erroneous_reference_code_that_passes_is_caught(pool: Any, context: Any) -> None:
    parent = run_score(context(resources={"sandbox": pool}), sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS))
    not_wrong = MBPP["text"] + "\nThis reference has a bug:\n" + fenced("def double_all(xs):\n    return [x * 2 for x in xs]")
    really_wrong = MBPP["text"] + "\nThis reference has a bug:\n" + fenced("def double_all(xs):\n    return [x ** 2 for x in xs]")
    for instruction, verdict, eliminated in ((not_wrong, "PASS", True), (really_wrong, "FAIL", False)):
        child = sample(instruction, fenced(MBPP["code"]), round_=1, operation="erroneous-code", fields=DOUBLE_TESTS)
        scored = run_score(context(resources={"sandbox": pool}, parent=parent, sample_id=child.id), child)
        assert scored.checks["misdirection"]["verdict"] == verdict
        assert (_filter("misdirection-passes")(context(), scored) is not None) is eliminated


@pytest.mark.docker
def test_results_are_memoised_for_a_byte_identical_resume(pool: Any, context: Any) -> None:
    item = sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS)
    first_ctx = context(resources={"sandbox": pool})
    first = run_score(first_ctx, item)

    class NoPool:
        async def run_async(self, job: Any) -> Any:
            raise AssertionError("a replay must not run the code again")

    # A resumed build: a new run on the first one's cache, whose pool must not be used.
    again = run_score(context(resources={"sandbox": NoPool()}, cache=first_ctx.run.cache), item)
    assert json.dumps(again.checks, sort_keys=True) == json.dumps(first.checks, sort_keys=True)


@pytest.mark.docker
def test_the_run_hooks_open_and_close_a_real_pool(context: Any) -> None:
    run = context(domain=CODE, options={"sandbox_workers": 1}).run
    plugin.evol_run_start(run)
    try:
        assert "sandbox" in run.resources
    finally:
        plugin.evol_run_end(run)
    assert "sandbox" not in run.resources


HUMANEVAL = {
    "task_id": "example/inc",
    "prompt": 'def add_one(values: list) -> list:\n    """Add one to every value."""\n',
    "canonical_solution": "    return [v + 1 for v in values]\n",
    "test": "def check(candidate):\n    assert candidate([1, 2]) == [2, 3]\n    assert candidate([]) == []\n",
    "entry_point": "add_one",
}


@pytest.mark.docker
def test_humaneval_seeds_run_their_check_script(pool: Any, context: Any) -> None:
    seed = read_seed(HUMANEVAL)
    fields = {"tests": seed["tests"], "entry_point": seed["entry_point"]}
    right = run_score(context(resources={"sandbox": pool}), sample(seed["instruction"], seed["output"], fields=fields))
    assert right.checks["execution"]["verdict"] == "PASS"
    assert right.checks["execution"]["tests_total"] is None  # a script passes or fails as a whole
    wrong = fenced("def add_one(values):\n    return values")
    failed = run_score(context(resources={"sandbox": pool}), sample(seed["instruction"], wrong, fields=fields))
    assert failed.checks["execution"]["verdict"] == "FAIL"
    assert failed.scores["execution"] == 0.0


@pytest.mark.docker
def test_a_timeout_is_the_solutions_fault_and_is_not_reviewed(pool: Any, context: Any) -> None:
    parent = run_score(context(resources={"sandbox": pool}), sample(MBPP["text"], fenced(MBPP["code"]), fields=DOUBLE_TESTS))
    looping = fenced("def double_all(xs):\n    while True:\n        pass")
    child = sample("Double every number of a list, quickly.", looping, round_=1, fields=DOUBLE_TESTS)
    ctx = context(resources={"sandbox": pool}, parent=parent, options={"exec_timeout": 1.0}, sample_id=child.id)
    scored = run_score(ctx, child)  # a tests-review request would be refused (UNSCRIPTED)
    assert scored.checks["execution"]["verdict"] == "TIMEOUT"
    assert ctx.usage == {}


@pytest.mark.docker
def test_a_solution_no_test_ran_is_untested_never_a_pass(pool: Any, context: Any) -> None:
    stub = fenced("def solution(*args):\n    raise NotImplementedError")
    # The test writer has nothing usable to say: no tests are verified.
    ctx = context(Rule(contains=WRITE_TESTS, reply="I cannot write tests for this."), resources={"sandbox": pool})
    scored = run_score(ctx, sample("Write a function that does something.", stub))
    execution = scored.checks["execution"]
    assert execution["verdict"] == "UNTESTED" and execution["tested"] is False
    assert "no test ran" in execution["message"]
    assert "execution" not in scored.scores
    assert _filter("require-pass")(context(options={"require_pass": False}), scored) is None  # kept, and says so
