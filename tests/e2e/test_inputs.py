"""Bad input is a clear error (exit 2, where and what, no traceback), and an output folder is
never silently replaced: through the real CLI, before any request is sent."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol, numbered_seeds

API = {"OPENAI_API_KEY": "sk-loopback"}


def seeds_file(tmp_path: Path, count: int = 3) -> Path:
    return numbered_seeds(tmp_path, count, "Name river number {i}.")


def assert_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    flat = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in flat, flat


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--temperature", "3", "--temperature (from the command line): Input should be less than or equal to 2"),
        ("--top-p", "0", "--top-p (from the command line): Input should be greater than 0"),
        ("--max-tokens", "0", "--max-tokens (from the command line): Input should be greater than or equal to 1"),
        ("--timeout", "0", "--timeout (from the command line): Input should be greater than 0"),
        ("--rounds", "-1", "--rounds (from the command line): Input should be greater than or equal to 0"),
        ("--concurrency", "0", "--concurrency (from the command line): Input should be greater than or equal to 1"),
        ("--schedule", "up,,down", "--schedule (from the command line): entries must be non-empty"),
        ("--samples", "4", "--samples is an option of domain 'math', not of 'general'"),
        ("--operation-weights", "deepen=-1", "--operation-weights (from the command line): weights must be finite numbers >= 0"),
        ("--operation-weights", "sideways=2", "--operation-weights: sideways is not an operation of domain 'general'"),
        ("--shard", "3/3", "--shard (from the command line): must be I/N with 0 <= I < N"),
        # inf and nan pass a ">= 0" check; they would fail every request or the draw instead
        ("--operation-weights", "deepen=nan", "--operation-weights (from the command line): Input should be a finite number"),
        ("--timeout", "inf", "--timeout (from the command line): Input should be a finite number"),
        ("--max-outage", "nan", "--max-outage (from the command line): Input should be a finite number"),
        ("--temperature", "nan", "--temperature (from the command line): Input should be a finite number"),
    ],
)
def test_a_bad_option_is_a_usage_error_before_anything_is_sent(tmp_path, loopback_llm, option, value, message) -> None:
    result = evol("build", "--seeds", str(seeds_file(tmp_path)), "--out", str(tmp_path / "o"), option, value,
                  env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert_usage_error(result, message)
    assert loopback_llm.request_count == 0
    assert not (tmp_path / "o").exists()


def bad_seed_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    latin = tmp_path / "latin1.jsonl"
    latin.write_bytes(b'{"instruction": "fine"}\n{"instruction": "caf\xe9"}\n')
    binary = tmp_path / "garbage.jsonl"
    binary.write_bytes(bytes(range(256)) * 4)
    zipped = tmp_path / "seeds.jsonl.gz"
    zipped.write_bytes(gzip.compress(b'{"instruction": "x"}\n'))
    fake = tmp_path / "fake.parquet"
    fake.write_text('{"instruction": "x"}\n', encoding="utf-8")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    surrogate = tmp_path / "surrogate.jsonl"
    surrogate.write_bytes(b'{"instruction": "fine"}\n{"instruction": "a\\ud800"}\n')
    deep = tmp_path / "deep.jsonl"
    deep.write_bytes(b'{"instruction": "x", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")
    return {
        "lone surrogate": (surrogate, f"{surrogate}:2: field 'instruction': not valid Unicode text: a lone surrogate"),
        "deep": (deep, f"{deep}:1: lists or objects nested too deep"),
        "not utf-8": (latin, f"{latin}:2: not UTF-8: byte 0xe9 at byte 21 of the line"),
        "binary": (binary, f"{binary}: is a binary file"),
        "gzip": (zipped, f"{zipped}: is gzip-compressed; decompress it first"),
        "json named parquet": (fake, f"{fake}: is named .parquet but is not a Parquet file (it looks like JSON)"),
        "empty": (empty, f"{empty}: holds no seed records"),
        "folder": (folder, f"{folder}: is a folder"),
    }


@pytest.mark.parametrize("case", ["not utf-8", "binary", "gzip", "json named parquet", "empty", "folder", "lone surrogate", "deep"])
def test_a_bad_seeds_file_names_itself_and_what_is_wrong(tmp_path, loopback_llm, case) -> None:
    path, message = bad_seed_files(tmp_path)[case]
    result = evol("build", "--seeds", str(path), "--out", str(tmp_path / "o"),
                  env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert_usage_error(result, message)
    assert loopback_llm.request_count == 0


def test_skip_invalid_skips_bad_lines_but_not_a_binary_file(tmp_path, loopback_llm) -> None:
    files = bad_seed_files(tmp_path)
    env = {"OPENAI_BASE_URL": loopback_llm.base_url, **API}
    skipped = evol("build", "--seeds", str(files["not utf-8"][0]), "--out", str(tmp_path / "o"), "--rounds", "0",
                   "--skip-invalid", env=env)
    assert skipped.returncode == 0, skipped.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["seeds"]["invalid"][0]["message"].startswith("not UTF-8")
    garbage = evol("build", "--seeds", str(files["binary"][0]), "--out", str(tmp_path / "o2"), "--skip-invalid", env=env)
    assert_usage_error(garbage, "is a binary file")


def test_a_rerun_with_other_settings_is_refused_and_restart_starts_over(tmp_path, loopback_llm) -> None:
    env = {"OPENAI_BASE_URL": loopback_llm.base_url, **API}
    seeds, out = seeds_file(tmp_path), tmp_path / "o"
    first = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "3", env=env)
    assert first.returncode == 0, first.stderr
    before = (out / "dataset.jsonl").read_bytes()
    again = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "3", "--concurrency", "3", env=env)
    assert again.returncode == 0, again.stderr  # resuming with another speed is fine
    other = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--temperature", "0.5", env=env)
    assert_usage_error(other, "was built with other settings", "rounds was 3, now 2", "temperature was 1.0, now 0.5", "--restart")
    assert (out / "dataset.jsonl").read_bytes() == before
    sent = loopback_llm.request_count
    restarted = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--restart", env=env)
    assert restarted.returncode == 0, restarted.stderr
    assert {json.loads(line)["round"] for line in (out / "dataset.jsonl").read_text().splitlines()} == {0, 1, 2}
    assert loopback_llm.request_count == sent  # rounds 1 and 2 were cached: nothing was paid twice


def test_a_first_build_whose_endpoint_does_not_answer_leaves_the_folder_free(tmp_path, loopback_llm) -> None:
    seeds, out = seeds_file(tmp_path), tmp_path / "o"
    wrong = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--max-attempts", "1",
                 "--max-outage", "1", env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", **API})
    assert wrong.returncode != 0 and "Traceback" not in wrong.stderr, wrong.stderr
    assert not (out / "run.json").exists()  # nothing tied the folder to the URL that never answered
    right = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                 env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert right.returncode == 0, right.stderr
    assert json.loads((out / "run.json").read_text())["state"]["endpoint"] == loopback_llm.base_url.rstrip("/")
    assert (out / "dataset.jsonl").read_text().count("\n") == len(seeds.read_text().splitlines()) * 2


def test_a_folder_built_offline_is_not_resumed_against_a_real_endpoint(tmp_path, loopback_llm) -> None:
    seeds, out = seeds_file(tmp_path), tmp_path / "o"
    offline = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1")
    assert offline.returncode == 0, offline.stderr
    real = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert_usage_error(real, "endpoint was 'offline'", "placeholder answers are never reused")
    assert loopback_llm.request_count == 0


def test_another_endpoint_is_refused_unless_named_the_same(tmp_path, loopback_llm_factory) -> None:
    first_server, second_server = loopback_llm_factory(), loopback_llm_factory()
    seeds, out = seeds_file(tmp_path), tmp_path / "o"
    first = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                 env={"OPENAI_BASE_URL": first_server.base_url, **API})
    assert first.returncode == 0, first.stderr
    moved = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                 env={"OPENAI_BASE_URL": second_server.base_url, **API})
    assert_usage_error(moved, f"endpoint was '{first_server.base_url}'", f"--endpoint-id '{first_server.base_url}'")
    same = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--endpoint-id", first_server.base_url,
                env={"OPENAI_BASE_URL": second_server.base_url, **API})
    assert same.returncode == 0, same.stderr
    assert second_server.request_count == 0  # every response came from the folder's cache


def test_a_second_build_into_the_same_folder_stops_at_once(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(latency=2.0)  # slow enough that the first build is still running
    seeds, out = seeds_file(tmp_path, 10), tmp_path / "o"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    env.update({"OPENAI_BASE_URL": server.base_url, **API})
    first = subprocess.Popen([sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds), "--out", str(out)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while server.request_count == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    second = evol("build", "--seeds", str(seeds), "--out", str(out), env={"OPENAI_BASE_URL": server.base_url, **API})
    assert_usage_error(second, "another build is writing to this folder", f"pid {first.pid}")
    first.kill()  # a killed build leaves its lock file behind...
    first.wait()
    resumed = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                   env={"OPENAI_BASE_URL": server.base_url, **API})
    assert "another build" not in resumed.stderr  # ...which the next build takes over


def test_out_under_a_file_is_a_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = evol("build", "--seeds", str(seeds_file(tmp_path)), "--out", str(blocker / "sub"))
    assert_usage_error(result, f"--out {blocker / 'sub'}: {blocker} is a file, not a folder")


def test_nothing_listening_is_said_within_seconds(tmp_path) -> None:
    started = time.monotonic()
    result = evol("build", "--seeds", str(seeds_file(tmp_path)), "--out", str(tmp_path / "o"),
                  env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", **API})
    assert_usage_error(result, "cannot connect to http://127.0.0.1:9/v1:")
    assert time.monotonic() - started < 20
    assert not (tmp_path / "o").exists()  # the endpoint is checked before the folder is made


def test_an_api_key_alone_means_the_official_endpoint_not_the_offline_model(tmp_path) -> None:
    result = evol("build", "--seeds", str(seeds_file(tmp_path)), "--out", str(tmp_path / "o"),
                  "--model", "gpt-4o-mini", env={"OPENAI_API_KEY": "sk-test"})
    assert result.returncode == 2, result.stderr
    assert "cannot connect to https://api.openai.com/v1" in result.stderr
    assert "offline" not in result.stderr


def test_an_endpoint_that_rejects_every_request_stops_with_its_own_words(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(status=400)])
    result = evol("build", "--seeds", str(seeds_file(tmp_path, 20)), "--out", str(tmp_path / "o"), "--concurrency", "1",
                  env={"OPENAI_BASE_URL": server.base_url, **API})
    assert_usage_error(result, "rejects the run's requests as invalid (400", "scripted 400 from loopback rule 0")
    assert server.request_count <= 4  # not one request per seed


def test_a_recipe_file_and_the_python_api_run_the_same_build(tmp_path, loopback_llm) -> None:
    import evolinstruct

    seeds = seeds_file(tmp_path)
    recipe = tmp_path / "run.toml"
    recipe.write_text(
        f'seeds = "{seeds.name}"\nout = "from-recipe"\nrounds = 1\ntemperature = 0.7\n'
        f'base_url = ["{loopback_llm.base_url}"]\nendpoint_id = "loopback"\n',
        encoding="utf-8",
    )
    cli = evol("build", "--config", str(recipe), "--rounds", "2", env=API)  # the command line overrides the recipe
    assert cli.returncode == 0, cli.stderr
    manifest = json.loads((tmp_path / "from-recipe" / "manifest.json").read_text())
    assert (manifest["config"]["rounds"], manifest["config"]["temperature"]) == (2, 0.7)

    summary = evolinstruct.build(seeds=seeds, out=tmp_path / "from-api", rounds=2, temperature=0.7,
                                 base_url=loopback_llm.base_url, api_key="sk-loopback", endpoint_id="loopback")
    assert (summary.status, summary.exit_code, summary.kept) == ("complete", 0, 9)
    assert (tmp_path / "from-api" / "dataset.jsonl").read_bytes() == (tmp_path / "from-recipe" / "dataset.jsonl").read_bytes()
    with pytest.raises(evolinstruct.UsageError, match="--temperature: Input should be less than or equal to 2"):
        evolinstruct.build(seeds=seeds, out=tmp_path / "bad", temperature=5)


def test_a_bad_recipe_names_the_file_and_the_key(tmp_path) -> None:
    recipe = tmp_path / "run.toml"
    recipe.write_text('seeds = "s.jsonl"\nout = "o"\nroundz = 3\n', encoding="utf-8")
    assert_usage_error(evol("build", "--config", str(recipe)), f"--roundz (from {recipe}): is not an option of evol build")
    recipe.write_text("seeds = \n", encoding="utf-8")
    assert_usage_error(evol("build", "--config", str(recipe)), f"{recipe}: not valid TOML")


def test_the_example_seeds_build_offline_with_every_row_saying_so(tmp_path) -> None:
    out = tmp_path / "o"
    result = evol("build", "--seeds", str(EXAMPLES / "seeds" / "general.jsonl"), "--out", str(out), "--rounds", "1",
                  "--limit", "2", "--model", "gpt-4o-mini")
    assert result.returncode == 0, result.stderr
    assert "--model gpt-4o-mini is not used: the offline model answers" in " ".join(result.stderr.split())
    for line in (out / "dataset.jsonl").read_text().splitlines():
        assert json.loads(line)["provenance"]["model"] == "offline-placeholder"


def test_a_dry_run_counts_the_most_it_will_send_and_sends_nothing(tmp_path, loopback_llm) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        json.dumps({"id": "a", "instruction": "Name a river.", "output": "The Nile."}) + "\n"
        + "".join(json.dumps({"id": f"s{i}", "instruction": f"Name mountain {i}."}) + "\n" for i in range(2)),
        encoding="utf-8",
    )
    out = tmp_path / "o"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--max-tokens", "100",
                  "--dry-run", "--price-in", "1", "--price-out", "2", env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("  ")}
    # 3 seeds x 2 rounds = 6 candidates: 6 rewrites, 6 equality judgements, 2 seeds + 6 candidates answered
    assert lines["evolve"][0] == "6" and lines["equality"][0] == "6" and lines["respond"][0] == "8"
    # Each stage's prompt is what it sends, the seeds being shorter than --max-tokens (100): an
    # answer request is the instruction alone, the equality judge its template and two instructions.
    from evolinstruct.builtins.rules import EQUALITY_PROMPT

    assert lines["respond"][1] == f"{8 * 100:,}"
    assert lines["equality"][1] == f"{6 * (len(EQUALITY_PROMPT.encode()) + 2 * 100):,}"
    prompt = sum(int(lines[stage][1].replace(",", "")) for stage in ("evolve", "equality", "respond"))
    assert lines["total"] == [f"{20:,}", f"{prompt:,}", f"{20 * 100:,}"]
    cost = (prompt * 1 + 20 * 100 * 2) / 1e6
    assert f"cost at most: {cost:,.2f}" in result.stdout
    assert loopback_llm.request_count == 0 and not out.exists()
    # The difficulty judge rates every sample that is scored: the 3 seeds and the 6 candidates.
    rated = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--max-tokens", "100",
                 "--dry-run", "--difficulty", env={"OPENAI_BASE_URL": loopback_llm.base_url, **API})
    assert rated.returncode == 0, rated.stderr
    lines = {line.split()[0]: line.split()[1:] for line in rated.stdout.splitlines() if line.startswith("  ")}
    assert lines["difficulty"][0] == "9" and "not counted" not in rated.stdout


def test_a_dry_run_says_when_the_folder_would_refuse_the_command(tmp_path, loopback_llm) -> None:
    env = {"OPENAI_BASE_URL": loopback_llm.base_url, **API}
    seeds, out = seeds_file(tmp_path), tmp_path / "o"
    built = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", env=env)
    assert built.returncode == 0, built.stderr
    sent = loopback_llm.request_count
    dry = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "2", "--dry-run", env=env)
    assert_usage_error(dry, "was built with other settings", "rounds was 1, now 2")
    same = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--dry-run", env=env)
    assert same.returncode == 0, same.stderr
    assert loopback_llm.request_count == sent
