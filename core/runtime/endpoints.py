"""The model servers a run talks to: one or several OpenAI-compatible endpoints, each with its
own adaptive concurrency limit and health.

- At most ``concurrency`` requests are in flight per endpoint. A 429 halves that endpoint's limit
  (at most once per second, so one burst of 429s counts once); successes grow it back by one per
  window of successes, up to the configured maximum.
- Requests go to the healthy endpoint with the fewest requests in flight for its limit.
- An endpoint that cannot be reached (a refused connection, or server errors or timeouts for
  several different requests in a row with no success between them) is taken out and probed
  with backoff: one real request at a time is let through to it, and the first that succeeds
  brings it back (an answer to a request sent before it was taken out does not: a server that is
  stopping still answers what it holds). A probe that fails with a server error or a timeout is
  followed by a request for the model list: a server that answers it is there, and the probe's
  request failed on its own. One request failing again and again is that request's problem, not
  an outage. An endpoint that cannot be reached when the run starts is taken out
  the same way, as long as another one answers.
- While no endpoint is up the run pauses: requests wait instead of burning through their attempts.
  When the outage lasts longer than ``max_outage`` seconds every waiting request raises
  ``EndpointOutage`` and the run stops, keeping everything received.

The endpoints of one run serve the same model, and responses are cached by content (not by which
endpoint answered), so a dataset does not depend on how requests were spread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import openai

from ..types.errors import EndpointOutage
from .urls import normalise_url, public_url

log = logging.getLogger("evolinstruct.endpoints")

FAULTS_BEFORE_DOWN = 3  # different requests failing in a row
FIRST_PROBE_S = 1.0
MAX_PROBE_INTERVAL_S = 10.0  # an endpoint that is back is found within seconds, at one request per probe


class AdaptiveLimit:
    """A semaphore whose size shrinks on rate limiting and grows back on success."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._successes = 0
        self._last_decrease = 0.0

    @property
    def load(self) -> float:
        """How busy this limit is: requests in flight and waiting, per allowed slot."""
        return (self.in_flight + len(self._waiters)) / self.limit

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted and cancelled at once: hand the slot on
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def throttled(self) -> None:
        now = time.monotonic()
        if now - self._last_decrease >= 1.0:
            self._last_decrease = now
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def succeeded(self) -> None:
        if self.limit < self.maximum:
            self._successes += 1
            if self._successes >= self.limit:
                self._successes = 0
                self.limit += 1
                self._wake()


@dataclass
class EndpointStats:
    requests: int = 0
    failures: int = 0
    latency_s: float = 0.0
    outages: int = 0

    def as_dict(self) -> dict[str, Any]:
        answered = self.requests - self.failures
        return {
            "requests": self.requests,
            "failures": self.failures,
            "mean_latency_s": round(self.latency_s / answered, 4) if answered > 0 else None,
            "outages": self.outages,
        }


class Endpoint:
    """One OpenAI-compatible server: its client, its limit, its health and its numbers."""

    def __init__(self, url: str, *, api_key: str | None, concurrency: int, timeout: float) -> None:
        self.url = normalise_url(url)
        self.name = public_url(self.url)
        """How the endpoint is shown: its URL without credentials."""
        self.api_key = api_key
        self.timeout = timeout
        self.limit = AdaptiveLimit(concurrency)
        self.stats = EndpointStats()
        self.client: Any = self.new_client()
        self._retired: list[Any] = []
        self.down_since: float | None = None
        self.next_probe = 0.0
        self.probing = False
        self._failing_requests: set[int] = set()
        self._probe_interval = FIRST_PROBE_S

    def new_client(self) -> Any:
        # Retries are ours (adaptive limit, health, failure records), not the client's.
        return openai.AsyncOpenAI(
            base_url=self.url,
            api_key=self.api_key or "none",
            max_retries=0,
            timeout=self.timeout,
            http_client=_aiohttp_client(self.timeout),
        )

    @property
    def up(self) -> bool:
        return self.down_since is None

    def succeeded(self, latency_s: float, *, probe: bool) -> bool:
        """Record an answer; True when it brought the endpoint back."""
        self.stats.requests += 1
        self.stats.latency_s += latency_s
        return self._alive(probe)

    def answered_badly(self, *, probe: bool) -> bool:
        """Record an answer that failed for a reason of its own (a 429, a rejection, a malformed
        body): the server is there. True when that brought the endpoint back."""
        self.stats.requests += 1
        self.stats.failures += 1
        return self._alive(probe)

    def back(self) -> bool:
        """The server answered a probe's follow-up (its model list): bring the endpoint back.
        True when it was down."""
        return self._alive(probe=True)

    def _alive(self, probe: bool) -> bool:
        if self.down_since is not None and not probe:
            # The answer to a request sent before the endpoint was taken out (a server that is
            # stopping still answers what it holds): it says nothing about the server now. Only
            # the probe's answer brings the endpoint back.
            return False
        self._failing_requests.clear()
        if self.down_since is None:
            return False
        log.warning("endpoint %s answers again after %.0f s", self.name, time.monotonic() - self.down_since)
        # The connections pooled before the outage lead to a server that is gone: a new client
        # starts with none, instead of failing one request per dead connection.
        self._retired.append(self.client)
        self.client = self.new_client()
        self.down_since = None
        self.probing = False
        self._probe_interval = FIRST_PROBE_S
        return True

    def faulted(self, request: int, *, unreachable: bool, probe: bool) -> bool:
        """Record a server-side fault of one request (any id of it); True when the endpoint is
        (now) taken out.

        A refused connection takes it out at once; server errors and timeouts only when several
        different requests fail in a row with no success between them, since one request can
        fail on its own. A failed probe schedules the next one, later.
        """
        self.stats.requests += 1
        self.stats.failures += 1
        if self.down_since is not None:
            if probe:
                self.probing = False
                self._probe_interval = min(self._probe_interval * 2, MAX_PROBE_INTERVAL_S)
                self.next_probe = time.monotonic() + self._probe_interval
            return True
        self._failing_requests.add(request)
        if unreachable or len(self._failing_requests) >= FAULTS_BEFORE_DOWN:
            self.take_out()
            return True
        return False

    def take_out(self) -> None:
        """Stop sending it requests; probes start after ``FIRST_PROBE_S``."""
        now = time.monotonic()
        self.down_since = now
        self.next_probe = now + self._probe_interval
        self.stats.outages += 1
        log.warning("endpoint %s is not answering; requests wait while it is probed", self.name)

    async def aclose(self) -> None:
        for client in (*self._retired, self.client):
            await client.close()
        self._retired.clear()


class Endpoints:
    """The run's endpoints and the choice of one for each request."""

    def __init__(self, endpoints: Sequence[Endpoint], *, max_outage: float) -> None:
        if not endpoints:
            raise ValueError("a run needs at least one endpoint")
        self.all = tuple(endpoints)
        self.max_outage = max_outage
        self._changed = asyncio.Event()
        self._all_down_since: float | None = None

    @property
    def in_flight(self) -> int:
        return sum(endpoint.limit.in_flight for endpoint in self.all)

    @property
    def down(self) -> tuple[Endpoint, ...]:
        return tuple(endpoint for endpoint in self.all if not endpoint.up)

    async def choose(self) -> tuple[Endpoint, bool]:
        """An endpoint for the next attempt, and whether that attempt is its probe.

        Waits while every endpoint is down; raises ``EndpointOutage`` after ``max_outage``.
        """
        while True:
            now = time.monotonic()
            for endpoint in self.all:
                if not endpoint.up and not endpoint.probing and now >= endpoint.next_probe:
                    endpoint.probing = True
                    return endpoint, True
            healthy = [endpoint for endpoint in self.all if endpoint.up]
            if healthy:
                self._all_down_since = None
                return min(healthy, key=lambda endpoint: endpoint.limit.load), False
            if self._all_down_since is None:
                self._all_down_since = now
            if now - self._all_down_since > self.max_outage:
                urls = ", ".join(endpoint.name for endpoint in self.all)
                raise EndpointOutage(
                    f"no endpoint answered for {self.max_outage:g} s ({urls}); everything received is "
                    "kept: run the same command again to resume"
                )
            next_probe = min(endpoint.next_probe for endpoint in self.all)
            wait = max(0.05, min(next_probe - now, self._all_down_since + self.max_outage - now + 0.01))
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=wait)
            except TimeoutError:
                pass

    def changed(self) -> None:
        """Wake requests waiting for an endpoint (one came back, or a probe slot freed)."""
        self._changed.set()

    async def aclose(self) -> None:
        for endpoint in self.all:
            await endpoint.aclose()


def _aiohttp_client(timeout: float) -> Any:
    """The openai client's aiohttp transport (its ``aiohttp`` extra), or None for its default.

    At 64 connections the default transport's connection pool scans every pooled connection on
    every request; with aiohttp underneath, the client spends about half the CPU per request.
    """
    factory: Callable[..., Any] | None = getattr(openai, "DefaultAioHttpClient", None)
    if factory is None:
        return None
    try:
        return factory(timeout=timeout)
    except RuntimeError:  # the extra is not installed
        return None
