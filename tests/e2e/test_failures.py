"""The error model through the real CLI: a bug stops the run, an outage pauses it, the paper's
rules cannot be switched off, and an interrupted run says what its files hold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from evolinstruct.testing import LoopbackLLM, Rule
from tests.conftest import EXAMPLES, evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}


def seeds_file(tmp_path: Path, count: int) -> Path:
    return numbered_seeds(tmp_path, count, "Describe harbour number {i} for sailors.")


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def buggy_plugin(root: Path) -> None:
    (root / "buggy_scorer.py").write_text(textwrap.dedent("""
        from evolinstruct import Scorer, hookimpl

        async def score(ctx, sample):
            return sample.scores["missing"] + 1   # a bug: this key is never there

        @hookimpl
        def evol_scorers():
            yield Scorer("buggy", score)
    """), encoding="utf-8")
    info = root / "buggy_scorer-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: buggy-scorer\nVersion: 1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[evolinstruct]\nbuggy_scorer = buggy_scorer\n", encoding="utf-8")


def test_a_buggy_scorer_stops_the_run_with_exit_4_naming_the_plugin(tmp_path, loopback_llm) -> None:
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir()
    buggy_plugin(plugin_dir)
    out = tmp_path / "out"
    result = evol("build", "--seeds", str(seeds_file(tmp_path, 60)), "--out", str(out), "--rounds", "1",
                  "--concurrency", "4",
                  env={"PYTHONPATH": str(plugin_dir), "OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert result.returncode == 4, result.stderr
    assert "scorer 'buggy' of plugin 'buggy_scorer'" in result.stderr
    assert "KeyError: 'missing'" in result.stderr
    assert "buggy_scorer.py" in result.stderr and 'sample.scores["missing"]' in result.stderr  # its own traceback
    assert "Traceback" not in result.stderr  # not ours: the plugin's frames only, as text
    failed = rows(out / "failed.jsonl")
    assert 1 <= len(failed) <= 20
    assert all(row["kind"] == "error" and row["where"] == "scorer 'buggy' of plugin 'buggy_scorer'" for row in failed)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "aborted" and "KeyError" in manifest["reason"]
    assert manifest["counts"]["failed"] == len(failed)


@pytest.mark.slow
def test_an_endpoint_outage_mid_run_pauses_and_ends_with_nothing_failed(tmp_path, loopback_llm_factory) -> None:
    seeds = seeds_file(tmp_path, 24)
    args = ["build", "--seeds", str(seeds), "--rounds", "2", "--concurrency", "4", "--max-attempts", "2",
            "--endpoint-id", "loopback"]
    reference_server = loopback_llm_factory(latency=0.01)
    reference = evol(*args, "--out", str(tmp_path / "ref"), env={"OPENAI_BASE_URL": reference_server.base_url, **API})
    assert reference.returncode == 0, reference.stderr

    server = loopback_llm_factory(latency=0.05)
    port = server.port
    out = tmp_path / "out"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, **API})
    process = subprocess.Popen([sys.executable, "-m", "evolinstruct", *args, "--out", str(out)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while server.request_count < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()  # the endpoint goes away mid-run...
    time.sleep(6)
    assert process.poll() is None, "the run ended during the outage instead of waiting"
    restarted = LoopbackLLM(port=port, latency=0.01).start()  # ...and comes back on the same address
    try:
        stdout, stderr = process.communicate(timeout=120)
    finally:
        restarted.stop()
    assert process.returncode == 0, stderr
    assert "is not answering; requests wait while it is probed" in stderr
    assert "answers again after" in stderr
    assert (out / "failed.jsonl").read_text() == ""
    assert (out / "dataset.jsonl").read_bytes() == (tmp_path / "ref" / "dataset.jsonl").read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["endpoints"][0]["outages"] == 1


def test_requests_that_always_fail_are_failed_samples_not_an_outage(tmp_path, loopback_llm_factory) -> None:
    # Three seeds' rewrites always get a 500 while every other request is answered. Near the end
    # of the run they are all that is left, and three different requests failing in a row take
    # the endpoint out; the server answering its model list brings it back, so they fail as
    # samples instead of pausing the run until --max-outage.
    seeds = seeds_file(tmp_path, 30)
    server = loopback_llm_factory([Rule(contains="#Original Instruction#", pattern=r"harbour number (2|11|20) ", status=500)])
    out = tmp_path / "out"
    started = time.monotonic()
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--max-attempts", "3",
                  "--concurrency", "4", "--max-outage", "30", "--no-progress",
                  env={"OPENAI_BASE_URL": server.base_url, **API})
    assert result.returncode == 3, result.stderr  # finished with failed samples
    assert "no endpoint answered" not in result.stderr
    assert time.monotonic() - started < 30
    kept = rows(out / "dataset.jsonl")
    assert len(kept) == 30 + 27  # every seed, and the round 1 of every seed but the three
    assert sorted(row["seed_id"] for row in rows(out / "failed.jsonl")) == ["s11", "s2", "s20"]
    assert json.loads((out / "manifest.json").read_text())["status"] == "partial"


def test_a_run_stopped_by_an_outage_keeps_the_lineages_it_finished_out_of_order(tmp_path, loopback_llm_factory) -> None:
    # The first seed's rewrite hangs; the other seeds finish, waiting to be written after it.
    # Then the endpoint goes away for longer than --max-outage: the run stops, and what it
    # finished is written, not lost with the lineage that could not finish.
    seeds = seeds_file(tmp_path, 6)
    server = loopback_llm_factory([Rule(contains="#Original Instruction#", pattern=r"harbour number 0 ", hang=120)])
    out = tmp_path / "out"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, **API})
    process = subprocess.Popen([sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds), "--out", str(out),
                                "--rounds", "1", "--max-outage", "2", "--no-progress"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until the requests stop coming (all but the hanging one answered): 3 s without a new
    # one, counted from the first (the CLI's start-up can take seconds on a busy machine).
    deadline, seen, quiet_since = time.monotonic() + 90, 0, time.monotonic()
    while time.monotonic() < deadline and (seen == 0 or time.monotonic() - quiet_since < 3):
        if server.request_count != seen:
            seen, quiet_since = server.request_count, time.monotonic()
        time.sleep(0.05)
    server.stop()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 3, stderr
    assert "no endpoint answered for 2 s" in stderr
    kept = rows(out / "dataset.jsonl")
    assert {row["seed_id"] for row in kept if row["round"] == 1} == {"s1", "s2", "s3", "s4", "s5"}
    assert json.loads((out / "manifest.json").read_text())["counts"]["kept"] == len(kept)


def test_without_the_general_plugin_a_domain_still_gets_the_papers_rules(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([
        Rule(contains="Not Equal", reply="Equal"),  # rule 1: no information gain
        Rule(contains="#Original Instruction#", reply="Write a haiku about the first frost, naming one bird."),
    ])
    out = tmp_path / "out"
    result = evol("-p", "no:general", "build", "--domain", "haiku", "--seeds", str(EXAMPLES / "evol-haiku" / "seeds.jsonl"),
                  "--out", str(out), "--rounds", "1", "--limit", "2", env={"OPENAI_BASE_URL": server.base_url, **API})
    assert result.returncode == 0, result.stderr
    assert {row["elimination"]["filter"] for row in rows(out / "eliminated.jsonl")} == {"equality"}
    no_general = evol("-p", "no:general", "build", "--seeds", str(seeds_file(tmp_path, 1)), "--out", str(tmp_path / "g"),
                      env={"OPENAI_BASE_URL": server.base_url, **API})
    assert no_general.returncode == 2 and "--domain general: no such domain" in no_general.stderr


def test_ctrl_c_ends_with_130_and_a_summary_that_matches_the_files(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(latency=0.05)
    out = tmp_path / "out"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, **API})
    process = subprocess.Popen(
        [sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds_file(tmp_path, 40)), "--out", str(out),
         "--rounds", "3", "--concurrency", "4"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while server.request_count < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept, eliminated, failed = (rows(out / name) for name in ("dataset.jsonl", "eliminated.jsonl", "failed.jsonl"))
    counts = manifest["counts"]
    assert (counts["kept"], counts["eliminated"], counts["failed"]) == (len(kept), len(eliminated), len(failed))
    assert f"{len(kept)} samples; {len(eliminated)} eliminated; {len(failed)} failed" in stderr
    assert failed == []  # cancelled requests are not failures
    assert counts["lineages_written"] == len({row["seed_id"] for row in kept})
