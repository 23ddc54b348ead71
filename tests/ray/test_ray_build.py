"""``evol build --ray`` through the real CLI on a real (local) Ray cluster, against loopback LLM
servers: the same bytes as one process, a worker killed mid-run, and what a cluster cannot do."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol, numbered_seeds
from tests.core.test_plugins import make_distribution

pytestmark = pytest.mark.slow

API = {"OPENAI_API_KEY": "sk-loopback"}
ROW_FILES = ("dataset.jsonl", "eliminated.jsonl", "failed.jsonl")
# Decided by the request's content, never by arrival order, so one process and a cluster meet
# the same rules: the equality judge finds no gain in the rewrites of harbours ...3 and ...7.
NO_GAIN = Rule(contains="Not Equal", pattern=r"harbour number \d*[37]\b", reply="Equal")


def seeds_file(tmp_path: Path, count: int) -> Path:
    return numbered_seeds(tmp_path, count, "Describe harbour number {i} for sailors.")


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def assert_same_rows(one: Path, other: Path) -> None:
    for name in ROW_FILES:
        assert (other / name).read_bytes() == (one / name).read_bytes(), name


def test_a_build_on_a_cluster_writes_the_bytes_and_counts_of_one_process(tmp_path, loopback_llm_factory, ray_cluster) -> None:
    server = loopback_llm_factory([NO_GAIN], latency=0.005)
    env = {"OPENAI_BASE_URL": server.base_url, **API}
    args = ["build", "--seeds", str(seeds_file(tmp_path, 25)), "--rounds", "2", "--concurrency", "6", "--no-progress"]
    one = evol(*args, "--out", str(tmp_path / "one"), env=env)
    assert one.returncode == 0, one.stderr
    sent_by_one = server.request_count

    out = tmp_path / "cluster"
    cluster = evol(*args, "--out", str(out), "--ray", ray_cluster, env=env)
    assert cluster.returncode == 0, cluster.stderr
    assert_same_rows(tmp_path / "one", out)
    assert (out / "eliminated.jsonl").read_text() != ""
    assert manifest(out)["counts"] == manifest(tmp_path / "one")["counts"]
    assert server.request_count == 2 * sent_by_one  # every request once, as in one process

    section = manifest(out)["ray"]
    assert section["address"] == ray_cluster and section["shards"] == 3
    assert [shard["seeds"] for shard in section["per_shard"]] == [9, 8, 8]
    assert [shard["concurrency"] for shard in section["per_shard"]] == [2, 2, 2]  # within --concurrency
    assert all(shard["status"] == "complete" and len(shard["attempts"]) == 1 for shard in section["per_shard"])
    [node] = section["nodes"]
    assert node["shards"] == [1, 2, 3] and node["lineages"] == 25 and node["attempts_lost"] == 0
    assert node["kept"] == manifest(out)["counts"]["kept"]
    assert node["requests"]["sent"] == manifest(out)["requests"]["sent"] == sent_by_one
    assert [entry["requests"] for entry in manifest(out)["endpoints"]] == [sent_by_one]
    assert re.search(r"shard 1 of 3 started on \S+ \([\d.]+\), pid \d+", cluster.stderr)
    assert not (out / ".ray").exists()  # the shards' caches are in cache.sqlite now

    # Run again, on the cluster or not: everything comes from the folder's cache.
    for again in (["--ray", ray_cluster], []):
        rerun = evol(*args, "--out", str(out), *again, env=env)
        assert rerun.returncode == 0, rerun.stderr
        assert_same_rows(tmp_path / "one", out)
        assert server.request_count == 2 * sent_by_one, f"a rerun {again} sent requests again"
    assert manifest(out)["requests"]["from_cache"] == sent_by_one


def test_a_shard_of_the_user_s_shard_and_failed_samples_are_as_in_one_process(tmp_path, loopback_llm_factory, ray_cluster) -> None:
    # The rewrites of harbours 9 and 15 always fail: failed rows, lineages stopped, exit code 3.
    fail = Rule(contains="#Original Instruction#", pattern=r"harbour number (9|15)\b", status=500)
    server = loopback_llm_factory([fail, NO_GAIN], latency=0.005)
    env = {"OPENAI_BASE_URL": server.base_url, **API}
    args = ["build", "--seeds", str(seeds_file(tmp_path, 40)), "--rounds", "2", "--shard", "1/2", "--limit", "33",
            "--max-attempts", "2", "--concurrency", "5", "--no-progress"]
    one = evol(*args, "--out", str(tmp_path / "one"), env=env)
    cluster = evol(*args, "--out", str(tmp_path / "cluster"), "--ray", ray_cluster, env=env)
    assert one.returncode == cluster.returncode == 3, cluster.stderr
    for name in ("dataset.jsonl", "eliminated.jsonl"):
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    # The same failures; their errors quote the server, which numbers its requests as they come.
    failed, expected = ([re.sub(r"\(request \d+\)", "", line) for line in (tmp_path / folder / "failed.jsonl").read_text().splitlines()]
                        for folder in ("cluster", "one"))
    assert failed == expected and [json.loads(line)["seed_id"] for line in failed] == ["s9", "s15"]
    counts = manifest(tmp_path / "cluster")["counts"]
    assert counts == manifest(tmp_path / "one")["counts"] and counts["seeds"] == 16 and counts["lineages_written"] == 16
    assert manifest(tmp_path / "cluster")["status"] == "partial"


def test_a_worker_killed_mid_run_is_run_again_and_the_build_is_the_same(tmp_path, loopback_llm_factory, ray_cluster) -> None:
    seeds = seeds_file(tmp_path, 45)
    args = ["build", "--seeds", str(seeds), "--rounds", "3", "--concurrency", "6", "--endpoint-id", "loopback",
            "--no-progress"]
    reference = loopback_llm_factory([NO_GAIN], latency=0.005)
    one = evol(*args, "--out", str(tmp_path / "one"), env={"OPENAI_BASE_URL": reference.base_url, **API})
    assert one.returncode == 0, one.stderr

    server = loopback_llm_factory([NO_GAIN], latency=0.05)
    out = tmp_path / "cluster"
    log = tmp_path / "stderr.txt"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, **API})
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "evolinstruct", *args, "--out", str(out), "--ray", ray_cluster],
                                   env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 120
        victim = None
        while time.monotonic() < deadline and (victim is None or server.request_count < 60):
            found = re.search(r"shard 2 of 3 started on .*, pid (\d+)", log.read_text())
            victim = int(found.group(1)) if found else None
            time.sleep(0.02)
        assert victim is not None and process.poll() is None, log.read_text()
        at_kill = server.request_count
        os.kill(victim, signal.SIGKILL)  # the worker running shard 2, mid-run
        assert process.wait(timeout=180) == 0, log.read_text()
    stderr_text = log.read_text()
    assert "shard 2 of 3 runs again on" in stderr_text and f"pid {victim} ended without finishing" in stderr_text
    assert_same_rows(tmp_path / "one", out)
    assert manifest(out)["counts"] == manifest(tmp_path / "one")["counts"]
    section = manifest(out)["ray"]
    attempts = [len(shard["attempts"]) for shard in section["per_shard"]]
    assert attempts == [1, 2, 1] and section["per_shard"][1]["attempts"][0]["pid"] == victim
    assert section["nodes"][0]["attempts_lost"] == 1
    # Shard 2 ran again from its own cache: only what it had in flight when killed (at most its
    # two requests) was sent twice.
    assert at_kill < reference.request_count, "the build was over before the kill"
    twice = [key for key, times in Counter(r.key for r in server.requests if r.status == 200).items() if times > 1]
    assert len(twice) <= 2, twice
    assert {r.key for r in server.requests} == {r.key for r in reference.requests}


def test_a_node_without_docker_is_a_clear_error_for_the_code_domain(tmp_path) -> None:
    """A new local cluster (``--ray local``) whose workers, like the driver, find no Docker engine."""
    out = tmp_path / "code"
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = evol("build", "--domain", "code", "--seeds", str(EXAMPLES / "seeds" / "code_mbpp.jsonl"), "--out", str(out),
                  "--rounds", "1", "--limit", "2", "--no-progress", "--ray", "local", env=env, timeout=300)
    alone = evol("build", "--domain", "code", "--seeds", str(EXAMPLES / "seeds" / "code_mbpp.jsonl"),
                 "--out", str(tmp_path / "alone"), "--rounds", "1", "--limit", "2", "--no-progress", env=env)
    assert result.returncode == alone.returncode == 2, result.stderr
    message = "the code domain runs every answer in the Docker sandbox, which is not available"
    assert message in alone.stderr
    # Ended as the build in one process ends: refused (exit 2), the shard's node named.
    found = re.search(r"evol: refused: shard \d of \d on (\S+): (.*)", result.stderr)
    assert found and message in found.group(2), result.stderr
    assert "Traceback" not in result.stderr
    assert manifest(out)["status"] == manifest(tmp_path / "alone")["status"] == "refused"
    assert message in manifest(out)["reason"]


def test_an_endpoint_that_never_answers_usably_ends_a_cluster_build_as_one_process(tmp_path, loopback_llm_factory, ray_cluster) -> None:
    # Every answer unreadable: each shard's build stops after five samples in a row, as one
    # process does, and so does the cluster's: refused, exit 2, not a partial build to resume.
    server = loopback_llm_factory([Rule(malformed=True)])
    env = {"OPENAI_BASE_URL": server.base_url, **API}
    args = ["build", "--seeds", str(seeds_file(tmp_path, 18)), "--rounds", "1", "--max-attempts", "2",
            "--concurrency", "3", "--no-progress"]
    one = evol(*args, "--out", str(tmp_path / "one"), env=env)
    cluster = evol(*args, "--out", str(tmp_path / "cluster"), "--ray", ray_cluster, env=env)
    assert one.returncode == cluster.returncode == 2, cluster.stderr
    message = "the endpoint never gave a usable answer"
    assert manifest(tmp_path / "one")["status"] == manifest(tmp_path / "cluster")["status"] == "refused"
    assert message in manifest(tmp_path / "one")["reason"]
    assert re.match(rf"shard \d of 3 on \S+: {message}", manifest(tmp_path / "cluster")["reason"])
    assert re.search(rf"evol: refused: shard \d of 3 on \S+: {message}", cluster.stderr), cluster.stderr
    assert "Traceback" not in cluster.stderr


def test_a_node_without_the_driver_s_plugins_refuses_the_run(tmp_path, loopback_llm_factory, ray_cluster) -> None:
    # A plugin the driver imports from its PYTHONPATH, which the cluster's workers do not have:
    # every shard finds other plugins than the driver's, a usage error (exit 2) found in a shard.
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    make_distribution(plugins, "evol-harbour-notes", "evol_harbour_notes", '"""Registers nothing."""\n')
    server = loopback_llm_factory([NO_GAIN])
    path = os.pathsep.join(filter(None, [str(plugins), os.environ.get("PYTHONPATH")]))
    env = {"OPENAI_BASE_URL": server.base_url, "PYTHONPATH": path, **API}
    out = tmp_path / "cluster"
    result = evol("build", "--seeds", str(seeds_file(tmp_path, 6)), "--out", str(out), "--rounds", "1",
                  "--no-progress", "--ray", ray_cluster, env=env)
    assert result.returncode == 2, result.stderr
    message = "this node has other versions of evolinstruct or its plugins (evol_harbour_notes missing here, 1.2.3 on the driver)"
    assert re.search(rf"evol: refused: shard \d of 3 on \S+: {re.escape(message)}", result.stderr), result.stderr
    assert manifest(out)["status"] == "refused" and message in manifest(out)["reason"]
    assert "Traceback" not in result.stderr
    assert server.request_count == 0  # no shard started its run


def test_a_plugin_that_cannot_load_on_a_node_refuses_the_run_under_strict_plugins(tmp_path, loopback_llm_factory, ray_cluster) -> None:
    # The plugin is on every node (Ray puts the driver's working folder on its workers' path) but
    # imports only where its setting is, the driver: under EVOL_STRICT_PLUGINS each shard's
    # build stops preparing with a plugin error (exit 2), a usage error found in a shard.
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    make_distribution(plugins, "evol-harbour-notes", "evol_harbour_notes", """
        import os
        if "HARBOUR_NOTES_READY" not in os.environ:
            raise ImportError("HARBOUR_NOTES_READY is not set")
    """)
    server = loopback_llm_factory([NO_GAIN])
    env = {"OPENAI_BASE_URL": server.base_url, "HARBOUR_NOTES_READY": "1", "EVOL_STRICT_PLUGINS": "1", **API}
    out = tmp_path / "cluster"
    result = evol("build", "--seeds", str(seeds_file(tmp_path, 6)), "--out", str(out), "--rounds", "1",
                  "--no-progress", "--ray", ray_cluster, env=env, cwd=plugins)
    assert result.returncode == 2, result.stderr
    message = "plugin 'evol_harbour_notes'"
    found = re.search(r"evol: refused: shard \d of 3 on \S+: (.*)", result.stderr)
    assert found and message in found.group(1) and "HARBOUR_NOTES_READY is not set" in found.group(1), result.stderr
    assert manifest(out)["status"] == "refused" and message in manifest(out)["reason"]
    assert "Traceback" not in result.stderr
    assert server.request_count == 0  # no shard started its run


def test_without_ray_installed_the_option_says_how_to_install_it(tmp_path) -> None:
    code = ("import sys; sys.modules['ray'] = None; from evolinstruct.app.cli import main; "
            f"sys.argv = ['evol', 'build', '--seeds', {str(seeds_file(tmp_path, 2))!r}, '--out', {str(tmp_path / 'o')!r}, '--ray']; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert '--ray (from the command line): needs Ray, an optional extra: pip install "evolinstruct[ray]"' in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "o").exists()


def test_a_cluster_address_where_nothing_listens_is_a_clear_error_within_seconds(tmp_path) -> None:
    started = time.monotonic()
    result = evol("build", "--seeds", str(seeds_file(tmp_path, 2)), "--out", str(tmp_path / "o"), "--rounds", "1",
                  "--no-progress", "--ray", "127.0.0.1:9", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "--ray: cannot reach the Ray cluster at 127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
