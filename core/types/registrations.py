"""What plugins register: one base class, and one frozen dataclass per kind of registration.

Hooks yield these objects (see hookspecs.py) and the objects do the work. Every registration has
a ``name`` that is unique within its ``kind``: the plugin host refuses two plugins claiming one
name, naming both.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Awaitable, Callable, ClassVar, Iterable, Literal, Mapping, Sequence, Union

from .context import SampleContext
from .options import DomainOptions
from .records import JSON, Message, Sample, Score
from .report import BuildReport, SectionContent

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path


class Registration:
    """Base of everything a plugin registers: a named thing of one kind."""

    kind: ClassVar[str] = "registration"
    name: str


PromptBuilder = Callable[[Sample, random.Random], Sequence[Message]]
"""Builds the chat messages that ask the LLM to evolve a sample's instruction. The RNG is seeded
per (run seed, seed, round), for choices inside an operation (such as complicate-input's data
format) that must be reproducible."""


@dataclass(frozen=True)
class Operation(Registration):
    """One evolution operation: how to ask the LLM to rewrite an instruction.

    ``tags`` group operations for ``--schedule`` (``up``, ``down``, ``in-depth``...): a schedule
    entry names either an operation or a tag, and the round draws among the matches.
    ``weight`` is the operation's relative chance in that draw (WizardCoder uses its complexity
    operation rarely); ``--operation-weights`` overrides it per build.
    """

    kind: ClassVar[str] = "operation"
    name: str
    prompt: PromptBuilder
    tags: tuple[str, ...] = ()
    description: str = ""
    weight: float = 1.0
    bind: Callable[[Mapping[str, Any]], PromptBuilder] | None = None
    """For a prompt that depends on the build's options (a file an option names): called once per
    build with its checked options, before anything is sent, it returns the prompt builder that
    build uses in place of ``prompt``; what it raises (``UsageError``) stops the build there."""

    def for_build(self, options: Mapping[str, Any]) -> Operation:
        """The operation as a build with ``options`` runs it."""
        return self if self.bind is None else replace(self, prompt=self.bind(options), bind=None)


Responder = Callable[[SampleContext, Sample], Awaitable[Sample]]
"""Answers a sample's instruction and returns the sample with ``response`` (and maybe fields)."""

SeedReader = Callable[[Mapping[str, JSON]], Mapping[str, JSON]]
"""Maps a record in a domain's own seed format (GSM8K ``question``/``answer``, MBPP ``text``/
``test_list``...) to the common one: ``instruction``, ``output``, ``id``, plus domain fields.
Raises ``SeedError`` (with the field) for a record it cannot use."""

Cleaner = Callable[[str], str]

RequestBudget = Callable[[Mapping[str, Any]], Mapping[str, int]]
"""The most chat requests a registration's code sends for one sample it works on, per stage, in a
build with these options (the domain's, plus ``max_tokens``, which bounds what one completion can
hold): ``lambda options: {"judge": 1, "rollout": options["rollouts"] * options["max_tokens"]}``.
``evol build --dry-run`` adds them up before anything is sent; a registration that declares none
(None) is listed there as not counted, since its code may send any number."""


@dataclass(frozen=True)
class Candidates:
    """Several evolutions of one parent per round, ranked by a score (WizardMath's IRM data).

    ``count(options)`` is how many candidates each round evolves from the parent (1: the plain
    method); they draw different operations while the round has operations left. Every
    candidate goes through every stage; among the survivors, the one with the highest
    ``scores[score]`` continues the lineage (ties: the first) and the others are recorded as
    eliminated by ``outranked`` (a lower or tied score) or ``unranked`` (no score). All
    candidates carry ``checks.candidates = {of, rank, by, chosen}`` (see ``Engine.rank``).
    """

    count: Callable[[Mapping[str, Any]], int]
    score: str


AnswerCheck = Callable[[SampleContext, Sample, Sample], Awaitable[Union[str, None]]]
"""(ctx, original, version) -> why a rewritten version of the original's answer lost what was
verified in the original, or None when it kept it."""


@dataclass(frozen=True)
class AnswerRule:
    """What every rewritten version of an answer (``evol build --evolve-answers``) must keep from
    the original, where the domain's filters and scorers cannot tell by reading one answer at a
    time: the math domain's verified final answer (a code answer needs none: its tests run on
    every version). The engine calls ``check(ctx, original, version)`` once the version passed
    the response filters and before it is scored; a returned reason eliminates the version, with
    ``name`` as the elimination's filter, and the next version is rewritten from the latest
    survivor as after any elimination."""

    name: str
    check: AnswerCheck
    description: str = ""


@dataclass(frozen=True)
class Domain(Registration):
    """A kind of data to evolve: its operations, how to answer, and its own build options."""

    kind: ClassVar[str] = "domain"
    name: str
    description: str
    operations: tuple[Operation, ...]
    respond: Responder | None = None
    """None: one chat completion answering the instruction."""
    read_seed: SeedReader | None = None
    """None: records must already be in the common form."""
    clean_rewrite: Cleaner | None = None
    """None: the core cleaner (template labels and preambles removed)."""
    options: type[DomainOptions] = DomainOptions
    """The domain's own build options: a ``DomainOptions`` subclass, one field per option
    (``evol build --name``, a recipe's ``[options]``, ``evolinstruct.build(name=...)``); the run
    receives the checked instance as ``ctx.options``."""
    inherit_fields: Callable[[Mapping[str, JSON]], Mapping[str, JSON]] | None = None
    """Maps a parent's fields to those of a candidate evolved from it (None: copied as they are),
    for fields that stop applying once the instruction changes, such as a reference answer."""
    candidates: Candidates | None = None
    """None: one candidate per round."""
    answer_evolution: bool = True
    """Whether ``evol build --evolve-answers`` may rewrite this domain's answers: False for a domain
    whose filters, scorers and ``answer_rule`` cannot tell a rewritten answer that lost what was
    verified in the original (the build refuses the option rather than keep such a version)."""
    answer_rule: AnswerRule | None = None
    """What a rewritten answer must keep from the original beyond what the filters and scorers
    check of every answer (None: nothing more)."""
    requests: RequestBudget | None = None
    """What answering one sample sends at most; with ``respond=None`` the core knows (one
    ``respond`` request) and this may stay None."""


@dataclass(frozen=True)
class ExtraOperation(Registration):
    """An operation a plugin adds to another plugin's domain, or to every domain (``domain=None``:
    those of the plugins installed, third-party ones included)."""

    kind: ClassVar[str] = "operation"
    domain: str | None
    operation: Operation

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"{self.domain or '*'}/{self.operation.name}"


@dataclass(frozen=True)
class ExtraOptions(Registration):
    """Build options a plugin adds to domains, its own or other plugins' (Auto Evol-Instruct's
    ``--method``): a ``DomainOptions`` subclass, declared and checked like a domain's own options.

    Each field becomes an option of ``evol build`` (a recipe's ``[options]`` key, a keyword of
    ``evolinstruct.build``) for builds of the ``domains`` named (None: every domain); the run's
    ``ctx.options`` holds the domain's options and these together, and the folder records them
    like any dataset option (a resumed build with another value is refused). Field names must
    not be a domain's own option's or another plugin's.
    """

    kind: ClassVar[str] = "build options"
    name: str
    options: type[DomainOptions]
    domains: tuple[str, ...] | None = None
    description: str = ""


CORE_PROVENANCE = frozenset({"endpoint", "model", "models", "response"})
"""The entries of a row's ``provenance`` the core writes (the build's endpoint and model, each
role's model, where the response came from); a plugin's ``ProvenanceEntry`` takes other names."""

ProvenanceValue = Callable[[Sample, Mapping[str, Any]], JSON]
"""(the sample a row is written for, the build's options) -> what ``provenance[NAME]`` holds for
it: JSON (an object, a string...), or None to leave the entry out of that row."""


@dataclass(frozen=True)
class ProvenanceEntry(Registration):
    """An entry a plugin adds to the ``provenance`` of the rows a build writes (``dataset.jsonl``,
    ``eliminated.jsonl``): ``provenance[name] = value(sample, options)``, for what made a row that
    the core does not know (Auto Evol-Instruct's evolving method: its name and digest).

    ``name`` must not be one of the core's own entries (``CORE_PROVENANCE``). ``value`` runs as
    each row is written, so it must be quick and must not raise; a value that is not JSON stops
    the build, naming the plugin. ``domains``: None for every domain.
    """

    kind: ClassVar[str] = "provenance entry"
    name: str
    value: ProvenanceValue
    domains: tuple[str, ...] | None = None
    description: str = ""


FilterStage = Literal["instruction", "response", "verdict"]
FilterCheck = Callable[[SampleContext, Sample], Union[str, None, Awaitable[Union[str, None]]]]


@dataclass(frozen=True)
class Filter(Registration):
    """An elimination rule. ``check`` returns the reason to eliminate, or None to keep.

    Stages run in this order for every evolved candidate: ``instruction`` (after the rewrite is
    cleaned), ``response`` (after it is answered), ``verdict`` (after the scorers ran, so it can
    read ``sample.checks`` and ``sample.scores``). Seeds (round 0) are never eliminated.
    """

    kind: ClassVar[str] = "filter"
    name: str
    stage: FilterStage
    check: FilterCheck
    domains: tuple[str, ...] | None = None
    """None: every domain."""
    description: str = ""
    requests: RequestBudget | None = None
    """What ``check`` sends at most per candidate (``lambda options: {}`` for a rule that asks no LLM)."""


ScoreFunction = Callable[[SampleContext, Sample], Awaitable[Score]]


@dataclass(frozen=True)
class Scorer(Registration):
    """A verifier or reward model run on every kept sample (seeds included) after its response."""

    kind: ClassVar[str] = "scorer"
    name: str
    score: ScoreFunction
    domains: tuple[str, ...] | None = None
    description: str = ""
    enabled: Callable[[Mapping[str, Any]], bool] | None = None
    """Whether the scorer runs in a build with these options (None: always), for scorers a
    build option switches on. It receives the domain's options and the core's switches
    (``difficulty``: ``evol build --difficulty``), by option name."""
    requests: RequestBudget | None = None
    """What ``score`` sends at most per sample (``lambda options: {}`` for a check with no LLM)."""


# Returns how many records it wrote (None: it does not say; evol export then says how many rows it
# was given, never a number of records it does not know).
ExportWriter = Callable[[Iterable[Mapping[str, JSON]], "Path"], "int | None"]


@dataclass(frozen=True)
class Exporter(Registration):
    """An ``evol export --format NAME`` target: writes a build's rows to a file.

    ``write(rows, path)`` receives the rows of dataset.jsonl as dicts, after the export filters
    every format shares; with ``include_eliminated`` the rows of eliminated.jsonl follow them
    (each with its ``elimination``), for formats that learn from rejected candidates too.
    ``needs`` names the fields every row must hold (not null) for the format to be written: a
    row without one stops the export, naming file, line and field, before anything is written.
    """

    kind: ClassVar[str] = "export format"
    name: str
    write: ExportWriter
    default_filename: str
    description: str = ""
    include_eliminated: bool = False
    needs: tuple[str, ...] = ()
    gives_records_from: str = ""
    """What in a build this format's records come from (``--domain math`` rows with labelled
    steps, say): an export that would write no record refuses with this as the reason."""


@dataclass(frozen=True)
class ReportSection(Registration):
    """A section of ``evol report``'s page: a name (its anchor, ``report.html#NAME``), a title,
    and ``render(report)``, which turns the build's ``BuildReport`` into a ``SectionContent``
    (HTML and charts; the contract is ``evolinstruct.report``), or None to leave the section out
    of this build.

    ``render`` must cover every row of the build (``report.rows()``), not the lineage sample the
    page's browser holds. ``domains`` limits the section to builds of those domains.
    """

    kind: ClassVar[str] = "report section"
    name: str
    title: str
    render: Callable[[BuildReport], SectionContent | None]
    domains: tuple[str, ...] | None = None
    description: str = ""
    card: Callable[[BuildReport], str | None] | None = None
    """The section's part of the dataset card (the folder's README.md), in Markdown: the card puts
    it under ``## {title}`` after the core's parts, whenever the card is refreshed (a build's end,
    ``evol report``, ``evol export``, ``evol curate``). None, or a None result, leaves it out."""

    def applies_to(self, domain: str | None) -> bool:
        return self.domains is None or (domain is not None and domain in self.domains)


def applies_to(registration: Filter | Scorer | ProvenanceEntry, domain: str) -> bool:
    return registration.domains is None or domain in registration.domains
