"""The things that flow through a run, and the registrations plugins make.

Everything here is a frozen dataclass: a sample is never edited in place, each stage of the
evolution loop returns a new one (``dataclasses.replace``). That keeps a lineage reproducible and
makes it safe to hand a sample to a worker thread.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Literal, Mapping, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import click

    from .context import SampleContext

JSON = Any
Message = Mapping[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more chat completions."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.requests + other.requests,
        )

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "requests": self.requests,
        }


@dataclass(frozen=True)
class Seed:
    """One seed instruction as read from the seeds file.

    ``instruction`` is the whole prompt (an Alpaca ``input`` is appended to it, because the
    rewriter must keep such non-text parts). ``fields`` carries the domain's own fields
    (``answer``, ``tests``, ...) down the whole lineage.
    """

    id: str
    index: int
    instruction: str
    output: str | None = None
    fields: Mapping[str, JSON] = field(default_factory=dict)
    source: str = ""
    """``file:line`` (or ``file:row``) the seed came from, for error messages."""


@dataclass(frozen=True)
class Sample:
    """An instruction at one round of one seed's lineage, with what was learnt about it."""

    id: str
    seed_id: str
    parent_id: str | None
    round: int
    operation: str
    domain: str
    instruction: str
    response: str | None = None
    fields: Mapping[str, JSON] = field(default_factory=dict)
    checks: Mapping[str, JSON] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)
    usage: Mapping[str, Usage] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Sample:
        return dataclasses.replace(self, **changes)

    def with_usage(self, usage: Mapping[str, Usage]) -> Sample:
        merged = dict(self.usage)
        for stage, used in usage.items():
            merged[stage] = merged.get(stage, Usage()) + used
        return dataclasses.replace(self, usage=merged)


@dataclass(frozen=True)
class Elimination:
    """Why an evolved candidate was dropped: the filter that removed it and its reason."""

    filter: str
    reason: str


@dataclass(frozen=True)
class Score:
    """What a scorer found about a sample: structured checks and numeric scores.

    Both are merged into the sample (``checks[name]`` / ``scores[name]`` by convention).
    """

    checks: Mapping[str, JSON] = field(default_factory=dict)
    scores: Mapping[str, float] = field(default_factory=dict)


# --- registrations: what plugins yield from their hooks ---------------------------------------

PromptBuilder = Callable[[Sample, random.Random], Sequence[Message]]
"""Builds the chat messages that ask the LLM to evolve a sample's instruction. The RNG is seeded
per (run seed, seed, round), for choices inside an operation (such as complicate-input's data
format) that must be reproducible."""


@dataclass(frozen=True)
class Operation:
    """One evolution operation: how to ask the LLM to rewrite an instruction.

    ``tags`` group operations for ``--schedule`` (``up``, ``down``, ``in-depth``...): a schedule
    entry names either an operation or a tag, and the round draws uniformly among the matches.
    """

    name: str
    prompt: PromptBuilder
    tags: tuple[str, ...] = ()
    description: str = ""
    weight: float = 1.0  # relative chance of being drawn among a round's candidates


Responder = Callable[["SampleContext", Sample], Awaitable[Sample]]
"""Answers a sample's instruction and returns the sample with ``response`` (and maybe fields)."""

SeedReader = Callable[[Mapping[str, JSON]], Mapping[str, JSON]]
"""Maps a record in a domain's own seed format (GSM8K ``question``/``answer``, MBPP ``text``/
``test_list``...) to the common one: ``instruction``, ``output``, ``id``, plus domain fields.
Raises ``SeedError`` (with the field) for a record it cannot use."""

Cleaner = Callable[[str], str]


@dataclass(frozen=True)
class Domain:
    """A kind of data to evolve: its operations, how to answer, and its own build options."""

    name: str
    description: str
    operations: tuple[Operation, ...]
    respond: Responder | None = None
    """None: one chat completion answering the instruction."""
    read_seed: SeedReader | None = None
    """None: records must already be in the common form."""
    clean_rewrite: Cleaner | None = None
    """None: the core cleaner (template labels and preambles removed)."""
    options: tuple[click.Option, ...] = ()
    """Extra ``evol build`` options; their values reach the run as ``options[name]``."""
    inherit_fields: Callable[[Mapping[str, JSON]], Mapping[str, JSON]] | None = None
    """Maps a parent's fields to those of a candidate evolved from it (None: copied as they are),
    for fields that stop applying once the instruction changes, such as a reference answer."""


@dataclass(frozen=True)
class ExtraOperation:
    """An operation a plugin adds to another plugin's domain."""

    domain: str
    operation: Operation


FilterStage = Literal["instruction", "response", "verdict"]
FilterCheck = Callable[["SampleContext", Sample], Union[str, None, Awaitable[Union[str, None]]]]


@dataclass(frozen=True)
class Filter:
    """An elimination rule. ``check`` returns the reason to eliminate, or None to keep.

    Stages run in this order for every evolved candidate: ``instruction`` (after the rewrite is
    cleaned), ``response`` (after it is answered), ``verdict`` (after the scorers ran, so it can
    read ``sample.checks`` and ``sample.scores``). Seeds (round 0) are never eliminated.
    """

    name: str
    stage: FilterStage
    check: FilterCheck
    domains: tuple[str, ...] | None = None
    """None: every domain."""
    description: str = ""


ScoreFunction = Callable[["SampleContext", Sample], Awaitable[Score]]


@dataclass(frozen=True)
class Scorer:
    """A verifier or reward model run on every kept sample (seeds included) after its response."""

    name: str
    score: ScoreFunction
    domains: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Exporter:
    """An ``evol export --format NAME`` target: writes a build's dataset rows to a file."""

    name: str
    write: Callable[[Iterable[Mapping[str, JSON]], "Path"], None]
    default_filename: str
    description: str = ""


def applies_to(registration: Filter | Scorer, domain: str) -> bool:
    return registration.domains is None or domain in registration.domains


__all__ = [
    "JSON",
    "Message",
    "Usage",
    "Seed",
    "Sample",
    "Elimination",
    "Score",
    "Operation",
    "Domain",
    "ExtraOperation",
    "Filter",
    "FilterStage",
    "Scorer",
    "Exporter",
    "Responder",
    "SeedReader",
    "applies_to",
]
