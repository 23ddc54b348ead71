"""The public API of wizardcoder.sandbox against a real engine: verdicts, counts, limits, life cycle."""

from __future__ import annotations

import asyncio
import threading
import time

import docker
import docker.errors
import pytest

from wizardcoder.sandbox import Job, Result, SandboxPool, SandboxUnavailable, Verdict, default_image
from wizardcoder.sandbox.container import WarmContainer
from wizardcoder.sandbox.engine import connect
from wizardcoder.sandbox.limits import Limits
from wizardcoder.sandbox.protocol import ChannelTimeout

DOUBLE = "def double(x):\n    return x * 2\n"


@pytest.mark.docker
def test_list_tests_are_counted_one_by_one(sandbox_pool: SandboxPool) -> None:
    result = sandbox_pool.run(Job("t", DOUBLE, ["assert double(1) == 2", "assert double(2) == 5", "assert double(3) == 6"]))
    assert result.verdict is Verdict.FAIL
    assert (result.tests_passed, result.tests_total) == (2, 3)
    assert "test 1" in result.message and "double(2) == 5" in result.message


@pytest.mark.docker
def test_a_list_whose_failures_are_errors_is_a_runtime_error(sandbox_pool: SandboxPool) -> None:
    result = sandbox_pool.run(Job("t", DOUBLE, ["assert double(1) == 2", "assert double(None) == 0"]))
    assert result.verdict is Verdict.RUNTIME_ERROR
    assert (result.tests_passed, result.tests_total) == (1, 2)
    assert "TypeError" in result.message


@pytest.mark.docker
def test_all_list_tests_passing_is_a_pass(sandbox_pool: SandboxPool) -> None:
    result = sandbox_pool.run(Job("t", DOUBLE, ["assert double(1) == 2", "assert double(0) == 0"]))
    assert (result.verdict, result.tests_passed, result.tests_total) == (Verdict.PASS, 2, 2)


@pytest.mark.docker
def test_script_tests_run_after_the_code_as_one_program(sandbox_pool: SandboxPool) -> None:
    ok = sandbox_pool.run(Job("ok", DOUBLE + "print('from code')", "print('from tests')\nassert double(4) == 8"))
    assert ok.verdict is Verdict.PASS
    assert ok.stdout == "from code\nfrom tests\n"
    assert (ok.tests_passed, ok.tests_total) == (None, None)
    bad = sandbox_pool.run(Job("bad", DOUBLE, "assert double(4) == 9, 'four'"))
    assert bad.verdict is Verdict.FAIL and "four" in bad.message
    assert 'File "tests.py", line 1' in bad.stderr


@pytest.mark.docker
def test_unittest_runners_are_honoured(sandbox_pool: SandboxPool) -> None:
    suite = "import unittest\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(double(2), {})\nunittest.main()\n"
    assert sandbox_pool.run(Job("pass", DOUBLE, suite.format(4))).verdict is Verdict.PASS
    assert sandbox_pool.run(Job("fail", DOUBLE, suite.format(5))).verdict is Verdict.FAIL


@pytest.mark.docker
def test_syntax_and_runtime_errors(sandbox_pool: SandboxPool) -> None:
    syntax = sandbox_pool.run(Job("s", "def f(:\n    pass"))
    assert syntax.verdict is Verdict.COMPILE_ERROR and "SyntaxError" in syntax.message
    in_tests = sandbox_pool.run(Job("t", "def f():\n    pass", ["assert f(("]))
    assert in_tests.verdict is Verdict.COMPILE_ERROR and (in_tests.tests_passed, in_tests.tests_total) == (0, 1)
    error = sandbox_pool.run(Job("e", "raise KeyError('k')"))
    assert error.verdict is Verdict.RUNTIME_ERROR and "KeyError" in error.message and "KeyError" in error.stderr


@pytest.mark.docker
def test_output_is_returned_truncated_to_a_few_kb(sandbox_pool: SandboxPool) -> None:
    result = sandbox_pool.run(Job("o", "print('a' * 100_000)\nprint('the end')\nimport sys\nprint('é' * 10, file=sys.stderr)"))
    assert result.verdict is Verdict.UNTESTED
    assert len(result.stdout) < 6000 and "truncated" in result.stdout and result.stdout.endswith("the end\n")
    assert result.stderr == "é" * 10 + "\n"


@pytest.mark.docker
def test_memory_limit_is_per_job(sandbox_pool: SandboxPool) -> None:
    allocate = "ballast = b'x' * (150 << 20)"
    assert sandbox_pool.run(Job("small", allocate, memory_mb=64)).verdict is Verdict.MEMORY_LIMIT
    assert sandbox_pool.run(Job("large", allocate, memory_mb=512)).verdict is Verdict.UNTESTED


@pytest.mark.docker
def test_run_is_thread_safe(sandbox_pool: SandboxPool) -> None:
    results: dict[str, Result] = {}

    def worker(prefix: str) -> None:
        for index in range(15):
            job_id = f"{prefix}-{index}"
            results[job_id] = sandbox_pool.run(Job(job_id, f"print({job_id!r})"))

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 60
    assert all(r.verdict is Verdict.UNTESTED and r.stdout == f"{i}\n" and r.id == i for i, r in results.items())


@pytest.mark.docker
def test_run_async_never_blocks_the_event_loop_and_is_bounded_by_the_pool(sandbox_pool: SandboxPool) -> None:
    async def scenario() -> tuple[list[Result], float, float]:
        gaps: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        started = time.monotonic()
        jobs = [sandbox_pool.run_async(Job(f"a{n}", "import time\ntime.sleep(0.5)")) for n in range(4)]
        results = await asyncio.gather(*jobs)
        elapsed = time.monotonic() - started
        stop.set()
        await tick
        return results, elapsed, max(gaps)

    results, elapsed, worst_gap = asyncio.run(scenario())
    assert all(r.verdict is Verdict.UNTESTED for r in results)
    assert elapsed >= 0.95  # four half-second jobs on two containers: two rounds
    assert worst_gap < 0.25


@pytest.mark.docker
def test_containers_are_replaced_after_n_jobs() -> None:
    with SandboxPool(1, max_jobs_per_container=3) as pool:
        first = pool.container_ids()
        outcomes = [pool.run(Job(str(n), "pass")).verdict for n in range(7)]
        assert outcomes == [Verdict.UNTESTED] * 7
        assert pool.containers_started >= 3
        assert pool.container_ids() != first


@pytest.mark.docker
def test_close_removes_every_container_and_is_idempotent() -> None:
    client = connect()
    pool = SandboxPool(2)
    pool.start()
    ids = pool.container_ids()
    assert len(ids) == 2
    assert pool.run(Job("x", "pass")).verdict is Verdict.UNTESTED
    pool.close()
    pool.close()
    for container_id in ids:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container_id)
    assert pool.run(Job("late", "pass")).verdict is Verdict.SANDBOX_ERROR


@pytest.mark.docker
def test_a_missing_image_says_how_to_build_it() -> None:
    with pytest.raises(SandboxUnavailable, match="evol sandbox build --tag evolinstruct-sandbox:no-such-version"):
        SandboxPool(1, image="evolinstruct-sandbox:no-such-version").start()


def test_an_unreachable_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(SandboxUnavailable, match="install-docker.sh"):
        SandboxPool(1).start()


@pytest.mark.docker
def test_the_host_kills_a_container_whose_supervisor_does_not_answer() -> None:
    """The last line of defence: the host's own clock, enforced by killing the container."""
    client = connect()
    container = WarmContainer(client, default_image(), name=f"evolsbx-hostkill-{time.time_ns()}",
                              labels={"evolinstruct.sandbox": "1"}, limits=Limits(), memory_mb=128)
    container.start(30)
    try:
        # The supervisor would wait 60 s; the host gives up after 1 s.
        request = {"op": "job", "code": "while True: pass", "tests": None, "timeout_s": 60, "memory_mb": 128,
                   "output_cap": 1024, "return_cap": 1024}
        started = time.monotonic()
        with pytest.raises(ChannelTimeout):
            container.request(request, deadline=time.monotonic() + 1)
        container.kill()
        assert time.monotonic() - started < 5
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.containers.get(container.container_id)
            except docker.errors.NotFound:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the killed container is still there")
    finally:
        container.destroy()


def test_jobs_are_validated() -> None:
    assert Job("x", "pass", language="C++").language == "cpp"
    with pytest.raises(ValueError, match="language must be one of python, javascript"):
        Job("x", "pass", language="cobol")
    with pytest.raises(TypeError, match="tests for java must be one program"):
        Job("x", "class A {}", ["assert true;"], language="java")
    with pytest.raises(ValueError, match="timeout_s"):
        Job("x", "pass", timeout_s=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Job("x", "pass", memory_mb=1)
    with pytest.raises(TypeError, match="tests"):
        Job("x", "pass", tests=[1])  # type: ignore[list-item]


def test_result_as_dict_is_the_exec_record() -> None:
    plain = Result("a", Verdict.PASS, 0.123456, "out", "err", None, None)
    assert plain.as_dict() == {"id": "a", "verdict": "PASS", "duration_s": 0.1235, "stdout": "out", "stderr": "err"}
    counted = Result("b", Verdict.FAIL, 1.0, "", "", 1, 2, "test 1 failed")
    assert counted.as_dict()["tests_passed"] == 1 and counted.as_dict()["tests_total"] == 2
    assert counted.as_dict()["message"] == "test 1 failed"
