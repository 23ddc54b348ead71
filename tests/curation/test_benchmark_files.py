"""A user's benchmark file (``evol curate --against FILE``) that cannot be read is an error naming
the file and the line, whatever is wrong with it: its bytes, its JSON, its compression."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from evolinstruct.builtins.curation.benchmarks import BenchmarkError, read_user_benchmark

QUESTION = json.dumps({"id": "q1", "question": "How many legs do three spiders have in all, counted together?"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"question": "caf\xe9 au lait"}\n', ":2: not UTF-8 (byte 0xe9 at byte 18)"),
        (bytes(range(128, 256)) + b"\n", ":2: not UTF-8 (byte 0x80 at byte 1)"),
        (b"{oops\n", ":2: not valid JSON"),
        (b'{"question": "half a pair: \\ud800"}\n', ":2: field 'question': not valid Unicode text: a lone surrogate"),
        (b'{"question": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", ":2: lists or objects nested too deep"),
    ],
)
def test_a_bad_line_is_named_with_its_file_and_number(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bench.jsonl"
    path.write_bytes(QUESTION.encode() + b"\n" + content)
    with pytest.raises(BenchmarkError) as caught:
        read_user_benchmark(path)
    assert str(caught.value).startswith(f"{path}:2: ")
    assert message in str(caught.value)


def test_a_gz_name_on_a_file_that_is_not_gzip_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bench.jsonl.gz"
    path.write_bytes(QUESTION.encode() + b"\n")
    with pytest.raises(BenchmarkError, match=r"bench\.jsonl\.gz: named \.gz but cannot be read as gzip"):
        read_user_benchmark(path)


def test_a_gzip_file_is_read_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "bench.jsonl.gz"
    path.write_bytes(gzip.compress(QUESTION.encode() + b"\n\n" + QUESTION.replace("q1", "q2").encode() + b"\n"))
    fingerprints = read_user_benchmark(path)
    assert fingerprints.source["records"] == 2
