"""A real ``SampleContext`` for unit-testing domain code: filters, scorers and responders.

``SampleContexts.make`` builds the engine's own ``SampleContext`` on a real ``RunContext`` from a
``Session``, as a build does: its ``llm`` is the real ``LLM`` talking over HTTP to a
``LoopbackLLM`` scripted with ``Rule``s, its ``cache`` a real ``Cache`` in a folder of the test's. Domain code under test therefore goes
through what it goes through in a build (request seeds, the response cache, retries, the usage
tally per stage, ``memo``) and a test asserts on what the server received.

Domain code is async, and the ``openai`` client under ``LLM`` cannot move between event loops:
its aiohttp transport opens its session in the first loop that sends a request. A test runs
domain code with ``asyncio.run`` (a new loop each time), so the client of a context's ``LLM``
is a ``LoopLocalClient``: each loop gets its own real client, built by ``LLM`` itself, and that
client is closed while the loop shuts down.

The pytest fixture ``sample_context_factory`` is ``SampleContexts(tmp_path).make``.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ..offline.script import Rule
from ..offline.server import LoopbackLLM
from ..runtime.cache import Cache
from ..runtime.output import CACHE
from ..runtime.session import EndpointConfig, Session
from ..types.context import SampleContext
from ..types.records import Decoding, Sample
from ..types.registrations import Domain

MODEL = "loopback"
API_KEY = "sk-loopback"

UNIT_TEST_DOMAIN = Domain(name="unit-test", description="a domain with no operations, for unit tests", operations=())


async def _closing(client: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.close()


class LoopLocalClient:
    """Sits where ``LLM.client`` is and gives every event loop its own real ``openai`` client.

    ``LLM`` uses three methods of its client, ``post``, ``get`` and ``close``; all act on the running
    loop's client. The first loop gets the client ``LLM`` built for itself (``first``), every
    later one a client from ``make``. A loop's client is closed when the loop shuts down:
    ``asyncio.run`` closes the async generators still open (``loop.shutdown_asyncgens``) before
    it closes the loop, and one such generator, started with the client, closes it. Run domain
    code with ``asyncio.run`` or anything that shuts its loop down the same way.
    """

    def __init__(self, first: Any, make: Callable[[], Any]) -> None:
        self._unused: Any | None = first
        self._make = make
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, AsyncIterator[None]]] = (
            weakref.WeakKeyDictionary()
        )

    async def _current(self) -> Any:
        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            client = self._unused if self._unused is not None else self._make()
            self._unused = None
            closer = _closing(client)
            entry = self._clients[loop] = (client, closer)  # the entry keeps the generator alive
            await anext(closer)  # its first step registers it with the running loop
        return entry[0]

    async def post(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._current()).post(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return await (await self._current()).get(*args, **kwargs)

    async def close(self) -> None:
        entry = self._clients.get(asyncio.get_running_loop())
        if entry is not None:
            await entry[0].close()


class SampleContexts:
    """Builds real ``SampleContext``s and owns what they use: loopback servers and caches.

    ``close()`` (or leaving the ``with`` block) stops the servers it started and closes the caches
    it opened. Without a folder, the caches go to a temporary one removed on close.
    """

    def __init__(self, folder: Path | str | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="evol-sample-contexts-") if folder is None else None
        self.folder = Path(self._tmp.name if self._tmp is not None else folder)
        self._numbers = itertools.count(1)
        self._servers: list[LoopbackLLM] = []
        self._caches: list[Cache] = []

    def make(
        self,
        rules: Sequence[Rule] = (),
        *,
        server: LoopbackLLM | None = None,
        cache: Cache | None = None,
        options: Mapping[str, Any] | None = None,
        resources: dict[str, Any] | None = None,
        parent: Sample | None = None,
        domain: Domain | None = None,
        sample_id: str = "s",
        seed: int = 0,
        decoding: Decoding | None = None,
        **llm_settings: Any,
    ) -> SampleContext:
        """A ``SampleContext`` of sample ``sample_id`` in a new run.

        The LLM talks to ``server``, or else to a new ``LoopbackLLM`` scripted with ``rules``.
        ``cache`` shares another context's cache, as a resumed build finds its output folder's;
        by default the run gets a new one. ``resources`` is the run's dict itself (not a copy).
        ``llm_settings`` go to the session's ``EndpointConfig`` (``max_attempts``, ``timeout``,
        ``backoff_max``, ``concurrency``, ``max_outage``); concurrency is 1 unless given, so requests reach the server in the order
        the domain code makes them and a rule's tuple of replies is handed out in that order.
        """
        if server is not None and rules:
            raise TypeError("give either rules (for a new server) or a server, not both")
        if server is None:
            server = LoopbackLLM(rules=rules).start()
            self._servers.append(server)
        out_dir = self.folder / f"run-{next(self._numbers)}"
        if cache is None:
            cache = Cache(out_dir / CACHE)
            self._caches.append(cache)
        else:
            out_dir = cache.path.parent
        endpoint = EndpointConfig((server.base_url,), MODEL, None, API_KEY, **{"concurrency": 1, **llm_settings})
        # The session a build opens, on this server and cache: the same client, request seeds and
        # cache keys as in a build.
        session = Session(endpoint, cache)
        for each in session.llm.endpoints.all:
            each.client = LoopLocalClient(each.client, each.new_client)
        run = session.run_context(
            domain or UNIT_TEST_DOMAIN, seed=seed, options=options, out_dir=out_dir, decoding=decoding,
            resources=resources,
        )
        return run.for_sample(sample_id, parent)

    def close(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        self._servers.clear()
        for cache in self._caches:
            cache.close()
        self._caches.clear()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> SampleContexts:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
