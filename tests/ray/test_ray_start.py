"""The README's cluster recipe as a user follows it: ``ray start --head`` in a shell, then
``evol build ... --ray HEAD:PORT``. The head is a real ``ray start`` subprocess on loopback, in a
home of its own holding a token, so Ray starts it with token authentication (as it does wherever
a token exists, e.g. after any ``ray.init()`` made one)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import evol, numbered_seeds

from .conftest import require_ray

pytestmark = pytest.mark.slow

API = {"OPENAI_API_KEY": "sk-loopback"}
START_TIMEOUT_S = 120


@dataclass(frozen=True)
class Head:
    address: str
    home: Path  # the user's home on the head node: ~/.ray/auth_token is the cluster's token
    token: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def head() -> Iterator[Head]:
    require_ray()
    ray_cli = shutil.which("ray")
    assert ray_cli, "the ray command is not on PATH"
    home = Path(tempfile.mkdtemp(prefix="evhead-", dir="/tmp"))  # Ray's socket paths must stay short
    token = secrets.token_hex(16)
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text(token, encoding="utf-8")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_AUTH")}
    env.update(HOME=str(home), RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")  # every process on loopback
    # --block: the head's processes belong to this one, which stops them when it is stopped, so
    # the test ends exactly the cluster it started (`ray stop` would end every Ray on the machine).
    process = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", "--port", str(port), "--node-ip-address", "127.0.0.1",
         "--num-cpus", "2", "--include-dashboard=false", "--temp-dir", str(home / "t")],
        env=env, cwd=home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listening(port):
            assert process.poll() is None, f"ray start ended: {process.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "ray start did not listen within its time"
            time.sleep(0.5)
        time.sleep(3)  # the head's raylet registers after the GCS listens
        yield Head(f"127.0.0.1:{port}", home, token)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # the head drains for up to 30 s on SIGTERM
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        for pid in _processes_of(home):  # any process of this head that left its group
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)


def _processes_of(home: Path) -> list[int]:
    """The processes whose command line names this head's own folder (its --temp-dir is in it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(home).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # ended meanwhile
            continue
    return found


def build(tmp_path: Path, head: Head, env: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    """The build through the real CLI, as the head node's user."""
    seeds = numbered_seeds(tmp_path, 4, "Describe lighthouse number {i} for sailors.")
    return evol("build", "--seeds", str(seeds), "--out", str(tmp_path / name), "--rounds", "1", "--no-progress",
                "--ray", head.address, env={"HOME": str(head.home), **env}, timeout=300)


def test_the_token_ray_start_uses_is_the_drivers_too(tmp_path, head, loopback_llm) -> None:
    done = build(tmp_path, head, {"OPENAI_BASE_URL": loopback_llm.base_url, **API}, "built")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = (tmp_path / "built" / "dataset.jsonl").read_text(encoding="utf-8").splitlines()
    assert {json.loads(row)["round"] for row in rows} == {0, 1}
    manifest = json.loads((tmp_path / "built" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "complete" and manifest["ray"]["address"] == head.address


@pytest.mark.parametrize(
    ("env", "why"),
    [
        ({"RAY_AUTH_TOKEN": "not-the-cluster-token"}, "the token from RAY_AUTH_TOKEN is not the cluster's"),
        ({"RAY_AUTH_MODE": "disabled"}, "RAY_AUTH_MODE=disabled here, so this driver sends no token"),
    ],
)
def test_a_refused_driver_is_told_why_in_one_line_at_once(tmp_path, head, env, why) -> None:
    done = build(tmp_path, head, env, "refused")
    assert done.returncode == 2, done.stderr[-3000:]
    said = f"--ray: the Ray cluster at {head.address} uses token authentication and refuses this driver: {why}; "
    [line] = [entry for entry in done.stderr.splitlines() if said in entry]
    assert line.startswith("evol: ") and line.endswith("(`ray get-auth-token` on the head node prints it)")
    assert "RAY_AUTH_TOKEN_PATH" in done.stderr and "Traceback" not in done.stderr
    # One attempt (Ray's client logs each): Ray alone retries for about twenty seconds, then says
    # only "Failed to connect to Ray cluster".
    assert done.stderr.count("Failed to get cluster ID from GCS server") <= 1
    assert "Failed to connect to Ray cluster" not in done.stderr


def test_without_any_token_the_driver_is_told_where_one_goes(tmp_path, head) -> None:
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    done = evol("build", "--seeds", str(numbered_seeds(tmp_path, 2, "Describe buoy {i}.")), "--out", str(tmp_path / "o"),
                "--no-progress", "--ray", head.address, env={"HOME": str(elsewhere)}, timeout=120)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "refuses this driver: no token was found for this driver" in done.stderr
    assert "`ray get-auth-token` on the head node prints it" in done.stderr
