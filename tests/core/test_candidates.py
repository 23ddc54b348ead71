"""Several candidates per round (``Domain.candidates``), through the real engine against the
loopback server: which operation each candidate draws, how the round is ranked, and how
candidates without the ranking score are recorded."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest

from evolinstruct import Candidates, Decoding, Domain, Filter, Operation, RunContext, Sample, SampleContext, Score, Scorer, Seed
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.engine import Engine, Lineage, Progress
from evolinstruct.runtime.llm import LLM
from evolinstruct.testing import Rule

# Each operation's prompt names it, and the loopback server rewrites by that name: the rewrite's
# first word says which operation wrote it, and SCORES says what the ranking score is.
REWRITES = {"alpha": "Alpha: name a colour and a fruit.", "beta": "Beta: name a colour and a city.",
            "gamma": "Gamma: name a colour and a river.", "delta": "Delta: name a colour and a bird."}
RULES = [Rule(contains=f"operation {name}:", reply=text) for name, text in REWRITES.items()]


def operation(name: str) -> Operation:
    def prompt(sample: Sample, rng: random.Random) -> Sequence[Mapping[str, str]]:
        return ({"role": "user", "content": f"operation {name}: {sample.instruction}"},)

    return Operation(name, prompt)


def domain(candidates: int | None, operations: Sequence[str] = tuple(REWRITES)) -> Domain:
    return Domain(
        name="ranked",
        description="a test domain that ranks its candidates",
        operations=tuple(operation(name) for name in operations),
        candidates=None if candidates is None else Candidates(count=lambda options: options["k"], score="quality"),
    )


def scorer(scores: Mapping[str, float | None]) -> Scorer:
    async def quality(ctx: SampleContext, sample: Sample) -> Score:
        first = sample.instruction.split(":")[0].lower()
        return Score(scores={"quality": scores.get(first)})

    return Scorer("quality", quality)


def grow(
    tmp_path: Path, server: Any, ranked: Domain, *, k: int, scores: Mapping[str, float | None],
    filters: Sequence[Filter] = (), rounds: int = 1,
) -> Lineage:
    cache = Cache(tmp_path / f"cache-{k}-{len(list(tmp_path.iterdir()))}.sqlite")
    llm = LLM(model="m", base_url=server.base_url, api_key="sk-x", cache=cache)
    run = RunContext(domain=ranked, options={"k": k}, seed=0, out_dir=None, llm=llm, cache=cache, decoding=Decoding())
    written: list[Lineage] = []
    engine = Engine(run, ranked, rounds=rounds, schedule=None, filters=filters, scorers=[scorer(scores)],
                    write=written.append, max_active=4)

    async def main() -> None:
        try:
            await engine.build([Seed(id="s", index=0, instruction="Name a colour.", output="Red.")], Progress(1, rounds))
        finally:
            await llm.aclose()

    asyncio.run(main())
    cache.close()
    (lineage,) = written
    return lineage


def outcome(lineage: Lineage) -> dict[str, dict[str, Any]]:
    """Per candidate of the rounds: operation, elimination filter (None: kept), candidates check."""
    rows = {sample.id: (sample, None) for sample in lineage.kept if sample.round > 0}
    rows.update({sample.id: (sample, elimination) for sample, elimination in lineage.eliminated})
    return {
        sample_id: {"operation": sample.operation, "filter": elimination.filter if elimination else None,
                    "reason": elimination.reason if elimination else None,
                    "candidates": sample.checks.get("candidates"), "quality": sample.scores.get("quality")}
        for sample_id, (sample, elimination) in rows.items()
    }


def test_candidates_draw_different_operations_and_the_best_continues(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    lineage = grow(tmp_path, server, domain(4), k=4, scores={"alpha": 0.9, "beta": 0.5, "gamma": 0.5, "delta": None})
    found = outcome(lineage)
    assert sorted(found) == ["s/r1c1", "s/r1c2", "s/r1c3", "s/r1c4"]
    # Four operations, four candidates: each draws another one.
    assert sorted(row["operation"] for row in found.values()) == ["alpha", "beta", "delta", "gamma"]
    by_operation = {row["operation"]: row for row in found.values()}
    assert by_operation["alpha"]["filter"] is None
    assert by_operation["alpha"]["candidates"] == {"of": 4, "rank": 1, "by": "quality", "chosen": True}
    assert [s.id for s in lineage.kept] == ["s", next(i for i, r in found.items() if r["operation"] == "alpha")]
    # Tied scores share their rank; each lost to the chosen candidate, which the reason names.
    for name in ("beta", "gamma"):
        row = by_operation[name]
        assert row["filter"] == "outranked"
        assert row["candidates"] == {"of": 4, "rank": 2, "by": "quality", "chosen": False}
        assert "scored higher on quality (0.9 > 0.5)" in row["reason"]
    # No score is no rank, and not "scored lower" either.
    delta = by_operation["delta"]
    assert delta["filter"] == "unranked" and delta["quality"] is None
    assert delta["candidates"] == {"of": 4, "rank": None, "by": "quality", "chosen": False}
    assert "has no quality score" in delta["reason"]


def test_a_candidate_eliminated_before_scoring_keeps_its_elimination_and_ties_are_said(tmp_path, loopback_llm_factory) -> None:
    no_alpha = Filter("no-alpha", "instruction", lambda ctx, sample: "alpha" if sample.instruction.startswith("Alpha") else None)
    server = loopback_llm_factory(RULES)
    lineage = grow(tmp_path, server, domain(4, ("alpha", "beta", "gamma")), k=3,
                   scores={"alpha": 0.9, "beta": 0.5, "gamma": 0.5}, filters=[no_alpha])
    by_operation = {row["operation"]: row for row in outcome(lineage).values()}
    alpha = by_operation["alpha"]
    assert alpha["filter"] == "no-alpha" and alpha["quality"] is None  # never scored
    assert alpha["candidates"] == {"of": 3, "rank": None, "by": "quality", "chosen": False}
    chosen = [row for row in by_operation.values() if row["filter"] is None]
    tied = [row for row in by_operation.values() if row["filter"] == "outranked"]
    assert len(chosen) == 1 and len(tied) == 1
    assert chosen[0]["candidates"]["rank"] == tied[0]["candidates"]["rank"] == 1
    assert "tied with" in tied[0]["reason"] and "the first of the tied candidates continues" in tied[0]["reason"]


def test_without_any_score_the_first_survivor_continues_unranked(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    lineage = grow(tmp_path, server, domain(3, ("alpha", "beta", "gamma")), k=3, scores={})
    found = outcome(lineage)
    assert found["s/r1c1"]["filter"] is None and found["s/r1c1"]["candidates"]["chosen"] is True
    for sample_id in ("s/r1c2", "s/r1c3"):
        assert found[sample_id]["filter"] == "unranked"
        assert "no surviving candidate of this round has a quality score" in found[sample_id]["reason"]
        assert found[sample_id]["candidates"]["rank"] is None


def test_more_candidates_than_operations_repeat_them_with_other_request_seeds(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    lineage = grow(tmp_path, server, domain(5, ("alpha", "beta")), k=5, scores={"alpha": 0.9, "beta": 0.5})
    found = outcome(lineage)
    assert sorted(found) == [f"s/r1c{n}" for n in range(1, 6)]
    assert {found["s/r1c1"]["operation"], found["s/r1c2"]["operation"]} == {"alpha", "beta"}
    evolve = [r for r in server.requests if r.last_user_message.startswith("operation")]
    assert len(evolve) == 5 and len({r.body["seed"] for r in evolve}) == 5


def test_the_first_candidate_draws_as_the_plain_method(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(RULES)
    plain = grow(tmp_path, server, domain(None), k=1, scores={"alpha": 0.1}, rounds=3)
    ranked = grow(tmp_path, server, domain(3), k=3, scores={"alpha": 1.0, "beta": 1.0, "gamma": 1.0, "delta": 1.0}, rounds=3)
    first = {s.round: s.operation for s in (*ranked.kept, *(e[0] for e in ranked.eliminated)) if s.id.endswith("c1")}
    assert first == {s.round: s.operation for s in plain.kept if s.round > 0}
    assert [s.id for s in plain.kept] == ["s", "s/r1", "s/r2", "s/r3"]


def test_a_domain_asking_for_no_candidates_is_refused(tmp_path, loopback_llm_factory) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        grow(tmp_path, loopback_llm_factory(RULES), domain(0), k=0, scores={})
