"""Rows built from ../shared/data for the curation benchmarks: benchmark items planted the ways
contamination happens (verbatim, lightly edited, numbers changed, embedded in a longer
instruction), near-duplicates made by small edits, and clean rows to count false positives on.

Every perturbation draws from a ``random.Random`` it is given, so a benchmark run is reproducible.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"

_NUMBER = re.compile(r"\d+")


def jsonl(name: str) -> list[dict]:
    path = DATA / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass(frozen=True)
class Text:
    """A benchmark item or a clean training text, with where it came from."""

    source: str
    id: str
    instruction: str
    response: str


def benchmark_items() -> dict[str, list[Text]]:
    """The items the built-in fingerprints cover, by benchmark name."""
    return {
        "humaneval": [Text("humaneval", r["task_id"], r["prompt"], r["canonical_solution"]) for r in jsonl("HumanEval.jsonl.gz")],
        "mbpp": [Text("mbpp", str(r["task_id"]), r["text"], r["code"]) for r in jsonl("mbpp.jsonl") if 11 <= r["task_id"] <= 510],
        "gsm8k": [Text("gsm8k", str(i), r["question"], r["answer"]) for i, r in enumerate(jsonl("gsm8k_test.jsonl"))],
        "math500": [Text("math500", r["unique_id"], r["problem"], r["solution"]) for r in jsonl("prm800k_math_splits_test.jsonl")],
    }


def clean_texts() -> dict[str, list[Text]]:
    """Training data that is not a benchmark's test set: what a clean dataset looks like."""
    alpaca = json.loads((DATA / "code_alpaca_2k.json").read_text(encoding="utf-8"))
    return {
        "gsm8k-train": [Text("gsm8k-train", str(i), r["question"], r["answer"]) for i, r in enumerate(jsonl("gsm8k_train.jsonl"))],
        "code-alpaca": [
            Text("code-alpaca", str(i), r["instruction"] + ("\n" + r["input"] if r["input"] else ""), r["output"])
            for i, r in enumerate(alpaca)
        ],
        "mbpp-train": [Text("mbpp-train", str(r["task_id"]), r["text"], r["code"]) for r in jsonl("mbpp.jsonl") if not 11 <= r["task_id"] <= 510],
    }


def vocabulary(texts: list[Text]) -> list[str]:
    words = sorted({w for t in texts for w in t.instruction.split() if w.isalpha() and len(w) > 2})
    return words


def edit_words(text: str, rng: random.Random, words: list[str], rate: float = 0.1) -> str:
    """Substitute, delete or insert about ``rate`` of the words (at least one), keeping layout
    elsewhere: what a careless copy or a light rewording does."""
    tokens = text.split(" ")
    edits = max(1, round(len(tokens) * rate))
    for _ in range(edits):
        if len(tokens) < 2:
            break
        at = rng.randrange(len(tokens))
        kind = rng.choice(("substitute", "delete", "insert"))
        if kind == "substitute":
            tokens[at] = rng.choice(words)
        elif kind == "delete":
            del tokens[at]
        else:
            tokens.insert(at, rng.choice(words))
    return " ".join(tokens)


def change_numbers(text: str, rng: random.Random) -> str:
    """Every number replaced by a different one of similar size."""
    def other(match: re.Match[str]) -> str:
        value = int(match.group())
        new = value
        while new == value:
            new = rng.randint(max(0, value // 2), value * 2 + 3)
        return str(new)

    return _NUMBER.sub(other, text)


def embed(text: str, rng: random.Random, fillers: list[Text]) -> str:
    """The item between two unrelated instructions, as part of a longer task."""
    before, after = rng.sample(fillers, 2)
    return (
        f"{before.instruction}\n\nThen solve this as well:\n{text}\n\n"
        f"Finally, {after.instruction[0].lower()}{after.instruction[1:]}"
    )


Perturbation = Callable[[Text, random.Random], tuple[str, str]]


def perturbations(words: list[str], fillers: list[Text]) -> dict[str, Perturbation]:
    """Ways a benchmark item ends up in a row: (instruction, response) from an item."""
    def unrelated(rng: random.Random) -> str:
        return rng.choice(fillers).response

    return {
        "verbatim": lambda t, rng: (t.instruction, unrelated(rng)),
        "edited (10% of words)": lambda t, rng: (edit_words(t.instruction, rng, words), unrelated(rng)),
        "numbers changed": lambda t, rng: (change_numbers(t.instruction, rng), unrelated(rng)),
        "embedded": lambda t, rng: (embed(t.instruction, rng, fillers), unrelated(rng)),
        "edited + numbers + embedded": lambda t, rng: (
            embed(change_numbers(edit_words(t.instruction, rng, words), rng), rng, fillers),
            unrelated(rng),
        ),
        "in the response": lambda t, rng: (rng.choice(fillers).instruction, f"The task was: {t.instruction}\n\n{unrelated(rng)}"),
    }


def dataset_rows(texts: Iterator[tuple[str, str]], start: int = 0) -> Iterator[dict]:
    """Rows shaped like a build's dataset.jsonl (round 0, general domain)."""
    for number, (instruction, response) in enumerate(texts, start=start):
        yield {
            "id": f"r{number}",
            "seed_id": f"r{number}",
            "parent_id": None,
            "round": 0,
            "operation": "seed",
            "domain": "general",
            "instruction": instruction,
            "response": response,
            "fields": {},
            "scores": {},
            "checks": {},
            "usage": {},
        }
