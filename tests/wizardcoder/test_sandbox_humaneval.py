"""HumanEval through `evol sandbox exec`: the canonical solutions pass, simple mutants of them fail.

One subprocess run carries all jobs (canonical solutions and two mutants of each), as a user
would pipe them; the tests below read its output.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import evol, read_jsonl
from tests.wizardcoder.environment import sandbox_env

pytestmark = pytest.mark.docker

# Wraps the canonical function so that its answer is off: same type, different value.
PERTURB = '''
_canonical_{name} = {name}

def _perturbed(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, list):
        return value[1:] if value else [0]
    if isinstance(value, tuple):
        return value + (0,)
    if value is None:
        return 0
    return None

def {name}(*args, **kwargs):
    return _perturbed(_canonical_{name}(*args, **kwargs))
'''


def _problems() -> list[dict]:
    return read_jsonl("HumanEval.jsonl.gz")


def _jobs(problems: list[dict]) -> list[dict]:
    jobs = []
    for problem in problems:
        name = problem["entry_point"]
        tests = f"{problem['test']}\ncheck({name})\n"
        solution = problem["prompt"] + problem["canonical_solution"]
        jobs.append({"id": problem["task_id"], "code": solution, "tests": tests})
        jobs.append({"id": f"{problem['task_id']}#perturbed", "code": solution + PERTURB.format(name=name), "tests": tests})
        # The body replaced by a wrong constant (the docstring stays: a function needs a body).
        jobs.append({"id": f"{problem['task_id']}#constant", "code": problem["prompt"] + "    return None\n", "tests": tests})
    return jobs


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict[str, dict]]:
    jobs = _jobs(_problems())
    path = tmp_path_factory.mktemp("humaneval") / "jobs.jsonl"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs), encoding="utf-8")
    done = evol("sandbox", "exec", str(path), "--timeout", "20", "--concurrency", "2", timeout=600, env=sandbox_env())
    assert done.returncode == 0, done.stderr[-2000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    return jobs, {result["id"]: result for result in results} | {"__order__": [r["id"] for r in results]}


def test_one_result_per_job_in_input_order(outcome) -> None:
    jobs, results = outcome
    assert results["__order__"] == [job["id"] for job in jobs]
    for job in jobs:
        assert set(results[job["id"]]) >= {"id", "verdict", "duration_s", "stdout", "stderr"}


def test_all_164_canonical_solutions_pass(outcome) -> None:
    jobs, results = outcome
    canonical = [job["id"] for job in jobs if "#" not in job["id"]]
    assert len(canonical) == 164
    failed = {i: (results[i]["verdict"], results[i].get("message"), results[i]["stderr"][-300:]) for i in canonical if results[i]["verdict"] != "PASS"}
    assert not failed


def test_perturbed_answers_fail_their_assertions(outcome) -> None:
    jobs, results = outcome
    perturbed = [job["id"] for job in jobs if job["id"].endswith("#perturbed")]
    verdicts = {i: results[i]["verdict"] for i in perturbed}
    # Same type, wrong value: always an assertion of the tests that catches it.
    assert {i: v for i, v in verdicts.items() if v != "FAIL"} == {}


def test_wrong_constant_bodies_never_pass(outcome) -> None:
    jobs, results = outcome
    constant = [job["id"] for job in jobs if job["id"].endswith("#constant")]
    verdicts = {i: results[i]["verdict"] for i in constant}
    assert set(verdicts.values()) <= {"FAIL", "RUNTIME_ERROR"}, verdicts
    # Mostly an assertion; a few tests compute with the answer first (None + 1: an error).
    assert sum(v == "FAIL" for v in verdicts.values()) >= 150
