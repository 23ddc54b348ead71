"""The Batch API through the real CLI against the loopback server's /v1/files and /v1/batches:
a batched build writes a direct build's bytes at half the cost, a build killed while its batches
wait resumes by collecting them (never sending a request twice), a line the batch keeps failing
is sent again and then recorded as failed, and one role is batched while another is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}
SEEDS = 6
# Batches as large as the number of seeds: every step of the lineages (which move in lockstep)
# is one batch, sent as soon as the last lineage is ready, so the number of batches does not
# depend on timing; the window only matters when a lineage drops out.
BATCHED = ("--batch", "--batch-size", str(SEEDS), "--batch-window", "1")


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def build_args(seeds: Path, server, *extra: str) -> list[str]:
    return ["build", "--seeds", str(seeds), "--rounds", "2", "--base-url", server.base_url, "--model", "m1",
            "--price", "m1=1000/2000", "--no-progress", *extra]


def lines_sent(server) -> Counter[str]:
    """How many times each request (its custom_id, the cache key) was put into a batch."""
    return Counter(key for keys in server.batches.submitted.values() for key in keys)


def test_a_batched_build_writes_the_direct_builds_bytes_at_the_batch_price(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, SEEDS, "Describe lighthouse number {i} for sailors.")
    # One server for both: rows name the endpoint that answered them.
    server = loopback_llm_factory(batch_hold=0.2)
    direct = evol(*build_args(seeds, server, "--out", str(tmp_path / "direct")), env=API)
    assert direct.returncode == 0, direct.stderr
    direct_requests = server.request_count
    assert server.batches.created == 0
    batched = evol(*build_args(seeds, server, "--out", str(tmp_path / "batched"), *BATCHED), env=API)
    assert batched.returncode == 0, batched.stderr

    assert (tmp_path / "batched" / "dataset.jsonl").read_bytes() == (tmp_path / "direct" / "dataset.jsonl").read_bytes()
    # Every request of the batched build went through a batch, once.
    sent = lines_sent(server)
    assert server.request_count - direct_requests == direct_requests == sum(sent.values())
    assert set(sent.values()) == {1} and server.batches.created == 7  # seed answers, then 3 steps a round

    plain, half = manifest(tmp_path / "direct"), manifest(tmp_path / "batched")
    assert half["requests"]["tokens_this_invocation"] == plain["requests"]["tokens_this_invocation"]
    assert half["cost"]["usd_this_invocation"] == pytest.approx(plain["cost"]["usd_this_invocation"] / 2, abs=1e-5)
    assert half["cost"]["batch_discount_usd"] == pytest.approx(plain["cost"]["usd_this_invocation"] / 2, abs=1e-5)
    assert half["batches"]["batches"] == 7 and half["batches"]["requests"] == sum(sent.values())
    assert half["batches"]["in_flight"] == [] and not (tmp_path / "batched" / "batches.json").exists()
    assert server.batches.files == 0  # each batch's files deleted once its answers were cached
    assert "batch_discount_usd" not in plain["cost"] and "batches" not in plain


def test_a_build_killed_while_its_batches_wait_resumes_by_collecting_them(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, SEEDS, "Describe lighthouse number {i} for sailors.")
    server = loopback_llm_factory(batch_hold=3600.0)
    direct = evol(*build_args(seeds, server, "--out", str(tmp_path / "direct")), env=API)
    assert direct.returncode == 0, direct.stderr
    direct_requests = server.request_count

    out = tmp_path / "batched"
    args = build_args(seeds, server, "--out", str(out), *BATCHED)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))} | API
    killed = subprocess.Popen([sys.executable, "-m", "evolinstruct", *args], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # The batch is recorded in the folder as soon as the server has created it.
        while not (server.batches.created and (out / "batches.json").exists()):
            assert killed.poll() is None, "the build ended before its first batch was recorded"
            assert time.monotonic() < deadline, "no batch was sent within 120 s"
            time.sleep(0.05)
        time.sleep(0.5)  # the build polls its batch, which the server holds in_progress
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    pending = server.batches.submitted
    assert len(pending) == 1 and all(server.batches.status(batch) == "in_progress" for batch in pending)
    recorded = json.loads((out / "batches.json").read_text(encoding="utf-8"))["batches"]
    assert [entry["id"] for entry in recorded] == list(pending)
    assert not (out / "dataset.jsonl").exists() or not rows(out / "dataset.jsonl")

    server.batch_hold = 0.2  # the provider finishes the batch while no build runs
    resumed = evol(*args, env=API)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "dataset.jsonl").read_bytes() == (tmp_path / "direct" / "dataset.jsonl").read_bytes()
    # The batch sent before the kill was collected, and no request was ever sent twice: the
    # batches of both runs hold each of the direct build's requests once, as an unkilled
    # batched build's do (7 batches).
    assert set(pending) <= server.batches.collected
    sent = lines_sent(server)
    assert set(sent.values()) == {1} and sum(sent.values()) == direct_requests
    assert server.batches.created == 7
    assert not (out / "batches.json").exists()
    # The resumed run counts the collected batch's answers (paid for at the batch price) with its own.
    assert manifest(out)["cost"]["usd_this_invocation"] == pytest.approx(
        manifest(tmp_path / "direct")["cost"]["usd_this_invocation"] / 2, abs=1e-5)


def test_a_line_the_batch_keeps_failing_is_sent_again_then_recorded_as_failed(tmp_path, loopback_llm_factory) -> None:
    from evolinstruct.testing import Rule

    seeds = numbered_seeds(tmp_path, SEEDS, "Describe lighthouse number {i} for sailors.")
    # Every request about seed 3 (its answer first) gets a 500 inside the batch.
    server = loopback_llm_factory([Rule(contains="lighthouse number 3 ", status=500)], batch_hold=0.1)
    out = tmp_path / "out"
    run = evol(*build_args(seeds, server, "--out", str(out), *BATCHED, "--max-attempts", "2"), env=API)
    assert run.returncode == 3, run.stderr  # partial: one sample failed
    failed = rows(out / "failed.jsonl")
    assert [row["seed_id"] for row in failed] == ["s3"] and failed[0]["kind"] == "transient"
    assert "batch API failed it 2 time(s)" in failed[0]["error"] and "500" in failed[0]["error"]
    # Its request was in two batches (the second its retry), every other request in one.
    sent = lines_sent(server)
    assert sorted(Counter(sent.values()).items()) == [(1, sum(sent.values()) - 2), (2, 1)]
    numbers = manifest(out)["requests"]
    assert numbers["retries"] == 1 and numbers["failed"] == 1
    assert {row["seed_id"] for row in rows(out / "dataset.jsonl")} == {f"s{i}" for i in range(SEEDS)} - {"s3"}


def test_one_role_batched_and_another_not(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, SEEDS, "Describe lighthouse number {i} for sailors.")
    base, answers = loopback_llm_factory(), loopback_llm_factory(batch_hold=0.1)
    recipe = tmp_path / "run.toml"
    recipe.write_text(f'[roles.respond]\nmodel = "answer-model"\nbase-url = ["{answers.base_url}"]\nbatch = true\n',
                      encoding="utf-8")
    out = tmp_path / "out"
    run = evol("build", "--config", str(recipe), "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
               "--base-url", base.base_url, "--model", "base-model", "--batch-size", str(SEEDS), "--batch-window", "1",
               "--price", "base-model=1/2", "--price", "answer-model=10/20", "--no-progress", env=API)
    assert run.returncode == 0, run.stderr

    # The answers went through batches only, the rest directly.
    assert base.batches.created == 0 and base.request_count > 0
    assert answers.request_count == sum(lines_sent(answers).values()) == len(rows(out / "dataset.jsonl"))
    roles = manifest(out)["roles"]
    assert roles["respond"]["batch"]["submits"] and roles["respond"]["batch"]["requests"] == answers.request_count
    assert "batch" not in roles["default"]
    tokens = roles["respond"]["tokens"]
    assert roles["respond"]["cost_usd"] == pytest.approx(
        (tokens["prompt_tokens"] * 10 + tokens["completion_tokens"] * 20) / 1e6 / 2, abs=1e-6)
    default = roles["default"]["tokens"]
    assert roles["default"]["cost_usd"] == pytest.approx(
        (default["prompt_tokens"] * 1 + default["completion_tokens"] * 2) / 1e6, abs=1e-6)
    assert manifest(out)["batches"]["roles"] == ["respond"]


def test_batch_names_an_unknown_role_exit_2_listing_the_valid_ones(tmp_path) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    run = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--base-url", "http://127.0.0.1:9/v1",
               "--batch", "respond", "--dry-run", env=API)
    assert run.returncode == 2, run.stderr
    assert "--batch respond: no such role" in run.stderr and "all, default" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_server_without_the_batch_api_stops_the_build_with_exit_2(tmp_path, loopback_llm_factory) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    server = loopback_llm_factory(batch_api=False)
    run = evol(*build_args(seeds, server, "--out", str(tmp_path / "out"), *BATCHED), env=API)
    assert run.returncode == 2, run.stderr
    assert "has no Batch API (404" in run.stderr and "Traceback" not in run.stderr
    # Found before the folder is made, as an unreachable endpoint is.
    assert server.request_count == 0 and not (tmp_path / "out").exists()

    # A batched role on such a server is found by the run's own check: nothing is sent either.
    other = loopback_llm_factory()
    role = evol(*build_args(seeds, other, "--out", str(tmp_path / "o2"), "--role", f"respond=r@{server.base_url}",
                            "--batch", "respond"), env=API)
    assert role.returncode == 2, role.stderr
    assert "has no Batch API (404" in role.stderr and "Traceback" not in role.stderr
    assert server.request_count == 0 and other.request_count == 0
    assert manifest(tmp_path / "o2")["status"] == "refused"


def test_the_dry_run_prices_a_batched_role_at_the_batch_price(tmp_path) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Name harbour number {i}.")
    args = ["build", "--seeds", str(seeds), "--out", str(tmp_path / "out"), "--dry-run", "--rounds", "1",
            "--base-url", "http://127.0.0.1:9/v1", "--model", "writer", "--price", "writer=1/2",
            "--role", "respond=answerer", "--price", "answerer=10/20", "--max-tokens", "100"]
    direct, batched = evol(*args, env=API), evol(*args, "--batch", "respond", env=API)
    assert direct.returncode == 0 and batched.returncode == 0, direct.stderr + batched.stderr
    rows = {line.split()[0]: [int(n.replace(",", "")) for n in line.split()[1:4]]
            for line in batched.stdout.splitlines() if line.startswith("  ") and line.split()[0] in ("evolve", "respond")}
    respond = (rows["respond"][1] * 10 + rows["respond"][2] * 20) / 1e6
    evolve = (rows["evolve"][1] * 1 + rows["evolve"][2] * 2) / 1e6
    assert f"cost at most, respond (answerer): ${respond:,.2f}" in direct.stdout
    assert f"cost at most, respond (answerer (batch)): ${respond / 2:,.2f}" in batched.stdout
    assert f"cost at most, evolve (writer): ${evolve:,.2f}" in batched.stdout  # not batched: its full price


def test_a_capped_batched_build_stops_within_the_cap_and_resumes_to_the_direct_dataset(
    tmp_path, loopback_llm_factory
) -> None:
    seeds = numbered_seeds(tmp_path, SEEDS, "Describe lighthouse number {i} for sailors.")
    server = loopback_llm_factory(batch_hold=0.1)
    direct = evol(*build_args(seeds, server, "--out", str(tmp_path / "direct"), "--max-tokens", "256"), env=API)
    assert direct.returncode == 0, direct.stderr
    full = manifest(tmp_path / "direct")["cost"]["usd_total"]

    out = tmp_path / "batched"
    args = build_args(seeds, server, "--out", str(out), "--max-tokens", "256", *BATCHED)
    cap = full / 4  # half of what the batched build costs in all
    stopped = evol(*args, "--max-cost", f"{cap:.6f}", env=API)
    assert stopped.returncode == 3, stopped.stderr
    assert "stopped at the cost cap" in stopped.stderr and "Traceback" not in stopped.stderr
    assert 0 < manifest(out)["cost"]["usd_total"] <= cap

    resumed = evol(*args, "--max-cost", f"{full:.6f}", env=API)
    assert resumed.returncode == 0, resumed.stderr
    assert manifest(out)["cost"]["usd_total"] == pytest.approx(full / 2, abs=1e-5)
    assert (out / "dataset.jsonl").read_bytes() == (tmp_path / "direct" / "dataset.jsonl").read_bytes()
    assert set(lines_sent(server).values()) == {1}  # nothing paid for twice
