"""The budget chosen by a product of scores and kept apart by embeddings from a real endpoint:
the loopback server's /v1/embeddings, through a Session and its cache."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from evolinstruct.builtins.curation.diversity import unit_rows
from evolinstruct.builtins.curation.runner import RuleRunner
from evolinstruct.builtins.curation.selection import BudgetTally, budget_rule, score_from_row
from evolinstruct.offline.embeddings import HashedEmbedder
from evolinstruct.runtime import llm as llm_module
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.session import EndpointConfig, Session
from evolinstruct.types.curation import Candidate

MODEL = "offline-embed"


@pytest.fixture
def embed(loopback_llm, tmp_path):
    """Texts to embeddings, each call a session of its own on one cache file, as each
    ``evol curate`` is."""
    endpoint = EndpointConfig((loopback_llm.base_url,), "offline-chat", "loopback", "sk-loopback", max_attempts=2)

    def embed(texts):
        with Session.open(endpoint, tmp_path / "cache.sqlite") as session:

            async def main():
                try:
                    return await session.llm_for("embed").embed(list(texts), model=MODEL)
                finally:
                    await session.aclose()

            return np.array(asyncio.run(main()))

    return embed


def test_embeddings_come_from_the_endpoint_in_batches_and_then_from_the_cache(embed, loopback_llm, tmp_path, monkeypatch):
    monkeypatch.setattr(llm_module, "EMBEDDING_BATCH", 4)
    texts = [f"Write a function number {i} that adds two numbers" for i in range(10)]
    first = embed(texts)
    assert np.allclose(first, HashedEmbedder().embed_many(texts))
    sent = [r for r in loopback_llm.requests if "input" in r.body]
    assert [len(r.body["input"]) for r in sent] == [4, 4, 2]
    assert all(r.body["model"] == MODEL for r in sent)
    # Again, with two new texts among them: only those are sent, the rest come from the cache.
    again = embed(texts + ["Explain recursion", "Explain iteration"])
    assert np.array_equal(again[:10], first)
    sent = [r for r in loopback_llm.requests if "input" in r.body]
    assert [r.body["input"] for r in sent[3:]] == [["Explain recursion", "Explain iteration"]]
    cache = Cache(tmp_path / "cache.sqlite")
    try:
        assert cache.count("embedding") == 12
    finally:
        cache.close()


def test_a_product_of_scores_needs_every_factor():
    score = score_from_row("complexity*quality")

    def of(scores):
        return score(Candidate(0, "r", 0, None, {"scores": scores}))

    assert of({"complexity": 3, "quality": 2.5}) == 7.5
    assert of({"complexity": 3}) is None
    assert of({"complexity": 3, "quality": None}) is None
    assert of({"complexity": True, "quality": 2}) is None
    assert of({"complexity": 1e308, "quality": 1e308}) is None
    with pytest.raises(ValueError, match="a score name"):
        score_from_row("complexity*")


def run_budget(rows, rule):
    runner = RuleRunner([rule])
    for position, row in enumerate(rows):
        runner.observe(position, row)
    return runner.finish()


def test_the_budget_takes_the_best_product_and_skips_rows_too_close_in_meaning(embed):
    def row(id_, instruction, complexity, quality):
        scores = {"complexity": complexity, "quality": quality}
        return {"id": id_, "instruction": instruction, "response": "r", "round": 0, "scores": scores}

    rows = [
        row("java-a", "Write a Java code to find a largest number in an array", 3, 2),  # 6
        row("java-the", "Write a Java code to find the largest number in an array.", 4, 2),  # 8: chosen first
        row("photo", "Explain how photosynthesis turns light into chemical energy", 2, 3),  # 6, after java-a
        row("poem", "Compose a short poem about the sea at night", 1, 5),  # 5
        row("sql", "Write an SQL query that lists customers by their total orders", 2, 2),  # 4: over budget
        {"id": "unscored", "instruction": "Describe a cat", "response": "r", "round": 0, "scores": {"complexity": 9}},
    ]
    tally = BudgetTally()
    rule = budget_rule(3, "complexity*quality", tally=tally, diversity=0.8, embed=embed)
    removed = run_budget(rows, rule)
    assert sorted(removed) == [0, 4, 5]
    assert removed[0].of == "java-the"
    similarity = float(np.prod(unit_rows(HashedEmbedder().embed_many([rows[0]["instruction"], rows[1]["instruction"]])), axis=0).sum())
    assert similarity > 0.8
    assert removed[0].reason == (
        f"cosine similarity {similarity:.3f} (> 0.8) of instruction embeddings with java-the, chosen before it by complexity*quality"
    )
    assert removed[4].reason == "not among the 3 rows chosen by complexity*quality (its complexity*quality: 4)"
    assert removed[5].reason == "not among the 3 rows chosen by complexity*quality (its complexity*quality: none)"
    assert tally.as_json() == {"chosen": 3, "chosen_without_score": 0, "too_similar": 1, "over_budget": 2}
    # No two rows kept are above the threshold.
    kept = HashedEmbedder().embed_many([r["instruction"] for i, r in enumerate(rows) if i not in removed])
    similarities = kept @ kept.T
    np.fill_diagonal(similarities, 0.0)
    assert similarities.max() <= 0.8


def test_an_embedding_without_a_direction_stops_the_selection_naming_the_row():
    from evolinstruct.types.errors import EvolError

    rows = [{"id": f"r{i}", "instruction": f"task {i}", "response": "r", "round": 0, "scores": {"q": i}} for i in range(3)]

    def embed(texts):
        vectors = np.eye(3)
        vectors[texts.index("task 1")] = 0.0
        return vectors

    with pytest.raises(EvolError, match="the embedding of row r1 is all zeros or not finite"):
        run_budget(rows, budget_rule(2, "q", diversity=0.9, embed=embed))
