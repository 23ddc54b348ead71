"""The shipped fingerprints, and finding benchmark items planted in rows the ways it happens."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

from evolinstruct.builtins.curation.benchmarks import BUILTIN_SOURCES, build_builtin, load_builtin, read_user_benchmark, resolve
from evolinstruct.builtins.curation.contamination import ContaminationIndex
from evolinstruct.builtins.curation.ngrams import NgramHasher, TokenStream, sequence_hash
from evolinstruct.builtins.curation.text import benchmark_tokens

from ..conftest import REPO, TEST_DATA, read_jsonl

# Each built-in benchmark's original file, by the name its fingerprints record, as tests/data
# ships it (compressed where the original is not).
FILES = {
    "humaneval": ("HumanEval.jsonl.gz", "HumanEval.jsonl.gz"),
    "mbpp": ("mbpp.jsonl", "mbpp.jsonl.gz"),
    "gsm8k": ("gsm8k_test.jsonl", "gsm8k_test.jsonl.gz"),
    "math500": ("prm800k_math_splits_test.jsonl", "prm800k_math_splits_test.jsonl.gz"),
}
SHIPPED = REPO / "core" / "builtins" / "curation" / "fingerprints"


def lines(name):
    return read_jsonl(name if name.endswith(".gz") else f"{name}.gz")


def original_file(name: str, folder: Path) -> Path:
    """The benchmark's original file, byte for byte and under its own name (the fingerprints
    record both), restored in ``folder`` from its compressed copy when it was not compressed."""
    original, shipped = FILES[name]
    if original == shipped:
        return TEST_DATA / shipped
    path = folder / original
    path.write_bytes(gzip.decompress((TEST_DATA / shipped).read_bytes()))
    return path


@pytest.mark.parametrize("name", sorted(BUILTIN_SOURCES))
def test_the_shipped_fingerprints_are_what_the_script_builds_from_the_benchmark_files(name, tmp_path):
    rebuilt = build_builtin(name, original_file(name, tmp_path))
    shipped = load_builtin(name)
    assert shipped.source == rebuilt.source
    assert [(i.id, i.tokens, i.whole, i.grams.tolist()) for i in shipped.items] == [
        (i.id, i.tokens, i.whole, i.grams.tolist()) for i in rebuilt.items
    ]


def test_the_shipped_files_hold_no_benchmark_text():
    text = " ".join(path.read_text(encoding="utf-8") for path in SHIPPED.glob("*.json"))
    questions = [row["question"] for row in lines("gsm8k_test.jsonl")[:50]]
    prompts = [row["prompt"] for row in lines("HumanEval.jsonl.gz")[:50]]
    for item in questions + prompts:
        words = re.findall(r"[A-Za-z_]{4,}", item)
        phrases = [" ".join(words[i : i + 3]) for i in range(0, max(1, len(words) - 2), 3)]
        assert not any(phrase in text for phrase in phrases if len(phrase) > 12), item[:60]
    assert "has_close_elements" not in text


@pytest.fixture(scope="module")
def index():
    return ContaminationIndex(resolve(None))


def match(index, instruction, response=""):
    return index.match([[benchmark_tokens(instruction), benchmark_tokens(response)]])[0]


def test_items_are_found_verbatim_edited_with_numbers_changed_and_embedded(index):
    question = lines("gsm8k_test.jsonl")[0]["question"]  # Janet's ducks
    assert match(index, question).of == "gsm8k:0"
    edited = question.replace("Janet’s ducks lay", "The ducks of Janet lay").replace("every morning", "each day")
    assert match(index, edited).of == "gsm8k:0"
    renumbered = re.sub(r"\d+", lambda m: str(int(m.group()) * 3 + 1), question)
    assert renumbered != question and match(index, renumbered).of == "gsm8k:0"
    embedded = f"You are a helpful tutor. Read carefully.\n\n{question}\n\nAnswer in French and show your work step by step."
    assert match(index, embedded).of == "gsm8k:0"
    assert match(index, "Summarise this.", f"The problem says: {question}").of == "gsm8k:0"
    problem = lines("prm800k_math_splits_test.jsonl")[0]
    assert match(index, problem["problem"]).of == f"math500:{problem['unique_id']}"


def test_a_short_item_is_matched_whole(index):
    mbpp = {row["task_id"]: row["text"] for row in lines("mbpp.jsonl")}
    text = mbpp[17]  # "Write a function to find the perimeter of a square."
    assert len(benchmark_tokens(text)) < 20
    found = match(index, f"Please help. {text} Use Python.")
    assert found is not None and found.of == "mbpp:17" and found.whole
    assert match(index, "Write a function to find the perimeter of a rectangle.") is None


def test_short_items_are_found_whole_in_a_batch_and_not_when_cut_short(index):
    # Every short MBPP test task at the very end of a row's instruction (where its last token is
    # the text's last), and without its last token in the next row, all in one batch.
    tasks = {str(r["task_id"]): r["text"] for r in lines("mbpp.jsonl") if 11 <= r["task_id"] <= 510}
    short = {i: t for i, t in tasks.items() if len(benchmark_tokens(t)) < 20}
    assert len(short) > 100
    rows = []
    for text in short.values():
        rows.append([benchmark_tokens(f"Please help with this. {text}"), benchmark_tokens("def f(): pass")])
        rows.append([benchmark_tokens("Please help with this.") + benchmark_tokens(text)[:-1], []])
    found = index.match(rows)

    def inside(match, tokens):
        named = " ".join(benchmark_tokens(tasks[match.of.split(":")[1]]))
        return f" {named} " in f" {' '.join(tokens)} "

    for (item_id, text), whole, cut in zip(short.items(), found[0::2], found[1::2]):
        # The task named is in the row whole: this one, or one whose text this one repeats or
        # contains ("... sequences" inside "... sequences using regex").
        tokens = benchmark_tokens(text)
        assert whole is not None and whole.whole and inside(whole, tokens), item_id
        assert cut is None or (cut.of != f"mbpp:{item_id}" and inside(cut, tokens[:-1])), item_id


def test_a_window_hash_is_the_same_however_it_is_computed():
    hasher = NgramHasher()
    hashes, lengths = hasher.batch([["a", "b", "c", "d"], ["e", "f", "g"]])
    stream = TokenStream(hashes, lengths)
    starts, spans = np.array([0, 1, 4, 4, 0], np.int64), np.array([4, 2, 3, 1, 1], np.int64)
    expected = [sequence_hash(hashes[s : s + n].tolist()) for s, n in zip(starts.tolist(), spans.tolist())]
    assert stream.hash_spans(starts, spans).tolist() == expected
    assert [int(stream.hash_at(starts[i : i + 1], int(spans[i]))[0]) for i in range(5)] == expected


def test_clean_training_rows_are_not_flagged(index):
    tasks = read_jsonl("code_tasks.jsonl")
    rows = [[benchmark_tokens(r["instruction"] + "\n" + r["input"]), benchmark_tokens(r["output"])] for r in tasks]
    assert sum(m is not None for m in index.match(rows)) == 0


def test_a_user_benchmark_file(tmp_path):
    path = tmp_path / "mybench.jsonl"
    path.write_text(
        json.dumps({"id": "q1", "question": "A farmer has 17 sheep and buys 5 more goats; how many animals are on the farm now in total?"}) + "\n"
    )
    fingerprints = read_user_benchmark(path)
    assert fingerprints.name == "mybench" and fingerprints.source["records"] == 1
    index = ContaminationIndex([fingerprints])
    assert match(index, "A farmer has 30 sheep and buys 2 more goats; how many animals are on the farm now in total?").of == "mybench:q1"
