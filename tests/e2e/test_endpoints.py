"""Several endpoints through the real CLI: requests spread over them, one stopped mid-run is taken
out and the run goes on with the others, and the dataset is the one a single endpoint gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}


def seeds_file(tmp_path: Path, count: int) -> Path:
    return numbered_seeds(tmp_path, count, "Describe lighthouse number {i} for sailors.")


def clean_env(**values: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update(values)
    return env


def test_three_endpoints_one_stopped_mid_run_complete_identical_to_one(tmp_path, loopback_llm_factory) -> None:
    seeds = seeds_file(tmp_path, 30)
    # The endpoint's identity is part of cache keys and provenance: one --endpoint-id for both runs
    # says they serve the same model, so their datasets can be compared byte for byte.
    args = ["build", "--seeds", str(seeds), "--rounds", "2", "--concurrency", "3", "--endpoint-id", "replicas"]
    single = loopback_llm_factory(latency=0.005)
    reference = evol(*args, "--out", str(tmp_path / "one"), env={"OPENAI_BASE_URL": single.base_url, **API})
    assert reference.returncode == 0, reference.stderr

    servers = [loopback_llm_factory(latency=0.03) for _ in range(3)]
    out = tmp_path / "three"
    urls = [arg for server in servers for arg in ("--base-url", server.base_url)]
    process = subprocess.Popen([sys.executable, "-m", "evolinstruct", *args, *urls, "--out", str(out)],
                               env=clean_env(**API), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while sum(server.request_count for server in servers) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    servers[1].stop()  # one replica goes away for good, with requests in flight
    before = [server.request_count for server in servers]
    assert process.poll() is None, "the run ended before a replica could be stopped"
    stdout, stderr = process.communicate(timeout=180)

    assert process.returncode == 0, stderr
    assert "is not answering; requests wait while it is probed" in stderr
    assert (out / "failed.jsonl").read_text() == ""
    for name in ("dataset.jsonl", "eliminated.jsonl"):
        assert (out / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    assert before[1] > 0, "the stopped replica had served requests before it stopped"
    assert servers[0].request_count > before[0] and servers[2].request_count > before[2], "both survivors served requests"

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["failed"] == 0
    endpoints = {entry["url"]: entry for entry in manifest["endpoints"]}
    assert set(endpoints) == {server.base_url for server in servers}
    assert endpoints[servers[1].base_url]["outages"] == 1
    assert endpoints[servers[0].base_url]["outages"] == endpoints[servers[2].base_url]["outages"] == 0
    for server in (servers[0], servers[2]):
        entry = endpoints[server.base_url]
        assert entry["requests"] == server.request_count and entry["failures"] == 0
        assert entry["mean_latency_s"] >= 0.03
    # Every request of the reference run was answered once by some replica of this one: a request
    # that failed on the stopped replica was sent again elsewhere, nothing else twice.
    answered = {request.key for server in servers for request in server.requests if request.status == 200}
    assert answered == {request.key for request in single.requests}
