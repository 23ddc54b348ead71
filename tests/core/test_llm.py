"""The LLM runtime against the loopback server: cache, retries, adaptive limit, failures."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from evolinstruct import LLMFailure
from evolinstruct.cache import Cache
from evolinstruct.llm import LLM, AdaptiveLimit, Decoding, EndpointRefused
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
        limit = llm.limit.limit
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

    with pytest.raises(EndpointRefused, match="refused"):
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
                peak = max(peak, llm.limit.in_flight)
                await asyncio.sleep(0.005)

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(llm.chat(MESSAGES, Decoding(), seed=i) for i in range(30)))
        watcher.cancel()
        await llm.aclose()
        return peak

    assert asyncio.run(main()) == 5
