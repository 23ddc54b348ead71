"""The evolution loop, top to bottom.

Every seed grows one lineage: the seed itself (round 0), then one evolution attempt per round.
An attempt rewrites the current instruction with an operation drawn for (run seed, seed, round),
cleans the rewrite, applies the instruction filters, answers it, applies the response filters,
runs the domain's scorers and then the verdict filters. A candidate that survives becomes the
lineage's current instruction; an eliminated one is recorded with the filter and reason, and
its parent is evolved again in the next round (the paper's "back into the pool").

Lineages are independent of each other, so they run concurrently with no barrier between rounds:
the LLM is kept busy all the time, and a run splits by seed into shards whose outputs merge into
the same dataset. Results are written in seed order, whatever order lineages finish in, so a
rerun on the same cache writes a byte-identical dataset.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import traceback
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .context import RunContext, SampleContext, stable_int
from .errors import LLMFailure
from .llm import EndpointRefused
from .output import Output
from .records import Elimination, Filter, Operation, Sample, Scorer, Seed, Usage
from .rewrite import clean_rewrite
from .tally import Tally

SEED_OPERATION = "seed"


@dataclass(frozen=True)
class Failure:
    """A sample whose work could not be finished: the endpoint kept failing, or a plugin broke."""

    sample_id: str
    seed_id: str
    parent_id: str | None
    round: int
    operation: str
    stage: str
    error: str
    instruction: str | None = None
    usage: dict[str, Usage] = field(default_factory=dict)


@dataclass
class Lineage:
    kept: list[Sample] = field(default_factory=list)
    eliminated: list[tuple[Sample, Elimination]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)


class _Stop(Exception):
    """Raised inside one attempt to record a failure at the stage where it happened."""

    def __init__(self, stage: str, error: BaseException) -> None:
        self.stage = stage
        self.error = error


class Engine:
    def __init__(
        self,
        run: RunContext,
        *,
        rounds: int,
        schedule: Sequence[str] | None,
        filters: Iterable[Filter],
        scorers: Iterable[Scorer],
        output: Output,
        tally: Tally,
        max_active: int,
    ) -> None:
        self.run = run
        self.domain = run.domain
        self.rounds = rounds
        self.round_operations = operations_per_round(self.domain.operations, rounds, schedule)
        self.filters = {stage: [f for f in filters if f.stage == stage] for stage in ("instruction", "response", "verdict")}
        self.scorers = list(scorers)
        self.output = output
        self.tally = tally
        self.max_active = max_active
        self.clean = self.domain.clean_rewrite or clean_rewrite
        self.inherit = self.domain.inherit_fields or dict

    # --- the whole build ---------------------------------------------------------------------

    async def build(self, seeds: Iterable[Seed]) -> None:
        """Grow every seed's lineage, at most ``max_active`` at once, writing them in seed order."""
        finished: dict[int, Lineage] = {}
        next_to_write = 0
        slots = asyncio.Semaphore(self.max_active)

        async def grow(position: int, seed: Seed) -> None:
            nonlocal next_to_write
            try:
                finished[position] = await self.lineage(seed)
            finally:
                slots.release()
            self.tally.lineages_done += 1
            while next_to_write in finished:
                self.output.write_lineage(finished.pop(next_to_write))
                next_to_write += 1

        async with asyncio.TaskGroup() as group:
            for position, seed in enumerate(seeds):
                await slots.acquire()
                group.create_task(grow(position, seed))

    # --- one seed's lineage ------------------------------------------------------------------

    async def lineage(self, seed: Seed) -> Lineage:
        lineage = Lineage()
        try:
            current = await self.seed_sample(seed)
        except _Stop as stop:
            self._record_failure(lineage, seed.id, None, 0, SEED_OPERATION, stop, seed.instruction, {})
            self._skip_rounds_after(0)
            return lineage
        lineage.kept.append(current)
        self.tally.kept(current)

        for round_ in range(1, self.rounds + 1):
            operation, rng = self.choose_operation(seed.id, round_)
            candidate_id = f"{seed.id}/r{round_}"
            ctx = self.run.for_sample(candidate_id, parent=current)
            try:
                candidate, elimination = await self.attempt(ctx, current, candidate_id, round_, operation, rng)
            except _Stop as stop:
                self._record_failure(lineage, seed.id, current.id, round_, operation.name, stop, None, ctx.usage)
                self._skip_rounds_after(round_)
                break
            if elimination is None:
                lineage.kept.append(candidate)
                self.tally.kept(candidate)
                current = candidate
            else:
                lineage.eliminated.append((candidate, elimination))
                self.tally.eliminated(candidate, elimination)
        return lineage

    async def seed_sample(self, seed: Seed) -> Sample:
        """Round 0: the seed as a sample, answered (unless it brings its own output) and scored.

        Seeds are never eliminated: they are the user's data, and the root of their lineage.
        """
        sample = Sample(
            id=seed.id,
            seed_id=seed.id,
            parent_id=None,
            round=0,
            operation=SEED_OPERATION,
            domain=self.domain.name,
            instruction=seed.instruction,
            response=seed.output,
            fields=dict(seed.fields),
        )
        ctx = self.run.for_sample(sample.id)
        with stage("respond"):
            if sample.response is None:
                sample = await self.respond(ctx, sample)
        with stage("score"):
            sample = await self.score(ctx, sample)
        return sample.with_usage(ctx.usage)

    # --- one evolution attempt ---------------------------------------------------------------

    async def attempt(
        self,
        ctx: SampleContext,
        parent: Sample,
        candidate_id: str,
        round_: int,
        operation: Operation,
        rng: random.Random,
    ) -> tuple[Sample, Elimination | None]:
        with stage("evolve"):
            rewrite = await ctx.chat(operation.prompt(parent, rng), stage="evolve")
        candidate = Sample(
            id=candidate_id,
            seed_id=parent.seed_id,
            parent_id=parent.id,
            round=round_,
            operation=operation.name,
            domain=self.domain.name,
            instruction=self.clean(rewrite),
            fields=dict(self.inherit(parent.fields)),
        )
        # Each step is followed by its stage's filters; the first elimination ends the attempt.
        elimination = await self.eliminate("instruction", ctx, candidate)
        if elimination is None:
            with stage("respond"):
                candidate = await self.respond(ctx, candidate)
            elimination = await self.eliminate("response", ctx, candidate)
        if elimination is None:
            with stage("score"):
                candidate = await self.score(ctx, candidate)
            elimination = await self.eliminate("verdict", ctx, candidate)
        return candidate.with_usage(ctx.usage), elimination

    async def respond(self, ctx: SampleContext, sample: Sample) -> Sample:
        if self.domain.respond is not None:
            return await self.domain.respond(ctx, sample)
        answer = await ctx.chat([{"role": "user", "content": sample.instruction}], stage="respond")
        return sample.replace(response=answer)

    async def eliminate(self, stage_name: str, ctx: SampleContext, sample: Sample) -> Elimination | None:
        with stage(f"{stage_name} filters"):
            for rule in self.filters[stage_name]:
                reason = rule.check(ctx, sample)
                if inspect.isawaitable(reason):
                    reason = await reason
                if reason:
                    return Elimination(rule.name, reason)
        return None

    async def score(self, ctx: SampleContext, sample: Sample) -> Sample:
        for scorer in self.scorers:
            result = await scorer.score(ctx, sample)
            sample = sample.replace(
                checks={**sample.checks, **result.checks},
                scores={**sample.scores, **result.scores},
            )
        return sample

    # --- choices and bookkeeping -------------------------------------------------------------

    def choose_operation(self, seed_id: str, round_: int) -> tuple[Operation, random.Random]:
        """Uniform among the round's operations, from an RNG seeded per (run seed, seed, round)."""
        rng = random.Random(stable_int(self.run.seed, seed_id, round_))
        return rng.choice(self.round_operations[round_ - 1]), rng

    def _record_failure(
        self,
        lineage: Lineage,
        seed_id: str,
        parent_id: str | None,
        round_: int,
        operation: str,
        stop: _Stop,
        instruction: str | None,
        usage: dict[str, Usage],
    ) -> None:
        sample_id = seed_id if round_ == 0 else f"{seed_id}/r{round_}"
        error = stop.error
        if isinstance(error, LLMFailure):
            message = f"{error} (after {error.attempts} attempts)"
        else:
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
        lineage.failed.append(
            Failure(sample_id, seed_id, parent_id, round_, operation, stop.stage, message, instruction, dict(usage))
        )
        self.tally.failed(round_, operation, usage)

    def _skip_rounds_after(self, round_: int) -> None:
        for later in range(round_ + 1, self.rounds + 1):
            self.tally.skipped(later)


class stage:
    """Labels a failure with the stage it happened in; lets run-stopping errors through."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, tb: object) -> bool:
        if error is None or isinstance(error, (_Stop, EndpointRefused, asyncio.CancelledError)):
            return False
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit
            return False
        raise _Stop(self.name, error) from error


def operations_per_round(
    operations: Sequence[Operation], rounds: int, schedule: Sequence[str] | None
) -> list[tuple[Operation, ...]]:
    """The operations each round draws from: all of them, or those a schedule entry names.

    A schedule entry is an operation name or a tag (``up``, ``down``, ``in-depth``...).
    """
    if not operations:
        raise ValueError("the domain has no operations")
    if schedule is None:
        return [tuple(operations)] * rounds
    per_round = []
    for entry in schedule:
        matches = tuple(op for op in operations if op.name == entry or entry in op.tags)
        if not matches:
            names = sorted({op.name for op in operations} | {tag for op in operations for tag in op.tags})
            raise ValueError(f"--schedule entry {entry!r} names no operation or tag; known: {', '.join(names)}")
        per_round.append(matches)
    return per_round
