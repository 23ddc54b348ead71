"""The things that flow through a run.

Everything here is a frozen dataclass: a sample is never edited in place, each stage of the
evolution loop returns a new one (``Sample.replace``). That keeps a lineage reproducible and
makes it safe to hand a sample to a worker thread.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

JSON = Any
Message = Mapping[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""

ResponseSource = Literal["model", "seed"]


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
class Decoding:
    """Decoding parameters of a chat request; the defaults are the WizardLM paper's."""

    temperature: float = 1.0
    top_p: float = 0.9
    max_tokens: int = 2048

    def with_overrides(self, **overrides: Any) -> Decoding:
        return dataclasses.replace(self, **overrides) if overrides else self


@dataclass(frozen=True)
class Completion:
    """The text of a chat completion's first choice, what it cost, and where it came from."""

    text: str
    usage: Usage
    cached: bool
    structured: bool = False
    """True when the endpoint honoured the requested ``response_format``: ``text`` is its JSON."""


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
    input: str | None = None
    """The record's Alpaca ``input`` (already at the end of ``instruction``), kept so that an export
    in Alpaca's layout can give it back apart."""


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
    scores: Mapping[str, float | None] = field(default_factory=dict)
    """Numeric scores; ``None`` where a score could not be computed (never a guessed number)."""
    usage: Mapping[str, Usage] = field(default_factory=dict)
    models: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """The model and endpoint that served each of this sample's stages that several models share
    (``--role evolve=model-a,model-b``); its row's ``provenance.models`` names them."""
    response_source: ResponseSource = "model"
    """``seed`` when the response is the seed file's own output, ``model`` when the LLM wrote it."""
    input: str | None = None
    """Round 0 only: the seed's Alpaca ``input``, which ``instruction`` ends with. An evolved
    instruction is one text (the rewriter weaves the input in), so it has none."""

    def replace(self, **changes: Any) -> Sample:
        return dataclasses.replace(self, **changes)

    def with_usage(self, usage: Mapping[str, Usage], models: Mapping[str, Mapping[str, str]] | None = None) -> Sample:
        merged = dict(self.usage)
        for stage, used in usage.items():
            merged[stage] = merged.get(stage, Usage()) + used
        return dataclasses.replace(self, usage=merged, models={**self.models, **(models or {})})


@dataclass(frozen=True)
class Elimination:
    """Why an evolved candidate was dropped: the filter that removed it and its reason."""

    filter: str
    reason: str


@dataclass(frozen=True)
class Score:
    """What a scorer found about a sample: structured checks and numeric scores.

    Both are merged into the sample (``checks[name]`` / ``scores[name]`` by convention). A score
    that could not be computed is ``None``, so that thresholds and averages can tell it apart.
    """

    checks: Mapping[str, JSON] = field(default_factory=dict)
    scores: Mapping[str, float | None] = field(default_factory=dict)
