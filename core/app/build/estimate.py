"""``evol build --dry-run``: what a build will send at most, before it sends anything.

The counts are upper bounds, per stage:

- every selected seed's lineage reaches every round (a failure or an early end only lowers them),
  with the domain's candidates per round;
- answering: one request per seed without its own output and per candidate (or what the domain
  declares), then what each filter and scorer on the way declares per sample it sees;
- completion tokens: every request writes ``--max-tokens``;
- prompt tokens: a prompt holds our template (under ``TEMPLATE_BYTES``) and at most three texts
  (an instruction, its parent, an answer), each no longer than the longest seed record or a
  completion, counted in bytes, which no tokenizer exceeds.

A registration that does not declare what it sends (``requests``) cannot be bounded: it is named
as not counted instead of guessed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ...runtime.seeds import SeedFile, Selection
from ...types.registrations import Domain, Filter, Registration, Scorer

TEMPLATE_BYTES = 4096
TEXTS_PER_PROMPT = 3


@dataclass(frozen=True)
class StageBound:
    stage: str
    requests: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class DryRun:
    seeds: int
    rounds: int
    candidates_per_round: int
    stages: tuple[StageBound, ...]
    not_counted: tuple[str, ...]
    """Registrations whose requests cannot be bounded (they declare none)."""
    prompt_bytes_per_request: int

    @property
    def requests(self) -> int:
        return sum(stage.requests for stage in self.stages)

    @property
    def prompt_tokens(self) -> int:
        return sum(stage.prompt_tokens for stage in self.stages)

    @property
    def completion_tokens(self) -> int:
        return sum(stage.completion_tokens for stage in self.stages)

    def cost(self, price_in: float, price_out: float) -> float:
        return (self.prompt_tokens * price_in + self.completion_tokens * price_out) / 1e6


def estimate(
    *,
    seed_file: SeedFile,
    selection: Selection,
    domain: Domain,
    options: Mapping[str, Any],
    rounds: int,
    max_tokens: int,
    filters: Sequence[Filter],
    scorers: Sequence[Scorer],
    label: Any = lambda registration: f"{registration.kind} {registration.name!r}",
) -> DryRun:
    seeds = without_output = longest = 0
    for seed in seed_file:
        if not selection.keeps(seed.index):
            continue
        seeds += 1
        without_output += seed.output is None
        longest = max(longest, len(seed.instruction.encode()) + sum(len(str(v).encode()) for v in seed.fields.values()))
    per_round = domain.candidates.count(options) if domain.candidates is not None else 1
    candidates = seeds * rounds * per_round
    answered = without_output + candidates
    scored = seeds + candidates

    requests: dict[str, int] = defaultdict(int)
    not_counted: list[str] = []
    requests["evolve"] += candidates

    seen = {**options, "max_tokens": max_tokens}  # a budget may scale with the longest completion

    def add(registration: Registration, budget: Any, samples: int) -> None:
        if budget is None:
            not_counted.append(label(registration))
            return
        for stage, count in budget(seen).items():
            requests[stage] += count * samples

    if domain.respond is None:
        requests["respond"] += answered
    else:
        add(domain, domain.requests, answered)
    for rule in filters:
        add(rule, rule.requests, candidates)
    for scorer in scorers:
        add(scorer, scorer.requests, scored)

    prompt_bytes = TEMPLATE_BYTES + TEXTS_PER_PROMPT * max(longest, max_tokens)
    stages = tuple(
        StageBound(stage, count, count * prompt_bytes, count * max_tokens)
        for stage, count in sorted(requests.items())
        if count
    )
    return DryRun(seeds, rounds, per_round, stages, tuple(not_counted), prompt_bytes)


def describe(dry: DryRun, *, price_in: float | None, price_out: float | None) -> Iterable[str]:
    """The dry run as lines for the terminal."""
    yield (
        f"evol build --dry-run: {dry.seeds} seeds, {dry.rounds} rounds"
        + (f", {dry.candidates_per_round} candidates per round" if dry.candidates_per_round > 1 else "")
        + "; nothing was sent. At most:"
    )
    width = max([len(stage.stage) for stage in dry.stages] + [5])
    yield f"  {'stage'.ljust(width)}  {'requests':>10}  {'prompt tokens':>15}  {'completion tokens':>17}"
    for stage in dry.stages:
        yield (f"  {stage.stage.ljust(width)}  {stage.requests:>10,}  {stage.prompt_tokens:>15,}  "
               f"{stage.completion_tokens:>17,}")
    yield f"  {'total'.ljust(width)}  {dry.requests:>10,}  {dry.prompt_tokens:>15,}  {dry.completion_tokens:>17,}"
    if price_in is not None and price_out is not None:
        yield f"  cost at most: {dry.cost(price_in, price_out):,.2f} (at {price_in:g} in / {price_out:g} out per million tokens)"
    yield (f"  (a prompt is counted as {dry.prompt_bytes_per_request:,} tokens: our template and three texts as long "
           "as the longest seed or a completion, in bytes; every completion as --max-tokens)")
    if dry.not_counted:
        yield "  not counted, since they declare no bound on what they send: " + "; ".join(dry.not_counted)
