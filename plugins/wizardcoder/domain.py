"""The ``code`` domain: WizardCoder's evolution, with every answer run against tests in the sandbox.

A task is in one programming language (``languages.py``): an explicit seed field ``language``, or
what its instruction asks for, kept in ``fields["language"]`` down its lineage (an evolution that
firmly asks for another language moves the lineage to it). The answer, the tests and the
erroneous reference code are all asked for, extracted and run in that language. Languages the
sandbox does not run (HTML, C#...) are answered in their own language and recorded as UNTESTED.

One sample goes through these steps (the engine decides when each runs):

1. evolve: one of five WizardCoder methods in one template (``prompts.py``), drawn with the
   weights of ``OPERATION_WEIGHTS`` (the paper uses the complexity method rarely);
2. respond: the model writes a solution in the task's language; ``no-code`` drops an answer
   with none;
3. score (``execution``): the lineage's tests are settled for this sample, then the solution and,
   for an erroneous-code evolution, the erroneous snippet run against them in the sandbox;
4. verdict filters: ``misdirection-missing``, ``misdirection-passes`` and ``require-pass``.

Which tests a sample is judged by ("settling"):

- A sample starts from its parent's suite (a seed from its own tests, if it has any).
- The suite still applies when it is in the task's language, the solution defines every name the
  tests use and (in Python) every call fits the parameters (``suites.misfit``); in a compiled
  language, tests that no longer compile with an evolved solution do not apply either. A rewrite
  that renamed the function or changed its parameters gets new tests.
- When an evolved sample fails a suite that fits (an assertion fails or the code raises), we
  cannot tell a wrong solution from a test the rewrite made obsolete ("return the pairs sorted"
  changes an expected value). The LLM reviews the tests against the rewritten task (stage
  ``tests-review``, without seeing the solution): the tests it says the task contradicts are
  dropped, the rest stay. If none are left, new tests are written. A timeout or a memory or
  output overrun is the solution's own fault and is not reviewed; a seed always keeps its tests.
- New tests are written by the LLM (stage ``tests``) in the task's language, from the task and
  the solution's signatures, never from its body. Such a suite, and a seed suite with tests
  dropped, must reject every trivial solution (``suites.trivial_solutions``: empty or constant
  bodies) or it is rejected, and the sample has no verified tests; so is a suite that does not
  compile with the solution, or one no trivial stand-in compiles with (its strength is then
  unknown). The settled suite is recorded in ``checks.tests`` and flows on to the children.

``checks.execution.verdict`` says what happened: PASS only when tests ran and held; a solution
run without verified tests is UNTESTED (it compiled and ran to its end), never PASS.

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
import re
from typing import Annotated, Any, Mapping, Sequence

from pydantic import Field

from evolinstruct import (
    Cli,
    Domain,
    DomainOptions,
    EvolError,
    Filter,
    Message,
    Operation,
    Sample,
    SampleContext,
    Score,
    Scorer,
    SeedError,
    TransientError,
)

from . import clike
from .extract import extract_code, extract_snippet, extract_solution, parses, without_main_guard
from .languages import BY_NAME, DEFAULT, detect, normalise, switched_to
from .prompts import METHODS, evolve_prompt, method_text, respond_prompt, review_prompt, tests_prompt
from .sandbox.limits import DEFAULT_LIMITS, MAX_MEMORY_MB, MAX_TIMEOUT_S, MIN_MEMORY_MB
from .suites import (
    GENERATED,
    SEED,
    Definitions,
    Suite,
    declarations,
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
UNTESTED = "UNTESTED"
COMPILE_ERROR = "COMPILE_ERROR"
REVIEWABLE = frozenset({"FAIL", "RUNTIME_ERROR"})
OUTPUT_LIMIT_CHARS = 2000  # of stdout and of stderr, per check: enough to debug, small enough to ship


class SandboxFault(TransientError):
    """The sandbox could not run a job (not the code's fault): a fault, not a bug; the sample is
    recorded as failed, and the next run of the build tries the job again."""


# --- build options ----------------------------------------------------------------------------


class CodeOptions(DomainOptions):
    """The code domain's own options of ``evol build``."""

    require_pass: bool = True
    """code: eliminate evolved samples whose solution does not pass verified tests; with --no-require-pass they are
    kept and flagged in checks.execution.verdict."""
    sandbox_workers: Annotated[int | None, Field(ge=1), Cli(default_text="the CPU count", rows_unchanged=True)] = None
    """code: containers in the sandbox pool."""
    # The bounds a sandbox job enforces (sandbox/limits.py): outside them every sample would fail.
    exec_timeout: float = Field(DEFAULT_LIMITS.timeout_s, ge=0.1, le=MAX_TIMEOUT_S)
    """code: wall-clock seconds for one program and its tests, compiling included."""
    exec_memory: int = Field(DEFAULT_LIMITS.memory_mb, ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)
    """code: memory limit in MB for one program and its tests (compilers included)."""


# --- operations -------------------------------------------------------------------------------


# WizardCoder's prompt asks for the time and space complexity method "but please refrain from
# doing so frequently"; the paper gives no number. With the other four at 1, 0.25 makes it one
# draw in 17 (about 6%) instead of one in 5. `--operation-weights` changes it per build.
OPERATION_WEIGHTS: dict[str, float] = {"complexity": 0.25}


def language_of(sample: Sample) -> str:
    """The task's language, as its lineage carries it (Python for samples that predate that)."""
    value = sample.fields.get("language")
    return value if isinstance(value, str) and value else DEFAULT


def _operation(method: str) -> Operation:
    def prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
        return ({"role": "user", "content": evolve_prompt(method, sample.instruction, language_of(sample))},)

    return Operation(method, prompt, tags=("in-depth",), description=method_text(method),
                     weight=OPERATION_WEIGHTS.get(method, 1.0))


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


def _check_tests(tests: Any, key: str, language: str = DEFAULT) -> list[str] | str:
    """Seed tests as the sandbox takes them, or a SeedError naming the field."""
    if language != DEFAULT:
        return _check_other_tests(tests, key, language)
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


def _check_other_tests(tests: Any, key: str, language: str) -> list[str] | str:
    from .sandbox.harness.toolchains import TOOLCHAINS

    chain = TOOLCHAINS.get(language)
    if chain is None:
        raise SeedError(f"cannot be run: the sandbox does not run {BY_NAME[language].display}", field=key)
    if isinstance(tests, str) and tests.strip():
        return tests
    if isinstance(tests, list) and tests and chain.list_tests:
        if not all(isinstance(test, str) and test.strip() for test in tests):
            raise SeedError("must be a list of non-empty strings", field=key)
        return [test.strip() for test in tests]
    shape = "a test program (a string) or a list of test statements" if chain.list_tests else "a test program (a string)"
    raise SeedError(f"must be {shape} in {BY_NAME[language].display}", field=key)


def _seed_language(record: Mapping[str, Any]) -> str:
    """The explicit `language` of a seed, or what its instruction (and input) asks for."""
    explicit = record.get("language")
    if explicit is not None:
        if not isinstance(explicit, str) or normalise(explicit) is None:
            known = ", ".join(sorted(BY_NAME))
            raise SeedError(f"is not a language this domain knows ({known})", field="language")
        return normalise(explicit)  # type: ignore[return-value]
    text = "\n\n".join(str(record.get(key) or "") for key in ("instruction", "input"))
    return detect(text)


def _entry_point(tests: list[str] | str, setup: str, code: str | None) -> str | None:
    """The one function the tests call that the reference code defines; None if not just one."""
    names = free_names(Suite(tuple(tests) if isinstance(tests, list) else tests, setup)) or set()
    if code:
        names &= Definitions.of(code).names
    return next(iter(names)) if len(names) == 1 else None


def read_seed(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """Code Alpaca, MBPP and HumanEval records in the common seed form.

    - Code Alpaca (``instruction``, ``input``, ``output``) passes through, with its ``language``
      (given, or read from the instruction); it may carry ``tests`` (in that language: a script,
      or a list of statements where the language allows) and an ``entry_point`` of its own.
    - MBPP (``text``, ``code``, ``test_list``, ``test_setup_code``): the tests are the
      ``test_list`` asserts; the setup code runs before them.
    - HumanEval (``prompt``, ``canonical_solution``, ``test``, ``entry_point``): the instruction
      asks to complete the prompt's function; the tests are the ``check`` script followed by
      ``check(entry_point)``.
    """
    if "prompt" in record and "test" in record:
        return {**_humaneval(record), "language": DEFAULT}
    if "text" in record and ("test_list" in record or "code" in record):
        return {**_mbpp(record), "language": DEFAULT}
    out = dict(record)
    language = _seed_language(record)
    out["language"] = language
    if "tests" in record and record["tests"] is not None:
        out["tests"] = _check_tests(record["tests"], "tests", language)
        setup = _text(record, "test_setup", required=False) or ""
        entry = record.get("entry_point")
        if entry is not None and (not isinstance(entry, str) or not entry.isidentifier()):
            raise SeedError("must be an identifier", field="entry_point")
        output = record.get("output") if isinstance(record.get("output"), str) else None
        if language == DEFAULT:
            out["entry_point"] = entry or _entry_point(out["tests"], setup, extract_solution(output))
        else:
            out["entry_point"] = entry
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
        language_of(sample),
    )


def _parent_solution(ctx: SampleContext) -> str | None:
    parent = ctx.parent
    if parent is None:
        return None
    return extract_code(parent.response, language_of(parent))


async def respond(ctx: SampleContext, sample: Sample) -> Sample:
    """Ask for a solution in the task's language, in a fenced block, naming the definitions the
    lineage's tests call."""
    language = language_of(sample)
    fields = dict(sample.fields)
    if ctx.parent is not None:
        moved = switched_to(sample.instruction, language)
        if moved is not None:
            # The rewrite asks for another language: the lineage follows it, and the seed's own
            # tests, written in the old one, stay behind.
            language = moved
            fields["language"] = moved
            for key in ("tests", "test_setup", "entry_point"):
                fields.pop(key, None)
    fields.setdefault("language", language)
    sample = sample.replace(fields=fields)
    suite = inherited_suite(ctx, sample)
    if suite is not None and suite.language != language:
        suite = None
    signatures = signatures_for(suite, _parent_solution(ctx))
    if not signatures and suite is not None and suite.entry_point:
        signatures = [suite.entry_point]
    prompt = respond_prompt(sample.instruction, signatures, language)
    answer = await ctx.chat([{"role": "user", "content": prompt}], stage="respond")
    return sample.replace(response=answer)


# --- running code -----------------------------------------------------------------------------


def _truncate(text: str | None) -> str:
    text = text or ""
    if len(text) <= OUTPUT_LIMIT_CHARS:
        return text
    return text[:OUTPUT_LIMIT_CHARS] + f"\n[... {len(text) - OUTPUT_LIMIT_CHARS} more characters]"


# How long a job took says something about the machine, not the code: in a row it would make a
# resumed build differ from an uninterrupted one, which the dataset promises never to do.
TIMINGS = ("duration_s", "compile_s")


class Runner:
    """Runs a program with a suite in the run's sandbox pool, once per distinct program."""

    def __init__(self, ctx: SampleContext, language: str = DEFAULT) -> None:
        self.ctx = ctx
        self.language = language
        self.timeout_s = float(ctx.options.get("exec_timeout") or DEFAULT_LIMITS.timeout_s)
        self.memory_mb = int(ctx.options.get("exec_memory") or DEFAULT_LIMITS.memory_mb)

    def program(self, code: str, suite: Suite | None) -> str:
        """The solution as the sandbox gets it: without its own entry point (the tests bring
        theirs), with the suite's setup after it (before it for SQL: the tables it queries)."""
        if self.language == DEFAULT:
            program = without_main_guard(code)
        elif self.language in clike.BRACE_LANGUAGES:
            program = clike.without_main(code, self.language)
        else:
            program = code
        program = program.rstrip("\n") + "\n"
        if suite is None:
            return program
        setup = (imports_for(suite) if self.language == DEFAULT else "") + suite.setup
        if not setup.strip():
            return program
        if self.language == "sql":
            return setup.rstrip("\n") + "\n\n" + program
        return program + "\n\n" + setup.rstrip("\n") + "\n"

    async def run(self, code: str, suite: Suite | None) -> dict[str, Any]:
        tests = suite.job_tests() if suite is not None else None
        key: dict[str, Any] = {"code": self.program(code, suite), "tests": tests, "timeout_s": self.timeout_s,
                               "memory_mb": self.memory_mb}
        if self.language != DEFAULT:
            key["language"] = self.language  # (Python's keys stay as they were: old caches replay)
        record = await self.ctx.memo("sandbox", key, lambda: self._execute(key))
        # Caches written before timings were left out still hold them: a row never does.
        return {name: value for name, value in record.items() if name not in TIMINGS}

    async def _execute(self, key: Mapping[str, Any]) -> dict[str, Any]:
        from .sandbox import Job, Verdict

        pool = self.ctx.resources.get("sandbox")
        if pool is None:
            raise SandboxFault("the sandbox pool is not running (it is opened when a code build starts)")
        job_id = hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=8).hexdigest()
        job = Job(job_id, key["code"], key["tests"], timeout_s=key["timeout_s"], memory_mb=key["memory_mb"],
                  language=key.get("language", DEFAULT))
        result = await pool.run_async(job)
        verdict = Verdict(result.verdict)
        if verdict is Verdict.SANDBOX_ERROR:
            # Raising keeps it out of the memo: the next run of the build tries the job again.
            raise SandboxFault(f"the sandbox could not run the code (an infrastructure fault): {result.message}")
        record: dict[str, Any] = {
            "verdict": verdict.value,
            "tests_passed": result.tests_passed,
            "tests_total": result.tests_total,
            "stdout": _truncate(result.stdout),
            "stderr": _truncate(result.stderr),
        }
        if result.message:
            record["message"] = _truncate(result.message)
        if result.isolation is not None:
            record["isolation"] = result.isolation  # Python: which mode judged the tests
        return record


# --- settling the tests -----------------------------------------------------------------------


async def _rejects_trivial(runner: Runner, suite: Suite, solution: str) -> str | None:
    """Why the suite is useless (a trivial solution passes it, or none could be tried), or None."""
    stubs = trivial_solutions(suite, solution)
    if not stubs and suite.language != DEFAULT:
        return "no trivial stand-in could be made from the solution to check them against"
    results = await asyncio.gather(*(runner.run(code, suite) for _body, code in stubs))
    for (body, _code), result in zip(stubs, results):
        if result["verdict"] in (PASS, UNTESTED):
            return f"a trivial solution ({body!r}) passes it"
    if stubs and all(result["verdict"] == COMPILE_ERROR for result in results):
        # Then nothing was checked: a suite that cannot even compile with a stand-in might reject
        # everything, right or wrong.
        return "no trivial stand-in compiles with them, so whether they reject one is unknown"
    return None


def _definitions(solution: str, language: str) -> list[str]:
    if language == DEFAULT:
        return list(Definitions.of(solution).headers.values())
    if language == "sql":
        columns = sql_columns(solution)
        return [f"its final query returns the columns: {', '.join(columns)}"] if columns else []
    return declarations(solution, language)


def sql_columns(solution: str) -> list[str]:
    """The column names of a SQL solution's final query, as SQLite would name them (best effort)."""
    from .sandbox.harness.sql_tests import statements

    queries = [s for s in statements(solution) if re.match(r"(?:SELECT|WITH)\b", s, re.I)]
    if not queries:
        return []
    found = re.search(r"\bSELECT\s+(?:DISTINCT\s+)?(?P<columns>.*?)\s+FROM\b", queries[-1], re.I | re.S)
    if not found:
        return []
    columns = []
    depth, current = 0, ""
    for ch in found.group("columns") + ",":
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            alias = re.search(r"(?:\bAS\s+)?[\"`\[]?(\w+)[\"`\]]?\s*$", current.strip(), re.I)
            columns.append(alias.group(1) if alias else current.strip())
            current = ""
        else:
            current += ch
    return columns


async def _generate(ctx: SampleContext, sample: Sample, solution: str, runner: Runner) -> tuple[Suite | None, str | None]:
    """An LLM-written suite that fits the solution and rejects trivial ones, or why there is none."""
    language = runner.language
    headers = _definitions(solution, language)
    if not headers:
        return None, "the solution defines no function or class to test"
    prompt = tests_prompt(sample.instruction, headers, language)
    reply = await ctx.chat([{"role": "user", "content": prompt}], stage="tests", temperature=0.0)
    suite = parse_generated(reply, language)
    if suite is None:
        return None, f"the test-writing reply contains no {BY_NAME[language].display} tests"
    why = misfit(suite, solution, solution)
    if why is not None:
        return None, f"the written tests do not fit the solution: {why}"
    if language != DEFAULT:
        first = await runner.run(solution, suite)
        if first["verdict"] == COMPILE_ERROR:
            return None, f"the written tests do not compile with the solution: {first.get('message', '')[:300]}"
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
        why = None
        if suite.language != runner.language:
            why = f"the tests are in {suite.language}, the task is now in {runner.language}"
        else:
            why = misfit(suite, solution, _parent_solution(ctx))
        if why is not None:
            record["inherited"] = f"does not apply: {why}"
        else:
            result = await runner.run(solution, suite)
            if result["verdict"] == COMPILE_ERROR and ctx.parent is not None and runner.language != DEFAULT:
                # A changed signature shows this way in a compiled language; the solution's own
                # mistakes show again when it runs with the new tests, or alone.
                record["inherited"] = "does not apply: the tests do not compile with this solution"
                suite = None
            # Only a failed assertion or an exception can mean the tests are obsolete; a timeout
            # or a memory or output overrun is the solution's own doing. A seed keeps its tests.
            elif result["verdict"] not in REVIEWABLE or ctx.parent is None:
                return suite, {**record, "origin": suite.origin, "suite": suite.as_dict()}
            else:
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
    snippet = extract_snippet(sample.instruction, parent, runner.language)
    if snippet is None:
        return {"found": False}
    if suite is None:
        return {"found": True, "code": snippet, "verdict": None, "message": "no verified tests to run it against"}
    result = await runner.run(snippet, suite)
    found = {"found": True, "code": snippet, **{k: result[k] for k in ("verdict", "tests_passed", "tests_total")}}
    if result.get("message"):
        found["message"] = result["message"]
    return found


# --- the scorer -------------------------------------------------------------------------------


def _display(language: str) -> str:
    found = BY_NAME.get(language)
    return found.display if found else language


async def score_execution(ctx: SampleContext, sample: Sample) -> Score:
    """checks.execution (and checks.tests, checks.misdirection) from really running the code."""
    language = language_of(sample)
    known = BY_NAME.get(language)
    if known is None or not known.runnable:
        message = f"the sandbox does not run {_display(language)}: the answer was not executed"
        return Score(checks={"execution": {"verdict": UNTESTED, "language": language, "tested": False, "message": message}})
    solution = extract_code(sample.response, language)
    if solution is None:
        # Only a seed gets here (an evolved answer with no code is eliminated before scoring).
        message = f"the answer contains no {_display(language)} code"
        return Score(checks={"execution": {"verdict": None, "language": language, "message": message}})
    runner = Runner(ctx, language)
    suite, tests_record = await settle_tests(ctx, sample, solution, runner)
    execution = dict(await runner.run(solution, suite))
    execution["language"] = language
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
    language = language_of(sample)
    if extract_code(sample.response, language) is None:
        return f"the answer contains no {_display(language)} code"
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
        why = tests.get("rejected") if isinstance(tests, Mapping) else execution.get("message")
        return "no verified tests to pass" + (f": {why}" if why else "")
    verdict = execution.get("verdict")
    if verdict != PASS:
        passed, total = execution.get("tests_passed"), execution.get("tests_total")
        counted = f", {passed}/{total} tests passed" if total else ""
        return f"the solution does not pass its tests ({verdict}{counted})"
    return None


FILTERS = (
    Filter("no-code", "response", no_code, domains=(NAME,), requests=lambda options: {},
           description="code: the answer contains no code in the task's language"),
    Filter(
        "misdirection-missing",
        "verdict",
        misdirection_missing,
        domains=(NAME,),
        requests=lambda options: {},  # reads the checks, asks no LLM
        description="code: an erroneous-code evolution that shows no code",
    ),
    Filter(
        "misdirection-passes",
        "verdict",
        misdirection_passes,
        domains=(NAME,),
        requests=lambda options: {},  # reads the checks, asks no LLM
        description="code: the erroneous reference code of an erroneous-code evolution passes the tests",
    ),
    Filter(
        "require-pass",
        "verdict",
        require_pass,
        domains=(NAME,),
        requests=lambda options: {},  # reads the checks, asks no LLM
        description="code: with --require-pass, the solution does not pass verified tests",
    ),
)

SCORERS = (
    Scorer(
        "execution",
        score_execution,
        domains=(NAME,),
        # Tests are written once at most, and reviewed once when they fail an evolved solution.
        requests=lambda options: {"tests": 1, "tests-review": 1},
        description="code: runs the solution against the lineage's tests in the Docker sandbox",
    ),
)

CODE = Domain(
    name=NAME,
    description="WizardCoder code evolution; answers run against tests in a Docker sandbox",
    operations=OPERATIONS,
    respond=respond,
    read_seed=read_seed,
    options=CodeOptions,
    requests=lambda options: {"respond": 1},
)
