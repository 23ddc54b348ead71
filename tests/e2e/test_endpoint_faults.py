"""An endpoint that answers badly is the endpoint's fault, never a plugin bug: through the real CLI
against the loopback server, every response unreadable or every request hanging stops the build
with exit 2 when nothing ever worked, and exit 3 (resumable) when the endpoint broke mid-run."""

from __future__ import annotations

import json
import time
from pathlib import Path

from evolinstruct.testing import Rule
from tests.conftest import evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}


def build(tmp_path: Path, base_url: str, *extra: str):
    seeds = numbered_seeds(tmp_path, 8, "Describe harbour number {i} for sailors.")
    return evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "1", "--no-progress",
                "--max-attempts", "2", *extra, env={"OPENAI_BASE_URL": base_url, **API})


def assert_not_blamed_on_a_plugin(stderr: str) -> None:
    assert "Traceback" not in stderr
    flat = " ".join(stderr.split())
    assert "of plugin 'general'" not in flat and "domain 'general'" not in flat, stderr
    ending = flat[flat.rindex("evol: "):]  # how the build ended, after any warning about plugins
    assert "of plugin '" not in ending, ending


def test_every_response_unreadable_is_an_endpoint_fault_exit_2(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(malformed=True)])
    result = build(tmp_path, server.base_url)
    assert result.returncode == 2, result.stderr
    assert_not_blamed_on_a_plugin(result.stderr)
    flat = " ".join(result.stderr.split())
    assert "the endpoint never gave a usable answer" in flat
    assert "ends in /v1" in flat


def test_every_request_hanging_is_an_endpoint_fault_exit_2(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(hang=30)])
    started = time.monotonic()
    result = build(tmp_path, server.base_url, "--timeout", "1", "--concurrency", "8")
    assert result.returncode == 2, result.stderr
    assert_not_blamed_on_a_plugin(result.stderr)
    assert "the endpoint never gave a usable answer" in " ".join(result.stderr.split())
    assert time.monotonic() - started < 120


def test_an_endpoint_that_breaks_mid_run_is_a_resumable_fault_exit_3(tmp_path: Path, loopback_llm_factory) -> None:
    # The first requests are answered (the offline model behind the loopback server); from then on
    # every answer comes back unreadable.
    server = loopback_llm_factory([Rule(calls=(1, 2, 3), delay=0.01), Rule(malformed=True)])
    result = build(tmp_path, server.base_url, "--concurrency", "1")
    assert result.returncode == 3, result.stderr
    assert_not_blamed_on_a_plugin(result.stderr)
    assert "the endpoint kept failing" in " ".join(result.stderr.split())
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "partial"
    assert "the endpoint kept failing" in manifest["reason"]
    failed = [json.loads(line) for line in (tmp_path / "o" / "failed.jsonl").read_text(encoding="utf-8").splitlines()]
    assert failed and all(row["kind"] == "transient" for row in failed)


def test_a_404_from_a_base_url_without_v1_says_to_add_it(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory()
    wrong = server.base_url.removesuffix("/v1") + "/api"  # the server answers 404 for every route under /api
    result = build(tmp_path, wrong)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    flat = " ".join(result.stderr.split())
    assert "answered 404" in flat
    assert "does not end in /v1" in flat and f"try --base-url {wrong}/v1" in flat, flat
