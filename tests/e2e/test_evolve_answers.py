"""``evol build --quality --evolve-answers K``: each answer is rewritten K times along Deita's
directions, every version is a candidate with its lineage and quality, the best surviving one is
the response, and the domain's checks still apply to every version (in the code domain an evolved
answer that fails the tests is eliminated and the original kept). Through the real CLI against
the loopback server, and the real sandbox for the code domain."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from evolinstruct.builtins.quality import DIRECTIONS, EVOLVE_PROMPT, JUDGE_PROMPT
from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol

JUDGE = JUDGE_PROMPT.split(",")[0]
EVOLVE = EVOLVE_PROMPT.splitlines()[0]  # "Below is an instruction and an answer to it. ..."


def answered(text: str) -> str:
    """The pattern of a request that shows ``text`` as the answer."""
    return "Answer:\n<<<\n" + re.escape(text) + "\n>>>"


def rows(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


RAIN0, RAIN1, RAIN2 = "Soft rain on the roof.", "Soft rain drums on the roof, slow and grey.", "Grey rain drums the tin roof; gutters sing."
TIDES0, TIDES1, TIDES2 = "The moon's pull.", "The moon pulls the near ocean into a bulge.", "Two bulges: one under the moon, one opposite."
BEES0, BEES1, BEES2 = "Bees make honey.", "Bees make honey from the nectar they gather.", "Bees turn nectar into honey."
GENERAL_RULES = (
    Rule(contains=EVOLVE, pattern=answered(BEES0), reply=BEES1),
    Rule(contains=EVOLVE, pattern=answered(BEES1), reply=BEES2),
    Rule(contains=JUDGE, pattern="Bees", reply="Quality: 4"),
    Rule(contains=EVOLVE, pattern=answered(RAIN0), reply=RAIN1),
    Rule(contains=EVOLVE, pattern=answered(RAIN1), reply=RAIN2),
    Rule(contains=EVOLVE, pattern=answered(TIDES0), reply=TIDES1),
    Rule(contains=EVOLVE, pattern=answered(TIDES1), reply=TIDES2),
    Rule(contains=JUDGE, pattern=answered(RAIN0), reply="Quality: 3"),
    Rule(contains=JUDGE, pattern=answered(RAIN1), reply='{"quality": 5}'),
    Rule(contains=JUDGE, pattern=answered(RAIN2), reply="Quality: 4"),
    Rule(contains=JUDGE, pattern=answered(TIDES0), reply="Quality: 2"),
    Rule(contains=JUDGE, pattern=answered(TIDES1), reply="I cannot judge this."),
    Rule(contains=JUDGE, pattern=answered(TIDES2), reply="Quality: 4"),
)


def test_k_evolved_answers_per_sample_with_their_lineage(tmp_path: Path, loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory(GENERAL_RULES, structured_output=False)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": "rain", "instruction": "Write a haiku about rain.", "output": RAIN0}) + "\n"
                     + json.dumps({"id": "tides", "instruction": "Why are there two tides a day?", "output": TIDES0})
                     + "\n" + json.dumps({"id": "bees", "instruction": "What do bees make?", "output": BEES0}) + "\n",
                     encoding="utf-8")
    out = tmp_path / "run"
    built = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "0", "--quality",
                 "--evolve-answers", "2", "--no-progress",
                 env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert built.returncode == 0, built.stderr
    kept = rows(out / "dataset.jsonl")
    assert set(kept) == {"rain", "tides", "bees"}

    rain = kept["rain"]
    candidates = rain["fields"]["answer_candidates"]
    assert [c["version"] for c in candidates] == [0, 1, 2]
    assert [c["text"] for c in candidates] == [RAIN0, RAIN1, RAIN2]
    assert [c["parent"] for c in candidates] == [None, 0, 1]  # each version rewrites the latest survivor
    assert candidates[0]["direction"] is None and all(c["direction"] in DIRECTIONS for c in candidates[1:])
    assert [c["quality"] for c in candidates] == [3.0, 5.0, 4.0]
    assert [c["chosen"] for c in candidates] == [False, True, False]
    assert all(c["elimination"] is None for c in candidates)
    # The row is its best version: the response and the quality score are version 1's.
    assert rain["response"] == RAIN1 and rain["scores"]["quality"] == 5.0
    assert rain["usage"]["evolve-answer"]["requests"] == 2 and rain["usage"]["quality"]["requests"] == 3

    tides = kept["tides"]["fields"]["answer_candidates"]
    # An unreadable judgement is no score, not a low one; the best scored version is chosen.
    assert [c["quality"] for c in tides] == [2.0, None, 4.0]
    assert kept["tides"]["response"] == TIDES2 and [c["chosen"] for c in tides] == [False, False, True]
    # Each rewrite request names its direction's instruction.
    asked = [r.last_user_message for r in server.requests if EVOLVE in r.last_user_message]
    assert len(asked) == 6
    for message in asked:
        assert any(text in message for text in DIRECTIONS.values())

    # The preference pairs: every two scored versions of a row with distinct texts and distinct
    # scores, the higher chosen. Tides' unscored version and bees' equal scores give none.
    exported = evol("export", str(out), "--format", "dpo")
    assert exported.returncode == 0, exported.stderr
    pairs = [json.loads(line) for line in (out / "dpo.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((p["prompt"], p["chosen"], p["rejected"], p["score_chosen"], p["score_rejected"]) for p in pairs) == sorted([
        ("Write a haiku about rain.", RAIN1, RAIN0, 5.0, 3.0),
        ("Write a haiku about rain.", RAIN1, RAIN2, 5.0, 4.0),
        ("Write a haiku about rain.", RAIN2, RAIN0, 4.0, 3.0),
        ("Why are there two tides a day?", TIDES2, TIDES0, 4.0, 2.0),
    ])
    assert all(p["chosen"] != p["rejected"] and p["score_chosen"] > p["score_rejected"] for p in pairs)


def test_evolve_answers_needs_quality(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": "a", "instruction": "Say hi.", "output": "Hi."}) + "\n", encoding="utf-8")
    alone = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "a"), "--rounds", "0", "--evolve-answers", "1")
    assert alone.returncode == 2 and "--evolve-answers needs --quality" in alone.stderr
    assert not (tmp_path / "a" / "dataset.jsonl").exists()
    assert "Traceback" not in alone.stderr

    # A build with no answer versions has no preference pair: exit 2, and no file.
    plain = tmp_path / "plain"
    assert evol("build", "--seeds", str(seeds), "--out", str(plain), "--rounds", "0").returncode == 0
    exported = evol("export", str(plain), "--format", "dpo")
    assert exported.returncode == 2 and "answer versions" in exported.stderr, exported.stderr
    assert not (plain / "dpo.jsonl").exists() and "Traceback" not in exported.stderr


FENCE = "```"
WRONG_VOWELS = (f"{FENCE}python\n# ZQ-wrong\ndef count_vowels(text):\n    return len(text)\n{FENCE}\n\n"
                "A shorter, clearer version.")
BETTER_SECOND = (f"{FENCE}python\n# ZQ-better\ndef second_largest(numbers):\n    distinct = sorted(set(numbers))\n"
                 f"    return distinct[-2] if len(distinct) > 1 else None\n{FENCE}\n\n"
                 "It removes duplicates first, so equal largest values do not count twice.")
CODE_RULES = (
    Rule(contains=EVOLVE, pattern="def count_vowels", reply=WRONG_VOWELS),
    Rule(contains=EVOLVE, pattern="def second_largest", reply=BETTER_SECOND),
    Rule(contains=JUDGE, pattern="ZQ-wrong", reply="Quality: 6"),  # a judge fooled by a broken answer
    Rule(contains=JUDGE, pattern="ZQ-better", reply="Quality: 5"),
    Rule(contains=JUDGE, reply="Quality: 3"),
)


@pytest.mark.docker
@pytest.mark.slow
def test_a_code_answer_whose_evolution_fails_the_tests_is_eliminated(tmp_path: Path, loopback_llm_factory: Any) -> None:
    from tests.wizardcoder.environment import require_docker, sandbox_env

    require_docker()
    server = loopback_llm_factory(CODE_RULES)
    out = tmp_path / "code"
    built = evol("build", "--domain", "code", "--seeds", str(EXAMPLES / "seeds" / "code_mbpp.jsonl"), "--out", str(out),
                 "--limit", "2", "--rounds", "0", "--quality", "--evolve-answers", "1", "--sandbox-workers", "2",
                 "--no-progress",
                 env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback", **sandbox_env()})
    assert built.returncode == 0, built.stderr
    kept = rows(out / "dataset.jsonl")
    assert sorted(kept) == ["mbpp-1", "mbpp-2"]

    vowels = kept["mbpp-1"]
    first, evolved = vowels["fields"]["answer_candidates"]
    # The rewrite fails the tests: eliminated with the reason, whatever the judge thought of it,
    # and the original answer stays the response.
    assert evolved["text"] == WRONG_VOWELS and evolved["quality"] == 6.0
    assert evolved["elimination"]["filter"] == "require-pass"
    assert "does not pass its tests" in evolved["elimination"]["reason"]
    assert first["chosen"] and not evolved["chosen"]
    assert vowels["response"] == first["text"] and "ZQ-wrong" not in vowels["response"]
    assert vowels["checks"]["execution"]["verdict"] == "PASS" and vowels["scores"]["quality"] == 3.0

    second = kept["mbpp-2"]
    original, better = second["fields"]["answer_candidates"]
    # A rewrite that passes and scores higher becomes the response, with its own passing execution.
    assert better["elimination"] is None and better["chosen"] and better["parent"] == 0
    assert second["response"] == BETTER_SECOND and second["scores"]["quality"] == 5.0
    assert second["checks"]["execution"]["verdict"] == "PASS" and original["quality"] == 3.0


ADD0 = "2 + 3 = 5\nThe answer is \\boxed{5}"
ADD1 = "Start at 2 and count on three more: 3, 4, 5. So 2 + 3 = 5.\nThe answer is \\boxed{5}"
ADD2 = "Start at 2 and count on three more: 3, 4, 5, 6. So the sum is 6.\nThe answer is \\boxed{6}"
HALF0 = "1 / 2 = 0.5\nThe answer is \\boxed{0.5}"
HALF1 = "Half of 1 is one divided by two, written as a fraction.\nThe answer is \\boxed{\\frac{1}{2}}"
HALF2 = "Half of one is a small amount, less than one whole."
MATH_RULES = (
    Rule(contains=EVOLVE, pattern=answered(ADD0), reply=ADD1),
    Rule(contains=EVOLVE, pattern=answered(ADD1), reply=ADD2),
    Rule(contains=EVOLVE, pattern=answered(HALF0), reply=HALF1),
    Rule(contains=EVOLVE, pattern=answered(HALF1), reply=HALF2),
    Rule(contains=JUDGE, pattern=answered(ADD0), reply="Quality: 3"),
    Rule(contains=JUDGE, pattern=answered(ADD1), reply="Quality: 5"),
    Rule(contains=JUDGE, pattern=answered(ADD2), reply="Quality: 6"),  # a judge fooled by a wrong answer
    Rule(contains=JUDGE, pattern=answered(HALF0), reply="Quality: 2"),
    Rule(contains=JUDGE, pattern=answered(HALF1), reply="Quality: 4"),
    Rule(contains=JUDGE, pattern=answered(HALF2), reply="Quality: 6"),
)


def test_a_math_answer_whose_evolution_changes_the_final_answer_is_eliminated(
        tmp_path: Path, loopback_llm_factory: Any) -> None:
    server = loopback_llm_factory(MATH_RULES, structured_output=False)
    seeds = tmp_path / "math.jsonl"
    seeds.write_text(json.dumps({"id": "add", "question": "What is 2 + 3?", "answer": "2 + 3 = 5\n#### 5"}) + "\n"
                     + json.dumps({"id": "half", "question": "What is half of 1?", "answer": "1 / 2 = 0.5\n#### 0.5"})
                     + "\n", encoding="utf-8")
    out = tmp_path / "math"
    built = evol("build", "--domain", "math", "--seeds", str(seeds), "--out", str(out), "--rounds", "0", "--quality",
                 "--evolve-answers", "2", "--no-progress",
                 env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert built.returncode == 0, built.stderr
    kept = rows(out / "dataset.jsonl")
    assert sorted(kept) == ["add", "half"]

    add = kept["add"]
    original, keeps, changes = add["fields"]["answer_candidates"]
    assert [c["text"] for c in (original, keeps, changes)] == [ADD0, ADD1, ADD2]
    # The version that keeps the verified 5 is a candidate; the one that answers 6 is eliminated
    # with the reason, before the judge (which would have rated it 6) is asked about it.
    assert keeps["elimination"] is None and keeps["quality"] == 5.0 and keeps["parent"] == 0
    assert changes["elimination"]["filter"] == "final-answer-kept"
    assert changes["elimination"]["reason"] == (
        "the rewritten solution's final answer 6 differs from the reference answer, 5")
    assert changes["quality"] is None and not changes["chosen"]
    assert not any(ADD2 in r.last_user_message for r in server.requests if JUDGE in r.last_user_message)
    # The row is the best surviving version, checked against the reference as an answer is.
    assert keeps["chosen"] and add["response"] == ADD1 and add["scores"]["quality"] == 5.0
    assert add["checks"]["answer"]["outcome"] is True and add["checks"]["answer"]["predicted"] == "5"

    half = kept["half"]
    first, fraction, vague = half["fields"]["answer_candidates"]
    # sympy's equality, not the text's: 1/2 keeps the reference 0.5.
    assert fraction["elimination"] is None and fraction["quality"] == 4.0 and fraction["chosen"]
    assert vague["elimination"] == {
        "filter": "final-answer-kept",
        "reason": "the rewritten solution states no final answer; it must keep the reference answer, 0.5"}
    assert half["response"] == HALF1 and half["checks"]["answer"]["outcome"] is True
    assert first["quality"] == 2.0 and not first["chosen"]

    # The preference pairs come from the versions that kept the answer only.
    exported = evol("export", str(out), "--format", "dpo")
    assert exported.returncode == 0, exported.stderr
    pairs = [json.loads(line) for line in (out / "dpo.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((p["chosen"], p["rejected"], p["score_chosen"], p["score_rejected"]) for p in pairs) == sorted([
        (ADD1, ADD0, 5.0, 3.0), (HALF1, HALF0, 4.0, 2.0)])


def test_the_dry_run_counts_the_answer_versions_a_build_sends(tmp_path: Path, loopback_llm_factory: Any) -> None:
    # With structured output, so that no judge request is refused and sent again without it.
    server = loopback_llm_factory(GENERAL_RULES)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"id": name, "instruction": instruction, "output": output}) + "\n"
                             for name, instruction, output in [("rain", "Write a haiku about rain.", RAIN0),
                                                               ("tides", "Why are there two tides a day?", TIDES0),
                                                               ("bees", "What do bees make?", BEES0)]),
                     encoding="utf-8")
    out = tmp_path / "run"
    command = ("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "0", "--quality", "--difficulty",
               "--evolve-answers", "2")
    env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
    dry = evol(*command, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert server.request_count == 0
    bounds = {words[0]: int(words[1].replace(",", "")) for words in map(str.split, dry.stdout.splitlines())
              if len(words) == 4 and words[1].replace(",", "").isdigit()}
    built = evol(*command, "--no-progress", env=env)
    assert built.returncode == 0, built.stderr
    # Every version of these answers survives, so the bound is what was sent: per seed 2 rewrites,
    # the judge once per version (1 + 2), and the difficulty judge, which reads only the
    # instruction, once.
    sent = {"evolve-answer": sum(EVOLVE in r.last_user_message for r in server.requests),
            "quality": sum(JUDGE in r.last_user_message for r in server.requests)}
    assert sent == {"evolve-answer": 6, "quality": 9}
    assert (bounds["evolve-answer"], bounds["quality"], bounds["difficulty"]) == (6, 9, 3)
    assert bounds["total"] == server.request_count == 18
