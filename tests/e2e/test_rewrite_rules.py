"""What the evolver sends back, through the real CLI and the loopback server: a rewrite is never
cut short by the cleaner, and a refusal never becomes an instruction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolinstruct import clean_rewrite
from evolinstruct.builtins.rules import is_refusal
from evolinstruct.testing import Rule
from tests.conftest import evol

API = {"OPENAI_API_KEY": "sk-loopback"}
WIKI = "#Given Prompt# is the heading our wiki uses; write a regex that finds every such heading in a page."


def build(tmp_path: Path, base_url: str, rounds: int = 1) -> tuple[list[dict], list[dict]]:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"id": "wiki", "instruction": "Write a regex for wiki headings."}) + "\n", encoding="utf-8")
    out = tmp_path / "o"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", str(rounds),
                  env={"OPENAI_BASE_URL": base_url, **API})
    assert result.returncode == 0, result.stderr
    read = lambda name: [json.loads(line) for line in (out / name).read_text(encoding="utf-8").splitlines()]
    return read("dataset.jsonl"), read("eliminated.jsonl")


def test_a_rewrite_starting_with_a_label_word_keeps_every_word(tmp_path: Path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="#Original Instruction#", reply=WIKI)])
    kept, eliminated = build(tmp_path, server.base_url)
    # The words are the instruction's own: nothing is cut, the leak rule judges the whole text.
    every = [row["instruction"] for row in kept + eliminated if row["round"] == 1]
    assert every == [WIKI]
    assert not any(row["instruction"].startswith("is the heading") for row in kept + eliminated)


@pytest.mark.parametrize("text", [
    WIKI,
    "#New Instruction# marks the start of each entry in our changelog; parse the entries in Python.",
    "**Rewritten Prompt** is a bold heading here; convert this Markdown file to HTML.",
])
def test_the_cleaner_leaves_a_sentence_that_starts_with_label_words_whole(text: str) -> None:
    assert clean_rewrite(text) == text


def test_a_label_on_its_own_line_or_before_a_colon_is_still_removed() -> None:
    assert clean_rewrite("#Rewritten Instruction#\nList three rivers.") == "List three rivers."
    assert clean_rewrite("#Rewritten Instruction#:List three rivers.") == "List three rivers."
    assert clean_rewrite("#Given Prompt#   \n  Name a lake.") == "Name a lake."


@pytest.mark.parametrize("refusal", [
    "Sorry, I can't help with that.",
    "I'm sorry, but I cannot assist with rewriting this request.",
    "I can't help with that.",
])
def test_an_evolver_refusal_is_eliminated_before_it_is_answered(tmp_path: Path, loopback_llm_factory, refusal: str) -> None:
    server = loopback_llm_factory([Rule(contains="#Original Instruction#", reply=refusal)])
    kept, eliminated = build(tmp_path, server.base_url)
    assert [row["round"] for row in kept] == [0]
    assert [(row["instruction"], row["elimination"]["filter"]) for row in eliminated] == [(refusal, "sorry-rewrite")]
    assert eliminated[0]["response"] is None  # nothing was paid to answer a refusal


@pytest.mark.parametrize("instruction", [
    "Write a note saying sorry that you can't come to the party.",
    "Sorry for the noise: write a short note to the neighbours about the renovation.",
    "I can't decide between two laptops; compare them on price, weight and battery life.",
])
def test_an_instruction_that_only_mentions_an_apology_is_not_a_refusal(instruction: str) -> None:
    assert not is_refusal(instruction)
