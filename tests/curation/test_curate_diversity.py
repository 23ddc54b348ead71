"""``evol curate --budget N --by complexity*quality --diversity C`` end to end: the real CLI, the
loopback server's /v1/embeddings, the build folder's cache."""

from __future__ import annotations

import json
import sqlite3

from evolinstruct.offline.embeddings import HashedEmbedder

from ..conftest import evol
from .test_curate_cli import assert_nothing_lost, make_row, outputs, write_dataset


def scored(id_, instruction, complexity, quality):
    return make_row(id_, instruction, scores={"complexity": complexity, "quality": quality})


ROWS = [
    scored("java-a", "Write a Java code to find a largest number in an array", 3, 2),  # 6
    scored("java-the", "Write a Java code to find the largest number in an array.", 4, 2),  # 8: first
    scored("photo", "Explain how photosynthesis turns light into chemical energy", 2, 3),  # 6
    scored("poem", "Compose a short poem about the sea at night", 1, 5),  # 5
    scored("sql", "Write an SQL query that lists customers by their total orders", 2, 2),  # 4
    make_row("unscored", "Describe a cat sleeping in the sun", scores={"complexity": 9}),
]


def test_the_budget_by_a_product_of_scores_skips_rows_close_in_meaning(tmp_path, loopback_llm, loopback_llm_env):
    folder = tmp_path / "build"
    lines = write_dataset(folder, ROWS)
    # near-duplicate is skipped: the pair of Java rows must reach the budget, which sees them by meaning.
    args = ("curate", str(folder), "--budget", "3", "--by", "complexity*quality", "--diversity", "0.8",
            "--skip", "near-duplicate", "--skip", "contamination", "--embedding-model", "offline-embed", "--no-progress")
    result = evol(*args, env=loopback_llm_env)
    assert result.returncode == 0, result.stderr
    kept, removed, report = outputs(folder)
    assert_nothing_lost(lines, kept, removed)
    assert [json.loads(line)["id"] for line in kept] == ["java-the", "photo", "poem"]
    removals = {json.loads(line)["id"]: json.loads(line)["removal"] for line in removed}
    assert set(removals) == {"java-a", "sql", "unscored"} and all(r["rule"] == "budget" for r in removals.values())
    vectors = HashedEmbedder().embed_many([ROWS[0]["instruction"], ROWS[1]["instruction"]])
    assert removals["java-a"] == {
        "rule": "budget",
        "reason": f"cosine similarity {float(vectors[0] @ vectors[1]):.3f} (> 0.8) of instruction embeddings with "
        "java-the, chosen before it by complexity*quality",
        "of": "java-the",
    }
    assert "its complexity*quality: none" in removals["unscored"]["reason"]
    assert report["budget"] == {"chosen": 3, "chosen_without_score": 0, "too_similar": 1, "over_budget": 2}
    assert report["settings"]["diversity"] == 0.8 and report["settings"]["embedding_model"] == "offline-embed"
    assert report["settings"]["budget_similarity"] is None
    embedded = [r for r in loopback_llm.requests if "input" in r.body]
    assert sorted(text for r in embedded for text in r.body["input"]) == sorted(r["instruction"] for r in ROWS)
    assert all(r.body["model"] == "offline-embed" for r in embedded)
    with sqlite3.connect(folder / "cache.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'embedding'").fetchone()[0] == len(ROWS)

    # Again: every embedding comes from the cache, and the selection is the same.
    loopback_llm.reset_log()
    again = evol(*args, env=loopback_llm_env)
    assert again.returncode == 0, again.stderr
    assert [r for r in loopback_llm.requests if "input" in r.body] == []
    assert outputs(folder)[0] == kept


def test_diversity_needs_a_budget_and_an_endpoint(tmp_path, loopback_llm_env):
    folder = tmp_path / "build"
    write_dataset(folder, ROWS)
    no_budget = evol("curate", str(folder), "--diversity", "0.9", "--no-progress", env=loopback_llm_env)
    assert no_budget.returncode == 2 and "--diversity chooses among the rows of a --budget" in no_budget.stderr
    offline = evol("curate", str(folder), "--budget", "2", "--by", "complexity", "--diversity", "0.9", "--no-progress")
    assert offline.returncode == 2 and "--diversity compares embeddings from an endpoint" in offline.stderr
    assert "Traceback" not in no_budget.stderr + offline.stderr
    assert not (folder / "curated").exists()
    bad_by = evol("curate", str(folder), "--budget", "2", "--by", "complexity*", "--no-progress")
    assert bad_by.returncode == 2 and "a score name" in bad_by.stderr
