"""The evolution loop, top to bottom.

Every seed grows one lineage: the seed itself (round 0), then one evolution round after another.
In a round the current instruction is rewritten with an operation drawn for (run seed, seed,
round); the rewrite is cleaned, the instruction filters judge it, the LLM answers it, the
response filters judge the answer, the domain's scorers check it and the verdict filters read
their checks. A candidate that survives becomes the lineage's current instruction; an eliminated
one is recorded with the filter and reason, and its parent is evolved again in the next round
(the paper's "back into the pool"). A domain may evolve several candidates per round, each with
its own operation where the round has enough, and keep the best survivor by a score
(``Domain.candidates``, for WizardMath's instruction-reward rankings; see ``Engine.rank``).

Lineages are independent of each other, so they run concurrently with no barrier between rounds:
the LLM is kept busy all the time, and a run splits by seed into shards whose outputs merge into
the same dataset. Results are written in seed order, whatever order lineages finish in, so a
rerun on the same cache writes a byte-identical dataset.

When something raises, the sample fails and its lineage stops there (see failures.py: a failure
that repeats stops the whole run). Errors that concern the whole run (the endpoint refuses it, an
outage outlasts ``--max-outage``) are not a sample's failure and go straight up.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..types.context import RunContext, SampleContext, stable_int
from ..types.errors import EvolError, LLMFailure, TransientError
from ..types.records import Elimination, Message, Sample, Seed, Usage
from ..types.registrations import Domain, Filter, Operation, Registration, Scorer
from ..types.rewrite import clean_rewrite
from .failures import Failure, FailureWatch, classify, code_traceback, describe

SEED_OPERATION = "seed"
OUTRANKED = "outranked"
UNRANKED = "unranked"
SAME_TEXT = "same-text"
NOT_CHOSEN = (OUTRANKED, UNRANKED, SAME_TEXT)
"""The eliminations of a ranked round's candidates that were not chosen (not filters' verdicts)."""
ANSWER_CANDIDATES = "answer_candidates"
"""The field listing every version of a sample's answer (``--evolve-answers``)."""
EMPTY_ANSWER = "empty-answer"
EVOLVE_ANSWER_STAGE = "evolve-answer"
"""The stage of the rewrites of an answer (``evol build --evolve-answers K``), which a role can bind."""


@dataclass(frozen=True)
class AnswerEvolution:
    """``evol build --evolve-answers K``: each kept sample's answer is rewritten K times, each
    version along a direction drawn per (run seed, sample, version), from the latest version
    that survived. A version goes through the domain's response filters, its ``answer_rule``
    (the math domain: the verified final answer is kept), scorers and verdict filters as an
    answer does (the code domain runs it against the tests), and the sample keeps
    the surviving version with the highest ``rank_by`` score (ties and no scores: the earliest).
    """

    count: int
    directions: tuple[str, ...]
    messages: Callable[[str, str, str], Sequence[Message]]
    """(instruction, answer, direction) -> the request for a better answer."""
    rank_by: str
    instruction_only: frozenset[str] = frozenset()
    """Scorers that read only the instruction, which a rewritten answer does not change: not run again."""
    stage: str = EVOLVE_ANSWER_STAGE


@dataclass
class Lineage:
    """What one seed's evolution produced, in the order it happened."""

    seed: Seed
    kept: list[Sample] = field(default_factory=list)
    eliminated: list[tuple[Sample, Elimination]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)


@dataclass
class Progress:
    """Live counts for the progress display (the summary counts the written files instead)."""

    seeds: int
    rounds: int
    lineages_done: int = 0
    attempts: dict[int, dict[str, int]] = field(default_factory=dict)

    def count(self, round_: int, outcome: str) -> None:
        per_round = self.attempts.setdefault(round_, {"kept": 0, "eliminated": 0, "failed": 0})
        per_round[outcome] += 1


class _Failed(Exception):
    """Raised inside one attempt to record a failure at the stage where it happened."""

    def __init__(self, stage: str, where: str | None, error: BaseException, tb: TracebackType | None) -> None:
        self.stage = stage
        self.where = where
        self.error = error
        self.tb = tb
        self.sample_id = ""
        self.round = 0
        self.operation = ""
        self.usage: dict[str, Usage] = {}

    def at(self, sample_id: str, round_: int, operation: str, usage: Mapping[str, Usage]) -> None:
        """Which sample failed, filled in by the attempt that knows it."""
        self.sample_id, self.round, self.operation, self.usage = sample_id, round_, operation, dict(usage)


class Engine:
    def __init__(
        self,
        run: RunContext,
        domain: Domain,
        *,
        rounds: int,
        schedule: Sequence[str] | None,
        filters: Iterable[Filter],
        scorers: Iterable[Scorer],
        write: Callable[[Lineage], None],
        max_active: int,
        weights: Mapping[str, float] | None = None,
        label: Callable[[Registration], str] = lambda registration: f"{registration.kind} {registration.name!r}",
        watch: FailureWatch | None = None,
        answers: AnswerEvolution | None = None,
    ) -> None:
        self.run = run
        self.domain = domain
        self.rounds = rounds
        self.round_operations = operations_per_round(domain.operations, rounds, schedule)
        self.weights = {op.name: op.weight for op in domain.operations} | dict(weights or {})
        self.filters = {stage: [f for f in filters if f.stage == stage] for stage in ("instruction", "response", "verdict")}
        self.scorers = list(scorers)
        self.write = write
        self.max_active = max_active
        self.label = label
        self.watch = watch or FailureWatch()
        self.clean = domain.clean_rewrite or clean_rewrite
        self.inherit = domain.inherit_fields or dict
        self.candidates = domain.candidates.count(run.options) if domain.candidates is not None else 1
        if isinstance(self.candidates, bool) or not isinstance(self.candidates, int) or self.candidates < 1:
            raise ValueError(f"domain {domain.name!r} asks for {self.candidates!r} candidates per round; it must be an integer >= 1")
        self.answers = answers if answers is not None and answers.count > 0 else None
        self.progress: Progress | None = None
        self.aborting = False
        """Set when failures became systematic; the run stops once the lineage that showed it is written."""

    # --- the whole build ---------------------------------------------------------------------

    async def build(self, seeds: Iterable[Seed], progress: Progress) -> None:
        """Grow every seed's lineage, at most ``max_active`` at once, writing them in seed order."""
        self.progress = progress
        finished: dict[int, Lineage] = {}
        next_to_write = 0
        slots = asyncio.Semaphore(self.max_active)

        async def grow(position: int, seed: Seed) -> None:
            nonlocal next_to_write
            try:
                finished[position] = await self.lineage(seed)
            finally:
                slots.release()
            progress.lineages_done += 1
            while next_to_write in finished:
                self.write(finished.pop(next_to_write))
                next_to_write += 1
            if self.aborting:
                raise self.stop()

        try:
            async with asyncio.TaskGroup() as group:
                for position, seed in enumerate(seeds):
                    await slots.acquire()
                    group.create_task(grow(position, seed))
        except BaseException as stopped:
            # A run that stops early (repeating failures, an outage, Ctrl-C) keeps every lineage
            # it finished, written after those already in seed order: a lineage waiting for an
            # earlier seed to finish is not lost with it. A rerun writes them in seed order again.
            for position in sorted(finished):
                self.write(finished.pop(position))
            if self.aborting and isinstance(stopped, BaseExceptionGroup):
                raise self.stop() from None  # the message counts the failures written
            raise

    def stop(self) -> EvolError:
        """Why the run stops now that failures became systematic."""
        return self.watch.abort(endpoint_answered=self.run.answered > 0)

    # --- one seed's lineage ------------------------------------------------------------------

    async def lineage(self, seed: Seed) -> Lineage:
        lineage = Lineage(seed)
        try:
            current = await self.seed_sample(seed)
        except _Failed as failed:
            self.record_failure(lineage, failed, parent_id=None, instruction=seed.instruction)
            return lineage
        self.kept(lineage, current)

        for round_ in range(1, self.rounds + 1):
            if self.candidates == 1:
                outcomes = [await self.attempt_or_failure(current, round_, 0)]
            else:
                outcomes = await asyncio.gather(
                    *(self.attempt_or_failure(current, round_, number) for number in range(self.candidates))
                )
            failures = [outcome for outcome in outcomes if isinstance(outcome, _Failed)]
            if failures:
                # A round is decided by all its candidates: with one missing it cannot be, and
                # the lineage stops here; running the build again retries the failed ones.
                for failed in failures:
                    self.record_failure(lineage, failed, parent_id=current.id, instruction=None)
                break
            for candidate, elimination in self.rank(outcomes):  # type: ignore[arg-type]
                if elimination is None:
                    self.kept(lineage, candidate)
                    current = candidate
                else:
                    lineage.eliminated.append((candidate, elimination))
                    self.watch.succeeded()
                    self.count(candidate.round, "eliminated")
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
            response_source="seed" if seed.output is not None else "model",
            input=seed.input,
        )
        ctx = self.run.for_sample(sample.id)
        try:
            if sample.response is None:
                sample = await self.respond(ctx, sample)
            sample = await self.score(ctx, sample)
            sample = await self.evolve_answers(ctx, sample)
        except _Failed as failed:
            failed.at(sample.id, 0, SEED_OPERATION, ctx.usage)
            raise
        return sample.with_usage(ctx.usage, ctx.models)

    # --- one evolution attempt ---------------------------------------------------------------

    async def attempt_or_failure(
        self, parent: Sample, round_: int, number: int
    ) -> tuple[Sample, Elimination | None] | _Failed:
        try:
            return await self.attempt(parent, round_, number)
        except _Failed as failed:
            return failed

    async def attempt(self, parent: Sample, round_: int, number: int) -> tuple[Sample, Elimination | None]:
        operation, rng = self.choose_operation(parent.seed_id, round_, number)
        candidate_id = self.candidate_id(parent.seed_id, round_, number)
        # The candidate's number, when there are several, spreads them over a stage's models.
        ctx = self.run.for_sample(candidate_id, parent=parent, candidate=number if self.candidates > 1 else None)
        try:
            with stage("evolve", operation, self.label):
                rewrite = await ctx.chat(operation.prompt(parent, rng), stage="evolve")
            with stage("evolve", self.domain, self.label):
                instruction = self.clean(rewrite)
                fields = dict(self.inherit(parent.fields))
                fields.pop(ANSWER_CANDIDATES, None)  # the parent's answers are not this instruction's
            candidate = Sample(
                id=candidate_id,
                seed_id=parent.seed_id,
                parent_id=parent.id,
                round=round_,
                operation=operation.name,
                domain=self.domain.name,
                instruction=instruction,
                fields=fields,
            )
            # Each step is followed by its stage's filters; the first elimination ends the attempt.
            elimination = await self.eliminate("instruction", ctx, candidate)
            if elimination is None:
                candidate = await self.respond(ctx, candidate)
                elimination = await self.eliminate("response", ctx, candidate)
            if elimination is None:
                candidate = await self.score(ctx, candidate)
                elimination = await self.eliminate("verdict", ctx, candidate)
            if elimination is None:
                candidate = await self.evolve_answers(ctx, candidate)
        except _Failed as failed:
            failed.at(candidate_id, round_, operation.name, ctx.usage)
            raise
        return candidate.with_usage(ctx.usage, ctx.models), elimination

    async def respond(self, ctx: SampleContext, sample: Sample) -> Sample:
        with stage("respond", self.domain, self.label):
            if self.domain.respond is not None:
                return await self.domain.respond(ctx, sample)
            answer = await ctx.chat([{"role": "user", "content": sample.instruction}], stage="respond")
            return sample.replace(response=answer, response_source="model")

    async def eliminate(self, stage_name: str, ctx: SampleContext, sample: Sample) -> Elimination | None:
        for rule in self.filters[stage_name]:
            with stage(f"{stage_name} filters", rule, self.label):
                reason = rule.check(ctx, sample)
                if inspect.isawaitable(reason):
                    reason = await reason
            if reason:
                return Elimination(rule.name, reason)
        return None

    async def score(self, ctx: SampleContext, sample: Sample, skip: frozenset[str] = frozenset()) -> Sample:
        for scorer in self.scorers:
            if scorer.name in skip:
                continue
            with stage("score", scorer, self.label):
                result = await scorer.score(ctx, sample)
            sample = sample.replace(
                checks={**sample.checks, **result.checks},
                scores={**sample.scores, **result.scores},
            )
        return sample

    async def evolve_answers(self, ctx: SampleContext, sample: Sample) -> Sample:
        """The sample with its best answer version and ``fields.answer_candidates`` listing every
        version: text, direction, parent version, score, elimination (null: it survived), chosen.

        A version that a filter or the domain's ``answer_rule`` eliminates (the rule before the
        version is scored, so such a version has no scores), that is empty, or that repeats an
        earlier version's text (up to spacing) is not a candidate; the next version is rewritten
        from the latest surviving one. Version 0 is the answer the sample had.
        """
        plan = self.answers
        if plan is None or sample.response is None:
            return sample
        versions: list[Sample] = [sample]
        records: list[dict[str, Any]] = [
            {"version": 0, "text": sample.response, "direction": None, "parent": None, "elimination": None}]
        texts = {" ".join(sample.response.split()): 0}
        latest = 0
        for number in range(1, plan.count + 1):
            direction = random.Random(stable_int(self.run.seed, sample.id, plan.stage, number)).choice(plan.directions)
            parent = versions[latest]
            with stage(plan.stage, self.domain, self.label):
                text = (await ctx.chat(plan.messages(sample.instruction, parent.response or "", direction),
                                       stage=plan.stage, variant=number)).strip()
            # A version starts with no score of its own but those of its instruction.
            kept_scores = {name: value for name, value in sample.scores.items() if name in plan.instruction_only}
            version = sample.replace(response=text, response_source="model", scores=kept_scores)
            elimination: Elimination | None = None
            same = texts.get(" ".join(text.split()))
            if not text:
                elimination = Elimination(EMPTY_ANSWER, "the rewritten answer is empty")
            elif same is not None:
                elimination = Elimination(SAME_TEXT, f"the same text as version {same}")
            else:
                elimination = await self.eliminate("response", ctx, version)
                if elimination is None:
                    elimination = await self.keeps_answer(ctx, sample, version, plan.stage)
                if elimination is None:
                    version = await self.score(ctx, version, skip=plan.instruction_only)
                    elimination = await self.eliminate("verdict", ctx, version)
            versions.append(version)
            records.append({"version": number, "text": text, "direction": direction, "parent": latest,
                            "elimination": None if elimination is None else
                            {"filter": elimination.filter, "reason": elimination.reason}})
            if elimination is None:
                texts.setdefault(" ".join(text.split()), number)
                latest = number
        scores = [_score_value(version.scores.get(plan.rank_by)) for version in versions]
        alive = [n for n, record in enumerate(records) if record["elimination"] is None]
        scored = [n for n in alive if scores[n] is not None]
        chosen = max(scored, key=lambda n: (scores[n], -n)) if scored else 0
        for n, record in enumerate(records):
            record[plan.rank_by] = scores[n]
            record["chosen"] = n == chosen
        best = versions[chosen]
        return best.replace(fields={**best.fields, ANSWER_CANDIDATES: records})

    async def keeps_answer(self, ctx: SampleContext, original: Sample, version: Sample,
                           stage_name: str) -> Elimination | None:
        """The domain's ``answer_rule`` on a rewritten version: why it lost what the original verified."""
        rule = self.domain.answer_rule
        if rule is None:
            return None
        with stage(stage_name, self.domain, self.label):
            reason = await rule.check(ctx, original, version)
        return Elimination(rule.name, reason) if reason else None

    # --- choices -----------------------------------------------------------------------------

    def candidate_id(self, seed_id: str, round_: int, number: int) -> str:
        return f"{seed_id}/r{round_}" if self.candidates == 1 else f"{seed_id}/r{round_}c{number + 1}"

    def choose_operation(self, seed_id: str, round_: int, number: int = 0) -> tuple[Operation, random.Random]:
        """Drawn by weight among the round's operations, from an RNG seeded per (run seed, seed,
        round) and, for the second candidate on, its number.

        The candidates of one round draw without replacement while the round has operations
        (of weight > 0) that no earlier candidate drew: a ranking learns most from different
        evolutions of one parent. Once every operation is taken they draw among all again; such
        a repeat differs by its request seed, so a sampling model still writes another rewrite.
        The first candidate draws exactly as the plain method does.
        """
        operations = self.round_operations[round_ - 1]
        taken: set[str] = set()
        for earlier in range(number):
            taken.add(self._draw(seed_id, round_, earlier, operations, taken)[0].name)
        return self._draw(seed_id, round_, number, operations, taken)

    def _draw(
        self, seed_id: str, round_: int, number: int, operations: Sequence[Operation], taken: set[str]
    ) -> tuple[Operation, random.Random]:
        key = (self.run.seed, seed_id, round_) if number == 0 else (self.run.seed, seed_id, round_, number)
        rng = random.Random(stable_int(*key))
        fresh = [op for op in operations if op.name not in taken and self.weights.get(op.name, 1.0) > 0]
        pool = fresh if taken and fresh else list(operations)
        weights = [self.weights.get(op.name, 1.0) for op in pool]
        return rng.choices(pool, weights=weights)[0], rng

    def rank(
        self, outcomes: Sequence[tuple[Sample, Elimination | None]]
    ) -> list[tuple[Sample, Elimination | None]]:
        """The round's outcomes with one survivor at most.

        With several candidates, the survivor with the highest ranking score continues (ties:
        the first). Every other survivor is eliminated: ``outranked`` when it has the score
        (lower, or tied with the chosen one), ``unranked`` when it has none (its judge gave no
        readable score). When no survivor has the score there is nothing to rank by: the first
        survivor continues and the others are ``unranked``. A candidate eliminated before it was
        scored keeps its own elimination. Every candidate carries ``checks.candidates``: ``of``
        (candidates in the round), ``rank`` (1 + the number of candidates of the round with a
        strictly higher score; null without the score), ``by`` (the score's name) and
        ``chosen``.

        Candidates with the same text (up to spacing) are one candidate: a judge that scores the
        same instruction twice differently gives no ranking, so the first of them stands for the
        text and the others are eliminated as ``same-text``, with ``duplicate_of`` and no rank,
        and never enter a preference pair.
        """
        if self.domain.candidates is None or self.candidates == 1:
            return list(outcomes)
        name = self.domain.candidates.score

        def value(sample: Sample) -> float | None:
            score = sample.scores.get(name)
            if isinstance(score, bool) or not isinstance(score, (int, float)) or score != score:
                return None
            return float(score)

        first_with_text: dict[str, str] = {}
        duplicate_of: dict[str, str] = {}
        for candidate, _ in outcomes:
            text = " ".join(candidate.instruction.split())
            if text in first_with_text:
                duplicate_of[candidate.id] = first_with_text[text]
            else:
                first_with_text[text] = candidate.id
        values = {candidate.id: value(candidate) for candidate, _ in outcomes if candidate.id not in duplicate_of}
        known = [v for v in values.values() if v is not None]
        survivors = [candidate for candidate, elimination in outcomes
                     if elimination is None and candidate.id not in duplicate_of]
        scored = [candidate for candidate in survivors if values[candidate.id] is not None]
        best = max(scored, key=lambda c: values[c.id]) if scored else (survivors[0] if survivors else None)  # type: ignore[arg-type, return-value]
        best_value = values[best.id] if best is not None else None
        ranked: list[tuple[Sample, Elimination | None]] = []
        for candidate, elimination in outcomes:
            original = duplicate_of.get(candidate.id)
            if original is not None:
                if elimination is None:
                    elimination = Elimination(
                        SAME_TEXT, f"the same text as {original}: candidates with the same text are one candidate")
                info = {"of": len(outcomes), "rank": None, "by": name, "chosen": False, "duplicate_of": original}
                ranked.append((candidate.replace(checks={**candidate.checks, "candidates": info}), elimination))
                continue
            own = values[candidate.id]
            chosen = candidate is best
            if elimination is None and not chosen:
                assert best is not None
                elimination = self._not_chosen(name, own, best.id, best_value)
            rank = None if own is None else 1 + sum(1 for other in known if other > own)
            info = {"of": len(outcomes), "rank": rank, "by": name, "chosen": chosen}
            ranked.append((candidate.replace(checks={**candidate.checks, "candidates": info}), elimination))
        return ranked

    @staticmethod
    def _not_chosen(name: str, own: float | None, best_id: str, best: float | None) -> Elimination:
        if own is None:
            if best is None:
                return Elimination(
                    UNRANKED,
                    f"no surviving candidate of this round has a {name} score to rank by; the first survivor, {best_id}, continues",
                )
            return Elimination(UNRANKED, f"it has no {name} score; {best_id} continues with {name} {best:g}")
        assert best is not None  # a scored survivor exists, so the chosen one is scored
        if own == best:
            return Elimination(OUTRANKED, f"tied with {best_id} on {name} ({own:g}); the first of the tied candidates continues")
        return Elimination(OUTRANKED, f"{best_id} scored higher on {name} ({best:g} > {own:g})")

    # --- bookkeeping -------------------------------------------------------------------------

    def kept(self, lineage: Lineage, sample: Sample) -> None:
        lineage.kept.append(sample)
        self.watch.succeeded()
        self.count(sample.round, "kept")

    def count(self, round_: int, outcome: str) -> None:
        if self.progress is not None:
            self.progress.count(round_, outcome)

    def record_failure(self, lineage: Lineage, failed: _Failed, *, parent_id: str | None, instruction: str | None) -> None:
        error = failed.error
        kind = classify(error)
        endpoint_fault = isinstance(error, LLMFailure)
        failure = Failure(
            sample_id=failed.sample_id,
            seed_id=lineage.seed.id,
            parent_id=parent_id,
            round=failed.round,
            operation=failed.operation,
            stage=failed.stage,
            kind=kind,
            error=describe(error),
            where=None if endpoint_fault else failed.where,  # the endpoint failed, not the code that asked
            traceback=code_traceback(failed.tb) if kind == "error" else None,
            instruction=instruction,
            usage=dict(failed.usage),
            endpoint_fault=endpoint_fault,
        )
        lineage.failed.append(failure)
        self.count(failure.round, "failed")
        if self.watch.failed(failure):
            self.aborting = True


def _score_value(score: object) -> float | None:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or score != score:
        return None
    return float(score)


class stage:
    """Labels a failure with the stage and registration it happened in; lets run-stopping
    errors through."""

    def __init__(self, name: str, registration: Registration, label: Callable[[Registration], str]) -> None:
        self.name = name
        self.registration = registration
        self.label = label

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, tb: TracebackType | None) -> bool:
        if error is None or isinstance(error, (_Failed, asyncio.CancelledError)):
            return False
        if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit
            return False
        if isinstance(error, EvolError) and not isinstance(error, TransientError):
            return False  # the endpoint refused the run, an outage outlasted --max-outage...
        raise _Failed(self.name, self.label(self.registration), error, tb) from error


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
