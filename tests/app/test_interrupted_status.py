"""A build killed with SIGKILL cannot write how it ended: its manifest says ``running``. Every
reader looks at the process the manifest names, and says ``interrupted`` once it is gone; the
card counts what the folder's files hold, round by round. The real CLI against the loopback
server, and real processes for the pid checks."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

from evolinstruct.app.build.manifest import read_status
from evolinstruct.testing import Rule
from tests.conftest import evol

API = {"OPENAI_API_KEY": "sk-loopback"}
ROUNDS = "3"


def seeds_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{i}", "instruction": f"Explain tides to a child, case {i}."}) + "\n"
                            for i in range(count)), encoding="utf-8")
    return path


def build_command(seeds: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds), "--out", str(out),
            "--rounds", ROUNDS, "--concurrency", "4", "--max-attempts", "1", "--no-progress"]


def environment(base_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    return {**env, "OPENAI_BASE_URL": base_url, **API}


def kill_after(command: list[str], env: dict[str, str], server: Any, requests: int) -> int:
    """Start the build, SIGKILL it once the server has received ``requests`` more requests; its pid."""
    start = server.request_count
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while server.request_count < start + requests and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "the build ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.pid


def manifest_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_a_killed_build_reads_as_interrupted_its_card_counts_its_rows_and_a_resume_completes(
    tmp_path: Path, loopback_llm_factory: Any,
) -> None:
    # A first build whose odd seeds fail leaves a dataset of the even seeds' lineages (partial).
    server = loopback_llm_factory([Rule(pattern=r"case \d*[13579]\.", status=500)], latency=0.03)
    seeds = seeds_file(tmp_path, 12)
    out = tmp_path / "out"
    command = build_command(seeds, out)
    env = environment(server.base_url)
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 3, first.stderr
    assert manifest_of(out)["status"] == "partial"

    # The resume is killed mid-run, while it sends the odd seeds' requests.
    server.clear_rules()
    pid = kill_after(command, env, server, requests=12)
    manifest = manifest_of(out)
    assert manifest["status"] == "running"  # what the killed process left on disk
    assert manifest["process"]["pid"] == pid and manifest["process"]["host"] == socket.gethostname()

    # The manifest reader, the report, the card and the export all say interrupted.
    standing = read_status(manifest)
    assert standing.status == "interrupted", standing
    assert f"pid {pid}" in (standing.reason or "") and "is gone" in (standing.reason or "")
    report = evol("report", str(out), env=environment(server.base_url))
    assert report.returncode == 0, report.stderr
    assert "the build's status is 'interrupted'" in report.stderr and "Traceback" not in report.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "status interrupted" in page and "status running" not in page
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "> The build's status is `interrupted`" in card and "`running`" not in card

    # The card's counts are those of the rows dataset.jsonl holds, round by round, out of the 12 seeds.
    rows = [json.loads(line) for line in (out / "dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows, "the first build's rows are in place"
    per_round = Counter(row["round"] for row in rows)
    stated = dict((int(number), int(count.replace(",", "")))
                  for count, number in re.findall(r"([\d,]+) in round (\d+)", card))
    assert {number: count for number, count in stated.items() if count} == dict(per_round), (stated, per_round)
    assert f"holds the {len(rows)} instruction-response pairs written so far" in card, card
    assert f": {per_round[0]} of the 12 seeds it selected (round 0) and {len(rows) - per_round[0]} instructions" in card
    # The report's summary too: the kept seeds are round 0's rows, not every seed with a row.
    assert f"{len(rows)} samples kept ({per_round[0]} seeds and {len(rows) - per_round[0]} evolved)" in page
    table = {int(cells[0]): int(cells[1]) for cells in re.findall(r"^\| (\d+) \| ([\d,]+) \|", card.split("## Rounds")[1], re.M)}
    assert {number: count for number, count in table.items() if count} == dict(per_round)

    exported = evol("export", str(out), "--format", "chat", "--output", str(tmp_path / "chat.jsonl"),
                    env=environment(server.base_url))
    assert exported.returncode == 0, exported.stderr
    assert "this build is interrupted" in exported.stderr

    # Run again: it resumes, says what it resumes, and completes.
    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming a build that was interrupted" in resumed.stderr
    manifest = manifest_of(out)
    assert manifest["status"] == "complete" and manifest["previous"]["status"] == "interrupted"
    assert read_status(manifest).status == "complete"
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "`interrupted`" not in card and "48 instruction-response pairs in `dataset.jsonl`: 12 seeds (round 0)" in card


def test_a_first_build_killed_before_its_rows_are_in_place_is_reported_as_interrupted(
    tmp_path: Path, loopback_llm_factory: Any,
) -> None:
    server = loopback_llm_factory(latency=0.03)
    out = tmp_path / "out"
    kill_after(build_command(seeds_file(tmp_path, 12), out), environment(server.base_url), server, requests=8)
    assert not (out / "dataset.jsonl").exists()  # the first pass's rows are still under their temporary names
    report = evol("report", str(out))
    assert report.returncode == 2, report.stderr
    assert "no dataset yet: the folder's first build is interrupted" in report.stderr, report.stderr
    assert "Traceback" not in report.stderr


def _recorded(pid: int, host: str, started: float) -> dict[str, Any]:
    return {"status": "running", "reason": None, "process": {"pid": pid, "host": host, "started": started}}


def test_a_running_process_is_running_and_a_reused_pid_is_not_taken_for_it() -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as process:
        try:
            started = psutil.Process(process.pid).create_time()
            host = socket.gethostname()
            assert read_status(_recorded(process.pid, host, started)).status == "running"
            # The same pid with another start time is another process: the recorded one is gone.
            reused = read_status(_recorded(process.pid, host, started - 120))
            assert reused.status == "interrupted" and "is gone" in (reused.reason or "")
        finally:
            process.kill()
        process.wait()
        # Killed and collected: gone.
        assert read_status(_recorded(process.pid, host, started)).status == "interrupted"


def test_a_zombie_is_gone() -> None:
    # A child killed but not yet collected by its parent is dead, whatever its pid table entry says.
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = psutil.Process(process.pid).create_time()
        os.kill(process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while psutil.Process(process.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert psutil.Process(process.pid).status() == psutil.STATUS_ZOMBIE
        assert read_status(_recorded(process.pid, socket.gethostname(), started)).status == "interrupted"
    finally:
        process.wait()


def test_another_host_or_no_process_stays_running_as_recorded_never_a_guess() -> None:
    elsewhere = read_status(_recorded(os.getpid(), "not-" + socket.gethostname(), 0.0))
    assert elsewhere.status == "running"
    assert "cannot be checked" in (elsewhere.reason or "") and "as recorded" in (elsewhere.reason or "")
    unnamed = read_status({"status": "running"})  # a manifest from before processes were recorded
    assert unnamed.status == "running" and "unknown" in (unnamed.reason or "")
    assert read_status({"status": "partial", "reason": "2 samples failed"}).status == "partial"
    assert read_status(None).status is None
