"""The testing kit's real SampleContext: real run, LLM over HTTP to the loopback server, real cache."""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest

from evolinstruct import Domain, RunContext, Sample, SampleContext, stable_int
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.llm import LLM
from evolinstruct.types.errors import EndpointOutage
from evolinstruct import Decoding
from evolinstruct.testing import UNIT_TEST_DOMAIN, LoopbackLLM, Rule, SampleContexts


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def ask(ctx: SampleContext, text: str, *, stage: str = "ask", variant: int = 0, **decoding: Any) -> str:
    return asyncio.run(ctx.chat(user(text), stage=stage, variant=variant, **decoding))


def test_the_context_is_made_of_the_real_parts(sample_context_factory) -> None:
    ctx = sample_context_factory()
    assert type(ctx) is SampleContext and type(ctx.run) is RunContext
    assert type(ctx.run.llm) is LLM and type(ctx.run.cache) is Cache
    assert ctx.run.llm.cache is ctx.run.cache
    assert ctx.run.domain is UNIT_TEST_DOMAIN and ctx.run.decoding == Decoding()
    assert ctx.run.cache.path.parent == ctx.run.out_dir and ctx.run.out_dir.is_dir()


def test_a_chat_goes_over_http_to_the_scripted_server_and_is_cached(sample_context_factory, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="capital of France", reply="Paris")])
    ctx = sample_context_factory(server=server, seed=7, sample_id="q1")
    assert ask(ctx, "What is the capital of France?", stage="respond", temperature=0.0) == "Paris"
    (request,) = server.requests
    assert request.rule == 0 and request.last_user_message == "What is the capital of France?"
    # The request is the one a build sends: seed from (run seed, sample, stage, variant), the
    # run's decoding with the call's overrides.
    assert request.body["seed"] == stable_int(7, "q1", "respond", 0)
    assert (request.body["temperature"], request.body["top_p"], request.body["max_tokens"]) == (0.0, 0.9, 2048)
    # Asked again (in another event loop), it is answered from the cache: nothing is sent.
    assert ask(ctx, "What is the capital of France?", stage="respond", temperature=0.0) == "Paris"
    assert server.request_count == 1
    assert ctx.run.cache.count("chat") == 1
    assert (ctx.run.llm.stats.sent, ctx.run.llm.stats.cached) == (1, 1)


def test_unscripted_requests_get_the_offline_model(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains="capital of France", reply="Paris")])
    assert ask(ctx, "Tell me about Spain.").startswith("[offline placeholder answer]")


def test_usage_is_tallied_per_stage(sample_context_factory, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="judge", reply="Correct")])
    ctx = sample_context_factory(server=server)

    async def work() -> None:
        await asyncio.gather(*(ctx.chat(user("Solve: two plus two."), stage="respond", variant=i) for i in range(3)))
        await ctx.chat(user("You judge one step."), stage="step-judge")

    asyncio.run(work())
    assert set(ctx.usage) == {"respond", "step-judge"}
    assert ctx.usage["respond"].requests == 3 and ctx.usage["step-judge"].requests == 1
    assert ctx.usage["respond"].prompt_tokens > 0 and ctx.usage["respond"].completion_tokens > 0
    # Three variants are three distinct requests.
    assert len({r.body["seed"] for r in server.requests}) == 4


def test_a_tuple_of_replies_is_handed_out_in_the_order_the_requests_are_made(sample_context_factory) -> None:
    ctx = sample_context_factory([Rule(contains="Solve", reply=("one", "two", "three"))])

    async def work() -> list[str]:
        return await asyncio.gather(*(ctx.chat(user("Solve it."), stage="respond", variant=i) for i in range(5)))

    assert asyncio.run(work()) == ["one", "two", "three", "one", "two"]


def test_memo_stores_and_replays(sample_context_factory) -> None:
    ctx = sample_context_factory()
    computed: list[int] = []

    async def compute() -> dict[str, Any]:
        computed.append(1)
        return {"verdict": "PASS", "tests": [1, 2]}

    first = asyncio.run(ctx.memo("sandbox", {"code": "x = 1"}, compute))
    again = asyncio.run(ctx.memo("sandbox", {"code": "x = 1"}, compute))
    assert first == again == {"verdict": "PASS", "tests": [1, 2]}
    assert computed == [1]
    assert ctx.run.cache.count("memo:sandbox") == 1
    # A new run on the same cache (a resumed build) replays it without computing.
    resumed = sample_context_factory(cache=ctx.run.cache)
    assert asyncio.run(resumed.memo("sandbox", {"code": "x = 1"}, compute)) == first
    assert computed == [1]


def test_a_run_on_a_shared_cache_sends_nothing_it_already_has(sample_context_factory, loopback_llm) -> None:
    first = sample_context_factory(server=loopback_llm)
    answer = ask(first, "Name a prime number.")
    resumed = sample_context_factory(server=loopback_llm, cache=first.run.cache)
    assert ask(resumed, "Name a prime number.") == answer
    assert loopback_llm.request_count == 1
    assert resumed.run.out_dir == first.run.out_dir


def test_options_resources_parent_and_domain_are_the_runs(sample_context_factory) -> None:
    parent = Sample(id="p", seed_id="p", parent_id=None, round=0, operation="seed", domain="math", instruction="2 + 2?")
    pool = object()
    resources = {"sandbox": pool}
    domain = Domain(name="math", description="", operations=())
    ctx = sample_context_factory(options={"samples": 3}, resources=resources, parent=parent, domain=domain,
                                 sample_id="p/r1", seed=5)
    assert ctx.options == {"samples": 3}
    assert ctx.resources is resources and ctx.resources["sandbox"] is pool
    assert ctx.parent is parent and ctx.sample_id == "p/r1"
    assert ctx.run.domain is domain and ctx.run.seed == 5
    fresh = sample_context_factory()
    assert (fresh.options, fresh.resources, fresh.parent, fresh.sample_id) == ({}, {}, None, "s")


def test_every_asyncio_run_closes_its_connections(sample_context_factory) -> None:
    ctx = sample_context_factory()
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for variant in range(3):
            ask(ctx, "Name a prime number.", variant=variant)
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_rules_and_a_server_are_not_given_together(sample_context_factory, loopback_llm) -> None:
    with pytest.raises(TypeError, match="not both"):
        sample_context_factory([Rule(reply="x")], server=loopback_llm)


def test_closing_stops_the_servers_it_started_and_leaves_a_given_cache_open(tmp_path) -> None:
    cache = Cache(tmp_path / "given.sqlite")
    with SampleContexts(tmp_path) as contexts:
        ctx = contexts.make([Rule(reply="up")], cache=cache, max_attempts=1, max_outage=0.5)
        assert ask(ctx, "Are you there?") == "up"
    assert ask(ctx, "Are you there?") == "up"  # from the cache, still open
    with pytest.raises(EndpointOutage):
        ask(ctx, "Are you still there?")  # the server is gone: after max_outage, the run would stop
    cache.close()


def test_without_a_folder_the_caches_live_in_a_temporary_one() -> None:
    with SampleContexts() as contexts:
        folder = contexts.folder
        ctx = contexts.make()
        assert ctx.run.cache.path.is_relative_to(folder)
        asyncio.run(ctx.memo("n", 1, lambda: asyncio.sleep(0, result=2)))
    assert not folder.exists()


def test_a_given_server_is_left_running(tmp_path) -> None:
    with LoopbackLLM(rules=[Rule(reply="still here")]) as server:
        with SampleContexts(tmp_path) as contexts:
            ask(contexts.make(server=server), "first")
        with SampleContexts(tmp_path / "again") as contexts:
            assert ask(contexts.make(server=server), "second") == "still here"
