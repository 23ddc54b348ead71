"""The report's building blocks: word diffs, the lineage sample, the summaries charts are drawn from."""

from __future__ import annotations

import random
import statistics

import pytest

from evolinstruct.app.publish.report.lineages import LineageSampler, build_lineage, word_diff
from evolinstruct.types.stats import Distribution, Histogram


def rebuilt(segments, keep: str) -> str:
    return "".join(text for tag, text in segments if tag in ("=", keep))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Write a poem about the sea.", "Write a poem about the sea. Use exactly four lines."),
        ("Sum the list.", "Compute the product of the list, in O(n) time."),
        ("", "A brand new instruction."),
        ("Line one.\n\nLine  two.", "Line one.\nLine two, changed."),
    ],
)
def test_a_word_diff_holds_both_texts(before: str, after: str) -> None:
    segments = word_diff(before, after)
    assert rebuilt(segments, "-") == before
    assert rebuilt(segments, "+") == after
    assert all(tag in "=+-" and text for tag, text in segments)


def test_an_appended_sentence_is_one_insertion() -> None:
    assert word_diff("Explain tides.", "Explain tides. Mention the moon.") == [
        ("=", "Explain tides."),
        ("+", " Mention the moon."),
    ]


def rows_of(seeds: int) -> list[tuple[str, dict]]:
    rows = []
    for index in range(seeds):
        seed = f"s{index}"
        rows.append(("kept", {"id": seed, "seed_id": seed, "parent_id": None, "round": 0, "operation": "seed", "instruction": f"Task {index}."}))
        rows.append(("eliminated", {"id": f"{seed}/r1", "seed_id": seed, "parent_id": seed, "round": 1, "operation": "deepen",
                                    "instruction": f"Task {index}, deeper.", "elimination": {"filter": "equality", "reason": "same"}}))
        rows.append(("kept", {"id": f"{seed}/r2", "seed_id": seed, "parent_id": seed, "round": 2, "operation": "concretize",
                              "instruction": f"Task {index} for a bakery."}))
    return rows


def sample_of(rows, limit: int) -> dict[str, list[str]]:
    sampler = LineageSampler(limit)
    for kind, row in rows:
        sampler.offer(kind, row)
    return {lineage.seed_id: [node.id for node in lineage.nodes] for lineage in sampler.lineages()}


def test_the_lineage_sample_is_bounded_whole_and_independent_of_row_order() -> None:
    rows = rows_of(200)
    first = sample_of(rows, 15)
    assert len(first) == 15
    for seed, ids in first.items():
        assert ids == [seed, f"{seed}/r1", f"{seed}/r2"]  # every row of a sampled lineage, by round
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    assert set(sample_of(shuffled, 15)) == set(first)
    assert len(sample_of(rows, 1000)) == 200
    assert sample_of(rows, 0) == {}


def test_a_lineage_tree_links_children_to_parents_with_their_diffs() -> None:
    lineage = build_lineage("s1", [(kind, row) for kind, row in rows_of(2) if row["seed_id"] == "s1"])
    nodes = {node.id: node for node in lineage.nodes}
    assert nodes["s1"].diff is None
    assert nodes["s1/r1"].status == "eliminated" and nodes["s1/r1"].elimination == {"filter": "equality", "reason": "same"}
    assert nodes["s1/r2"].diff == (("=", "Task 1"), ("+", " for a bakery"), ("=", "."))
    assert lineage.as_json()["eliminated"] == 1


def test_a_distribution_matches_the_inclusive_quartiles() -> None:
    values = [random.Random(3).uniform(0, 100) for _ in range(101)]
    summary = Distribution.of(values)
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    assert summary.q1 == pytest.approx(q1) and summary.median == pytest.approx(median) and summary.q3 == pytest.approx(q3)
    assert (summary.minimum, summary.maximum, summary.count) == (min(values), max(values), 101)
    assert Distribution.of([]) is None


def test_a_histogram_counts_missing_and_outside_values_apart() -> None:
    histogram = Histogram.of([0.0, 0.05, 0.5, 1.0, None, float("nan"), -0.1, 1.5], 0.0, 1.0, 10)
    assert histogram.counts == (2, 0, 0, 0, 0, 1, 0, 0, 0, 1)
    assert (histogram.missing, histogram.below, histogram.above) == (2, 1, 1)
    assert histogram.present == 6
