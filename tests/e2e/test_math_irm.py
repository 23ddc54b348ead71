"""Instruction-reward ranking data through the real CLI against the loopback server:
``evol build --domain math --irm-candidates 3`` over two rounds with scripted rewrites and judge
replies (one unreadable), then ``evol export --format irm`` checked field by field; the same
build against an endpoint without structured output reads its judges from text and exports
the same pairs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol
from wizardmath.prompts import UPWARD_METHODS

SEEDS = EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"
SEED = json.loads(SEEDS.read_text(encoding="utf-8").splitlines()[0])["question"]
JUDGE = "Rate the problem below"

# Round 1 evolves the seed, round 2 the best of round 1 (A1). Every rewrite asks a question and
# states no arithmetic, so the instruction reward is the judge's (d + p + i) / 30.
A1 = ("A bakery sells muffins for $3 each. On Monday it sold 45 muffins, and on Tuesday it sold 12 more "
      "than on Monday. It gave 10 of Tuesday's muffins away for free. How much money did it take in over the two days?")
B1 = ("Rosa's bakery sells blueberry muffins for $3 each. On Monday it sold 45 of them, and on Tuesday 12 "
      "more than on Monday. How much money did Rosa's bakery take in over Monday and Tuesday?")
C1 = ("A bakery sells muffins for $3 each. On Monday it sold 45 muffins, and on Tuesday it sold a third more "
      "than on Monday. How much money did it take in over the two days?")
A2 = A1.replace("How much money", "In dollars, how much money")
B2 = A1.replace("muffins for $3 each", "lemon muffins for $3 each")
C2 = A1.replace("12 more than on Monday", "twice as many as on Monday, less 78")
REWRITES = {  # (parent, method) -> rewrite
    (SEED, "add-constraints"): A1, (SEED, "concretize"): B1, (SEED, "increase-reasoning"): C1,
    (A1, "add-constraints"): A2, (A1, "concretize"): B2, (A1, "increase-reasoning"): C2,
}
JUDGED = {SEED: 7, A1: 9, B1: 6, C1: 3, A2: 8, C2: 5}  # the same number on definition, precision, integrity
UNREADABLE = "A lovely problem; I would give it high marks."  # the judge's reply about B2


def rules() -> list[Rule]:
    found = [Rule(contains=JUDGE, pattern=re.escape(problem), reply=json.dumps(
        {"definition": score, "precision": score, "integrity": score, "difficulty": 4})) for problem, score in JUDGED.items()]
    found.append(Rule(contains=JUDGE, pattern=re.escape(B2), reply=UNREADABLE))
    # A rewrite prompt quotes its parent after the labels; the judge's rules come first, as its
    # prompt quotes the problem too.
    found += [Rule(contains=UPWARD_METHODS[method], pattern=re.escape("#Original Instruction#\n" + parent), reply=text)
              for (parent, method), text in REWRITES.items()]
    return found


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def build(server: Any, out: Path) -> None:
    result = evol(
        "build", "--domain", "math", "--seeds", str(SEEDS), "--out", str(out), "--limit", "1",
        "--schedule", "up,up", "--irm-candidates", "3",
        env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"},
    )
    assert result.returncode == 0, result.stderr
    assert "4 eliminated (4 of them not chosen among a round's candidates)" in result.stderr


def test_irm_candidates_and_their_export_field_by_field(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(rules())
    out = tmp_path / "run"
    build(server, out)

    kept, eliminated = read(out / "dataset.jsonl"), read(out / "eliminated.jsonl")
    by_text = {row["instruction"]: row for row in kept + eliminated}
    assert set(by_text) == {SEED, A1, B1, C1, A2, B2, C2}
    assert [row["instruction"] for row in kept] == [SEED, A1, A2]  # the best survivor continues
    ids = {text: row["id"] for text, row in by_text.items()}
    assert sorted(ids[t] for t in (A1, B1, C1)) == ["seed-0/r1c1", "seed-0/r1c2", "seed-0/r1c3"]
    assert sorted(ids[t] for t in (A2, B2, C2)) == ["seed-0/r2c1", "seed-0/r2c2", "seed-0/r2c3"]
    # Three candidates, three upward operations: each rewrite comes from its own.
    for (parent, method), text in REWRITES.items():
        assert by_text[text]["operation"] == method and by_text[text]["parent_id"] == ids[parent]

    expected = {A1: (0.9, 1, True, None), B1: (0.6, 2, False, "outranked"), C1: (0.3, 3, False, "outranked"),
                A2: (0.8, 1, True, None), C2: (0.5, 2, False, "outranked"), B2: (None, None, False, "unranked")}
    for text, (score, rank, chosen, eliminated_by) in expected.items():
        row = by_text[text]
        found = row["scores"]["instruction_reward"]
        assert found is None if score is None else abs(found - score) < 1e-12, (text, found)
        assert row["checks"]["candidates"] == {"of": 3, "rank": rank, "by": "instruction_reward", "chosen": chosen}
        assert (row.get("elimination") or {}).get("filter") == eliminated_by
    # The unreadable judgement is a missing score, and no ranking claims otherwise.
    b2 = by_text[B2]
    assert b2["checks"]["instruction"]["judge"] is None and b2["scores"]["reward"] is None
    assert "has no instruction_reward score" in b2["elimination"]["reason"]
    assert "scored higher on instruction_reward" in by_text[C1]["elimination"]["reason"]

    exported = evol("export", str(out), "--format", "irm")
    assert exported.returncode == 0, exported.stderr
    irm = read(out / "irm.jsonl")

    def pair(prompt: str, high: str, low: str) -> dict[str, Any]:
        h, lo = by_text[high], by_text[low]
        return {"prompt": prompt, "chosen": high, "rejected": low,
                "score_chosen": h["scores"]["instruction_reward"], "score_rejected": lo["scores"]["instruction_reward"],
                "score": "instruction_reward", "parent_id": h["parent_id"], "seed_id": "seed-0", "round": h["round"],
                "chosen_id": h["id"], "rejected_id": lo["id"],
                "chosen_operation": h["operation"], "rejected_operation": lo["operation"]}

    # Round 1: every pair of three distinct scores; round 2: B2 has no score, so one pair.
    assert irm == [pair(SEED, A1, B1), pair(SEED, A1, C1), pair(SEED, B1, C1), pair(A1, A2, C2)]
    # The summary counts the pairs written, not the rows read to make them.
    # Eliminated rows are not counted as dataset rows.
    given = f"{len(read(out / 'dataset.jsonl'))} dataset rows and {len(read(out / 'eliminated.jsonl'))} eliminated rows"
    assert f"(4 records from {given})" in exported.stdout, exported.stdout
    assert [(row["parent_id"], row["round"]) for row in irm] == [("seed-0", 1)] * 3 + [(ids[A1], 2)]
    assert all(row["score_chosen"] > row["score_rejected"] for row in irm)

    # The prompt is the parent's row: a round whose parent the export filters leave out is
    # skipped, and said so (the seed is round 0).
    later = tmp_path / "later.jsonl"
    filtered = evol("export", str(out), "--format", "irm", "--min-round", "1", "--output", str(later))
    assert filtered.returncode == 0, filtered.stderr
    assert read(later) == [pair(A1, A2, C2)]
    assert "1 rounds left out: their parent row is not among the exported rows" in filtered.stderr

    # The report does not count the candidates that were not chosen as failed evolutions.
    assert evol("report", str(out)).returncode == 0
    assert "4 of them are candidates of a ranked round that were not chosen" in (out / "report.html").read_text()


def test_without_structured_output_the_judges_are_read_from_text(tmp_path: Path, loopback_llm_factory) -> None:
    structured = loopback_llm_factory(rules())
    plain = loopback_llm_factory(rules(), structured_output=False)
    build(structured, tmp_path / "structured")
    build(plain, tmp_path / "plain")
    # The structured server was asked for a schema by every judge and honoured it.
    judged = [r for r in structured.requests if JUDGE in r.last_user_message]
    assert judged and all(r.body["response_format"]["type"] == "json_schema" and r.status == 200 for r in judged)
    # The other one refused it, was asked again in text, and the run stopped asking.
    asked = [(r.status, "response_format" in r.body) for r in plain.requests if JUDGE in r.last_user_message]
    assert (400, True) in asked and asked[-1] == (200, False)
    assert all(status == 200 for status, with_schema in asked if not with_schema)
    for name in ("structured", "plain"):
        exported = evol("export", str(tmp_path / name), "--format", "irm")
        assert exported.returncode == 0, exported.stderr

    def facts(name: str) -> list[tuple[Any, ...]]:
        rows = read(tmp_path / name / "dataset.jsonl") + read(tmp_path / name / "eliminated.jsonl")
        return [(r["id"], r["instruction"], r["scores"], r["checks"]["instruction"]["judge"], r.get("elimination")) for r in rows]

    assert facts("plain") == facts("structured")
    assert (tmp_path / "plain" / "irm.jsonl").read_bytes() == (tmp_path / "structured" / "irm.jsonl").read_bytes()
    assert len(read(tmp_path / "plain" / "irm.jsonl")) == 4


def test_a_build_without_candidates_exports_no_pairs(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(rules())
    out = tmp_path / "run"
    result = evol("build", "--domain", "math", "--seeds", str(SEEDS), "--out", str(out), "--limit", "1",
                  "--schedule", "up", env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode == 0, result.stderr
    assert all("candidates" not in row["checks"] for row in read(out / "dataset.jsonl"))
    # No pair to write is a refusal saying where pairs come from, not an empty file.
    exported = evol("export", str(out), "--format", "irm")
    assert exported.returncode == 2, exported.stderr
    assert not (out / "irm.jsonl").exists()
    assert "--irm-candidates 2 or more" in " ".join(exported.stderr.split())
