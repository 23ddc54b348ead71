"""Reading JSON Lines row files (a build's dataset.jsonl, eliminated.jsonl...) with errors that
name the file, the line and what is wrong: one reader for every command that reads them.

JSON accepts two things that later break every writer of the row: a ``\\ud800`` escape (a lone
surrogate, which no UTF-8 file, Parquet column or HTTP body can hold) and nesting as deep as the
file likes (which exhausts Python's recursion in the decoder or in whatever walks the row next).
Both are refused where the row is read, naming the line and the field, so that no command meets
them half way through its work. ``find_unwritable`` is shared with the seeds reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ..types.errors import UsageError

MAX_NESTING = 100
"""How deep lists and objects may nest in one row: far beyond any row we write (a handful of
levels), far below what exhausts the recursion of json and of the writers that walk a row."""
TOO_DEEP = f"lists or objects nested too deep (at most {MAX_NESTING} levels)"


class RowFileError(UsageError):
    """A row file that cannot be read: names the file and the line."""


def parse_row(raw: bytes, path: Path, number: int) -> dict[str, Any]:
    """One line of a row file as its JSON object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RowFileError(f"{path}:{number}: not UTF-8 (byte 0x{raw[error.start]:02x} at byte {error.start + 1})") from None
    try:
        row = json.loads(text)
    except json.JSONDecodeError as error:
        raise RowFileError(f"{path}:{number}: not valid JSON ({error.msg}, column {error.colno})") from None
    except RecursionError:
        raise RowFileError(f"{path}:{number}: {TOO_DEEP}") from None
    if not isinstance(row, dict):
        raise RowFileError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
    problem = find_unwritable(row)
    if problem is not None:
        field, message = problem
        raise RowFileError(f"{path}:{number}: field {field!r}: {message}")
    return row


def find_unwritable(value: Any) -> tuple[str, str] | None:
    """(field, problem) for the first string holding a lone surrogate or the first nesting deeper
    than ``MAX_NESTING``, else None. The field is a path such as ``fields.tests[2]``.

    Walks with an explicit stack: the point is to survive nesting that recursion would not.
    """
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if _has_lone_surrogate(item):
                return where or "(the row)", "not valid Unicode text: a lone surrogate"
        elif isinstance(item, (dict, list)):
            if depth >= MAX_NESTING:
                return where or "(the row)", TOO_DEEP
            if isinstance(item, dict):
                for key, child in reversed(item.items()):  # popped in file order
                    if _has_lone_surrogate(key):  # named by its object: the key itself cannot be printed
                        return where or "(the row)", "not valid Unicode text: a lone surrogate in a key"
                    stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
            else:
                for index, child in reversed(list(enumerate(item))):
                    stack.append((child, f"{where}[{index}]", depth + 1))
    return None


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every non-blank line of ``path``."""
    if not path.is_file():
        raise RowFileError(f"{path}: no such file")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, parse_row(raw, path, number)
