"""What domain code sees of a run: the run's settings and resources, and a per-sample view
through which it talks to the LLM and memoises expensive work.

Plugins never build request seeds or cache keys themselves: ``SampleContext.chat`` derives the
request's ``seed`` from (run seed, sample, stage, variant) and goes through the run's cache, so
a resumed run replays the same answer instead of paying for it again.

This module sits below the registrations (``Domain``, ``Filter``...), whose functions receive a
``SampleContext``; the run's domain is therefore described here by what its code may read of
it (``DomainView``), which every ``Domain`` is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Protocol, Sequence

from .records import JSON, Completion, Decoding, Message, Sample, Usage


def stable_int(*parts: object) -> int:
    """A 63-bit integer that depends only on ``parts`` (not on PYTHONHASHSEED or the machine)."""
    digest = hashlib.blake2b(
        json.dumps(parts, separators=(",", ":"), default=str).encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") >> 1


class DomainView(Protocol):
    """The run's domain as its code reads it (a ``Domain`` registration)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...


class ChatModel(Protocol):
    """The run's way to the model (the runtime's ``LLM``)."""

    async def chat(
        self,
        messages: Sequence[Message],
        params: Decoding,
        seed: int,
        *,
        response_format: Mapping[str, Any] | None = None,
    ) -> Completion: ...


@dataclass(frozen=True)
class ModelChoice:
    """One of the models a stage's requests are spread over (``--role evolve=model-a,model-b``):
    the model and endpoint a row names for what it wrote, and the client that asks it."""

    model: str
    endpoint: str
    llm: ChatModel


def model_draw(run_seed: int, stage: str, sample_id: str, parent_id: str | None, candidate: int | None,
               count: int) -> int:
    """Which of a stage's ``count`` models serves a sample's requests of that stage: drawn from
    the run seed, the stage and the sample, so the same request always goes to the same model and
    a resumed run finds its answers in the cache. Every request of the stage for one sample (its
    variants too) goes to that one model, so the sample's row names one model per stage. The candidates of one parent (``candidate``: the
    number of each) take the models in turn, in an order drawn per (run seed, stage, parent): with
    K candidates and K or more models no two of them come from the same model (WizardMath drew its
    evolutions from two models)."""
    if candidate is None or parent_id is None:
        return stable_int(run_seed, "model", stage, sample_id) % count
    order = sorted(range(count), key=lambda index: stable_int(run_seed, "model order", stage, parent_id, index))
    return order[candidate % count]


class MemoStore(Protocol):
    """The run's memory of expensive results (the runtime's response cache)."""

    async def memo(self, namespace: str, key: JSON, compute: Callable[[], Awaitable[JSON]]) -> JSON: ...


@dataclass
class RunContext:
    """One build: its domain, options and shared resources.

    ``resources`` is where lifecycle hooks keep what they open (``run.resources["sandbox"]``).
    """

    domain: DomainView
    options: Mapping[str, Any]
    seed: int
    out_dir: Path | None
    llm: ChatModel
    cache: MemoStore
    decoding: Decoding
    resources: dict[str, Any] = field(default_factory=dict)
    stage_llms: Mapping[str, ChatModel] = field(default_factory=dict)
    """The model of each stage a role serves (the others: ``llm``)."""
    stage_decoding: Mapping[str, Decoding] = field(default_factory=dict)
    """The decoding of each stage a role serves (the others: ``decoding``)."""
    stage_models: Mapping[str, Sequence[ModelChoice]] = field(default_factory=dict)
    """The models of each stage a role spreads over several (``model_draw`` picks one per sample)."""
    answered: int = 0
    """Requests of this run that got a usable answer, fresh or from the cache: when failures stop
    the run, whether the endpoint ever worked tells a wrong endpoint from one that broke."""

    def for_sample(self, sample_id: str, parent: Sample | None = None, candidate: int | None = None) -> SampleContext:
        return SampleContext(self, sample_id, parent, candidate)


class SampleContext:
    """A run as seen while working on one sample; tallies that sample's token usage per stage,
    and which model served each stage that several models share (``models``, for its row).

    ``parent`` is the sample an evolved candidate was rewritten from (None for a seed), for
    filters that compare the two; ``candidate`` its number among the parent's candidates of the
    round when there are several (None: the only one).
    """

    __slots__ = ("run", "sample_id", "usage", "parent", "candidate", "models")

    def __init__(self, run: RunContext, sample_id: str, parent: Sample | None = None,
                 candidate: int | None = None) -> None:
        self.run = run
        self.sample_id = sample_id
        self.parent = parent
        self.candidate = candidate
        self.usage: dict[str, Usage] = {}
        self.models: dict[str, dict[str, str]] = {}

    @property
    def options(self) -> Mapping[str, Any]:
        return self.run.options

    @property
    def resources(self) -> dict[str, Any]:
        return self.run.resources

    async def chat(
        self,
        messages: Sequence[Message],
        *,
        stage: str,
        variant: int = 0,
        response_format: Mapping[str, Any] | None = None,
        **decoding: Any,
    ) -> str:
        """Ask the LLM; returns the text of the first choice.

        ``stage`` names the purpose (``evolve``, ``respond``, ``equality``...) and, with
        ``variant``, makes the request seed distinct, so k sampled solutions are k different
        requests. ``decoding`` overrides the run's parameters (``temperature=0``...).
        ``response_format`` asks for structured output (``{"type": "json_schema", ...}``); an
        endpoint that rejects it is asked again without it, so the reply may be plain text
        either way and must be read defensively. Raises ``LLMFailure`` when the endpoint keeps
        failing.
        """
        completion = await self.complete(
            messages, stage=stage, variant=variant, response_format=response_format, **decoding
        )
        return completion.text

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        stage: str,
        variant: int = 0,
        response_format: Mapping[str, Any] | None = None,
        **decoding: Any,
    ) -> Completion:
        """Like ``chat``, returning the whole ``Completion`` (whether the reply is structured...)."""
        params = self.run.stage_decoding.get(stage, self.run.decoding).with_overrides(**decoding)
        request_seed = stable_int(self.run.seed, self.sample_id, stage, variant)
        choices = self.run.stage_models.get(stage)
        choice = None
        if choices:
            parent_id = self.parent.id if self.parent is not None else None
            choice = choices[model_draw(self.run.seed, stage, self.sample_id, parent_id, self.candidate, len(choices))]
        llm = choice.llm if choice is not None else self.run.stage_llms.get(stage, self.run.llm)
        completion = await llm.chat(messages, params, request_seed, response_format=response_format)
        if choice is not None:
            self.models[stage] = {"model": choice.model, "endpoint": choice.endpoint}
        self.run.answered += 1
        self.usage[stage] = self.usage.get(stage, Usage()) + completion.usage
        return completion

    async def memo(self, namespace: str, key: JSON, compute: Callable[[], Awaitable[JSON]]) -> JSON:
        """Run ``compute`` once per (namespace, key) for the life of the output folder.

        For deterministic but expensive work, such as executing code in the sandbox: a resumed
        run reads the stored result, so its dataset is byte-identical to an uninterrupted run's.
        The result must be JSON-serialisable.
        """
        return await self.run.cache.memo(namespace, key, compute)
