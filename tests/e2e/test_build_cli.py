"""The real ``evol`` CLI as a subprocess against the loopback LLM server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

from evolinstruct.runtime.cache import content_key
from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol

API = {"OPENAI_API_KEY": "sk-loopback"}


def many_seeds(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "seeds.jsonl"
    topics = ["rivers", "glaciers", "compilers", "bread", "violins", "tides", "bees", "maps"]
    path.write_text(
        "".join(json.dumps({"id": f"s{i}", "instruction": f"Explain {topics[i % 8]} to a child, case {i}."}) + "\n" for i in range(count)),
        encoding="utf-8",
    )
    return path


def cached_keys(out: Path) -> set[str]:
    with sqlite3.connect(out / "cache.sqlite") as db:
        return {row[0] for row in db.execute("SELECT key FROM entries WHERE kind = 'chat'")}


def cache_key_of(body: dict, endpoint: str) -> str:
    request = {name: body.get(name) for name in ("model", "messages", "temperature", "top_p", "max_tokens", "seed")}
    return content_key("chat", {"endpoint": endpoint, **request})


def test_a_run_killed_with_sigkill_resumes_to_the_same_bytes_without_resending(tmp_path, loopback_llm_factory) -> None:
    seeds = many_seeds(tmp_path, 40)
    reference_server = loopback_llm_factory(latency=0.005)
    # Both servers serve the same (offline) model: one endpoint id makes their datasets comparable.
    reference = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "ref"), "--rounds", "3",
                     "--concurrency", "8", "--endpoint-id", "loopback",
                     env={"OPENAI_BASE_URL": reference_server.base_url, **API})
    assert reference.returncode == 0, reference.stderr

    server = loopback_llm_factory(latency=0.02)
    out = tmp_path / "killed"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, **API})
    command = [sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds), "--out", str(out),
               "--rounds", "3", "--concurrency", "8", "--endpoint-id", "loopback"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.request_count >= 150:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert server.request_count < 40 * 10, "the run finished before it could be killed"
    before_resume = cached_keys(out)
    assert len(before_resume) >= 100
    sent_before = server.request_count

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "dataset.jsonl").read_bytes() == (tmp_path / "ref" / "dataset.jsonl").read_bytes()
    assert (out / "eliminated.jsonl").read_bytes() == (tmp_path / "ref" / "eliminated.jsonl").read_bytes()
    resent = [r for r in server.requests[sent_before:] if cache_key_of(r.body, "loopback") in before_resume]
    assert resent == [], f"{len(resent)} cached requests were sent again"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["requests"]["from_cache"] >= len(before_resume)


def test_a_storm_of_429s_and_500s_finishes_with_every_seed_accounted_for(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(
        [
            Rule(status=429, retry_after=0.05, probability=0.15),
            Rule(status=500, probability=0.12),
            Rule(status=503, probability=0.03),
        ],
        seed=3,
    )
    seeds = many_seeds(tmp_path, 20)
    out = tmp_path / "storm"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--concurrency", "16",
                  "--max-attempts", "12", env={"OPENAI_BASE_URL": server.base_url, **API})
    assert result.returncode == 0, result.stderr
    kept = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    eliminated = [json.loads(line) for line in (out / "eliminated.jsonl").read_text().splitlines()]
    attempts = {(row["seed_id"], row["round"]) for row in kept + eliminated}
    assert attempts == {(f"s{i}", r) for i in range(20) for r in range(3)}
    statuses = {r.status for r in server.requests}
    assert {429, 500, 200} <= statuses
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["requests"]["retries"] > 0 and manifest["requests"]["failed"] == 0


def test_failed_samples_are_kept_and_a_rerun_retries_them(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(pattern=r"case [13]\.", status=500)])
    seeds = many_seeds(tmp_path, 4)
    out = tmp_path / "out"
    args = ("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--max-attempts", "2")
    first = evol(*args, env={"OPENAI_BASE_URL": server.base_url, **API})
    assert first.returncode == 3, first.stderr
    assert "running the same command again retries them" in first.stderr
    failed = [json.loads(line) for line in (out / "failed.jsonl").read_text().splitlines()]
    assert {row["seed_id"] for row in failed} == {"s1", "s3"}
    assert all("InternalServerError" in row["error"] and row["kind"] == "transient" for row in failed)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["counts"]["failed"] == 2
    server.clear_rules()
    second = evol(*args, env={"OPENAI_BASE_URL": server.base_url, **API})
    assert second.returncode == 0, second.stderr
    assert (out / "failed.jsonl").read_text() == ""
    assert len((out / "dataset.jsonl").read_text().splitlines()) >= 4


def test_a_malformed_seeds_file_fails_naming_file_line_and_field_before_any_request(tmp_path, loopback_llm) -> None:
    seeds = tmp_path / "bad.jsonl"
    seeds.write_text('{"instruction": "fine"}\n{"instruction": "also fine"}\n{"inputs": "typo"}\n', encoding="utf-8")
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"),
                  env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert result.returncode == 2
    assert f"{seeds}:3: field 'instruction': is missing" in result.stderr
    assert loopback_llm.request_count == 0

    skipped = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o2"), "--rounds", "1", "--skip-invalid",
                   env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert skipped.returncode == 0, skipped.stderr
    manifest = json.loads((tmp_path / "o2" / "manifest.json").read_text())
    assert manifest["seeds"]["invalid"] == [{"source": f"{seeds}:3", "field": "instruction", "message": "is missing"}]
    assert manifest["seeds"]["selected"] == 2


def test_offline_model_says_so_and_export_writes_parquet(tmp_path) -> None:
    out = tmp_path / "offline"
    result = evol("build", "--seeds", str(EXAMPLES / "seeds" / "general.jsonl"), "--out", str(out), "--rounds", "1", "--limit", "3")
    assert result.returncode == 0, result.stderr
    assert "bundled offline model" in result.stderr and "not a real model" in result.stderr
    rows = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    assert all(row["response"].startswith("[offline placeholder answer]") for row in rows)
    assert all(row["provenance"] == {"endpoint": "offline", "model": "offline-placeholder", "response": "model"}
               for row in rows)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["endpoint"]["offline"] is True and manifest["seeds"]["selected"] == 3

    exported = evol("export", str(out), "--format", "parquet")
    assert exported.returncode == 0, exported.stderr
    table = pq.read_table(out / "dataset.parquet")
    assert table.num_rows == len(rows)
    assert table.column("id").to_pylist() == [row["id"] for row in rows]
    # A nested column, not JSON text; its struct holds every stage any row has, null where absent.
    usage = table.column("usage").to_pylist()[0]
    assert {stage: used for stage, used in usage.items() if used is not None} == rows[0]["usage"]


def test_no_secret_reaches_the_folder(tmp_path, loopback_llm) -> None:
    seeds = many_seeds(tmp_path, 1)
    with_password = loopback_llm.base_url.replace("http://", "http://someone:pa55word@")
    refused = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--base-url", with_password)
    assert refused.returncode == 2 and "carries a user name and password" in refused.stderr
    assert "pa55word" not in refused.stderr
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "0",
                  "--base-url", loopback_llm.base_url, "--api-key", "sk-secret-123")
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "o").iterdir():
        if path.suffix in (".json", ".jsonl", ".md"):
            text = path.read_text()
            assert "sk-secret-123" not in text, path.name


def test_shards_merge_into_the_unsharded_dataset(tmp_path, loopback_llm) -> None:
    seeds = many_seeds(tmp_path, 9)
    env = {"OPENAI_BASE_URL": loopback_llm.base_url, **API}
    whole = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "whole"), "--rounds", "2", env=env)
    assert whole.returncode == 0, whole.stderr
    merged: list[str] = []
    for part in range(3):
        shard = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / f"shard{part}"), "--rounds", "2",
                     "--shard", f"{part}/3", env=env)
        assert shard.returncode == 0, shard.stderr
        merged += (tmp_path / f"shard{part}" / "dataset.jsonl").read_text().splitlines()
    whole_rows = (tmp_path / "whole" / "dataset.jsonl").read_text().splitlines()
    assert sorted(merged) == sorted(whole_rows)


def test_the_manifest_records_the_operation_weights_the_draw_used(tmp_path) -> None:
    seeds = str(EXAMPLES / "seeds" / "general.jsonl")
    default = evol("build", "--seeds", seeds, "--out", str(tmp_path / "a"), "--rounds", "1", "--limit", "1")
    assert default.returncode == 0, default.stderr
    weights = json.loads((tmp_path / "a" / "manifest.json").read_text())["config"]["operation_weights"]
    paper = {name: 1.0 for name in ("add-constraints", "deepen", "concretize", "increase-reasoning",
                                    "complicate-input", "in-breadth")}
    # An installed plugin may add operations to the general domain; they are drawn only when weighted.
    assert {name: weight for name, weight in weights.items() if name in paper} == paper
    assert all(weight == 0.0 for name, weight in weights.items() if name not in paper)
    given = evol("build", "--seeds", seeds, "--out", str(tmp_path / "b"), "--rounds", "1", "--limit", "1",
                 "--operation-weights", "deepen=0.5,in-breadth=0")
    assert given.returncode == 0, given.stderr
    weights = json.loads((tmp_path / "b" / "manifest.json").read_text())["config"]["operation_weights"]
    assert (weights["deepen"], weights["in-breadth"], weights["concretize"]) == (0.5, 0.0, 1.0)
