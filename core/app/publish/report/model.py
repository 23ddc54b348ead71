"""A build folder read into what the report and the dataset card show.

Every count here is computed from the folder's rows (``dataset.jsonl``, ``eliminated.jsonl``,
``failed.jsonl``) in one streaming pass; ``manifest.json`` supplies what only it knows (the
command, the configuration, versions, status, time, requests sent) and its own counts are checked
against the rows: a disagreement is reported in ``notes``, and the rows win. What the files do not
say is None, shown as "unknown".
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ....runtime.output import MANIFEST
from ...build.manifest import read_status

from .curation import CurationSummary, read_curation
from .folder import ALL_KINDS, ELIMINATED_KIND, FAILED_KIND, KEPT, BuildFolder, RowKind, nested
from .lineages import DEFAULT_LINEAGES, Lineage, LineageSampler
from ....types.stats import Distribution, number_or_none

DIFFICULTY = "difficulty"


@dataclass(frozen=True)
class Prices:
    """Prices per million tokens, as the user gives them (``--price-in``, ``--price-out``)."""

    per_million_in: float
    per_million_out: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.per_million_in + completion_tokens * self.per_million_out) / 1e6


@dataclass(frozen=True)
class RoundCounts:
    round: int
    kept: int
    eliminated: int
    failed: int
    skipped: int | None
    """Lineages that stopped at an earlier round's failure (None: the round count is unknown)."""


@dataclass(frozen=True)
class OperationCounts:
    operation: str
    kept: int
    eliminated: int
    failed: int


@dataclass(frozen=True)
class StageUsage:
    stage: str
    prompt_tokens: int
    completion_tokens: int
    requests: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ScoreSummary:
    """One score over the kept rows: its distribution where present, and how many lack it."""

    name: str
    distribution: Distribution | None
    missing: int


@dataclass(frozen=True)
class RoleNumbers:
    """One role's numbers in the build's last invocation, as ``manifest.json``'s ``roles`` has
    them (a role of several models: one entry per model, ``ROLE[MODEL]``); None where the manifest
    does not say, or, for the cost, where the model has no price (unknown, never 0)."""

    name: str
    model: str | None
    stages: tuple[str, ...]
    sent: int | None
    from_cache: int | None
    failed: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    mean_latency_s: float | None
    cost_usd: float | None

    HEADERS = ("role", "model", "stages", "sent", "from the cache", "failed", "prompt tokens", "completion tokens",
               "mean latency (s)", "cost (USD)")
    """The columns the card and the report show, ``cells()`` in this order."""

    @classmethod
    def from_manifest(cls, name: str, entry: Any) -> RoleNumbers:
        entry = _mapping(entry)
        tokens = _mapping(entry.get("tokens"))
        stages = entry.get("stages")
        return cls(
            name=name, model=_text(entry.get("model")),
            stages=tuple(stage for stage in stages if isinstance(stage, str)) if isinstance(stages, list) else (),
            sent=_count(entry.get("sent")), from_cache=_count(entry.get("from_cache")), failed=_count(entry.get("failed")),
            prompt_tokens=_count(tokens.get("prompt_tokens")), completion_tokens=_count(tokens.get("completion_tokens")),
            mean_latency_s=number_or_none(entry.get("mean_latency_s")), cost_usd=number_or_none(entry.get("cost_usd")),
        )

    def cells(self) -> tuple[str | int, ...]:
        counts = (self.sent, self.from_cache, self.failed, self.prompt_tokens, self.completion_tokens)
        return (
            self.name, self.model or "unknown", ", ".join(self.stages) or "none",
            *(count if count is not None else "unknown" for count in counts),
            # None: nothing was answered this invocation (all from the cache), or the manifest does not say.
            f"{self.mean_latency_s:.3f}" if self.mean_latency_s is not None else "unknown",
            f"{self.cost_usd:.4f}" if self.cost_usd is not None else "unknown",
        )


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class RunInfo:
    """What the manifest says about the run; every field None when there is no manifest."""

    status: str | None = None
    reason: str | None = None
    """Why the build ended the way it did (None for a complete build)."""
    command: tuple[str, ...] | None = None
    domain: str | None = None
    model: str | None = None
    endpoint: str | None = None
    offline: bool | None = None
    rounds: int | None = None
    decoding: Mapping[str, Any] | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    seeds: Mapping[str, Any] = field(default_factory=dict)
    requests: Mapping[str, Any] = field(default_factory=dict)
    roles: tuple[RoleNumbers, ...] = ()
    """Requests, tokens, failures, latency and cost per role in the last invocation (a build with
    roles only)."""
    wall_time_s: float | None = None
    written_at: str | None = None
    """When manifest.json was last written (the end of the last invocation), UTC."""

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any] | None, path: Path) -> RunInfo:
        if manifest is None:
            return cls()
        config = _mapping(manifest.get("config"))
        if isinstance(config.get("base_url"), str):
            config = {**config, "base_url": _without_credentials(config["base_url"])}
        elif isinstance(config.get("base_url"), list):
            config = {**config, "base_url": [_without_credentials(str(url)) for url in config["base_url"]]}
        endpoint = _mapping(manifest.get("endpoint"))
        command = manifest.get("command")
        rounds = config.get("rounds")
        wall = number_or_none(manifest.get("wall_time_s"))
        decoding = {key: config[key] for key in ("temperature", "top_p", "max_tokens") if key in config} or None
        written = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.timezone.utc)
        # A "running" build whose process is gone was killed: the page says interrupted.
        standing = read_status(manifest)
        return cls(
            status=standing.status,
            reason=standing.reason,
            command=tuple(_without_credentials(str(part)) or "" for part in command) if isinstance(command, list) else None,
            domain=_text(config.get("domain")),
            model=_text(endpoint.get("model")),
            endpoint=_without_credentials(_text(endpoint.get("identity"))),
            offline=endpoint.get("offline") if isinstance(endpoint.get("offline"), bool) else None,
            rounds=rounds if isinstance(rounds, int) and not isinstance(rounds, bool) else None,
            decoding=decoding if isinstance(decoding, Mapping) else None,
            config=config,
            # The interpreter is recorded beside the package versions, at the manifest's top.
            versions={**_mapping(manifest.get("versions")),
                      **({"python": manifest["python"]} if isinstance(manifest.get("python"), str) else {})},
            seeds=_mapping(manifest.get("seeds")),
            requests=_mapping(manifest.get("requests")),
            roles=tuple(RoleNumbers.from_manifest(str(name), entry) for name, entry in _mapping(manifest.get("roles")).items()),
            wall_time_s=wall,
            written_at=written.strftime("%Y-%m-%d %H:%M:%S UTC"),
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def _without_credentials(text: str | None) -> str | None:
    """A URL (or a command word holding one) as the page may show it: a user name or password
    in it is masked."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text) if text is not None else None


def _mapping(value: Any) -> Mapping[str, Any]:
    """A manifest's object, or an empty one where the manifest has something else (unknown)."""
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class BuildReport:
    """Everything the report and the card show about one build folder.

    ``rows()`` streams the folder's rows again, for a section that needs more than the summaries
    (a domain plugin's verdicts or rewards): sections must cover every row, not the lineage sample.
    """

    folder: BuildFolder
    run: RunInfo
    seeds: int
    domains: tuple[str, ...]
    rounds: tuple[RoundCounts, ...]
    operations: tuple[OperationCounts, ...]
    filters: Mapping[str, int]
    eliminations: Mapping[tuple[str, str], int]
    """(operation, filter) -> eliminated candidates."""
    instruction_words: Mapping[RowKind, Mapping[int, Distribution]]
    """kind -> round -> distribution of instruction lengths in words."""
    difficulty: Mapping[RowKind, Mapping[int, Distribution]]
    """kind -> round -> distribution of ``scores.difficulty``, where rows carry it."""
    scores: tuple[ScoreSummary, ...]
    verdicts: Mapping[str, Mapping[str, int]]
    """check name -> verdict -> kept rows, for every ``checks.NAME.verdict`` found."""
    checks: Mapping[str, int]
    """check name -> kept rows that carry it."""
    usage: tuple[StageUsage, ...]
    lineages: tuple[Lineage, ...]
    prices: Prices | None = None
    curation: CurationSummary | None = None
    notes: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return self.folder.path

    @property
    def kept(self) -> int:
        return sum(counts.kept for counts in self.rounds)

    @property
    def eliminated(self) -> int:
        return sum(counts.eliminated for counts in self.rounds)

    @property
    def failed(self) -> int:
        return sum(counts.failed for counts in self.rounds)

    @property
    def domain(self) -> str | None:
        if self.run.domain is not None:
            return self.run.domain
        return self.domains[0] if len(self.domains) == 1 else None

    @property
    def total_usage(self) -> StageUsage:
        return StageUsage(
            "all stages",
            sum(used.prompt_tokens for used in self.usage),
            sum(used.completion_tokens for used in self.usage),
            sum(used.requests for used in self.usage),
        )

    def cost(self, usage: StageUsage) -> float | None:
        return self.prices.cost(usage.prompt_tokens, usage.completion_tokens) if self.prices else None

    def rows(self, *kinds: RowKind) -> Iterator[tuple[RowKind, dict[str, Any]]]:
        """Every row of the given kinds (all when none), read again from the folder."""
        return self.folder.rows(*kinds)


class _Accumulator:
    """The counts of one pass over the rows."""

    def __init__(self, lineages: int) -> None:
        self.per_round: dict[int, Counter[str]] = defaultdict(Counter)
        self.per_operation: dict[str, Counter[str]] = defaultdict(Counter)
        self.filters: Counter[str] = Counter()
        self.eliminations: Counter[tuple[str, str]] = Counter()
        self.words: dict[RowKind, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.difficulty: dict[RowKind, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.scores: dict[str, list[float]] = defaultdict(list)
        self.verdicts: dict[str, Counter[str]] = defaultdict(Counter)
        self.checks: Counter[str] = Counter()
        self.usage: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.seeds: set[str] = set()
        self.failed_rounds: list[int] = []
        self.domains: Counter[str] = Counter()
        self.sampler = LineageSampler(lineages)

    def add(self, kind: RowKind, row: dict[str, Any]) -> None:
        round_ = row["round"]
        self.per_round[round_][kind] += 1
        if round_ > 0:
            self.per_operation[row["operation"]][kind] += 1
        self.seeds.add(row["seed_id"])
        if isinstance(row.get("domain"), str):
            self.domains[row["domain"]] += 1
        for stage, used in (row.get("usage") or {}).items():
            total = self.usage[stage]
            total[0] += used.get("prompt_tokens", 0)
            total[1] += used.get("completion_tokens", 0)
            total[2] += used.get("requests", 0)
        if kind == FAILED_KIND:
            self.failed_rounds.append(round_)
        else:
            self.words[kind][round_].append(len(row["instruction"].split()))
            difficulty = number_or_none((row.get("scores") or {}).get(DIFFICULTY))
            if difficulty is not None:
                self.difficulty[kind][round_].append(difficulty)
        if kind == ELIMINATED_KIND:
            self.filters[row["elimination"]["filter"]] += 1
            self.eliminations[(row["operation"], row["elimination"]["filter"])] += 1
        if kind == KEPT:
            for name, value in (row.get("scores") or {}).items():
                number = number_or_none(value)
                if number is not None:
                    self.scores[name].append(number)
                else:
                    self.scores.setdefault(name, [])
            for name, check in (row.get("checks") or {}).items():
                self.checks[name] += 1
                if isinstance(check, Mapping) and "verdict" in check:
                    verdict = check["verdict"]
                    self.verdicts[name][str(verdict) if verdict is not None else "none"] += 1
        self.sampler.offer(kind, row)


def read_build(folder: Path, *, lineages: int = DEFAULT_LINEAGES, prices: Prices | None = None) -> BuildReport:
    """Read a build folder; raises ``FolderError`` (an ``EvolError``) naming the file, line and
    field of a row that cannot be read."""
    build = BuildFolder(folder)
    manifest = build.manifest()
    run = RunInfo.from_manifest(manifest, folder / MANIFEST)
    seen = _Accumulator(lineages)
    for kind, row in build.rows():
        seen.add(kind, row)

    kept_rows = sum(seen.per_round[number][KEPT] for number in seen.per_round)
    rounds = _round_counts(seen, run.rounds)
    notes = list(_manifest_disagreements(manifest, rounds))
    if manifest is None:
        notes.append(f"{folder / MANIFEST} is missing: the run's command, model and settings are unknown")
    elif run.status not in (None, "complete"):
        notes.append(f"the build's status is {run.status!r}" + (f": {run.reason}" if run.reason else ""))
    return BuildReport(
        folder=build,
        run=run,
        seeds=len(seen.seeds),
        domains=tuple(name for name, _ in seen.domains.most_common()),
        rounds=rounds,
        operations=tuple(
            OperationCounts(name, counts[KEPT], counts[ELIMINATED_KIND], counts[FAILED_KIND])
            for name, counts in sorted(seen.per_operation.items())
        ),
        filters=dict(seen.filters.most_common()),
        eliminations=dict(sorted(seen.eliminations.items())),
        instruction_words=_distributions(seen.words),
        difficulty=_distributions(seen.difficulty),
        scores=tuple(
            ScoreSummary(name, Distribution.of(values), kept_rows - len(values))
            for name, values in sorted(seen.scores.items())
        ),
        verdicts={name: dict(counts.most_common()) for name, counts in sorted(seen.verdicts.items())},
        checks=dict(sorted(seen.checks.items())),
        usage=tuple(StageUsage(stage, *totals) for stage, totals in sorted(seen.usage.items())),
        lineages=tuple(seen.sampler.lineages()),
        prices=prices,
        curation=read_curation(folder),
        notes=tuple(notes),
    )


def _distributions(values: Mapping[RowKind, Mapping[int, list[float]]]) -> dict[RowKind, dict[int, Distribution]]:
    out: dict[RowKind, dict[int, Distribution]] = {}
    for kind in ALL_KINDS:
        per_round = {number: Distribution.of(values[kind][number]) for number in sorted(values.get(kind, {}))}
        present = {number: summary for number, summary in per_round.items() if summary is not None}
        if present:
            out[kind] = present
    return out


def _round_counts(seen: _Accumulator, rounds: int | None) -> tuple[RoundCounts, ...]:
    last = max([*seen.per_round, rounds or 0])
    skipped: Counter[int] = Counter()
    for failed_at in seen.failed_rounds:
        for later in range(failed_at + 1, last + 1):
            skipped[later] += 1
    return tuple(
        RoundCounts(
            number,
            seen.per_round[number][KEPT],
            seen.per_round[number][ELIMINATED_KIND],
            seen.per_round[number][FAILED_KIND],
            skipped[number] if rounds is not None else None,
        )
        for number in range(0, last + 1)
    )


def _manifest_disagreements(manifest: Mapping[str, Any] | None, rounds: tuple[RoundCounts, ...]) -> Iterator[str]:
    per_round = nested(manifest, "counts.per_round")
    if not isinstance(per_round, Mapping) or nested(manifest, "status") == "running":
        return  # a running build's manifest is written again when it ends
    from_rows = {str(counts.round): counts for counts in rounds}
    for number in sorted(set(per_round) | set(from_rows), key=lambda text: int(text) if text.isdigit() else math.inf):
        stated = _mapping(per_round.get(number))
        counted = from_rows.get(number)
        for kind in (*ALL_KINDS, "skipped"):
            said = stated.get("not_reached" if kind == "skipped" else kind, 0)
            found = getattr(counted, kind) if counted is not None else 0
            if found is None:  # skipped, with the number of rounds unknown
                continue
            if said != found:
                yield (
                    f"manifest.json says round {number} has {said} {'not reached' if kind == 'skipped' else kind}, "
                    f"the rows hold {found}; "
                    "the page shows the rows"
                )
