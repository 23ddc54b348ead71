"""Reading JSON Lines row files (a build's dataset.jsonl, eliminated.jsonl...) with errors that
name the file, the line and what is wrong: one reader for every command that reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ..types.errors import UsageError


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
    if not isinstance(row, dict):
        raise RowFileError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
    return row


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every non-blank line of ``path``."""
    if not path.is_file():
        raise RowFileError(f"{path}: no such file")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, parse_row(raw, path, number)
