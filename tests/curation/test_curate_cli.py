"""``evol curate`` end to end, through the real CLI, on rows built from tests/data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evolinstruct.app.curate.curate import CurationSettings, curate
from evolinstruct import row_rule
from evolinstruct.testing import Rule

from ..conftest import evol, read_jsonl


def make_row(id_, instruction, response="An answer.", round_=0, operation="seed", **extra):
    return {
        "id": id_, "seed_id": id_, "parent_id": None, "round": round_, "operation": operation,
        "domain": "general", "instruction": instruction, "response": response,
        "fields": {}, "scores": {}, "checks": {}, "usage": {}, **extra,
    }


def write_dataset(folder: Path, rows) -> list[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    # The build's own layout (", " and ": " separators, non-ASCII kept).
    lines = [json.dumps(r, ensure_ascii=False, separators=(", ", ": ")).encode() + b"\n" for r in rows]
    (folder / "dataset.jsonl").write_bytes(b"".join(lines))
    return lines


def outputs(folder: Path):
    curated = folder / "curated"
    kept = (curated / "dataset.jsonl").read_bytes().splitlines(keepends=True)
    removed = (curated / "removed.jsonl").read_bytes().splitlines(keepends=True)
    report = json.loads((curated / "curation.json").read_text())
    return kept, removed, report


def assert_nothing_lost(lines, kept, removed):
    """Every input row is in exactly one file: kept rows byte for byte and in order, removed rows
    byte for byte but for the removal added at their end."""
    stripped = []
    for line in removed:
        body, _, removal = line.rpartition(b', "removal": ')
        assert removal.endswith(b"}}\n")
        stripped.append(body + b"}\n")
    assert sorted(kept + stripped) == sorted(lines)
    assert kept == [line for line in lines if line in kept]
    assert len(kept) + len(removed) == len(lines)


def planted_dataset() -> tuple[list[dict], int]:
    tasks = read_jsonl("code_tasks.jsonl")
    train = read_jsonl("gsm8k_train_first400.jsonl.gz")
    test = read_jsonl("gsm8k_test.jsonl.gz")
    humaneval = read_jsonl("HumanEval.jsonl.gz")
    mbpp = {r["task_id"]: r for r in read_jsonl("mbpp.jsonl.gz")}
    clean = [make_row(f"task-{i}", tasks[i]["instruction"], tasks[i]["output"]) for i in range(30)]
    clean += [make_row(f"train-{i}", train[i]["question"], train[i]["answer"]) for i in range(100, 130)]
    original = tasks[1]["instruction"]
    longest = max(range(100, 130), key=lambda i: len(train[i]["question"].split()))
    question = train[longest]["question"]
    assert len(question.split()) >= 40  # one word in 40 changed: Jaccard about 0.9
    words = question.split(" ")
    words[len(words) // 2] = "marvellous"
    janet = test[0]["question"]
    planted = [
        # an exact duplicate of a seed, from a later round, placed before it in the file
        make_row("evolved-copy", original.upper().rstrip(".") + " !", round_=2, operation="in-breadth"),
        *clean,
        # an exact duplicate in the same round, after the original
        make_row("same-round-copy", "  " + original.lower() + "  "),
        make_row("near-copy", " ".join(words), round_=1, operation="deepen"),
        make_row("verbatim", janet),
        make_row("edited", janet.replace("Janet’s ducks lay", "The ducks of Janet lay").replace("every morning", "each day")),
        make_row("renumbered", re.sub(r"\d+", lambda m: str(int(m.group()) + 7), janet)),
        make_row("embedded", f"Read the task and answer in Spanish.\n\n{humaneval[3]['prompt']}\n\nExplain your code."),
        make_row("short-item", f"{mbpp[17]['text']} Then test it."),
        make_row("in-response", "Summarise the problem below.", f"The problem: {test[10]['question']}"),
    ]
    return planted, longest


def test_planted_duplicates_and_contamination_are_removed_and_no_row_is_lost(tmp_path):
    folder = tmp_path / "build"
    rows, longest = planted_dataset()
    lines = write_dataset(folder, rows)
    result = evol("curate", str(folder), "--no-progress")
    assert result.returncode == 0, result.stderr
    kept, removed, report = outputs(folder)
    assert_nothing_lost(lines, kept, removed)

    removals = {json.loads(line)["id"]: json.loads(line)["removal"] for line in removed}
    assert {key: (value["rule"], value["of"]) for key, value in removals.items()} == {
        # the seed (round 0) is kept over the earlier line from round 2
        "evolved-copy": ("exact-duplicate", "task-1"),
        "same-round-copy": ("exact-duplicate", "task-1"),
        "near-copy": ("near-duplicate", f"train-{longest}"),
        "verbatim": ("contamination", "gsm8k:0"),
        "edited": ("contamination", "gsm8k:0"),
        "renumbered": ("contamination", "gsm8k:0"),
        "embedded": ("contamination", "humaneval:HumanEval/3"),
        "short-item": ("contamination", "mbpp:17"),
        "in-response": ("contamination", "gsm8k:10"),
    }
    assert "Jaccard similarity" in removals["near-copy"]["reason"]
    assert report["rows"] == len(lines) and report["kept"] == len(kept) == 60
    assert report["removed_per_rule"] == {"contamination": 6, "exact-duplicate": 2, "near-duplicate": 1}
    assert {b["name"] for b in report["benchmarks"]} == {"humaneval", "mbpp", "gsm8k", "math500"}
    assert all(len(b["sha256"]) == 64 and b["items"] > 0 for b in report["benchmarks"])
    assert report["per_round"]["2"] == {**report["per_round"]["2"], "rows": 1, "kept": 0}
    assert set(report["per_operation"]) == {"seed", "in-breadth", "deepen"}
    assert "exact-duplicate" in result.stdout and "per round" in result.stdout


def test_against_one_benchmark_and_a_user_file(tmp_path):
    folder = tmp_path / "build"
    test = read_jsonl("gsm8k_test.jsonl.gz")
    rows = [
        make_row("gsm", test[0]["question"]),
        make_row("mine", "Our private exam: a train leaves the station at 9 and travels 120 km at 60 km per hour; when does it arrive?"),
        make_row("clean", "Write a haiku about autumn leaves falling on a quiet pond."),
    ]
    write_dataset(folder, rows)
    bench = tmp_path / "exam.jsonl"
    bench.write_text(json.dumps({"id": 7, "problem": "A train leaves the station at 8 and travels 200 km at 50 km per hour; when does it arrive?"}) + "\n")
    result = evol("curate", str(folder), "--against", str(bench), "--no-progress")
    assert result.returncode == 0, result.stderr
    _, removed, report = outputs(folder)
    assert [(json.loads(l)["id"], json.loads(l)["removal"]["of"]) for l in removed] == [("mine", "exam:7")]
    assert [b["name"] for b in report["benchmarks"]] == ["exam"]

    missing = evol("curate", str(folder), "--against", "nosuchbench", "--no-progress")
    assert missing.returncode == 2 and "nosuchbench" in missing.stderr and "Traceback" not in missing.stderr


def test_budget_keeps_the_best_and_skips_rows_too_similar_to_those_chosen(tmp_path):
    folder = tmp_path / "build"
    tasks = read_jsonl("code_tasks.jsonl")
    base = tasks[30]["instruction"].rstrip(".")
    rows = [make_row(f"r{i}", tasks[31 + i]["instruction"], scores={"reward": i / 10}) for i in range(8)]
    rows.append(make_row("best", base, scores={"reward": 0.99}))
    # 2-shingle Jaccard with "best" between the budget's 0.5 and the near-duplicate 0.85
    rows.append(make_row("close-to-best", base + " and explain each step of the solution", scores={"reward": 0.98}))
    rows.append(make_row("unscored", tasks[39]["instruction"]))
    lines = write_dataset(folder, rows)
    result = evol("curate", str(folder), "--budget", "3", "--by", "reward", "--skip", "contamination", "--no-progress")
    assert result.returncode == 0, result.stderr
    kept, removed, report = outputs(folder)
    assert_nothing_lost(lines, kept, removed)
    assert [json.loads(line)["id"] for line in kept] == ["r6", "r7", "best"]
    removals = {json.loads(line)["id"]: json.loads(line)["removal"] for line in removed}
    assert removals["close-to-best"]["rule"] == "budget" and removals["close-to-best"]["of"] == "best"
    assert all(r["rule"] == "budget" for r in removals.values())
    assert "its reward: none" in removals["unscored"]["reason"]
    assert report["budget"] == {"chosen": 3, "chosen_without_score": 0, "too_similar": 1, "over_budget": 7}

    no_score = evol("curate", str(folder), "--budget", "3", "--by", "nosuchscore", "--no-progress")
    assert no_score.returncode == 2 and "scores.nosuchscore" in no_score.stderr


@pytest.mark.parametrize(
    "bad, where",
    [
        ('{"id": "a", "instruction": "", "response": "x"}', "dataset.jsonl:3: field 'instruction'"),
        ('{"id": "a", "instruction": "hi"}', "dataset.jsonl:3: field 'response'"),
        ('{"id": "b", "instruction": "hi", "response": "x", "round": "two"}', "dataset.jsonl:3: field 'round'"),
        ('{"id": "first", "instruction": "hi", "response": "x"}', "dataset.jsonl:3: field 'id': 'first' is also the id of line 1"),
        ('{"id": "c", "instruction": "hi", "response": "x"', "dataset.jsonl:3: not valid JSON"),
    ],
)
def test_a_bad_row_stops_the_command_naming_file_line_and_field(tmp_path, bad, where):
    folder = tmp_path / "build"
    folder.mkdir()
    good = [json.dumps(make_row("first", "Write a limerick about a cat.")), ""]
    (folder / "dataset.jsonl").write_text("\n".join(good + [bad]) + "\n")
    result = evol("curate", str(folder), "--no-progress")
    assert result.returncode == 2
    assert where in result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "curated" / "dataset.jsonl").exists()


DIFFICULTY_RULES = (
    Rule(contains="haiku", reply="Difficulty: 2"),
    Rule(contains="proof", reply="**Difficulty: 8**"),
    Rule(contains="compiler", reply="Difficulty: 9"),
    Rule(contains="mystery", reply="Hard to say; it depends on the reader."),
)


@pytest.mark.loopback_llm(*DIFFICULTY_RULES)
def test_difficulty_is_judged_through_the_cache_and_summarised_per_round(tmp_path, loopback_llm, loopback_llm_env):
    folder = tmp_path / "build"
    rows = [
        make_row("s1", "Write a haiku about rain."),
        make_row("s2", "Write a mystery story opening."),
        make_row("e1", "Write a proof that the square root of two is irrational.", round_=1, operation="deepen"),
        make_row("e2", "Design a compiler pass that removes dead stores in SSA form.", round_=1, operation="deepen"),
        make_row("e3", "Write a haiku about rain in winter.", round_=1, operation="concretize", scores={"difficulty": 5}),
    ]
    write_dataset(folder, rows)
    args = ("curate", str(folder), "--difficulty", "--skip", "near-duplicate", "--no-progress")
    result = evol(*args, env=loopback_llm_env)
    assert result.returncode == 0, result.stderr
    ratings = [json.loads(line) for line in (folder / "curated" / "difficulty.jsonl").read_text().splitlines()]
    # the unreadable reply is null, and a row that already had a score keeps it without a request
    assert ratings == [
        {"id": "s1", "difficulty": 2}, {"id": "s2", "difficulty": None}, {"id": "e1", "difficulty": 8},
        {"id": "e2", "difficulty": 9}, {"id": "e3", "difficulty": 5},
    ]
    assert loopback_llm.request_count == 4
    report = json.loads((folder / "curated" / "curation.json").read_text())
    assert report["per_round"]["0"]["mean_difficulty"] == 2.0 and report["per_round"]["0"]["rated"] == 1
    assert report["per_round"]["1"]["mean_difficulty"] == pytest.approx((8 + 9 + 5) / 3, abs=1e-3)
    assert report["per_operation"]["deepen"]["mean_difficulty"] == 8.5
    assert report["difficulty"]["unreadable"] == 1 and report["difficulty"]["sent"] == 4
    body = loopback_llm.requests[0].body
    assert body["temperature"] == 0.0 and body["max_tokens"] == 64

    # Again, with a budget by difficulty: every answer comes from DIR/cache.sqlite.
    again = evol(*args, "--budget", "2", env=loopback_llm_env)
    assert again.returncode == 0, again.stderr
    assert loopback_llm.request_count == 4
    kept, _, report = outputs(folder)
    assert [json.loads(line)["id"] for line in kept] == ["e1", "e2"]
    assert report["difficulty"]["from_cache"] == 4 and report["difficulty"]["sent"] == 0


def test_difficulty_against_an_endpoint_that_is_not_there_stops_at_once(tmp_path):
    folder = tmp_path / "build"
    write_dataset(folder, [make_row("a", "Write a haiku.")])
    result = evol("curate", str(folder), "--difficulty", "--no-progress",
                  env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode == 2 and "cannot connect to http://127.0.0.1:9/v1" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (folder / "curated").exists()


def test_difficulty_requests_the_endpoint_rejects_are_missing_ratings_then_stop(tmp_path, loopback_llm_factory):
    server = loopback_llm_factory([Rule(status=400)])
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
    one = tmp_path / "one"
    write_dataset(one, [make_row("a", "Write a haiku.")])
    result = evol("curate", str(one), "--difficulty", "--no-progress", env=env)
    assert result.returncode == 0, result.stderr  # one rejected request: that row has no rating
    ratings = [json.loads(line) for line in (one / "curated" / "difficulty.jsonl").read_text().splitlines()]
    assert ratings == [{"id": "a", "difficulty": None}]
    many = tmp_path / "many"
    write_dataset(many, [make_row(f"r{i}", f"Write a haiku about the number {i}.") for i in range(6)])
    stopped = evol("curate", str(many), "--difficulty", "--no-progress", "--concurrency", "1", env=env)
    assert stopped.returncode == 2 and "rejects the run's requests as invalid (400" in stopped.stderr, stopped.stderr
    assert "Traceback" not in stopped.stderr


def test_difficulty_needs_an_endpoint(tmp_path):
    folder = tmp_path / "build"
    write_dataset(folder, [make_row("a", "Write a haiku.")])
    result = evol("curate", str(folder), "--difficulty", "--no-progress")
    assert result.returncode == 2 and "--base-url" in result.stderr


def test_a_plugin_rule_runs_before_the_built_in_ones(tmp_path):
    folder = tmp_path / "build"
    passing = {"execution": {"verdict": "PASS"}}
    failing = {"execution": {"verdict": "FAIL"}}
    rows = [
        make_row("fails", "Write a function that reverses a string.", domain="code", checks=failing),
        make_row("passes", "Write a function that reverses a string!", domain="code", checks=passing),
    ]
    lines = write_dataset(folder, rows)
    require_pass = row_rule(
        "require-pass",
        "code samples whose execution verdict is not PASS",
        ("checks",),
        lambda values: None if values["checks"]["execution"]["verdict"] == "PASS" else "does not pass its tests",
        domains=("code",),
    )
    report = curate(folder, CurationSettings(skip=("contamination",)), rules=[require_pass])
    kept, removed, _ = outputs(folder)
    assert_nothing_lost(lines, kept, removed)
    # Without the plugin rule first, the failing row (earlier in the file) would have been kept
    # as the exact duplicate's twin.
    assert [json.loads(line)["id"] for line in kept] == ["passes"]
    assert report.removed_per_rule == {"require-pass": 1, "exact-duplicate": 0, "near-duplicate": 0}
