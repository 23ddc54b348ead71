r"""Benchmarks to decontaminate against, as fingerprints: hashed word n-grams, never their text.

A fingerprint file holds, for each benchmark item, the sorted 64-bit hashes of its distinct word
n-grams (tokens from ``text.benchmark_tokens``: numbers read as ``0``), or, for an item shorter
than ``WHOLE_BELOW`` tokens, the hash of its whole token sequence and of its first n tokens; an
item of fewer than ``MIN_TOKENS`` tokens (``Simplify $\sqrt{242}$.``) is found only when a row's
instruction is that item, so it holds the hash of its ``literal_tokens`` (numbers as written: the
item is not ``Simplify $\sqrt{50}$.``). It also records where it came from (file
name, SHA-256, number of records, which of them) so ``curation.json`` can say which version of
each benchmark a dataset was checked against. The package ships the files for HumanEval, MBPP
(test tasks 11-510), GSM8K (test) and MATH-500, built by ``scripts/build_fingerprints.py``; a
user's own benchmark (JSONL or Parquet) is fingerprinted the same way when ``--against`` names it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from ...runtime.rows import RowFileError, parse_row
from ...types.errors import EvolError

from .ngrams import HASH_DESCRIPTION, NgramHasher, sequence_hash, window_hashes
from .text import benchmark_tokens, literal_tokens

FORMAT = "evolinstruct-fingerprints/1"
NGRAM = 5
"""Words per n-gram; chosen by ``benchmarks/contamination_recall.py`` (see benchmarks/README.md)."""
WHOLE_BELOW = 20
"""Items with fewer tokens are matched whole; chosen with NGRAM (see benchmarks/README.md)."""
MIN_TOKENS = 4
"""Items shorter than this are matched only as a row's whole instruction, numbers as written: a
three-word phrase inside a longer text is not a benchmark item, a row that is the item is."""
TEXT_FIELDS = ("prompt", "question", "problem", "text", "instruction", "input")
ID_FIELDS = ("task_id", "id", "unique_id", "problem_id", "idx")


class BenchmarkError(EvolError):
    """A benchmark file or name that cannot be used; names the file, line and field."""


@dataclass(frozen=True)
class BenchmarkItem:
    id: str
    text: str


@dataclass(frozen=True)
class FingerprintItem:
    id: str
    tokens: int
    grams: np.ndarray = field(repr=False)
    """Sorted distinct n-gram hashes (uint64); for a short item, the hash of the whole item and
    the hash of its first n tokens."""
    whole: bool = False
    """A short item (fewer than ``whole_below`` tokens): matched only when its whole token
    sequence appears in a row."""
    exact: bool = False
    """A very short item (fewer than ``MIN_TOKENS`` tokens): ``grams`` is the one hash of its
    ``literal_tokens`` and ``tokens`` their number; matched only when a row's instruction is it."""


@dataclass(frozen=True)
class Fingerprints:
    """One benchmark's fingerprints and where they came from."""

    name: str
    description: str
    source: Mapping[str, Any]
    ngram: int
    whole_below: int
    items: tuple[FingerprintItem, ...]
    skipped: tuple[str, ...] = ()
    """Ids of items with no word at all, which nothing can be matched against."""

    def version(self) -> dict[str, Any]:
        """What curation.json records about this benchmark."""
        return {
            "name": self.name,
            "description": self.description,
            **dict(self.source),
            "items": len(self.items),
            "skipped_items": len(self.skipped),
            "ngram": self.ngram,
            "whole_below": self.whole_below,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "benchmark": self.name,
            "description": self.description,
            "source": dict(self.source),
            "tokens": "lower-case words and numbers (\\w+, NFKC, case-folded), every number read as 0",
            "hash": HASH_DESCRIPTION,
            "ngram": self.ngram,
            "whole_below": self.whole_below,
            "skipped": list(self.skipped),
            "items": [
                {
                    "id": item.id,
                    "tokens": item.tokens,
                    "grams": base64.b64encode(item.grams.astype("<u8").tobytes()).decode("ascii"),
                    **({"exact": True} if item.exact else {}),
                }
                for item in self.items
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> Fingerprints:
        if data.get("format") != FORMAT:
            raise BenchmarkError(f"{where}: not a fingerprint file of format {FORMAT!r}")
        ngram = int(data["ngram"])
        whole_below = int(data["whole_below"])
        items = []
        for entry in data["items"]:
            grams = np.frombuffer(base64.b64decode(entry["grams"]), dtype="<u8").astype(np.uint64)
            tokens = int(entry["tokens"])
            exact = entry.get("exact") is True
            items.append(FingerprintItem(str(entry["id"]), tokens, grams, tokens < whole_below and not exact, exact))
        return cls(
            name=str(data["benchmark"]),
            description=str(data.get("description", "")),
            source=dict(data.get("source", {})),
            ngram=ngram,
            whole_below=whole_below,
            items=tuple(items),
            skipped=tuple(data.get("skipped", ())),
        )


def fingerprint(
    name: str,
    description: str,
    items: Sequence[BenchmarkItem],
    source: Mapping[str, Any],
    ngram: int = NGRAM,
    whole_below: int = WHOLE_BELOW,
) -> Fingerprints:
    """Hash every item's n-grams (or, for a short item, its whole token sequence)."""
    whole_below = max(whole_below, ngram)
    hasher = NgramHasher()
    fingerprinted, skipped = [], []
    for item in items:
        tokens = benchmark_tokens(item.text)
        if len(tokens) < MIN_TOKENS:
            literal = literal_tokens(item.text)
            if not literal:
                skipped.append(item.id)
                continue
            exact = sequence_hash(hasher.tokens.hashes(literal))
            fingerprinted.append(FingerprintItem(item.id, len(literal), np.array([exact], np.uint64), exact=True))
            continue
        hashes, lengths = hasher.batch([tokens])
        whole = len(tokens) < whole_below
        if whole:
            # The whole sequence's hash, then that of its first n tokens: the anchor a matcher
            # looks for among a row's n-grams before it checks the whole.
            anchor = hashes[: min(ngram, len(tokens))].tolist()
            grams = np.array([sequence_hash(hashes.tolist()), sequence_hash(anchor)], dtype=np.uint64)
        else:
            grams = np.unique(window_hashes(hashes, lengths, ngram)[0])
        fingerprinted.append(FingerprintItem(item.id, len(tokens), grams, whole))
    return Fingerprints(name, description, dict(source), ngram, whole_below, tuple(fingerprinted), tuple(skipped))


def write_fingerprints(fingerprints: Fingerprints, path: Path) -> None:
    path.write_text(json.dumps(fingerprints.as_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_fingerprints(path: Path) -> Fingerprints:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise BenchmarkError(f"{path}: cannot read fingerprints: {error}") from None
    return Fingerprints.from_json(data, str(path))


# --- the built-in benchmarks -------------------------------------------------------------------

FINGERPRINT_PACKAGE = "evolinstruct.builtins.curation"


def builtin_names() -> tuple[str, ...]:
    return tuple(sorted(BUILTIN_SOURCES))


def load_builtin(name: str) -> Fingerprints:
    """The shipped fingerprints of a built-in benchmark."""
    if name not in BUILTIN_SOURCES:
        raise BenchmarkError(f"no built-in benchmark {name!r}; built in: {', '.join(builtin_names())}")
    resource = resources.files(FINGERPRINT_PACKAGE).joinpath("fingerprints").joinpath(f"{name}.json")
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchmarkError(
            f"the fingerprints of {name!r} are missing from the installed package; "
            "rebuild them with scripts/build_fingerprints.py"
        ) from None
    return Fingerprints.from_json(data, f"fingerprints/{name}.json")


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a JSON Lines file, gzip-compressed if named .gz. A line that is
    not UTF-8, not JSON or holds what the row reader refuses is an error naming file and line."""
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
        with handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield number, _parse_line(raw, path, number)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:  # only a .gz file raises these
        raise BenchmarkError(f"{path}: named .gz but cannot be read as gzip ({error})") from None
    except IsADirectoryError:
        raise BenchmarkError(f"{path}: is a folder, not a JSON Lines file") from None


def _parse_line(raw: bytes, path: Path, number: int) -> dict[str, Any]:
    """One benchmark record, read as the row reader reads a row (its errors, as this file's)."""
    try:
        return parse_row(raw, path, number)
    except RowFileError as error:
        raise BenchmarkError(str(error)) from None


def _humaneval(path: Path) -> list[BenchmarkItem]:
    return [BenchmarkItem(str(row["task_id"]), row["prompt"]) for _, row in _read_jsonl(path)]


def _mbpp_test(path: Path) -> list[BenchmarkItem]:
    # The test split of MBPP is tasks 11-510 (Austin et al. 2021); the others are training,
    # validation and few-shot prompts.
    return [
        BenchmarkItem(str(row["task_id"]), row["text"])
        for _, row in _read_jsonl(path)
        if 11 <= int(row["task_id"]) <= 510
    ]


def _gsm8k(path: Path) -> list[BenchmarkItem]:
    # GSM8K has no ids: an item is named by its 0-based position in the test file.
    return [BenchmarkItem(str(index), row["question"]) for index, (_, row) in enumerate(_read_jsonl(path))]


def _math500(path: Path) -> list[BenchmarkItem]:
    return [BenchmarkItem(str(row["unique_id"]), row["problem"]) for _, row in _read_jsonl(path)]


@dataclass(frozen=True)
class BuiltinSource:
    description: str
    selection: str
    read: Callable[[Path], list[BenchmarkItem]]


BUILTIN_SOURCES: dict[str, BuiltinSource] = {
    "humaneval": BuiltinSource("HumanEval (Chen et al. 2021): the prompts", "all 164 tasks", _humaneval),
    "mbpp": BuiltinSource("MBPP (Austin et al. 2021): the test tasks' text", "task_id 11-510", _mbpp_test),
    "gsm8k": BuiltinSource("GSM8K test (Cobbe et al. 2021): the questions", "all test questions", _gsm8k),
    "math500": BuiltinSource(
        "MATH-500 (the PRM800K test split of MATH): the problems", "all 500 problems", _math500
    ),
}


def file_source(path: Path, records: int, selection: str) -> dict[str, Any]:
    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "records": records,
        "selection": selection,
    }


def build_builtin(name: str, path: Path) -> Fingerprints:
    """Fingerprints of a built-in benchmark from its original file (scripts/build_fingerprints.py)."""
    source = BUILTIN_SOURCES[name]
    items = source.read(path)
    records = sum(1 for _ in _read_jsonl(path))
    return fingerprint(name, source.description, items, file_source(path, records, source.selection))


# --- a user's benchmark ------------------------------------------------------------------------


def _user_records(path: Path) -> Iterator[tuple[str, Any]]:
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        row = 0
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
                for record in batch.to_pylist():
                    row += 1
                    yield f"{path}:row {row}", record
        except Exception as error:  # pyarrow raises several types for a file that is not Parquet
            raise BenchmarkError(f"{path}: cannot read as Parquet: {error}") from None
        return
    for number, record in _read_jsonl(path):
        yield f"{path}:{number}", record


def read_user_benchmark(path: Path) -> Fingerprints:
    """Fingerprints of a user's benchmark file: each record's first text field of
    ``TEXT_FIELDS`` is the item, its first id field of ``ID_FIELDS`` (else its row number) the id."""
    if not path.is_file():
        raise BenchmarkError(
            f"--against {path}: neither a built-in benchmark ({', '.join(builtin_names())}) nor a file"
        )
    items: list[BenchmarkItem] = []
    for number, (where, record) in enumerate(_user_records(path), start=1):
        if not isinstance(record, dict):
            raise BenchmarkError(f"{where}: a benchmark record must be a JSON object")
        text_field = next((name for name in TEXT_FIELDS if isinstance(record.get(name), str) and record[name].strip()), None)
        if text_field is None:
            raise BenchmarkError(f"{where}: no text field (one of {', '.join(TEXT_FIELDS)}) with a non-empty string")
        id_field = next((name for name in ID_FIELDS if record.get(name) not in (None, "")), None)
        item_id = str(record[id_field]) if id_field else str(number)
        items.append(BenchmarkItem(item_id, record[text_field]))
    if not items:
        raise BenchmarkError(f"{path}: the benchmark file has no records")
    return fingerprint(path.stem, f"user benchmark {path.name}", items, file_source(path, len(items), "all records"))


def resolve(names: Sequence[str] | None) -> list[Fingerprints]:
    """The benchmarks ``--against`` names (built-in names or files); None means every built-in."""
    if names is None:
        return [load_builtin(name) for name in builtin_names()]
    out = []
    for name in names:
        if name in BUILTIN_SOURCES:
            out.append(load_builtin(name))
        else:
            out.append(read_user_benchmark(Path(name)))
    seen: dict[str, Fingerprints] = {}
    for fp in out:
        if fp.name in seen:
            raise BenchmarkError(f"--against names the benchmark {fp.name!r} twice")
        seen[fp.name] = fp
    return out
