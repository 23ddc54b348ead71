"""The rule protocol, the runner's order and attribution, normalisation and the judge's reply."""

from __future__ import annotations

import pytest

from evolinstruct.builtins.curation.difficulty import judge_messages, read_rating
from evolinstruct.builtins.curation.exact import exact_duplicate_rule
from evolinstruct.builtins.curation.near import jaccard, near_duplicate_rule, shingle_sets
from evolinstruct.builtins.curation.ngrams import NgramHasher
from evolinstruct import CurationRule, Removal, row_rule
from evolinstruct.builtins.curation.runner import RuleRunner
from evolinstruct.builtins.curation.text import benchmark_tokens, near_tokens, normalise


def run(rules, rows):
    runner = RuleRunner(rules)
    for position, row in enumerate(rows):
        runner.observe(position, row)
    return runner.finish()


def row(id_, instruction, round_=0, **extra):
    return {"id": id_, "instruction": instruction, "response": "r", "round": round_, **extra}


def test_normalising_ignores_case_space_and_punctuation_around_words_only():
    assert normalise('  Hello,   "World".\n') == normalise("hello world") == "hello world"
    # Inside a token punctuation is meaning: these are different tasks.
    assert normalise("Compute 3.5 * 2") != normalise("Compute 35 * 2")
    assert normalise("Compute 3*4") != normalise("Compute 3/4")
    assert normalise("f(1,2)") != normalise("f(12)")
    assert benchmark_tokens("Janet sells 16 eggs at $2.50 each, 1,000 total") == [
        "janet", "sells", "0", "eggs", "at", "0", "each", "0", "total"
    ]


def test_exact_duplicates_keep_the_lowest_round_then_the_first_in_the_file():
    rows = [
        row("late", "Write a poem about the SEA!", round_=2),
        row("seed", "write a poem about the sea", round_=0),
        row("twin", "Write a poem about the sea.", round_=0),
        row("other", "Write a poem about the sky.", round_=0),
    ]
    removed = run([exact_duplicate_rule()], rows)
    assert {p: (d.rule, d.of) for p, d in removed.items()} == {
        0: ("exact-duplicate", "seed"),
        2: ("exact-duplicate", "seed"),
    }


def test_input_counts_as_part_of_the_instruction():
    rows = [row("a", "Sort this list.", input="[3, 1, 2]"), row("b", "Sort this list.", input="[9, 8]")]
    assert run([exact_duplicate_rule()], rows) == {}


def test_near_duplicates_name_a_kept_twin_and_a_true_similarity():
    base = "Write a Python function that returns the longest common prefix of a list of strings and handles an empty list"
    rows = [
        row("evolved", base + " quickly", round_=1),
        row("seed", base, round_=0),
        row("different", "Explain how photosynthesis turns light into chemical energy in plants", round_=0),
    ]
    removed = run([near_duplicate_rule(0.85)], rows)
    assert list(removed) == [0]
    assert removed[0].of == "seed"
    sets = shingle_sets([near_tokens(rows[0]["instruction"]), near_tokens(base)], NgramHasher())
    similarity = jaccard(*sets)
    assert similarity >= 0.85
    assert f"{similarity:.2f}" in removed[0].reason


def test_a_plugin_row_rule_sees_what_it_reads_and_only_its_domain():
    seen = []

    def verdict_not_pass(values):
        seen.append(dict(values))
        verdict = ((values.get("checks") or {}).get("execution") or {}).get("verdict")
        return None if verdict == "PASS" else f"execution verdict {verdict}"

    rule = row_rule("require-pass", "drop code samples that do not pass", ("checks",), verdict_not_pass, domains=("code",))
    rows = [
        row("c1", "code task one", domain="code", checks={"execution": {"verdict": "PASS"}}),
        row("c2", "code task two", domain="code", checks={"execution": {"verdict": "FAIL"}}),
        row("m1", "math task", domain="math", checks={}),
    ]
    removed = run([rule], rows)
    assert {p: d.reason for p, d in removed.items()} == {1: "execution verdict FAIL"}
    assert [sorted(values) for values in seen] == [["checks", "id"], ["checks", "id"]]


def test_the_first_rule_in_the_list_names_a_removal_and_later_rules_do_not_see_it():
    shown_to_dedup = []

    def record(candidates, progress):
        shown_to_dedup.extend(c.id for c in candidates)
        return iter(())

    first = row_rule("first", "", ("instruction",), lambda v: "first says so" if "x" in v["instruction"] else None)
    dataset = CurationRule("dataset", "", ("instruction",), check_dataset=record)
    later = row_rule("later", "", ("instruction",), lambda v: Removal("later says so", of="Z"))
    removed = run([first, dataset, later], [row("a", "x marks"), row("b", "plain")])
    assert removed[0].rule == "first" and removed[1].rule == "later"
    assert shown_to_dedup == ["b"]


def test_a_rule_must_decide_one_way():
    with pytest.raises(ValueError):
        CurationRule("both", "", ("instruction",))
    with pytest.raises(ValueError):
        RuleRunner([exact_duplicate_rule(), exact_duplicate_rule()])


@pytest.mark.parametrize(
    "reply, rating",
    [
        ("Difficulty: 7", 7),
        ("**Difficulty: 10**", 10),
        ("difficulty: 3/10", 3),
        ("7", 7),
        ("Difficulty: 0", None),
        ("Difficulty: 11", None),
        ("Difficulty: 7.5", None),
        ("Difficulty: 4\nOn reflection, Difficulty: 6", None),
        ("I would say it is moderately hard, maybe 6 or 7.", None),
        ("", None),
        (None, None),
    ],
)
def test_a_reply_that_cannot_be_read_is_no_rating(reply, rating):
    assert read_rating(reply) == rating


def test_the_judge_is_shown_the_instruction():
    messages = judge_messages("Prove that there are infinitely many primes.")
    assert messages[0]["role"] == "user"
    assert "Prove that there are infinitely many primes." in messages[0]["content"]
    assert "Difficulty: N" in messages[0]["content"]
