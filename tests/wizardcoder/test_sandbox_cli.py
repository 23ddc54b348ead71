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

pytestmark = pytest.mark.docker


def _write_jobs(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _results(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_malformed_lines_get_a_sandbox_error_naming_the_line_and_the_rest_run(tmp_path: Path) -> None:
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
    done = evol("sandbox", "exec", str(jobs), "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    results = _results(done.stdout)
    assert [r["id"] for r in results] == ["first", "line-2", "line-3", "no-code", "bad-timeout", "extra", "7"]
    assert results[0]["verdict"] == "PASS" and results[0]["stdout"] == "1\n"
    for result, line in zip(results[1:6], (2, 3, 5, 6, 7)):
        assert result["verdict"] == "SANDBOX_ERROR"
        assert f"line {line}" in result["message"]
    assert (results[6]["verdict"], results[6]["tests_passed"], results[6]["tests_total"]) == ("FAIL", 1, 2)


def test_jobs_from_stdin_with_default_limits_from_the_options() -> None:
    lines = [
        json.dumps({"id": "slow", "code": "import time\ntime.sleep(30)"}),
        json.dumps({"id": "own-timeout", "code": "import time\ntime.sleep(0.2)", "timeout_s": 5}),
        json.dumps({"id": "big", "code": "ballast = b'x' * (100 << 20)"}),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "evolinstruct", "sandbox", "exec", "-", "--timeout", "1", "--memory", "64"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
    verdicts = {r["id"]: r["verdict"] for r in _results(done.stdout)}
    assert verdicts == {"slow": "TIMEOUT", "own-timeout": "PASS", "big": "MEMORY_LIMIT"}


def test_an_api_key_in_the_callers_environment_never_reaches_a_job(tmp_path: Path) -> None:
    secret = "sk-cli-secret-must-not-leak"
    jobs = _write_jobs(tmp_path / "env.jsonl", [json.dumps({
        "id": "env", "code": "import os\nprint(sorted(os.environ.items()))", "tests": ["assert 'OPENAI_API_KEY' not in os.environ"],
    })])
    done = evol("sandbox", "exec", str(jobs), env={"OPENAI_API_KEY": secret, "ANTHROPIC_API_KEY": secret})
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
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
    done = evol("sandbox", "doctor", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for check in ("engine", "image", "job", "limits", "timeout", "memory"):
        assert any(line.startswith("ok") and check in line for line in done.stdout.splitlines()), done.stdout
    assert "the sandbox is ready" in done.stdout


def test_doctor_says_how_to_fix_a_missing_image() -> None:
    done = evol("sandbox", "doctor", "--image", "evolinstruct-sandbox:no-such-version", timeout=120)
    assert done.returncode == 1
    assert "FAIL  image" in done.stdout
    assert "fix: run: evol sandbox build" in done.stdout


def test_build_skips_an_image_that_is_current() -> None:
    done = evol("sandbox", "build", timeout=120)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_help_explains_the_commands() -> None:
    done = evol("sandbox", "exec", "--help")
    assert done.returncode == 0
    for words in ("--timeout", "--memory", "--concurrency", "SANDBOX_ERROR", "input order"):
        assert words in done.stdout
    assert "--offline / --pull" in evol("sandbox", "build", "--help").stdout


def test_a_progress_bar_on_a_terminal_never_mixes_into_the_results(tmp_path: Path) -> None:
    import pty
    import threading

    jobs = _write_jobs(tmp_path / "jobs.jsonl", [json.dumps({"id": str(n), "code": f"print({n})"}) for n in range(20)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
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
    assert b"done: 20 PASS" in terminal
