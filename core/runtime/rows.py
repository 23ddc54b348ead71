"""The rows of a build folder, declared once, and the one reader of JSON Lines row files (a
build's dataset.jsonl, eliminated.jsonl...) with errors that name the file, the line and the field.

A row (``SAMPLE_ROW``: id, seed_id, parent_id, round, operation, domain, instruction, response,
fields, scores, checks, usage, provenance; an eliminated one adds ``elimination``) and a failed
sample's row (``FAILED_ROW``) are declared here with what each field holds. The build's writers
(output.py) make exactly these fields, and every reader (export, curate, report, card, the shard
merge) checks a row with ``RowSchema.problem`` as it reads it: a field that is present must be
what the declaration says, and each reader names the fields it cannot do without (``require``),
so a row fails the same way, with the same words, whichever command reads it.

JSON accepts two things that later break every writer of the row: a ``\\ud800`` escape (a lone
surrogate, which no UTF-8 file, Parquet column or HTTP body can hold) and nesting as deep as the
file likes (which exhausts Python's recursion in the decoder or in whatever walks the row next).
Both are refused where the row is read, naming the line and the field, so that no command meets
them half way through its work. ``find_unwritable`` is shared with the seeds reader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Mapping

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


Problem = tuple[str, str]
"""(field, what is wrong): ``("scores.judge", "expected a number or null, got \"high\"")``."""


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:80]


def _expected(name: str, expected: str, got: Any) -> Problem:
    return name, f"expected {expected}, got {_shown(got)}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    # NaN and infinity included: json writes them, and a reader decides what they mean.
    return _is_int(value) or isinstance(value, float)


@dataclass(frozen=True)
class Field:
    """One field of a row: what it holds, in words for the error and as a check."""

    name: str
    expected: str
    check: Callable[[Any], bool]
    nullable: bool = False
    inner: Callable[[str, Any], Problem | None] | None = None
    """A check of the value's parts (``scores.NAME``...), run once the value itself passed."""

    def problem(self, value: Any) -> Problem | None:
        if value is None:
            return None if self.nullable else _expected(self.name, self.expected, value)
        if not self.check(value):
            return _expected(self.name, self.expected + (" or null" if self.nullable else ""), value)
        return self.inner(self.name, value) if self.inner is not None else None


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _nonblank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _object(value: Any) -> bool:
    return isinstance(value, dict)


def _row_id(value: Any) -> bool:
    # A build writes strings; a dataset from elsewhere may number its rows.
    return (isinstance(value, str) and value != "") or _is_int(value)


def _round(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _scores(name: str, scores: Mapping[str, Any]) -> Problem | None:
    for key, value in scores.items():
        if not (value is None or _is_number(value)):
            return _expected(f"{name}.{key}", "a number or null", value)
    return None


def _usage(name: str, usage: Mapping[str, Any]) -> Problem | None:
    for stage, used in usage.items():
        if not isinstance(used, dict):
            return _expected(f"{name}.{stage}", "an object", used)
        for count in ("prompt_tokens", "completion_tokens", "requests"):
            value = used.get(count, 0)
            if not (_is_int(value) and value >= 0):
                return _expected(f"{name}.{stage}.{count}", "an integer >= 0", value)
    return None


def _elimination(name: str, elimination: Mapping[str, Any]) -> Problem | None:
    for part in ("filter", "reason"):
        if not isinstance(elimination.get(part), str):
            return _expected(f"{name}.{part}", "a string", elimination.get(part))
    return None


ID = Field("id", "a non-empty string or an integer", _row_id)
SEED_ID = Field("seed_id", "a string", _text)
PARENT_ID = Field("parent_id", "a string", _text, nullable=True)
ROUND = Field("round", "an integer >= 0", _round)
OPERATION = Field("operation", "a string", _text)
USAGE = Field("usage", "an object of stages", _object, inner=_usage)


@dataclass(frozen=True)
class RowSchema:
    """The fields of one kind of row, in the order the build writes them."""

    kind: str
    fields: tuple[Field, ...]
    reserved: Mapping[str, str] = field(default_factory=dict)
    """Fields this kind of row never has, with why (``removal`` marks a curated/removed row)."""
    optional: tuple[Field, ...] = ()
    """Fields a build does not write but a row from elsewhere may hold, checked when present."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def problem(self, row: Mapping[str, Any], require: Collection[str] = ()) -> Problem | None:
        """The first field of ``row`` that is not what it should be, or that ``require`` needs and
        the row lacks; None when the row is usable."""
        for declared in self.fields + self.optional:
            if declared.name in row:
                found = declared.problem(row[declared.name])
                if found is not None:
                    return found
            elif declared.name in require:
                return declared.name, f"is missing (this command needs {', '.join(sorted(require))})"
        for name, why in self.reserved.items():
            if name in row:
                return name, why
        return None

    def check(self, row: Mapping[str, Any], path: Path | str, line: int, require: Collection[str] = ()) -> None:
        """Raises ``RowFileError`` naming file, line and field when ``problem`` finds one."""
        found = self.problem(row, require)
        if found is not None:
            raise RowFileError(f"{path}:{line}: field {found[0]!r}: {found[1]}")


SAMPLE_FIELDS: tuple[Field, ...] = (
    ID, SEED_ID, PARENT_ID, ROUND, OPERATION,
    Field("domain", "a string", _text),
    Field("instruction", "a non-empty string", _nonblank),
    Field("response", "a string", _text, nullable=True),
    Field("fields", "an object", _object),
    Field("scores", "an object of numbers", _object, inner=_scores),
    Field("checks", "an object", _object),
    USAGE,
    Field("provenance", "an object", _object),
)
SAMPLE_ROW = RowSchema(
    "dataset", SAMPLE_FIELDS,
    reserved={"removal": "is written only into curated/removed.jsonl; is this a curated output file?"},
    # A dataset curated without a build may hold its instruction's input apart (Alpaca's layout).
    optional=(Field("input", "a string", _text, nullable=True),),
)
"""A row of dataset.jsonl: a kept sample of some round (seeds are round 0)."""

ELIMINATED_ROW = RowSchema(
    "eliminated",
    tuple(Field("instruction", "a string", _text) if f.name == "instruction" else f for f in SAMPLE_FIELDS)
    + (Field("elimination", "an object {filter, reason}", _object, inner=_elimination),),
)
"""A row of eliminated.jsonl: a sample row (whose rewrite may be empty, which is why it was
eliminated) and the filter that eliminated it and why."""

FAILED_ROW = RowSchema(
    "failed",
    (
        ID, SEED_ID, PARENT_ID, ROUND, OPERATION,
        Field("stage", "a string", _text),
        Field("kind", "a string", _text),
        Field("where", "a string", _text, nullable=True),
        Field("instruction", "a string", _text, nullable=True),
        Field("error", "a string", _text),
        USAGE,
        Field("traceback", "a string", _text),
    ),
)
"""A row of failed.jsonl: a sample whose work could not be finished, and the error."""

BUILD_REQUIRES = ("id", "seed_id", "parent_id", "round", "operation", "instruction")
"""What a row a build wrote always has, and what readers that follow lineages (report, card,
shard merge) need."""


def read_rows(
    path: Path, schema: RowSchema | None = None, require: Collection[str] = ()
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for every non-blank line of ``path``, each checked against ``schema``
    (with the fields this reader cannot do without, ``require``) when one is given."""
    if not path.is_file():
        raise RowFileError(f"{path}: no such file")
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                row = parse_row(raw, path, number)
                if schema is not None:
                    schema.check(row, path, number, require)
                yield number, row
