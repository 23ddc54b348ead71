"""What a curation rule is: a name, what it reads, and how it decides which rows to remove.

One type for every rule, built-in or registered by a plugin through the ``evol_curation_rules``
hook. A rule decides in one of two ways:

- row by row (``check_rows``): each row on its own, such as "a code sample whose
  ``checks.execution.verdict`` is not PASS". It receives rows in batches (so a rule that can
  vectorise, such as benchmark matching, does) and returns, per row, a ``Removal``, a reason
  string, or None to keep it. ``row_rule`` wraps a plain one-row function;
- over the whole dataset (``check_dataset``): rows compared with each other, such as duplicates
  or a budget. It receives the rows still present (``Candidate``: position, id, round, domain and
  the fields it reads) and yields ``(position, Removal)`` for the rows it removes.

``reads`` names the top-level row fields the rule looks at (``instruction``, ``input``,
``response``, ``checks``, ``scores``...): the pipeline keeps only those in memory, and a rule sees
exactly those (a field missing from a row reads as None). Rules apply in the order given; a row
removed by an earlier rule is not shown to a later one, and its removal names the first rule
that removed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Mapping, Protocol, Sequence, TypeVar, Union

from .registrations import Registration

T = TypeVar("T")

Row = Mapping[str, Any]
"""The fields a rule reads, plus ``id``: ``{"id": ..., "checks": {...}}``."""


@dataclass(frozen=True)
class Removal:
    """Why a row goes: a reason a person can check, and the row or benchmark item it duplicates
    (``of``: the kept twin's id, or ``BENCHMARK:ITEM_ID``), if any."""

    reason: str
    of: Any = None


@dataclass(frozen=True)
class Candidate:
    """A row as a whole-dataset rule sees it."""

    position: int
    """0-based position of the row among the dataset's rows (blank lines do not count)."""
    id: Any
    round: int | None
    domain: str | None
    values: Mapping[str, Any]

    @property
    def keep_order(self) -> tuple[int, int]:
        """Which of two equivalent rows is kept: the lower round, then the earlier in the file.
        A row without a round counts as round 0."""
        return (self.round or 0, self.position)


class Progress(Protocol):
    """Wraps an iterable in a progress display (the command's bars; nothing in tests)."""

    def __call__(self, items: Iterable[T], *, total: int, description: str) -> Iterable[T]: ...


def no_progress(items: Iterable[T], *, total: int, description: str) -> Iterable[T]:
    return items


@dataclass(frozen=True)
class CurationRun:
    """What one ``evol curate`` run was asked for, as a rule that depends on it reads it."""

    options: Mapping[str, Any]
    """The run's settings by name (``near_dup_threshold``, ``containment``, ``budget``, ``by``,
    ``budget_similarity``...)."""
    benchmarks: Sequence[Any] = ()
    """The benchmarks' fingerprints the run checks against (none with ``--skip contamination``)."""
    score_of: Callable[[Candidate], Union[float, None]] | None = None
    """A row's score for ``--budget --by``, the difficulty judge's included."""
    budget_tally: Any = None
    """Where a budget rule counts what it chose, for ``curation.json``."""
    embed: Callable[[Sequence[str]], Any] | None = None
    """Texts to their embeddings (a matrix, a row per text) from the run's endpoint, for
    ``--diversity``; None when the run has none."""


Verdict = Union[Removal, str, None]
RowsCheck = Callable[[Sequence[Row]], Sequence[Verdict]]
DatasetCheck = Callable[[Sequence[Candidate], Progress], Iterable[tuple[int, Removal]]]


@dataclass(frozen=True)
class CurationRule(Registration):
    """A rule ``evol curate`` applies (see the module docstring)."""

    kind: ClassVar[str] = "curation rule"
    name: str
    description: str
    reads: tuple[str, ...]
    check_rows: RowsCheck | None = None
    check_dataset: DatasetCheck | None = None
    domains: tuple[str, ...] | None = None
    """Only rows whose ``domain`` is one of these (None: every row)."""
    configure: Callable[[CurationRun], CurationRule | None] | None = None
    """For a rule that depends on the run's options (a threshold, a budget): called once per run
    with them, it returns the rule to apply, or None to apply none in this run. Such a rule has
    no check of its own."""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"a curation rule needs a name, got {self.name!r}")
        given = [check for check in (self.check_rows, self.check_dataset, self.configure) if check is not None]
        if len(given) != 1:
            raise ValueError(f"curation rule {self.name!r}: give exactly one of check_rows, check_dataset and configure")
        if isinstance(self.reads, str):
            object.__setattr__(self, "reads", (self.reads,))

    def for_run(self, run: CurationRun) -> CurationRule | None:
        """The rule to apply in this run."""
        return self.configure(run) if self.configure is not None else self

    @property
    def mode(self) -> str:
        """``row`` (decides row by row) or ``dataset`` (compares rows with each other)."""
        return "row" if self.check_rows is not None else "dataset"

    def applies_to(self, domain: str | None) -> bool:
        return self.domains is None or domain in self.domains


def row_rule(
    name: str,
    description: str,
    reads: Sequence[str],
    check: Callable[[Row], Verdict],
    domains: Sequence[str] | None = None,
) -> CurationRule:
    """A rule from a function that looks at one row at a time."""

    def check_rows(rows: Sequence[Row]) -> list[Verdict]:
        return [check(row) for row in rows]

    return CurationRule(
        name, description, tuple(reads), check_rows=check_rows, domains=tuple(domains) if domains is not None else None
    )
