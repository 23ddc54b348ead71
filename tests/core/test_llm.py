"""The LLM runtime against the loopback server: cache, retries, adaptive limit, failures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from evolinstruct import Decoding, EndpointError, LLMFailure
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.endpoints import AdaptiveLimit
from evolinstruct.runtime.llm import LLM, RequestRejected
from evolinstruct.testing import Rule

MESSAGES = [{"role": "user", "content": "Name a prime number."}]


def make_llm(tmp_path: Path, server, **settings) -> LLM:
    return LLM(model="m", base_url=server.base_url, api_key="sk-x", cache=Cache(tmp_path / "c.sqlite"), **settings)


def test_a_cached_request_is_not_sent_again(tmp_path, loopback_llm) -> None:
    async def main() -> tuple:
        llm = make_llm(tmp_path, loopback_llm)
        first = await llm.chat(MESSAGES, Decoding(), seed=1)
        second = await llm.chat(MESSAGES, Decoding(), seed=1)
        other = await llm.chat(MESSAGES, Decoding(), seed=2)
        await llm.aclose()
        return first, second, other

    first, second, other = asyncio.run(main())
    assert (first.cached, second.cached, other.cached) == (False, True, False)
    assert first.text == second.text and first.usage == second.usage
    assert loopback_llm.request_count == 2
    assert loopback_llm.requests[0].body["seed"] == 1 and loopback_llm.requests[0].body["top_p"] == 0.9


def test_malformed_bodies_and_server_errors_are_retried(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(calls=(1,), malformed=True), Rule(calls=(2,), status=502), Rule(reply="7")])

    async def main():
        llm = make_llm(tmp_path, server)
        result = await llm.chat(MESSAGES, Decoding(), seed=1)
        await llm.aclose()
        return result, llm.stats

    result, stats = asyncio.run(main())
    assert result.text == "7" and result.usage.requests == 1
    assert stats.retries == 2 and stats.sent == 3


def test_bounded_attempts_then_llm_failure(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(status=500)])

    async def main():
        llm = make_llm(tmp_path, server, max_attempts=3)
        try:
            await llm.chat(MESSAGES, Decoding(), seed=1)
        finally:
            await llm.aclose()

    with pytest.raises(LLMFailure) as caught:
        asyncio.run(main())
    assert caught.value.attempts == 3 and caught.value.status == 500
    assert server.request_count == 3


def test_a_429_halves_the_limit_and_retry_after_is_honoured(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(calls=(1,), status=429, retry_after=0.6)])

    async def main():
        llm = make_llm(tmp_path, server, concurrency=8)
        started = time.monotonic()
        await llm.chat(MESSAGES, Decoding(), seed=1)
        elapsed = time.monotonic() - started
        limit = llm.endpoints.all[0].limit.limit
        await llm.aclose()
        return elapsed, limit

    elapsed, limit = asyncio.run(main())
    assert elapsed >= 0.6
    assert limit == 4


def test_a_wrong_key_stops_the_run(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(status=401)])

    async def main():
        llm = make_llm(tmp_path, server)
        try:
            await llm.chat(MESSAGES, Decoding(), seed=1)
        finally:
            await llm.aclose()

    with pytest.raises(EndpointError, match="refused"):
        asyncio.run(main())
    assert server.request_count == 1


def test_adaptive_limit_grows_back_and_never_exceeds_its_maximum() -> None:
    async def main() -> list[int]:
        limit = AdaptiveLimit(4)
        limit.throttled()
        seen = [limit.limit]
        for _ in range(20):
            await limit.acquire()
            limit.release()
            limit.succeeded()
            seen.append(limit.limit)
        return seen

    seen = asyncio.run(main())
    assert seen[0] == 2 and max(seen) == 4 and seen[-1] == 4
    assert seen == sorted(seen)


def test_in_flight_never_exceeds_the_limit(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(latency=0.05)

    async def main() -> int:
        llm = make_llm(tmp_path, server, concurrency=5)
        peak = 0

        async def watch() -> None:
            nonlocal peak
            while True:
                peak = max(peak, llm.endpoints.in_flight)
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(llm.chat(MESSAGES, Decoding(), seed=i) for i in range(30)))
        watcher.cancel()
        await llm.aclose()
        return peak

    assert asyncio.run(main()) == 5


def run_llm(tmp_path: Path, server, coroutine_of, **settings):
    async def main():
        llm = make_llm(tmp_path, server, **settings)
        try:
            return await coroutine_of(llm)
        finally:
            await llm.aclose()

    return asyncio.run(main())


def test_one_rejected_request_fails_alone_and_three_in_a_row_stop_the_run(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="too long", status=400)])
    long_one = [{"role": "user", "content": "this prompt is too long"}]

    async def one_rejected(llm: LLM):
        with pytest.raises(RequestRejected, match="invalid \\(400\\)"):
            await llm.chat(long_one, Decoding(), seed=1)
        return await llm.chat(MESSAGES, Decoding(), seed=1)  # a success resets the count

    assert run_llm(tmp_path, server, one_rejected).text
    assert server.request_count == 2  # a rejection is not retried

    async def always_rejected(llm: LLM):
        for seed in range(3):
            try:
                await llm.chat(long_one, Decoding(), seed=seed)
            except RequestRejected:
                continue

    with pytest.raises(EndpointError, match="rejects the run's requests as invalid .*scripted 400"):
        run_llm(tmp_path / "b", server, always_rejected)


def test_an_endpoint_that_rejects_response_format_is_asked_again_without_it(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(structured_output=False)
    schema = {"type": "json_schema", "json_schema": {"name": "score", "schema": {"type": "object", "properties": {"score": {"type": "integer"}}}}}

    async def ask(llm: LLM):
        first = await llm.chat(MESSAGES, Decoding(), seed=1, response_format=schema)
        second = await llm.chat(MESSAGES, Decoding(), seed=2, response_format=schema)
        return first, second, llm.structured_output

    first, second, structured = run_llm(tmp_path, server, ask)
    assert (first.structured, second.structured, structured) == (False, False, False)
    statuses = [(r.status, "response_format" in r.body) for r in server.requests]
    assert statuses == [(400, True), (200, False), (200, False)]  # the second never asks for it


def test_a_resumed_run_reads_the_answer_its_fallback_stored_instead_of_being_refused_again(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(structured_output=False)
    schema = {"type": "json_schema", "json_schema": {"name": "score", "schema": {"type": "object", "properties": {"score": {"type": "integer"}}}}}
    ask = lambda llm: llm.chat(MESSAGES, Decoding(), seed=1, response_format=schema)  # noqa: E731
    first = run_llm(tmp_path, server, ask)
    assert server.request_count == 2  # refused with the schema, answered without it
    again = run_llm(tmp_path, server, ask)  # a new run on the same cache asks with the schema again
    assert server.request_count == 2
    assert again.cached and not again.structured and again.text == first.text


def test_an_endpoint_with_structured_output_answers_in_the_schema(tmp_path, loopback_llm) -> None:
    import json

    schema = {"type": "json_schema", "json_schema": {"name": "score", "schema": {
        "type": "object", "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 10}}, "required": ["score"]}}}
    completion = run_llm(tmp_path, loopback_llm, lambda llm: llm.chat(MESSAGES, Decoding(), seed=1, response_format=schema))
    assert completion.structured
    assert 1 <= json.loads(completion.text)["score"] <= 10


def test_an_outage_pauses_requests_instead_of_failing_them(tmp_path, loopback_llm_factory) -> None:
    """The server goes away for a while: requests wait and probe, spend no attempts, and all
    succeed once it is back."""
    server = loopback_llm_factory()
    port = server.port

    async def outage(llm: LLM):
        await llm.chat(MESSAGES, Decoding(), seed=0)
        server.stop()
        pending = [asyncio.ensure_future(llm.chat(MESSAGES, Decoding(), seed=s)) for s in range(1, 6)]
        await asyncio.sleep(2.5)
        assert not any(task.done() for task in pending)
        assert not llm.endpoints.all[0].up
        restarted = type(server)(port=port).start()
        try:
            results = await asyncio.gather(*pending)
        finally:
            restarted.stop()
        return results, llm.endpoints.all[0].stats

    results, stats = run_llm(tmp_path, server, outage, max_attempts=2)
    assert len(results) == 5 and all(result.text for result in results)
    assert stats.outages == 1


def test_an_outage_longer_than_max_outage_stops_with_endpoint_outage(tmp_path, loopback_llm_factory) -> None:
    from evolinstruct.types.errors import EndpointOutage

    server = loopback_llm_factory()
    server.stop()
    started = time.monotonic()
    with pytest.raises(EndpointOutage, match="no endpoint answered for 2 s"):
        run_llm(tmp_path, server, lambda llm: llm.chat(MESSAGES, Decoding(), seed=1), max_outage=2)
    assert time.monotonic() - started < 10


def test_preflight_names_an_endpoint_that_cannot_be_reached(tmp_path) -> None:
    async def main():
        llm = LLM(model="m", base_url="http://127.0.0.1:9/v1", api_key="k", cache=Cache(tmp_path / "c.sqlite"))
        try:
            await llm.preflight()
        finally:
            await llm.aclose()

    started = time.monotonic()
    with pytest.raises(EndpointError, match=r"cannot connect to http://127.0.0.1:9/v1: .*"):
        asyncio.run(main())
    assert time.monotonic() - started < 12


def test_requests_are_spread_over_several_endpoints_and_survive_one_going_down(tmp_path, loopback_llm_factory) -> None:
    servers = [loopback_llm_factory(latency=0.02) for _ in range(3)]

    async def spread(llm: LLM):
        first = await asyncio.gather(*(llm.chat(MESSAGES, Decoding(), seed=s) for s in range(30)))
        servers[1].stop()
        second = await asyncio.gather(*(llm.chat(MESSAGES, Decoding(), seed=s) for s in range(30, 60)))
        return first + second

    async def main():
        llm = LLM(model="m", base_url=[s.base_url for s in servers], api_key="k", cache=Cache(tmp_path / "c.sqlite"),
                  concurrency=4, max_attempts=2)
        try:
            return await spread(llm)
        finally:
            await llm.aclose()

    results = asyncio.run(main())
    assert len(results) == 60 and all(r.text for r in results)
    counts = [s.request_count for s in servers]
    assert all(count >= 5 for count in counts), counts
    assert counts[0] + counts[2] >= 50
