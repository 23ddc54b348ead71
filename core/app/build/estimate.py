"""``evol build --dry-run``: what a build will send at most, before it sends anything.

The counts are upper bounds, per stage:

- every selected seed's lineage reaches every round (a failure or an early end only lowers them),
  with the domain's candidates per round;
- answering: one request per seed without its own output and per candidate (or what the domain
  declares), then what each filter and scorer on the way declares per sample it sees;
- with ``--evolve-answers K``, every scored sample (seeds included) is rewritten K times, and each
  version goes through the response filters, the scorers (but those that read only the
  instruction) and the verdict filters as an answer does: ``--quality`` sends 1 + K judge requests
  per sample, not 1;
- completion tokens: every request writes ``--max-tokens``;
- prompt tokens, by what each stage really sends: a rewrite request is the operation's own
  template (measured from the operation with an empty instruction) and one instruction; an answer
  request (the core's) is the instruction alone; the equality judge its template and two
  instructions; a rewrite of an answer and the quality judge their template, an instruction and
  an answer. An instruction is no longer than the longest seed record (in bytes, which no
  tokenizer exceeds) or a completion (``--max-tokens``); an answer no longer than the longest seed
  output or a completion. A stage whose prompt we do not write (a plugin's judge) is counted as
  ``TEMPLATE_BYTES`` and three such texts.

Beside the bounds, a typical estimate: the same requests with every instruction as long as the
seeds' mean, at ``BYTES_PER_TOKEN`` (English text in the usual tokenizers), not a bound.

A registration that does not declare what it sends (``requests``) cannot be bounded: it is named
as not counted instead of guessed.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from ...builtins.quality import STAGE as QUALITY_STAGE, judge_messages as quality_messages
from ...builtins.rules import EQUALITY_PROMPT
from ...runtime.engine import AnswerEvolution
from ...runtime.seeds import SeedFile, Selection
from ...runtime.pricing import Price
from ...types.records import Sample
from ...types.registrations import Domain, Filter, Registration, Scorer

TEMPLATE_BYTES = 4096
TEXTS_PER_PROMPT = 3
BYTES_PER_TOKEN = 4
TEMPLATE_DRAWS = 32
"""Operations draw inside their prompt (complicate-input's data format): the template is measured
over this many draws and the longest is kept, with ``TEMPLATE_MARGIN`` bytes beside it."""
TEMPLATE_MARGIN = 256


@dataclass(frozen=True)
class StageBound:
    stage: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    typical_prompt_tokens: int = 0
    """The same requests with instructions as long as the seeds' mean: an estimate, not a bound."""


@dataclass(frozen=True)
class PromptShape:
    """What one request of a stage holds: a template, this many instructions (or texts of unknown
    kind) and this many answers."""

    template_bytes: int
    texts: int
    answers: int = 0

    def bound(self, longest_text: int, longest_answer: int = 0) -> int:
        return self.template_bytes + self.texts * longest_text + self.answers * longest_answer

    def typical(self, mean_text_bytes: float) -> int:
        return round((self.template_bytes + (self.texts + self.answers) * mean_text_bytes) / BYTES_PER_TOKEN)


UNKNOWN_PROMPT = PromptShape(TEMPLATE_BYTES, TEXTS_PER_PROMPT)


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

    @property
    def typical_prompt_tokens(self) -> int:
        return sum(stage.typical_prompt_tokens for stage in self.stages)

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
    answers: AnswerEvolution | None = None,
) -> DryRun:
    seeds = without_output = longest = total_bytes = longest_output = 0
    widest: Any = None  # the seed with the most field bytes: the evolve templates are measured with it
    for seed in seed_file:
        if not selection.keeps(seed.index):
            continue
        seeds += 1
        without_output += seed.output is None
        longest_output = max(longest_output, len((seed.output or "").encode()))
        size = len(seed.instruction.encode()) + sum(len(str(v).encode()) for v in seed.fields.values())
        longest = max(longest, size)
        total_bytes += size
        if widest is None or size - len(seed.instruction.encode()) > widest[0]:
            widest = (size - len(seed.instruction.encode()), seed)
    mean_bytes = total_bytes / seeds if seeds else 0.0
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
    if answers is not None and answers.count > 0:
        # The engine's evolve_answers: K rewrites of every scored sample's answer, and each
        # version checked as an answer is (the instruction-only scorers are not asked again).
        versions = scored * answers.count
        requests[answers.stage] += versions
        for rule in filters:
            if rule.stage != "instruction":
                add(rule, rule.requests, versions)
        for scorer in scorers:
            if scorer.name not in answers.instruction_only:
                add(scorer, scorer.requests, versions)

    text = max(longest, max_tokens)
    answer_text = max(longest_output, max_tokens)
    shapes: dict[str, PromptShape] = {
        "evolve": PromptShape(_evolve_template_bytes(domain, widest[1] if widest else None), 1),
        "equality": PromptShape(len(EQUALITY_PROMPT.encode()), 2),
        QUALITY_STAGE: PromptShape(_message_bytes(quality_messages("", "")), 1, answers=1),
    }
    if answers is not None:
        template = max(_message_bytes(answers.messages("", "", direction)) for direction in answers.directions)
        shapes[answers.stage] = PromptShape(template, 1, answers=1)
    if domain.respond is None:
        shapes["respond"] = PromptShape(0, 1)  # the instruction is the whole request
    stages = tuple(
        StageBound(stage, count, count * shapes.get(stage, UNKNOWN_PROMPT).bound(text, answer_text), count * max_tokens,
                   count * shapes.get(stage, UNKNOWN_PROMPT).typical(mean_bytes))
        for stage, count in sorted(requests.items())
        if count
    )
    return DryRun(seeds, rounds, per_round, stages, tuple(not_counted), UNKNOWN_PROMPT.bound(text))


def _message_bytes(messages: Iterable[Mapping[str, Any]]) -> int:
    return sum(len(str(message.get("content", "")).encode()) for message in messages)


def _evolve_template_bytes(domain: Domain, seed: Any) -> int:
    """The longest rewrite prompt of the domain's operations around an empty instruction, over
    ``TEMPLATE_DRAWS`` draws each, with a margin; ``TEMPLATE_BYTES`` when an operation cannot be
    asked that way (it needs what only a real lineage holds)."""
    probe = Sample(id="probe", seed_id="probe", parent_id=None, round=0, operation="seed", domain=domain.name,
                   instruction="", fields=dict(seed.fields) if seed is not None else {})
    most = 0
    for operation in domain.operations:
        for draw in range(TEMPLATE_DRAWS):
            try:
                messages = operation.prompt(probe, random.Random(draw))
                size = sum(len(str(message.get("content", "")).encode()) for message in messages)
            except Exception:  # noqa: BLE001 - a plugin's prompt builder may need more than a probe
                return TEMPLATE_BYTES
            most = max(most, size)
    return most + TEMPLATE_MARGIN


def describe(dry: DryRun, *, price_in: float | None, price_out: float | None,
             stage_prices: Mapping[str, tuple[str, Price | None, tuple[str, ...]]] | None = None) -> Iterable[str]:
    """The dry run as lines for the terminal; ``stage_prices``: each stage's model, its price
    (None: unknown) and the models without a price, as the build would ask and bill them."""
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
    elif stage_prices:
        costs = {}
        unpriced_models: set[str] = set()  # by name: a stage of several models may lack one's price only
        for stage in dry.stages:
            model, price, unpriced_here = stage_prices.get(stage.stage, ("unknown", None, ("unknown",)))
            unpriced_models.update(unpriced_here)
            costs[stage.stage] = (model, None if price is None else price.cost(stage.prompt_tokens, stage.completion_tokens))
        for name, (model, cost) in costs.items():
            yield f"  cost at most, {name} ({model}): " + (f"${cost:,.2f}" if cost is not None else "unknown (no price)")
        unpriced = sorted(unpriced_models)
        yield ("  cost at most: " + (f"${sum(c for _, c in costs.values() if c is not None):,.2f}" if not unpriced
                                     else f"unknown: no price for {', '.join(unpriced)} (--price MODEL=IN/OUT)"))
    yield ("  (a prompt is counted as what its stage sends: the template and its instructions, each as long as the "
           "longest seed in bytes or a completion; a plugin's judge as our largest template and three such texts; "
           "every completion as --max-tokens)")
    yield (f"  typical prompt tokens: about {dry.typical_prompt_tokens:,} (instructions as long as the seeds' mean, "
           f"{BYTES_PER_TOKEN} bytes a token: an estimate, not a bound)")
    if dry.not_counted:
        yield "  not counted, since they declare no bound on what they send: " + "; ".join(dry.not_counted)
