r"""A benchmark item of a few words, shorter than the n-gram window, is found when a row is it."""

from __future__ import annotations

import pytest

from evolinstruct.builtins.curation.benchmarks import BenchmarkItem, fingerprint, load_builtin, resolve
from evolinstruct.builtins.curation.contamination import ContaminationIndex, contamination_rule
from evolinstruct.builtins.curation.runner import RuleRunner

SQRT = "test/prealgebra/1302.json"  # MATH-500: "Simplify $\sqrt{242}$."
LOG = "test/algebra/1255.json"  # MATH-500: "Evaluate $\log_264$."


@pytest.fixture(scope="module")
def index():
    return ContaminationIndex(resolve(None))


def removed(index, *instructions: str, response: str = "Some answer.") -> dict[int, tuple[str | None, str]]:
    runner = RuleRunner([contamination_rule(index)])
    for position, instruction in enumerate(instructions):
        runner.observe(position, {"id": f"r{position}", "instruction": instruction, "response": response, "round": 0})
    return {position: (removal.of, removal.reason) for position, removal in runner.finish().items()}


def test_the_shipped_math500_fingerprints_hold_its_two_items_of_three_words():
    math500 = load_builtin("math500")
    assert math500.skipped == ()
    exact = {item.id: item for item in math500.items if item.exact}
    assert sorted(exact) == sorted([SQRT, LOG])
    assert all(len(item.grams) == 1 and not item.whole for item in exact.values())


def test_a_row_that_is_a_very_short_item_is_found(index):
    found = removed(index, r"Simplify $\sqrt{242}$.", r"  simplify \sqrt{242}", r"Evaluate $\log_264$?")
    assert found == {
        0: (f"math500:{SQRT}", f"is math500 item {SQRT} (a very short item, numbers as written)"),
        1: (f"math500:{SQRT}", f"is math500 item {SQRT} (a very short item, numbers as written)"),
        2: (f"math500:{LOG}", f"is math500 item {LOG} (a very short item, numbers as written)"),
    }


def test_other_numbers_or_a_longer_text_are_not_the_item(index):
    assert removed(
        index,
        r"Simplify $\sqrt{50}$.",  # another exercise of the same form
        r"Simplify $\sqrt{242}$ and then explain each step of the factorisation to a beginner.",
        "Simplify.",
        "",
    ) == {}
    # The response is not the instruction: an answer that quotes the item is not a row that is it.
    assert removed(index, "Explain square roots.", response=r"Simplify $\sqrt{242}$.") == {}


def test_a_user_benchmark_of_short_items_is_fingerprinted_the_same_way():
    fingerprints = fingerprint(
        "mine", "", [BenchmarkItem("1", "Compute 2+3."), BenchmarkItem("2", "?!"), BenchmarkItem("3", "Factor $x^9$.")], {}
    )
    assert fingerprints.skipped == ("2",)  # no word at all: nothing to match
    index = ContaminationIndex([fingerprints])
    assert removed(index, "compute 2+3", "Compute 2+4.", "factor x^9", "Factor $x^8$.") == {
        0: ("mine:1", "is mine item 1 (a very short item, numbers as written)"),
        2: ("mine:3", "is mine item 3 (a very short item, numbers as written)"),
    }
