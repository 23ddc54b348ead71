"""The evolution loop against the loopback LLM server over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import evolinstruct
from evolinstruct.builtins.general import OPERATIONS
from evolinstruct.runtime.engine import operations_per_round
from evolinstruct.testing import Rule

EVOLVE = "#Original Instruction#"
ANSWER_REQUEST = r"(?s)^(?!.*#Original Instruction#)(?!.*Not Equal)"


def seeds_file(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def build(tmp_path: Path, server: Any, seeds: Path, name: str = "out", **overrides: Any) -> tuple[int, Path]:
    out = tmp_path / name
    settings: dict[str, Any] = dict(
        domain="general", seeds=seeds, out=out, rounds=3, base_url=server.base_url,
        api_key="sk-test", model="m", progress=False, max_attempts=2, concurrency=8,
    )
    settings.update(overrides)
    summary = evolinstruct.build(**settings)
    return int(summary.exit_code), out


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_equal_verdict_eliminates_and_the_parent_is_evolved_again(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="Not Equal", reply=("Equal", "Not Equal"))])
    code, out = build(tmp_path, server, seeds_file(tmp_path, [{"id": "s", "instruction": "Name a river.", "output": "Nile."}]))
    assert code == 0
    kept = rows(out / "dataset.jsonl")
    eliminated = rows(out / "eliminated.jsonl")
    assert [row["id"] for row in eliminated] == ["s/r1", "s/r3"]
    assert eliminated[0]["elimination"]["filter"] == "equality"
    assert [(row["id"], row["parent_id"]) for row in kept] == [("s", None), ("s/r2", "s")]
    # The seed's own output is its response: no request was spent on it.
    assert kept[0]["response"] == "Nile." and "respond" not in kept[0]["usage"]
    assert kept[1]["usage"]["equality"]["requests"] == 1
    assert kept[1]["instruction"] != "Name a river." and kept[1]["operation"] != "seed"


def test_refusals_and_template_leaks_are_eliminated_with_their_reasons(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(
        [
            Rule(pattern=ANSWER_REQUEST, reply="I'm sorry, but I can't help with that."),
            Rule(contains="Cairo", reply="#Rewritten Instruction#: Rewrite the given prompt about Cairo."),
        ]
    )
    seeds = seeds_file(
        tmp_path,
        [
            {"id": "a", "instruction": "Describe Cairo.", "output": "A city."},
            {"id": "b", "instruction": "Describe Lima.", "output": "A city."},
        ],
    )
    code, out = build(tmp_path, server, seeds, rounds=2)
    assert code == 0
    by_seed: dict[str, set[str]] = {}
    for row in rows(out / "eliminated.jsonl"):
        by_seed.setdefault(row["seed_id"], set()).add(row["elimination"]["filter"])
    assert by_seed == {"a": {"template-leak"}, "b": {"sorry-short"}}
    assert [row["id"] for row in rows(out / "dataset.jsonl")] == ["a", "b"]


def test_a_sample_whose_requests_keep_failing_is_recorded_and_its_lineage_stops(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(pattern=ANSWER_REQUEST, status=500)])
    seeds = seeds_file(tmp_path, [{"id": "x", "instruction": "Explain tides.", "output": "The moon."}])
    code, out = build(tmp_path, server, seeds)
    assert code == 3
    failed = rows(out / "failed.jsonl")
    assert [(row["id"], row["stage"], row["round"]) for row in failed] == [("x/r1", "respond", 1)]
    assert "after 2 attempts" in failed[0]["error"]
    assert failed[0]["kind"] == "transient"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "partial" and "1 samples failed" in manifest["reason"]
    assert manifest["counts"]["per_round"]["2"] == {"kept": 0, "eliminated": 0, "failed": 0, "not_reached": 1}
    assert manifest["counts"]["per_round"]["3"]["not_reached"] == 1
    assert manifest["requests"]["retries"] >= 1


def test_the_same_command_twice_gives_the_same_bytes_and_another_seed_differs(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory()
    seeds = seeds_file(tmp_path, [{"instruction": f"Write a limerick about topic {i}."} for i in range(12)])
    build(tmp_path, server, seeds, name="a")
    build(tmp_path, server, seeds, name="b")
    build(tmp_path, server, seeds, name="c", seed=7)
    a, b, c = ((tmp_path / name / "dataset.jsonl").read_bytes() for name in "abc")
    assert a == b
    operations = lambda data: [json.loads(line)["operation"] for line in data.splitlines()]  # noqa: E731
    assert operations(a) != operations(c)


def test_rows_carry_lineage_and_usage(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory()
    code, out = build(tmp_path, server, seeds_file(tmp_path, [{"id": 5, "instruction": "Plan a picnic."}]), rounds=2)
    assert code == 0
    kept = rows(out / "dataset.jsonl")
    assert [row["round"] for row in kept] == [0, 1, 2]
    for row in kept:
        assert set(row) >= {"id", "seed_id", "parent_id", "round", "operation", "domain", "instruction", "response", "scores", "checks", "usage"}
        assert row["seed_id"] == "5" and row["domain"] == "general"
    assert kept[0]["usage"]["respond"]["requests"] == 1
    assert set(kept[2]["usage"]) == {"evolve", "equality", "respond"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["tokens_total"]["prompt_tokens"] > 0
    assert manifest["requests"]["sent"] == 1 + 2 * 3


def test_schedule_entries_name_operations_or_tags() -> None:
    rounds = operations_per_round(OPERATIONS, 2, ("in-breadth", "in-depth"))
    assert [op.name for op in rounds[0]] == ["in-breadth"]
    assert len(rounds[1]) == 5
    with pytest.raises(ValueError, match="'sideways' names no operation or tag"):
        operations_per_round(OPERATIONS, 1, ("sideways",))
