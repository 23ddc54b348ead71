"""A user's own mistake never reaches them as a Python traceback: every command, given the inputs
people get wrong (a missing file, a folder for a file, a file that is not UTF-8 or not JSON, an
empty one, a value out of range), answers with one clear line and exit code 2.

This is the standing form of a search of the command line's code paths: each command's readers
of files and options, fed each kind of bad input. A new command or reader belongs here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import evol


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-inputs")
    (root / "not-json.jsonl").write_text("this is not json\n", encoding="utf-8")
    (root / "latin1.jsonl").write_bytes(b'{"instruction": "caf\xe9"}\n')
    (root / "binary.bin").write_bytes(bytes(range(256)))
    (root / "empty.jsonl").write_text("", encoding="utf-8")
    (root / "array.json").write_text("[1, 2", encoding="utf-8")
    (root / "a-folder").mkdir()
    # JSON that decodes but that no writer can take: a lone surrogate, nesting beyond any recursion
    surrogate = b'{"id": "a", "instruction": "a\\ud800"}\n'
    deep = b'{"id": "a", "instruction": "x", "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    (root / "surrogate.jsonl").write_bytes(surrogate)
    (root / "deep.jsonl").write_bytes(deep)
    for name, content in (
        ("bad-utf8", b"\xff\xfe{}\n"), ("bad-json", b"{oops\n"), ("not-object", b"[1]\n"),
        ("surrogate", surrogate), ("deep", deep),
    ):
        folder = root / name
        folder.mkdir()
        (folder / "dataset.jsonl").write_bytes(content)
    (root / "recipe.toml").write_text("rounds = \n", encoding="utf-8")
    (root / "good").mkdir()
    (root / "good" / "dataset.jsonl").write_text('{"id": "a", "instruction": "Name a colour.", "response": "Blue."}\n', encoding="utf-8")
    (root / "ok.jsonl").write_text('{"instruction": "Name a colour."}\n', encoding="utf-8")
    for name, line in (("base-url", "base_url = 5"), ("schedule", "schedule = 5"), ("weights", "operation_weights = {deepen = nan}")):
        (root / f"recipe-{name}.toml").write_text(f'seeds = "ok.jsonl"\nout = "o"\n{line}\n', encoding="utf-8")
    (root / "rules.json").write_text(json.dumps([{"reply": "x", "hang": -1}]), encoding="utf-8")
    return root


CASES = [
    # build: seeds, recipes, options, folders
    ("build", "--seeds", "{root}/missing.jsonl", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/a-folder", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/binary.bin", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/latin1.jsonl", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/empty.jsonl", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/array.json", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/surrogate.jsonl", "--out", "{root}/o"),
    ("build", "--seeds", "{root}/surrogate.jsonl", "--out", "{root}/o", "--dry-run"),
    ("build", "--seeds", "{root}/deep.jsonl", "--out", "{root}/o", "--dry-run"),
    ("build", "--config", "{root}/recipe.toml"),
    ("build", "--config", "{root}/missing.toml"),
    ("build", "--config", "{root}/recipe-base-url.toml"),
    ("build", "--config", "{root}/recipe-schedule.toml"),
    ("build", "--config", "{root}/recipe-weights.toml"),
    # numbers that pass a ">= 0" check but break a timer, a draw or a sandbox job later
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--operation-weights", "deepen=nan"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--timeout", "inf"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--max-outage", "nan"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--temperature", "nan"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--dry-run", "--price-in", "nan", "--price-out", "1"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--domain", "code", "--exec-timeout", "5000"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--domain", "code", "--exec-timeout", "nan"),
    ("build", "--seeds", "{root}/ok.jsonl", "--out", "{root}/o", "--domain", "code", "--exec-memory", "100000"),
    ("build", "--seeds", "{root}/not-json.jsonl", "--out", "{root}/binary.bin/o"),
    ("build", "--seeds", "{root}/not-json.jsonl", "--out", "{root}/o", "--max-outage", "-1"),
    ("build", "--seeds", "{root}/not-json.jsonl", "--out", "{root}/o", "--domain", "nosuch"),
    ("build", "--seeds", "{root}/not-json.jsonl", "--out", "{root}/o", "--base-url", "ftp://x"),
    # export, report, curate: build folders that are not
    ("export", "{root}/a-folder"),
    ("export", "{root}/missing"),
    ("export", "{root}/bad-utf8"),
    ("export", "{root}/bad-json"),
    ("export", "{root}/not-object"),
    ("export", "{root}/surrogate"),
    ("export", "{root}/deep"),
    ("report", "{root}/a-folder"),
    ("report", "{root}/bad-utf8"),
    ("report", "{root}/bad-json"),
    ("report", "{root}/binary.bin"),
    ("curate", "{root}/a-folder"),
    ("curate", "{root}/bad-utf8"),
    ("curate", "{root}/bad-json"),
    ("curate", "{root}/not-object"),
    ("curate", "{root}/surrogate"),
    ("curate", "{root}/deep"),
    ("curate", "{root}/good", "--against", "{root}/latin1.jsonl"),
    ("curate", "{root}/good", "--against", "{root}/binary.bin"),
    ("curate", "{root}/good", "--against", "{root}/surrogate.jsonl"),
    ("curate", "{root}/good", "--against", "{root}/deep.jsonl"),
    # the plugins' commands and the loopback server
    ("math", "steps", "{root}/missing.jsonl"),
    ("math", "equal", "{root}/a-folder"),
    ("sandbox", "exec", "{root}/not-json.jsonl"),
    ("sandbox", "exec", "{root}/binary.bin"),
    ("loopback-llm", "--port", "0", "--script", "{root}/rules.json"),
    ("loopback-llm", "--port", "0", "--script", "{root}/missing.json"),
    ("loopback-llm", "--port", "0", "--script", "{root}/binary.bin"),
    ("loopback-llm", "--port", "0", "--script", "{root}/deep.jsonl"),
    # the command line itself
    ("-p", "nosuch"),
    ("-p", "no:core", "plugins", "list"),
    ("build",),
    ("nosuchcommand",),
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(case) for case in CASES])
def test_a_bad_input_is_one_clear_line_and_exit_2(inputs: Path, args: tuple[str, ...]) -> None:
    result = evol(*(arg.format(root=inputs) for arg in args), timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-500:])
    assert result.stderr.strip(), "the error says nothing"
