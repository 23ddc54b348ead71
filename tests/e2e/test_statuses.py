"""How a build ends against an endpoint that cannot serve it: checked before anything is made,
and a status that says what the exit code says (README, Exit codes)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from evolinstruct.testing import Rule
from tests.conftest import evol, numbered_seeds


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_endpoint_creates_nothing_and_prints_no_round_table(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Describe lake number {i}.")
    out = tmp_path / "nested" / "out"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                  env={"OPENAI_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1", "OPENAI_API_KEY": "sk-x"})
    assert result.returncode == 2, result.stderr
    assert "cannot connect to" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not out.parent.exists()  # no dataset, card, manifest nor folder
    assert "evol build:" not in result.stderr  # no all-zero round table before the error


def test_an_endpoint_that_never_answers_usably_is_refused_with_exit_2_not_aborted(
    tmp_path: Path, loopback_llm_factory,
) -> None:
    server = loopback_llm_factory([Rule(malformed=True)])
    seeds = numbered_seeds(tmp_path, 8, "Describe river number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "1", "--no-progress",
                  "--max-attempts", "2", env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode == 2, result.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    # README, Exit codes: aborted is exit 4 (a bug); exit 2 is a refusal.
    assert manifest["status"] == "refused", manifest["status"]
    assert "evol: refused:" in result.stderr


def test_seeds_only_in_failed_jsonl_are_not_finished(tmp_path: Path, loopback_llm_factory) -> None:
    # Every chat request is refused as invalid (400): each seed's only record is in failed.jsonl.
    server = loopback_llm_factory([Rule(status=400)])
    seeds = numbered_seeds(tmp_path, 4, "Describe pond number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "1", "--no-progress",
                  "--max-attempts", "2", env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode in (2, 3), result.stderr
    flat = " ".join(result.stderr.split())
    assert "4 of 4 seeds" not in flat, flat
    failed = (tmp_path / "o" / "failed.jsonl").read_text(encoding="utf-8").splitlines()
    assert failed and not (tmp_path / "o" / "dataset.jsonl").read_text(encoding="utf-8").strip()
    assert "0 of 4 seeds finished" in flat, flat


def test_an_always_400_run_counts_what_the_endpoint_received_and_what_failed(
    tmp_path: Path, loopback_llm_factory,
) -> None:
    server = loopback_llm_factory([Rule(status=400)])
    seeds = numbered_seeds(tmp_path, 4, "Describe well number {i}.")
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--rounds", "1", "--no-progress",
                  "--max-attempts", "2", env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode in (2, 3), result.stderr
    requests = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))["requests"]
    assert requests["sent"] == server.request_count > 0, (requests, server.request_count)
    # Every request the endpoint received was refused: none of them succeeded.
    assert requests["failed"] == server.request_count, requests
