"""The ``code`` domain: WizardCoder's evolution, with every answer run against tests in the sandbox.

One sample goes through these steps (the engine decides when each runs):

1. evolve: one of five WizardCoder methods in one template (``prompts.py``);
2. respond: the model writes a Python solution; ``no-code`` drops an answer with none;
3. score (``execution``): the lineage's tests are settled for this sample, then the solution and,
   for an erroneous-code evolution, the erroneous snippet run against them in the sandbox;
4. verdict filters: ``misdirection-missing``, ``misdirection-passes`` and ``require-pass``.

Which tests a sample is judged by ("settling"):

- A sample starts from its parent's suite (a seed from its own tests, if it has any).
- The suite still applies when the solution defines every name the tests use and every call fits
  the parameters (``suites.misfit``). A rewrite that renamed the function or changed its
  parameters gets new tests.
- When an evolved sample fails a suite that fits (an assertion fails or the code raises), we
  cannot tell a wrong solution from a test the rewrite made obsolete ("return the pairs sorted"
  changes an expected value). The LLM reviews the tests against the rewritten task (stage
  ``tests-review``, without seeing the solution): the tests it says the task contradicts are
  dropped, the rest stay. If none are left, new tests are written. A timeout or a memory or
  output overrun is the solution's own fault and is not reviewed; a seed always keeps its tests.
- New tests are written by the LLM (stage ``tests``) from the task and the solution's signatures,
  never from its body. Such a suite, and a seed suite with tests dropped, must reject every
  trivial solution (``suites.TRIVIAL_BODIES``) or it is rejected, and the sample has no verified
  tests. The settled suite is recorded in ``checks.tests`` and flows on to the sample's children.

Sandbox results go through the run's memo, so a resumed build replays them and writes a
byte-identical dataset. A SANDBOX_ERROR (an infrastructure fault the pool already retried) is
never a verdict on the solution: it raises, and the engine records the sample as failed so that
running the build again retries it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from typing import Any, Mapping, Sequence

import click

from evolinstruct import (
    Domain,
    EvolError,
    Filter,
    Message,
    Operation,
    Sample,
    SampleContext,
    Score,
    Scorer,
    SeedError,
)

from .extract import extract_misdirection, extract_solution, parses, without_main_guard
from .prompts import METHODS, evolve_prompt, respond_prompt, review_prompt, tests_prompt
from .suites import (
    GENERATED,
    SEED,
    Definitions,
    Suite,
    free_names,
    imports_for,
    misfit,
    parse_generated,
    parse_review,
    signatures_for,
    trivial_solutions,
)

NAME = "code"
PASS = "PASS"
REVIEWABLE = frozenset({"FAIL", "RUNTIME_ERROR"})
OUTPUT_LIMIT_CHARS = 2000  # of stdout and of stderr, per check: enough to debug, small enough to ship
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_MB = 256


class SandboxFault(EvolError):
    """The sandbox could not run a job (not the code's fault); the sample is recorded as failed."""


# --- build options ----------------------------------------------------------------------------

OPTIONS = (
    click.Option(
        ["--require-pass/--no-require-pass"],
        default=True,
        show_default=True,
        help="code: eliminate evolved samples whose solution does not pass verified tests; "
        "with --no-require-pass they are kept and flagged in checks.execution.verdict.",
    ),
    click.Option(
        ["--sandbox-workers"],
        type=click.IntRange(1),
        default=None,
        help="code: containers in the sandbox pool.  [default: the CPU count]",
    ),
    click.Option(
        ["--exec-timeout"],
        type=click.FloatRange(0.1),
        default=DEFAULT_TIMEOUT_S,
        show_default=True,
        help="code: wall-clock seconds for one program and its tests.",
    ),
    click.Option(
        ["--exec-memory"],
        type=click.IntRange(16),
        default=DEFAULT_MEMORY_MB,
        show_default=True,
        help="code: memory limit in MB for one program and its tests.",
    ),
)


# --- operations -------------------------------------------------------------------------------


def _operation(method: str) -> Operation:
    def prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
        return ({"role": "user", "content": evolve_prompt(method, sample.instruction)},)

    return Operation(method, prompt, tags=("in-depth",), description=METHODS[method])


OPERATIONS = tuple(_operation(method) for method in METHODS)
ERRONEOUS_CODE = "erroneous-code"


# --- seeds ------------------------------------------------------------------------------------


def _text(record: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise SeedError("is missing", field=key)
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise SeedError("must be a non-empty string", field=key)
    return value


def _fenced(code: str) -> str:
    return f"```python\n{code.strip(chr(10))}\n```"


def _check_tests(tests: Any, key: str) -> list[str] | str:
    """Seed tests as the sandbox takes them, or a SeedError naming the field."""
    if isinstance(tests, str):
        if not tests.strip() or not parses(tests):
            raise SeedError("must be Python code that parses", field=key)
        return tests
    if not isinstance(tests, list) or not tests:
        raise SeedError("must be a non-empty list of assert statements or a test script", field=key)
    for number, test in enumerate(tests, start=1):
        if not isinstance(test, str) or not test.strip():
            raise SeedError(f"item {number} must be a non-empty string", field=key)
        if not parses(test):
            raise SeedError(f"item {number} is not valid Python: {test[:80]!r}", field=key)
    return [test.strip() for test in tests]


def _entry_point(tests: list[str] | str, setup: str, code: str | None) -> str | None:
    """The one function the tests call that the reference code defines; None if not just one."""
    names = free_names(Suite(tuple(tests) if isinstance(tests, list) else tests, setup)) or set()
    if code:
        names &= Definitions.of(code).names
    return next(iter(names)) if len(names) == 1 else None


def read_seed(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """Code Alpaca, MBPP and HumanEval records in the common seed form.

    - Code Alpaca (``instruction``, ``input``, ``output``) passes through; it may carry ``tests``
      (assert statements or a script) and ``entry_point`` of its own.
    - MBPP (``text``, ``code``, ``test_list``, ``test_setup_code``): the tests are the
      ``test_list`` asserts; the setup code runs before them.
    - HumanEval (``prompt``, ``canonical_solution``, ``test``, ``entry_point``): the instruction
      asks to complete the prompt's function; the tests are the ``check`` script followed by
      ``check(entry_point)``.
    """
    if "prompt" in record and "test" in record:
        return _humaneval(record)
    if "text" in record and ("test_list" in record or "code" in record):
        return _mbpp(record)
    out = dict(record)
    if "tests" in record and record["tests"] is not None:
        out["tests"] = _check_tests(record["tests"], "tests")
        setup = _text(record, "test_setup", required=False) or ""
        entry = record.get("entry_point")
        if entry is not None and (not isinstance(entry, str) or not entry.isidentifier()):
            raise SeedError("must be a Python identifier", field="entry_point")
        output = record.get("output") if isinstance(record.get("output"), str) else None
        out["entry_point"] = entry or _entry_point(out["tests"], setup, extract_solution(output))
    return out


def _mbpp(record: Mapping[str, Any]) -> Mapping[str, Any]:
    text = _text(record, "text")
    code = _text(record, "code", required=False)
    if code is not None and not parses(code):
        raise SeedError("is not valid Python", field="code")
    setup = _text(record, "test_setup_code", required=False) or ""
    if setup and not parses(setup):
        raise SeedError("is not valid Python", field="test_setup_code")
    if not isinstance(record.get("test_list"), list):
        raise SeedError("must be a list of assert statements", field="test_list")
    tests = _check_tests(record["test_list"], "test_list")
    seed_id = record.get("id", record.get("task_id"))
    out: dict[str, Any] = {"instruction": text, "tests": tests, "entry_point": _entry_point(tests, setup, code)}
    if seed_id is not None:
        out["id"] = seed_id if not isinstance(seed_id, int) else f"mbpp-{seed_id}"
    if code:
        out["output"] = _fenced(code)
    if setup.strip():
        out["test_setup"] = setup
    return out


def _humaneval(record: Mapping[str, Any]) -> Mapping[str, Any]:
    prompt = _text(record, "prompt")
    entry = _text(record, "entry_point")
    if not entry.isidentifier():
        raise SeedError("must be a Python identifier", field="entry_point")
    test = _text(record, "test")
    if not parses(test):
        raise SeedError("is not valid Python", field="test")
    if "def check" not in test:
        raise SeedError("must define check(candidate)", field="test")
    solution = _text(record, "canonical_solution", required=False)
    out: dict[str, Any] = {
        "instruction": f"Complete the following Python function.\n\n{_fenced(prompt)}",
        "tests": f"{test.rstrip()}\n\n\ncheck({entry})\n",
        "entry_point": entry,
    }
    if solution:
        full = prompt + solution
        if not parses(full):
            raise SeedError("does not complete the prompt into valid Python", field="canonical_solution")
        out["output"] = _fenced(full)
    seed_id = record.get("id", record.get("task_id"))
    if seed_id is not None:
        out["id"] = seed_id
    return out


# --- answering --------------------------------------------------------------------------------


def inherited_suite(ctx: SampleContext, sample: Sample) -> Suite | None:
    """The suite a sample starts from: its parent's settled one, or the seed's own tests."""
    parent = ctx.parent
    if parent is not None and isinstance(parent.checks.get("tests"), Mapping):
        settled = parent.checks["tests"].get("suite")
        return Suite.from_dict(settled) if isinstance(settled, Mapping) else None
    tests = sample.fields.get("tests")
    if not tests:
        return None
    return Suite(
        tuple(tests) if isinstance(tests, list) else str(tests),
        str(sample.fields.get("test_setup") or ""),
        sample.fields.get("entry_point"),
        SEED,
    )


async def respond(ctx: SampleContext, sample: Sample) -> Sample:
    """Ask for a solution in a fenced block, naming the definitions the lineage's tests call."""
    suite = inherited_suite(ctx, sample)
    reference = extract_solution(ctx.parent.response) if ctx.parent is not None else None
    signatures = signatures_for(suite, reference)
    if not signatures and suite is not None and suite.entry_point:
        signatures = [suite.entry_point]
    prompt = respond_prompt(sample.instruction, signatures)
    answer = await ctx.chat([{"role": "user", "content": prompt}], stage="respond")
    return sample.replace(response=answer)


# --- running code -----------------------------------------------------------------------------


def _truncate(text: str | None) -> str:
    text = text or ""
    if len(text) <= OUTPUT_LIMIT_CHARS:
        return text
    return text[:OUTPUT_LIMIT_CHARS] + f"\n[... {len(text) - OUTPUT_LIMIT_CHARS} more characters]"


class Runner:
    """Runs a program with a suite in the run's sandbox pool, once per distinct program."""

    def __init__(self, ctx: SampleContext) -> None:
        self.ctx = ctx
        self.timeout_s = float(ctx.options.get("exec_timeout") or DEFAULT_TIMEOUT_S)
        self.memory_mb = int(ctx.options.get("exec_memory") or DEFAULT_MEMORY_MB)

    async def run(self, code: str, suite: Suite | None) -> dict[str, Any]:
        program = without_main_guard(code).rstrip("\n") + "\n"
        if suite is not None:
            setup = imports_for(suite) + suite.setup
            if setup.strip():
                program += "\n\n" + setup.rstrip("\n") + "\n"
        tests = suite.job_tests() if suite is not None else None
        key = {"code": program, "tests": tests, "timeout_s": self.timeout_s, "memory_mb": self.memory_mb}
        return await self.ctx.memo("sandbox", key, lambda: self._execute(key))

    async def _execute(self, key: Mapping[str, Any]) -> dict[str, Any]:
        from .sandbox import Job, Verdict

        pool = self.ctx.resources.get("sandbox")
        if pool is None:
            raise SandboxFault("the sandbox pool is not running (it is opened when a code build starts)")
        job_id = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=8).hexdigest()
        job = Job(job_id, key["code"], key["tests"], timeout_s=key["timeout_s"], memory_mb=key["memory_mb"])
        result = await pool.run_async(job)
        verdict = Verdict(result.verdict)
        if verdict is Verdict.SANDBOX_ERROR:
            # Raising keeps it out of the memo: the next run of the build tries the job again.
            raise SandboxFault(f"the sandbox could not run the code (an infrastructure fault): {result.message}")
        record: dict[str, Any] = {
            "verdict": verdict.value,
            "tests_passed": result.tests_passed,
            "tests_total": result.tests_total,
            "duration_s": round(float(result.duration_s), 4),
            "stdout": _truncate(result.stdout),
            "stderr": _truncate(result.stderr),
        }
        if result.message:
            record["message"] = _truncate(result.message)
        return record


# --- settling the tests -----------------------------------------------------------------------


async def _rejects_trivial(runner: Runner, suite: Suite, solution: str) -> str | None:
    """Why the suite is useless (a trivial solution passes it), or None."""
    stubs = trivial_solutions(suite, solution)
    results = await asyncio.gather(*(runner.run(code, suite) for _body, code in stubs))
    for (body, _code), result in zip(stubs, results):
        if result["verdict"] == PASS:
            return f"a trivial solution ({body!r}) passes it"
    return None


async def _generate(ctx: SampleContext, sample: Sample, solution: str, runner: Runner) -> tuple[Suite | None, str | None]:
    """An LLM-written suite that fits the solution and rejects trivial ones, or why there is none."""
    headers = list(Definitions.of(solution).headers.values())
    if not headers:
        return None, "the solution defines no function or class to test"
    prompt = tests_prompt(sample.instruction, headers)
    reply = await ctx.chat([{"role": "user", "content": prompt}], stage="tests", temperature=0.0)
    suite = parse_generated(reply)
    if suite is None:
        return None, "the test-writing reply contains no assert statement"
    why = misfit(suite, solution)
    if why is not None:
        return None, f"the written tests do not fit the solution: {why}"
    useless = await _rejects_trivial(runner, suite, solution)
    if useless is not None:
        return None, f"the written tests are too weak: {useless}"
    return suite, None


async def settle_tests(
    ctx: SampleContext, sample: Sample, solution: str, runner: Runner
) -> tuple[Suite | None, dict[str, Any]]:
    """The suite this sample is judged by, and the record of how it was chosen (module doc)."""
    record: dict[str, Any] = {}
    suite = inherited_suite(ctx, sample)
    if suite is not None:
        why = misfit(suite, solution)
        if why is not None:
            record["inherited"] = f"does not apply: {why}"
        else:
            result = await runner.run(solution, suite)
            # Only a failed assertion or an exception can mean the tests are obsolete; a timeout
            # or a memory or output overrun is the solution's own doing. A seed keeps its tests.
            if result["verdict"] not in REVIEWABLE or ctx.parent is None:
                return suite, {**record, "origin": suite.origin, "suite": suite.as_dict()}
            prompt = review_prompt(sample.instruction, suite.items)
            reply = await ctx.chat([{"role": "user", "content": prompt}], stage="tests-review", temperature=0.0)
            contradicted = parse_review(reply, len(suite.items))
            if not contradicted:
                return suite, {**record, "origin": suite.origin, "suite": suite.as_dict()}
            record["contradicted"] = [index + 1 for index in contradicted]
            rest = [index for index in range(len(suite.items)) if index not in contradicted]
            if rest:
                reduced = suite.keeping(rest)
                useless = await _rejects_trivial(runner, reduced, solution)
                if useless is None:
                    return reduced, {**record, "origin": reduced.origin, "suite": reduced.as_dict()}
                record["inherited"] = f"too weak once contradicted tests are dropped: {useless}"
            else:
                record["inherited"] = "the rewritten task contradicts every test"
    generated, why_not = await _generate(ctx, sample, solution, runner)
    if generated is None:
        return None, {**record, "origin": None, "rejected": why_not}
    return generated, {**record, "origin": GENERATED, "suite": generated.as_dict()}


async def _misdirection(ctx: SampleContext, sample: Sample, suite: Suite | None, runner: Runner) -> dict[str, Any]:
    parent = ctx.parent.instruction if ctx.parent is not None else None
    snippet = extract_misdirection(sample.instruction, parent)
    if snippet is None:
        return {"found": False}
    if suite is None:
        return {"found": True, "code": snippet, "verdict": None, "message": "no verified tests to run it against"}
    result = await runner.run(snippet, suite)
    return {"found": True, "code": snippet, **{k: result[k] for k in ("verdict", "tests_passed", "tests_total")}}


# --- the scorer -------------------------------------------------------------------------------


async def score_execution(ctx: SampleContext, sample: Sample) -> Score:
    """checks.execution (and checks.tests, checks.misdirection) from really running the code."""
    solution = extract_solution(sample.response)
    if solution is None:
        # Only a seed gets here (an evolved answer with no code is eliminated before scoring).
        return Score(checks={"execution": {"verdict": None, "message": "the answer contains no Python code"}})
    runner = Runner(ctx)
    suite, tests_record = await settle_tests(ctx, sample, solution, runner)
    execution = dict(await runner.run(solution, suite))
    execution["tested"] = suite is not None
    checks: dict[str, Any] = {"execution": execution, "tests": tests_record}
    if sample.operation == ERRONEOUS_CODE:
        checks["misdirection"] = await _misdirection(ctx, sample, suite, runner)
    scores: dict[str, float] = {}
    if suite is not None:
        total = execution.get("tests_total")
        if total:
            scores["execution"] = round((execution.get("tests_passed") or 0) / total, 4)
        else:
            scores["execution"] = 1.0 if execution["verdict"] == PASS else 0.0
    return Score(checks=checks, scores=scores)


# --- filters ----------------------------------------------------------------------------------


def no_code(ctx: SampleContext, sample: Sample) -> str | None:
    if extract_solution(sample.response) is None:
        return "the answer contains no Python code"
    return None


def misdirection_missing(ctx: SampleContext, sample: Sample) -> str | None:
    found = sample.checks.get("misdirection")
    if sample.operation == ERRONEOUS_CODE and isinstance(found, Mapping) and not found.get("found"):
        return "the erroneous-code evolution shows no code"
    return None


def misdirection_passes(ctx: SampleContext, sample: Sample) -> str | None:
    found = sample.checks.get("misdirection")
    if isinstance(found, Mapping) and found.get("verdict") == PASS:
        passed, total = found.get("tests_passed"), found.get("tests_total")
        counted = f" ({passed}/{total} tests)" if total else ""
        return f"the erroneous reference code passes the tests{counted}: it is not erroneous"
    return None


def require_pass(ctx: SampleContext, sample: Sample) -> str | None:
    if not ctx.options.get("require_pass", True):
        return None
    execution = sample.checks.get("execution")
    if not isinstance(execution, Mapping):
        return "the solution was not executed"
    if not execution.get("tested"):
        tests = sample.checks.get("tests")
        why = tests.get("rejected") if isinstance(tests, Mapping) else None
        return "no verified tests to pass" + (f": {why}" if why else "")
    verdict = execution.get("verdict")
    if verdict != PASS:
        passed, total = execution.get("tests_passed"), execution.get("tests_total")
        counted = f", {passed}/{total} tests passed" if total else ""
        return f"the solution does not pass its tests ({verdict}{counted})"
    return None


FILTERS = (
    Filter("no-code", "response", no_code, domains=(NAME,), description="code: the answer contains no Python code"),
    Filter(
        "misdirection-missing",
        "verdict",
        misdirection_missing,
        domains=(NAME,),
        description="code: an erroneous-code evolution that shows no code",
    ),
    Filter(
        "misdirection-passes",
        "verdict",
        misdirection_passes,
        domains=(NAME,),
        description="code: the erroneous reference code of an erroneous-code evolution passes the tests",
    ),
    Filter(
        "require-pass",
        "verdict",
        require_pass,
        domains=(NAME,),
        description="code: with --require-pass, the solution does not pass verified tests",
    ),
)

SCORERS = (
    Scorer(
        "execution",
        score_execution,
        domains=(NAME,),
        description="code: runs the solution against the lineage's tests in the Docker sandbox",
    ),
)

CODE = Domain(
    name=NAME,
    description="WizardCoder code evolution; answers run against tests in a Docker sandbox",
    operations=OPERATIONS,
    respond=respond,
    read_seed=read_seed,
    options=OPTIONS,
)
