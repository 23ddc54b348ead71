"""``evol curate DIR``: the curation rules applied to a build folder's dataset.jsonl.

Reads ``DIR/dataset.jsonl`` once (every row checked: a bad row stops the command naming file,
line and field), runs the rules (``evolinstruct.builtins.curation``: the plugins' rules first,
then contamination, exact duplicates, near duplicates and the budget), and writes ``DIR/curated/``:

- ``dataset.jsonl``: the kept rows, byte for byte as they were, in their order;
- ``removed.jsonl``: every other row, byte for byte, with ``"removal": {"rule", "reason", "of"}``
  added at its end;
- ``curation.json``: counts per rule, the settings, the benchmark versions, difficulty and length
  per round and per operation, and the time taken;
- ``difficulty.jsonl`` (with ``--difficulty``): each row's id and rating (null: none readable).

Nothing is lost: every input row is in exactly one of the two JSONL files, which is checked before
the files are moved into place. Rows are checked against the one row declaration
(``runtime.rows.SAMPLE_ROW``), as every reader of a build folder checks them. The difficulty
judge's requests go through a ``Session`` on ``DIR/cache.sqlite`` and are sent as a build's
difficulty scorer sends them (``SampleContext.complete``, stage ``difficulty``), so a second run
(or a run after ``evol build --difficulty`` with the same seed and model) pays for nothing it
already has. With ``--diversity`` the budget's embeddings come through the same session (stage
``embed``) and cache, one entry per text.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import math
import os
import platform
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import numpy as np

from ...builtins.curation import benchmarks as benchmark_files
from ...builtins.curation import difficulty as judge
from ...builtins.curation.contamination import DEFAULT_THRESHOLD as CONTAINMENT
from ...builtins.curation.near import DEFAULT_THRESHOLD as NEAR_DUP_THRESHOLD, SHINGLE
from ...builtins.curation.registered import BUILTIN_CURATION_RULES
from ...types.curation import Candidate, CurationRule, CurationRun, Progress
from ...builtins.curation.runner import Decision, RuleRunner
from ...builtins.curation.selection import DEFAULT_SIMILARITY, BudgetTally, score_from_row, score_names
from ...runtime.output import (
    CACHE, CURATED, CURATED_DATASET, CURATED_DIFFICULTY, CURATED_REMOVED, CURATION_REPORT, DATASET, temporary_name,
    write_text,
)
from ...runtime.rows import SAMPLE_ROW, RowFileError, parse_row
from ...runtime.session import OFFLINE_ENDPOINT, EndpointConfig
from ...types.errors import EvolError
from ..build.folder import file_digest

log = logging.getLogger("evolinstruct.curate")

EMBED_STAGE = "embed"
"""The stage the budget's embedding requests are sent as (a role may bind it to its own endpoint)."""
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"

T = TypeVar("T")

BUILTIN_RULES = tuple(rule.name for rule in BUILTIN_CURATION_RULES)
NEEDS = ("id", "instruction", "response")
"""What curation reads of every row (the rules compare instructions and responses)."""


@dataclass(frozen=True)
class LLMSettings:
    """The difficulty judge's endpoint, resolved as a build resolves it
    (``runtime.session.resolve_endpoint``), and the run seed its request seeds derive from."""

    endpoint: EndpointConfig | None = None
    """None, or an endpoint without URLs: no judge is configured."""
    run_seed: int = 0

    @property
    def model(self) -> str | None:
        return None if self.endpoint is None or self.endpoint.offline else self.endpoint.model


@dataclass(frozen=True)
class CurationSettings:
    against: tuple[str, ...] | None = None
    """Benchmark names or files; None: every built-in benchmark."""
    near_dup_threshold: float = NEAR_DUP_THRESHOLD
    containment: float = CONTAINMENT
    budget: int | None = None
    by: str = judge.SCORE
    budget_similarity: float = DEFAULT_SIMILARITY
    diversity: float | None = None
    """With ``budget``: the cosine similarity of instruction embeddings above which a row is too
    close to one chosen (Deita), instead of ``budget_similarity``'s word shingles."""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    difficulty: bool = False
    skip: tuple[str, ...] = ()
    llm: LLMSettings = LLMSettings()
    progress: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "against": list(self.against) if self.against is not None else "all built-in",
            "near_dup_threshold": self.near_dup_threshold,
            "near_dup_shingle_words": SHINGLE,
            "containment_threshold": self.containment,
            "budget": self.budget,
            "by": self.by if self.budget is not None else None,
            "budget_similarity": self.budget_similarity if self.budget is not None and self.diversity is None else None,
            "diversity": self.diversity if self.budget is not None else None,
            "embedding_model": self.embedding_model if self.budget is not None and self.diversity is not None else None,
            "difficulty": self.difficulty,
            "skip": list(self.skip),
            "model": self.llm.model if self.difficulty else None,
            "seed": self.llm.run_seed if self.difficulty else None,
        }


@dataclass(frozen=True)
class GroupStats:
    rows: int
    kept: int
    rated: int
    mean_difficulty: float | None
    mean_instruction_words: float
    mean_response_words: float

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "kept": self.kept,
            "rated": self.rated,
            "mean_difficulty": None if self.mean_difficulty is None else round(self.mean_difficulty, 3),
            "mean_instruction_words": round(self.mean_instruction_words, 1),
            "mean_response_words": round(self.mean_response_words, 1),
        }


@dataclass(frozen=True)
class CurationReport:
    """What ``curate`` did; ``as_json`` is curation.json."""

    folder: Path
    rows: int
    kept: int
    removed_per_rule: Mapping[str, int]
    rules: Sequence[Mapping[str, str]]
    settings: Mapping[str, Any]
    benchmarks: Sequence[Mapping[str, Any]]
    per_round: Mapping[str, GroupStats]
    per_operation: Mapping[str, GroupStats]
    difficulty: Mapping[str, Any] | None
    budget: Mapping[str, int] | None
    versions: Mapping[str, str]
    wall_time_s: float
    offline_rows: int = 0
    """Rows the bundled offline model wrote: their judge scores are placeholders, not ratings."""
    dataset_sha256: str | None = None
    """The SHA-256 of the dataset.jsonl read: the card and the report tell by it whether
    curated/ was made from the dataset the folder holds now."""

    @property
    def removed(self) -> int:
        return self.rows - self.kept

    def as_json(self) -> dict[str, Any]:
        return {
            "input": str(self.folder / DATASET),
            "dataset_sha256": self.dataset_sha256,
            "rows": self.rows,
            "kept": self.kept,
            "removed": self.removed,
            "removed_per_rule": dict(self.removed_per_rule),
            "rules": list(self.rules),
            "settings": dict(self.settings),
            "benchmarks": list(self.benchmarks),
            "difficulty": None if self.difficulty is None else dict(self.difficulty),
            "budget": None if self.budget is None else dict(self.budget),
            "per_round": {key: stats.as_json() for key, stats in self.per_round.items()},
            "per_operation": {key: stats.as_json() for key, stats in self.per_operation.items()},
            "offline_rows": self.offline_rows,
            "versions": dict(self.versions),
            "wall_time_s": round(self.wall_time_s, 3),
        }


# --- reading the dataset ---------------------------------------------------------------------


@dataclass
class RowFacts:
    """What the report needs of each row, kept compactly for the whole dataset."""

    ids: list[Any] = field(default_factory=list)
    rounds: list[int | None] = field(default_factory=list)
    operations: list[str | None] = field(default_factory=list)
    instruction_words: list[int] = field(default_factory=list)
    response_words: list[int] = field(default_factory=list)
    difficulty: list[float | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    offline_rows: int = 0
    """Rows written by the bundled offline model (``provenance.endpoint`` = offline)."""


def _fail(path: Path, line: int, field_name: str, message: str) -> RowFileError:
    return RowFileError(f"{path}:{line}: field {field_name!r}: {message}")


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def read_dataset(path: Path, runner: RuleRunner, progress: Progress) -> RowFacts:
    """Check every row, show it to the rules, keep the report's facts. Raises on a bad row."""
    facts = RowFacts()
    seen: dict[str, int] = {}
    size = path.stat().st_size
    with path.open("rb") as handle:
        for line_number, raw in progress(_lines(handle), total=size, description="reading rows"):
            if not raw.strip():
                continue
            row = parse_row(raw, path, line_number)
            SAMPLE_ROW.check(row, path, line_number, require=NEEDS)
            key = json.dumps(row["id"])
            if key in seen:
                raise _fail(path, line_number, "id", f"{row['id']!r} is also the id of line {seen[key]}")
            seen[key] = line_number
            position = len(facts.ids)
            runner.observe(position, row)
            facts.ids.append(row["id"])
            facts.rounds.append(row.get("round"))
            facts.operations.append(row.get("operation"))
            facts.instruction_words.append(_words(row["instruction"]) + _words(row.get("input")))
            facts.response_words.append(_words(row["response"]))
            scores = row.get("scores") or {}
            if _from_offline_model(row):
                # The bundled offline model's rating is a placeholder of the asked shape, not a
                # judgement: the row counts as unrated (and --difficulty asks a real judge).
                facts.offline_rows += 1
                facts.difficulty.append(None)
            else:
                facts.difficulty.append(_numeric(scores.get(judge.SCORE)))
            facts.lines.append(line_number)
    return facts


def _from_offline_model(row: Mapping[str, Any]) -> bool:
    provenance = row.get("provenance")
    return isinstance(provenance, Mapping) and provenance.get("endpoint") == OFFLINE_ENDPOINT


def _lines(handle: Any) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) of a binary file (the progress bar counts their bytes)."""
    for number, raw in enumerate(handle, start=1):
        yield number, raw


# --- difficulty through the LLM runtime ------------------------------------------------------


@dataclass
class JudgeTally:
    asked: int = 0
    sent: int = 0
    from_cache: int = 0
    unreadable: int = 0
    failed: int = 0
    already_scored: int = 0


@dataclass(frozen=True)
class _Judging:
    """The run's "domain" as the judge's requests see it: they belong to no domain's code."""

    name: str = "curate"
    description: str = "evol curate --difficulty"


def rate_difficulty(
    folder: Path,
    items: Sequence[tuple[int, Any, str]],
    settings: LLMSettings,
    progress: Progress,
) -> tuple[dict[int, int | None], dict[int, str], JudgeTally]:
    """Ask the judge about each (position, row id, instruction); every request goes through
    ``folder/cache.sqlite``. Returns ratings (None: no readable rating), the raw replies, counts."""
    from ...runtime.llm import RequestRejected
    from ...runtime.session import Session
    from ...types.errors import LLMFailure

    endpoint = settings.endpoint
    if endpoint is None or endpoint.offline:
        raise EvolError(
            "--difficulty asks an LLM judge: give an endpoint with --base-url, OPENAI_BASE_URL or "
            "OPENAI_API_KEY (the bundled offline model cannot rate anything)"
        )
    tally = JudgeTally(asked=len(items))
    ratings: dict[int, int | None] = {}
    replies: dict[int, str] = {}
    session = Session.open(endpoint, folder / CACHE)
    # The run a build with this seed is: each row is its sample, asked at the judge's stage by
    # the scorer's own call, so the request seed and the cache key are the build's.
    run = session.run_context(_Judging(), seed=settings.run_seed, out_dir=folder)

    async def ask(position: int, row_id: Any, instruction: str) -> None:
        try:
            completion = await run.for_sample(str(row_id)).complete(
                judge.judge_messages(instruction), stage=judge.STAGE, response_format=judge.FORMAT, **judge.DECODING
            )
        except (LLMFailure, RequestRejected):
            # The endpoint kept failing, or rejected this request as invalid (several in a row
            # stop the command with the endpoint's words): no rating, never a guess.
            tally.failed += 1
            ratings[position] = None
            return
        replies[position] = completion.text
        rating = judge.read_rating(completion.text)
        if rating is None:
            tally.unreadable += 1
        ratings[position] = rating

    async def main() -> None:
        queue: asyncio.Queue[tuple[int, Any, str]] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)
        done = asyncio.Queue[None]()

        async def worker() -> None:
            while not queue.empty():
                await ask(*queue.get_nowait())
                done.put_nowait(None)

        async def drain() -> None:
            for _ in progress(range(len(items)), total=len(items), description="difficulty"):
                await done.get()

        workers: list[asyncio.Future[None]] = []
        try:
            # As a build does: a wrong URL or key is found within seconds, not after every
            # row's retries (or a --max-outage of waiting).
            for warning in await session.preflight():
                log.warning("%s", warning)
            workers = [asyncio.ensure_future(worker()) for _ in range(min(len(items), 2 * endpoint.concurrency) or 1)]
            await asyncio.gather(drain(), *workers)
        finally:
            for task in workers:
                task.cancel()
            await session.aclose()

    try:
        # Requests make reference cycles (tasks, futures, retried errors): collect them.
        with _collector(enabled=True):
            asyncio.run(main())
    finally:
        tally.sent = session.llm.stats.sent
        tally.from_cache = session.llm.stats.cached
        session.close()
    return ratings, replies, tally


def embedder(folder: Path, settings: CurationSettings) -> Callable[[Sequence[str]], np.ndarray]:
    """Texts to their embeddings from the endpoint's ``/embeddings`` (stage ``embed``), through a
    ``Session`` on ``folder/cache.sqlite``: a rerun sends only texts it has not embedded."""
    from ...runtime.llm import RequestRejected
    from ...runtime.session import Session
    from ...types.errors import LLMFailure

    endpoint = settings.llm.endpoint
    if endpoint is None or endpoint.offline:
        raise EvolError(
            "--diversity compares embeddings from an endpoint: give one with --base-url, OPENAI_BASE_URL or "
            "OPENAI_API_KEY (the bundled offline model has no embeddings of meaning)"
        )

    def embed(texts: Sequence[str]) -> np.ndarray:
        session = Session.open(endpoint, folder / CACHE)

        async def main() -> list[list[float]]:
            try:
                for warning in await session.preflight():
                    log.warning("%s", warning)
                return await session.llm_for(EMBED_STAGE).embed(list(texts), model=settings.embedding_model)
            finally:
                await session.aclose()

        try:
            with _collector(enabled=True):
                vectors = asyncio.run(main())
        except (LLMFailure, RequestRejected) as error:
            # No selection by meaning without every row's embedding: never a guess.
            raise EvolError(f"--diversity: the endpoint gave no embeddings ({error})") from None
        finally:
            session.close()
        if len({len(vector) for vector in vectors}) > 1:
            raise EvolError(f"--diversity: the endpoint's embeddings ({settings.embedding_model}) differ in length")
        return np.array(vectors, dtype=np.float64)

    return embed


# --- the pipeline ----------------------------------------------------------------------------


def ordered_rules(rules: Sequence[CurationRule]) -> list[CurationRule]:
    """The plugins' rules in the order given, then the built-in ones (registered by the core
    plugin like any other; added when a caller passes only its own)."""
    builtin = {rule.name: rule for rule in BUILTIN_CURATION_RULES}
    clash = sorted(rule.name for rule in rules if rule.name in builtin and rule is not builtin[rule.name])
    if clash:
        raise EvolError(f"a plugin rule takes the name of a built-in rule: {', '.join(clash)}")
    return [rule for rule in rules if rule.name not in builtin] + list(BUILTIN_CURATION_RULES)


def _group(facts: RowFacts, keys: Sequence[Any], removed: Mapping[int, Decision]) -> dict[str, GroupStats]:
    groups: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        groups.setdefault("none" if key is None else str(key), []).append(position)

    def order(name: str) -> tuple[int, Any]:
        return (0, int(name)) if name.isdigit() else (1, name)

    out = {}
    for name in sorted(groups, key=order):
        members = groups[name]
        rated = [facts.difficulty[p] for p in members if facts.difficulty[p] is not None]
        out[name] = GroupStats(
            rows=len(members),
            kept=sum(1 for p in members if p not in removed),
            rated=len(rated),
            mean_difficulty=sum(rated) / len(rated) if rated else None,  # type: ignore[arg-type]
            mean_instruction_words=sum(facts.instruction_words[p] for p in members) / len(members),
            mean_response_words=sum(facts.response_words[p] for p in members) / len(members),
        )
    return out


def curate(
    folder: Path,
    settings: CurationSettings,
    rules: Sequence[CurationRule] = (),
    progress: Progress | None = None,
) -> CurationReport:
    """Curate ``folder/dataset.jsonl`` into ``folder/curated/``.

    ``rules`` are extra rules (the plugins' ``evol_curation_rules``); they run before the
    built-in ones, in the order given. Raises ``EvolError`` for bad input.
    """
    with _collector(enabled=False):
        # The run's objects are freed when _curate returns, before the collector is back on.
        return _curate(folder, settings, rules, progress)


def _curate(
    folder: Path,
    settings: CurationSettings,
    rules: Sequence[CurationRule],
    progress: Progress | None,
) -> CurationReport:
    started = time.monotonic()
    progress = progress or _quiet
    source = folder / DATASET
    if not source.is_file():
        raise EvolError(f"{source}: no dataset here (evol curate reads DIR/dataset.jsonl)")
    digest = file_digest(source)
    if not 0.0 < settings.near_dup_threshold <= 1.0:
        raise EvolError(f"--near-dup-threshold must be in (0, 1], got {settings.near_dup_threshold}")
    if not 0.0 < settings.budget_similarity <= 1.0:
        raise EvolError(f"--budget-similarity must be in (0, 1], got {settings.budget_similarity}")
    if settings.budget is not None and settings.budget < 0:
        raise EvolError(f"--budget must be >= 0, got {settings.budget}")
    if settings.diversity is not None:
        if settings.budget is None:
            raise EvolError("--diversity chooses among the rows of a --budget: give --budget N")
        if not 0.0 < settings.diversity <= 1.0:
            raise EvolError(f"--diversity must be in (0, 1], got {settings.diversity}")
    try:
        score_names(settings.by)
    except ValueError as error:
        raise EvolError(str(error)) from None
    skipped = set(settings.skip)
    known = set(BUILTIN_RULES) | {rule.name for rule in rules}
    unknown = sorted(skipped - known)
    if unknown:
        raise EvolError(f"--skip {', '.join(unknown)}: no such rule; rules: {', '.join(sorted(known))}")
    registered = ordered_rules(rules)

    benchmarks = [] if "contamination" in skipped else benchmark_files.resolve(settings.against)
    # The budget's scores are filled in after the LLM judge ran, which is after reading.
    external_scores: dict[int, float | None] = {}
    row_score = score_from_row(settings.by)

    def score_of(candidate: Candidate) -> float | None:
        if settings.by == judge.SCORE and candidate.position in external_scores:
            return external_scores[candidate.position]
        return row_score(candidate)

    budget_tally = BudgetTally()
    run = CurationRun(
        options={"near_dup_threshold": settings.near_dup_threshold, "containment": settings.containment,
                 "budget": settings.budget, "by": settings.by, "budget_similarity": settings.budget_similarity,
                 "diversity": settings.diversity},
        benchmarks=tuple(benchmarks), score_of=score_of, budget_tally=budget_tally,
        embed=embedder(folder, settings) if settings.diversity is not None and settings.budget is not None else None,
    )
    configured = (rule.for_run(run) for rule in registered if rule.name not in skipped)
    active = [rule for rule in configured if rule is not None]
    runner = RuleRunner(active)
    if settings.difficulty and "instruction" not in runner.kept_fields:
        runner.kept_fields = sorted({*runner.kept_fields, "instruction", "input"})

    facts = read_dataset(source, runner, progress)

    difficulty_report: dict[str, Any] | None = None
    ratings: dict[int, int | None] = {}
    if settings.difficulty:
        missing = [
            (c.position, c.id, _instruction_of(c)) for c in runner.candidates if facts.difficulty[c.position] is None
        ]
        ratings, _, tally = rate_difficulty(folder, missing, settings.llm, progress)
        tally.already_scored = len(facts.ids) - len(missing)
        for position, rating in ratings.items():
            facts.difficulty[position] = None if rating is None else float(rating)
        difficulty_report = {**vars(tally), "rated": sum(1 for d in facts.difficulty if d is not None)}
    external_scores.update({p: d for p, d in enumerate(facts.difficulty)})

    if settings.budget is not None:
        by_values = [score_of(c) for c in runner.candidates]
        if not any(value is not None for value in by_values):
            hint = " (add --difficulty to rate the rows)" if settings.by == judge.SCORE and not settings.difficulty else ""
            raise EvolError(f"--by {settings.by}: no row has a numeric scores.{settings.by}{hint}")

    curated = folder / CURATED
    removed = runner.finish(progress)
    curated.mkdir(exist_ok=True)
    _write_outputs(source, curated, removed, len(facts.ids), progress)
    if settings.difficulty:
        _write_difficulty(curated, facts)

    per_rule = {rule.name: 0 for rule in active}
    for decision in removed.values():
        per_rule[decision.rule] += 1
    report = CurationReport(
        folder=folder,
        rows=len(facts.ids),
        kept=len(facts.ids) - len(removed),
        removed_per_rule=per_rule,
        rules=[{"name": r.name, "mode": r.mode, "description": r.description} for r in active],
        settings=settings.as_json(),
        benchmarks=[fp.version() for fp in benchmarks],
        per_round=_group(facts, facts.rounds, removed),
        per_operation=_group(facts, facts.operations, removed),
        difficulty=difficulty_report,
        budget=budget_tally.as_json() if settings.budget is not None else None,
        versions=_versions(),
        wall_time_s=time.monotonic() - started,
        offline_rows=facts.offline_rows,
        dataset_sha256=digest,
    )
    write_text(curated / CURATION_REPORT, json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
    return report


@contextmanager
def _collector(enabled: bool) -> Iterator[None]:
    """Python's cyclic garbage collector on or off inside the block, as it was after it.

    ``curate`` runs with it off (but for the difficulty judge's requests): curation keeps a few
    containers per row alive for the whole run, and every full collection scans all of them; at
    300k rows that was a fifth of the time, a share that grows with the rows. Reading, the rules
    and writing make almost no reference cycles (410 unreachable objects after 100k rows);
    reference counting frees their garbage, and whatever cycles a plugin's rule makes are
    collected after the command.
    """
    was_enabled = gc.isenabled()
    _set_collector(enabled)
    try:
        yield
    finally:
        _set_collector(was_enabled)


def _set_collector(enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _instruction_of(candidate: Candidate) -> str:
    instruction = candidate.values.get("instruction") or ""
    extra = candidate.values.get("input")
    return f"{instruction}\n{extra}" if extra else instruction


def _quiet(items: Iterable[T], *, total: int, description: str) -> Iterable[T]:
    return items


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in ("evolinstruct", "rensa", "numpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _with_removal(raw: bytes, decision: Decision) -> bytes:
    """The row's own bytes with the removal added as its last field."""
    body = raw.rstrip()
    if not body.endswith(b"}"):
        raise EvolError("a row does not end with '}'")  # cannot happen for a row json.loads read as an object
    addition = json.dumps(decision.as_json(), ensure_ascii=False, separators=(", ", ": "))
    return body[:-1].rstrip() + b', "removal": ' + addition.encode("utf-8") + b"}\n"


def _write_outputs(source: Path, curated: Path, removed: Mapping[int, Decision], rows: int, progress: Progress) -> None:
    kept_path, removed_path = curated / CURATED_DATASET, curated / CURATED_REMOVED
    kept_tmp, removed_tmp = temporary_name(kept_path), temporary_name(removed_path)
    position = kept_count = removed_count = 0
    with source.open("rb") as reader, kept_tmp.open("wb") as kept_out, removed_tmp.open("wb") as removed_out:
        for _, raw in progress(_lines(reader), total=source.stat().st_size, description="writing"):
            if not raw.strip():
                continue
            decision = removed.get(position)
            if decision is None:
                kept_out.write(raw if raw.endswith(b"\n") else raw + b"\n")
                kept_count += 1
            else:
                removed_out.write(_with_removal(raw, decision))
                removed_count += 1
            position += 1
    # Nothing lost: every row read is in exactly one of the two files.
    if position != rows or kept_count + removed_count != rows or removed_count != len(removed):
        kept_tmp.unlink(missing_ok=True)
        removed_tmp.unlink(missing_ok=True)
        raise EvolError(f"{source} changed while it was curated ({rows} rows read, {position} on the second pass)")
    os.replace(kept_tmp, kept_path)
    os.replace(removed_tmp, removed_path)


def _write_difficulty(curated: Path, facts: RowFacts) -> None:
    lines = [
        json.dumps({"id": row_id, judge.SCORE: None if value is None else int(value) if value.is_integer() else value})
        for row_id, value in zip(facts.ids, facts.difficulty)
    ]
    write_text(curated / CURATED_DIFFICULTY, "\n".join(lines) + ("\n" if lines else ""))
