"""One session: the endpoint resolved one way for every command, its client, the cache and the run
context; requests sent through it get the build's request seeds and cache keys."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.session import (
    DEFAULT_MODEL, OFFLINE_ENDPOINT, EndpointConfig, Session, parse_base_urls, resolve_endpoint,
)
from evolinstruct.testing import LoopbackLLM
from evolinstruct.types.errors import UsageError
from evolinstruct.types.context import stable_int
from evolinstruct.types.records import Decoding
from evolinstruct.types.registrations import Domain

DOMAIN = Domain(name="unit-test", description="no operations", operations=())


def test_the_endpoint_is_resolved_from_options_then_the_environment() -> None:
    offline = resolve_endpoint({})
    assert offline.offline and offline.identity == OFFLINE_ENDPOINT
    keyed = resolve_endpoint({"OPENAI_API_KEY": "sk-1"})
    assert keyed.urls == ("https://api.openai.com/v1",) and keyed.model == DEFAULT_MODEL and keyed.api_key == "sk-1"
    named = resolve_endpoint({"OPENAI_BASE_URL": "http://B:1/v1/, http://a:2/v1", "EVOL_MODEL": "m"}, model=None)
    assert named.urls == ("http://b:1/v1", "http://a:2/v1") and named.model == "m"
    assert named.identity == "http://a:2/v1,http://b:1/v1"
    given = resolve_endpoint({"OPENAI_BASE_URL": "http://ignored/v1"}, base_url=("http://x/v1",), model="k",
                             endpoint_id="mine", concurrency=3)
    assert (given.urls, given.model, given.identity, given.concurrency) == (("http://x/v1",), "k", "mine", 3)
    assert resolve_endpoint({"OPENAI_API_KEY": "sk-1"}, api_key="").offline  # an empty --api-key means none


def test_bad_endpoint_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="OPENAI_BASE_URL .*'ftp://x' is not an http"):
        resolve_endpoint({"OPENAI_BASE_URL": "ftp://x"})
    with pytest.raises(UsageError, match="--endpoint-id offline names the bundled offline model"):
        resolve_endpoint({}, base_url=("http://x/v1",), endpoint_id=OFFLINE_ENDPOINT)
    with pytest.raises(ValueError, match="carries a user name and password"):
        parse_base_urls("https://user:secret@host/v1")


def test_a_request_through_the_session_has_the_builds_seed_and_is_cached(tmp_path: Path) -> None:
    with LoopbackLLM() as server:
        endpoint = EndpointConfig((server.base_url,), "loopback", "loop", "sk-x", concurrency=2)
        with Session.open(endpoint, tmp_path / "cache.sqlite") as session:
            run = session.run_context(DOMAIN, seed=7, decoding=Decoding())

            async def ask() -> str:
                try:
                    return await run.for_sample("s1/r1").chat([{"role": "user", "content": "hi"}], stage="difficulty")
                finally:
                    await session.aclose()

            first = asyncio.run(ask())
            assert server.requests[-1].body["seed"] == stable_int(7, "s1/r1", "difficulty", 0)
            assert asyncio.run(ask()) == first and len(server.requests) == 1  # the second came from the cache
        assert session.llm.stats.cached == 1


def test_a_stage_maps_to_its_roles_client_and_the_rest_to_the_default(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite")
    default = EndpointConfig(("http://127.0.0.1:9/v1",), "main", "main")
    judge = EndpointConfig(("http://127.0.0.1:9/v1",), "judge-model", "judge")
    session = Session(default, cache, roles={"judge": (judge, ("difficulty", "equality"))})
    assert session.llm_for("difficulty").model == "judge-model"
    assert session.llm_for("equality") is session.llm_for("difficulty")
    assert session.llm_for("evolve").model == "main" and session.llm_for("evolve") is session.llm
    session.close()
    cache.close()


def test_the_offline_model_is_started_and_stopped_with_the_session(tmp_path: Path) -> None:
    session = Session.open(resolve_endpoint({}), tmp_path / "cache.sqlite", offline_server=LoopbackLLM)
    url = session.endpoint.urls[0]
    assert url.startswith("http://127.0.0.1:") and session.llm.identity == OFFLINE_ENDPOINT
    session.close()
