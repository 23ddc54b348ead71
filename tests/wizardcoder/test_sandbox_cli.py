"""`evol sandbox` as a user runs it: exec, doctor, build, and clean-up when the command is stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from tests.conftest import evol
from tests.wizardcoder.environment import sandbox_env

pytestmark = pytest.mark.docker


def _write_jobs(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _results(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_malformed_lines_are_invalid_jobs_naming_the_line_the_rest_run_and_the_exit_is_2(tmp_path: Path) -> None:
    jobs = _write_jobs(tmp_path / "jobs.jsonl", [
        json.dumps({"id": "first", "code": "print(1)"}),
        "this is not json",
        json.dumps({"code": "print(2)"}),
        "",
        json.dumps({"id": "no-code"}),
        json.dumps({"id": "bad-timeout", "code": "pass", "timeout_s": -1}),
        json.dumps({"id": "extra", "code": "pass", "colour": "blue"}),
        json.dumps({"id": 7, "code": "def f():\n    return 7", "tests": ["assert f() == 7", "assert f() == 8"]}),
    ])
    done = evol("sandbox", "exec", str(jobs), "--concurrency", "2", env=sandbox_env())
    assert done.returncode == 2, done.stderr
    assert "5 line(s) of the input are not valid jobs" in done.stderr
    results = _results(done.stdout)
    assert [r["id"] for r in results] == ["first", "line-2", "line-3", "no-code", "bad-timeout", "extra", "7"]
    # It ran, and said so; with no tests, it is not a pass.
    assert results[0]["verdict"] == "UNTESTED" and results[0]["stdout"] == "1\n"
    for result, line in zip(results[1:6], (2, 3, 5, 6, 7)):
        assert result["verdict"] == "INVALID_JOB"  # the input's mistake, not the sandbox's
        assert f"line {line}" in result["message"]
    assert (results[6]["verdict"], results[6]["tests_passed"], results[6]["tests_total"]) == ("FAIL", 1, 2)


def test_jobs_from_stdin_with_default_limits_from_the_options() -> None:
    lines = [
        json.dumps({"id": "slow", "code": "import time\ntime.sleep(30)"}),
        json.dumps({"id": "own-timeout", "code": "import time\ntime.sleep(0.2)", "timeout_s": 5}),
        json.dumps({"id": "big", "code": "ballast = b'x' * (100 << 20)"}),
    ]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}, **sandbox_env()}
    done = subprocess.run(
        [sys.executable, "-m", "evolinstruct", "sandbox", "exec", "-", "--timeout", "1", "--memory", "64"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
    verdicts = {r["id"]: r["verdict"] for r in _results(done.stdout)}
    assert verdicts == {"slow": "TIMEOUT", "own-timeout": "UNTESTED", "big": "MEMORY_LIMIT"}


def test_an_api_key_in_the_callers_environment_never_reaches_a_job(tmp_path: Path) -> None:
    secret = "sk-cli-secret-must-not-leak"
    jobs = _write_jobs(tmp_path / "env.jsonl", [json.dumps({
        "id": "env", "code": "import os\nprint(sorted(os.environ.items()))", "tests": ["assert 'OPENAI_API_KEY' not in os.environ"],
    })])
    done = evol("sandbox", "exec", str(jobs), env={"OPENAI_API_KEY": secret, "ANTHROPIC_API_KEY": secret, **sandbox_env()})
    assert done.returncode == 0, done.stderr
    (result,) = _results(done.stdout)
    assert result["verdict"] == "PASS"
    assert secret not in done.stdout


def _owned_containers(client: docker.DockerClient, pid: int) -> list:
    label = f"evolinstruct.sandbox.owner={socket.gethostname()}:{pid}"
    # sparse: a plain listing; a full one inspects each container and races with its removal.
    return client.containers.list(all=True, filters={"label": label}, sparse=True)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "sigterm", "sigkill"])
def test_containers_are_removed_when_the_command_is_stopped(tmp_path: Path, sig: signal.Signals) -> None:
    client = docker.from_env()
    jobs = _write_jobs(tmp_path / "sleep.jsonl", [json.dumps({"id": "s", "code": "import time\ntime.sleep(120)", "timeout_s": 120})])
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}, **sandbox_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "evolinstruct", "sandbox", "exec", str(jobs), "--concurrency", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_owned_containers(client, process.pid)) < 2:
            assert time.monotonic() < deadline, "the pool never started"
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.1)
        time.sleep(0.5)  # the job is running now
        process.send_signal(sig)
        process.communicate(timeout=20)
        deadline = time.monotonic() + 20
        while _owned_containers(client, process.pid):
            assert time.monotonic() < deadline, "containers left behind"
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_doctor_says_the_sandbox_is_ready() -> None:
    done = evol("sandbox", "doctor", timeout=300, env=sandbox_env())
    assert done.returncode == 0, done.stdout + done.stderr
    for check in ("engine", "image", "job", "limits", "timeout", "memory", "languages"):
        assert any(line.startswith("ok") and check in line for line in done.stdout.splitlines()), done.stdout
    assert "the sandbox is ready" in done.stdout


def test_doctor_says_how_to_build_the_image_it_was_asked_about() -> None:
    done = evol("sandbox", "doctor", "--image", "evolinstruct-sandbox:no-such-version", timeout=120)
    assert done.returncode == 1
    assert "FAIL  image" in done.stdout
    # The command builds that very image, not the default one.
    assert "fix: run: evol sandbox build --tag evolinstruct-sandbox:no-such-version" in done.stdout


def test_a_missing_image_is_a_clear_error_not_a_crash(tmp_path: Path) -> None:
    jobs = _write_jobs(tmp_path / "jobs.jsonl", [json.dumps({"id": "a", "code": "print(1)"})])
    done = evol("sandbox", "exec", str(jobs), env={"EVOL_SANDBOX_IMAGE": "evolinstruct-sandbox:no-such-version"})
    assert done.returncode == 2, done.stderr
    assert "evolinstruct-sandbox:no-such-version is not built" in done.stderr
    assert "evol sandbox build --tag evolinstruct-sandbox:no-such-version" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_build_skips_an_image_that_is_current(tmp_path: Path) -> None:
    done = evol("sandbox", "build", timeout=120, env={"EVOL_SANDBOX_CACHE": str(tmp_path), **sandbox_env()})
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_a_second_build_on_the_same_cache_exits_at_once_and_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    from wizardcoder.sandbox.build_lock import build_lock

    env = {"EVOL_SANDBOX_CACHE": str(tmp_path), **sandbox_env()}
    with build_lock(tmp_path):  # a build in progress, in this process
        started = time.monotonic()
        done = evol("sandbox", "build", timeout=120, env=env)
        assert done.returncode == 2, done.stdout + done.stderr
        assert time.monotonic() - started < 20  # at once, not after the other build
        assert f"another `evol sandbox build` (pid {os.getpid()}) is using the cache {tmp_path}" in done.stderr
        assert "Traceback" not in done.stderr
    # A lock file left by a build that was killed: nobody holds it any more.
    (tmp_path / "build.lock").write_text("pid 999999999")
    done = evol("sandbox", "build", timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_jobs_in_several_languages_through_the_command(tmp_path: Path) -> None:
    jobs = _write_jobs(tmp_path / "jobs.jsonl", [
        json.dumps({"id": "js", "language": "javascript", "code": "function f() { return 2; }",
                    "tests": ["assert.strictEqual(f(), 2)", "assert.strictEqual(f(), 3)"]}),
        json.dumps({"id": "cpp", "language": "cpp", "code": "int f() { return 2; }",
                    "tests": "#include <cassert>\nint main() { assert(f() == 2); }", "compile_timeout_s": 60}),
        json.dumps({"id": "go", "language": "go", "code": "func f() int { return 2 }\nfunc broken( {}",
                    "tests": "func main() {}", "compile_timeout_s": 60}),
    ])
    done = evol("sandbox", "exec", str(jobs), "--concurrency", "2", timeout=300, env=sandbox_env())
    assert done.returncode == 0, done.stderr
    results = {r["id"]: r for r in _results(done.stdout)}
    # The JavaScript list runs after a code that brings no assert: the first test is a ReferenceError.
    assert results["js"]["verdict"] == "RUNTIME_ERROR" and results["js"]["tests_total"] == 2
    assert results["cpp"]["verdict"] == "PASS" and results["cpp"]["compile_s"] > 0
    assert results["go"]["verdict"] == "COMPILE_ERROR" and "syntax error" in results["go"]["message"]


def test_help_explains_the_commands() -> None:
    done = evol("sandbox", "exec", "--help")
    assert done.returncode == 0
    for words in ("--timeout", "--memory", "--concurrency", "SANDBOX_ERROR", "input order", "COMPILE_ERROR",
                  "UNTESTED", "javascript, typescript, c, cpp, go, rust, java, bash, sql", "public class Main"):
        assert words in done.stdout
    assert "--offline / --pull" in evol("sandbox", "build", "--help").stdout


def test_a_progress_bar_on_a_terminal_never_mixes_into_the_results(tmp_path: Path) -> None:
    import pty
    import threading

    jobs = _write_jobs(tmp_path / "jobs.jsonl", [json.dumps({"id": str(n), "code": f"print({n})"}) for n in range(20)])
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}, **sandbox_env()}
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "evolinstruct", "sandbox", "exec", str(jobs)],
                               stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    terminal = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            terminal.extend(data)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = process.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    results = _results(stdout.decode())
    assert [r["id"] for r in results] == [str(n) for n in range(20)]
    assert b"done: 20 UNTESTED" in terminal
