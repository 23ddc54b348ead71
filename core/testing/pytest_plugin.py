"""Pytest fixtures of the testing kit, loaded through the ``pytest11`` entry point.

Every server listens on port 0 (a free port chosen by the OS), so tests run in parallel under
pytest-xdist without coordinating ports.

- ``loopback_llm``: a started server for the test, stopped after it. Configure it with the marker
  ``@pytest.mark.loopback_llm(Rule(...), ..., latency=0.0, seed=0, responder=None)``.
- ``loopback_llm_factory``: ``factory(rules=(), *, latency=0.0, seed=0, responder=None, **settings)``
  starts another server (``settings``: ``structured_output=False`` to reject ``response_format``
  as some endpoints do, ``models=(...)`` for what ``GET /models`` lists, ``batch_hold=SECONDS``
  for how long a Batch API batch stays ``in_progress``); all of them are stopped after the test.
- ``loopback_llm_env``: ``{"OPENAI_BASE_URL": ..., "OPENAI_API_KEY": "sk-loopback"}`` for the
  ``loopback_llm`` server, to merge into a subprocess's environment.
- ``sample_context_factory``: ``SampleContexts.make`` (see sample_context.py, which documents its
  arguments): builds a real ``SampleContext`` for unit-testing domain code; its servers are
  stopped and its caches closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from ..offline.script import Rule
    from ..offline.requests import Responder
    from ..offline.server import LoopbackLLM
    from ..types.context import SampleContext

API_KEY = "sk-loopback"


class LoopbackLLMFactory(Protocol):
    def __call__(
        self,
        rules: Sequence[Rule] = (),
        *,
        latency: float = 0.0,
        seed: int = 0,
        responder: Responder | None = None,
        **settings: Any,
    ) -> LoopbackLLM: ...


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loopback_llm(*rules, latency=0.0, seed=0, responder=None): configure the loopback_llm fixture's server",
    )


@pytest.fixture
def loopback_llm_factory() -> Iterator[LoopbackLLMFactory]:
    from ..offline.server import LoopbackLLM  # here, not at import: most test sessions never start one

    servers: list[LoopbackLLM] = []

    def make(
        rules: Sequence[Rule] = (),
        *,
        latency: float = 0.0,
        seed: int = 0,
        responder: Responder | None = None,
        **settings: Any,
    ) -> LoopbackLLM:
        server = LoopbackLLM(rules=rules, latency=latency, seed=seed, responder=responder, **settings)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def loopback_llm(request: pytest.FixtureRequest, loopback_llm_factory: LoopbackLLMFactory) -> LoopbackLLM:
    marker = request.node.get_closest_marker("loopback_llm")
    if marker is None:
        return loopback_llm_factory()
    return loopback_llm_factory(tuple(marker.args), **marker.kwargs)


@pytest.fixture
def loopback_llm_env(loopback_llm: LoopbackLLM) -> dict[str, str]:
    return {"OPENAI_BASE_URL": loopback_llm.base_url, "OPENAI_API_KEY": API_KEY}


@pytest.fixture
def sample_context_factory(tmp_path: Path) -> Iterator[Callable[..., SampleContext]]:
    """``SampleContexts.make`` of a kit living as long as the test."""
    from .sample_context import SampleContexts  # here, not at import, like the server

    with SampleContexts(tmp_path / "sample-contexts") as contexts:
        yield contexts.make
