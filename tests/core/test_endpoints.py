"""Several endpoints: which answers say an endpoint is back, and a replica that is down when the
run starts (real HTTP to loopback servers; port 9 on loopback refuses every connection)."""

from __future__ import annotations

import asyncio

import pytest

from evolinstruct import Decoding, EndpointError
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.endpoints import Endpoint
from evolinstruct.runtime.llm import LLM

MESSAGES = [{"role": "user", "content": "Name a river."}]
REFUSED = "http://127.0.0.1:9/v1"


def test_only_the_probe_s_answer_brings_an_endpoint_back() -> None:
    async def main() -> list[bool]:
        endpoint = Endpoint("http://127.0.0.1:9/v1", api_key=None, concurrency=4, timeout=5)
        try:
            assert endpoint.faulted(1, unreachable=True, probe=False) and not endpoint.up
            # A request sent before the outage is answered late (a stopping server answers what
            # it holds): counted, but the endpoint stays out.
            late = [endpoint.succeeded(0.2, probe=False), endpoint.answered_badly(probe=False)]
            still_down = not endpoint.up
            back = endpoint.succeeded(0.1, probe=True)
            return [*late, still_down, back, endpoint.up, endpoint.stats.requests == 4]
        finally:
            await endpoint.aclose()

    assert asyncio.run(main()) == [False, False, True, True, True, True]


def test_a_replica_down_at_the_start_is_taken_out_and_the_run_goes_on(tmp_path, loopback_llm) -> None:
    async def main():
        llm = LLM(model="m", base_url=[REFUSED, loopback_llm.base_url], api_key="k", cache=Cache(tmp_path / "c.sqlite"),
                  max_attempts=1)
        try:
            warnings = await llm.preflight()
            down = [endpoint.name for endpoint in llm.endpoints.down]
            answers = await asyncio.gather(*(llm.chat(MESSAGES, Decoding(), seed=s) for s in range(6)))
            return warnings, down, answers, {e.name: e.stats.outages for e in llm.endpoints.all}
        finally:
            await llm.aclose()

    warnings, down, answers, outages = asyncio.run(main())
    assert len(warnings) == 1 and warnings[0].startswith(f"cannot connect to {REFUSED} (") and "starts without it" in warnings[0]
    assert down == [REFUSED]
    assert all(answer.text for answer in answers) and loopback_llm.request_count == 6
    assert outages == {REFUSED: 1, loopback_llm.base_url: 0}


def test_when_no_replica_can_be_reached_the_run_does_not_start(tmp_path) -> None:
    other = "http://127.0.0.2:9/v1"

    async def main() -> None:
        llm = LLM(model="m", base_url=[REFUSED, other], api_key="k", cache=Cache(tmp_path / "c.sqlite"))
        try:
            await llm.preflight()
        finally:
            await llm.aclose()

    with pytest.raises(EndpointError, match=rf"cannot connect to {REFUSED}: .*; cannot connect to {other}: "):
        asyncio.run(main())
