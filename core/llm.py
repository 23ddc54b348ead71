"""Talking to an OpenAI-compatible endpoint: cached, bounded, adaptive and patient.

- Every request goes through the run's cache first (see cache.py): a resumed run pays nothing
  for what it already has.
- At most ``concurrency`` requests are in flight. A 429 halves that limit (at most once per
  second, so one burst of 429s counts once) and waits for ``Retry-After``; successes grow it back
  by one per window of successes, up to the configured maximum.
- 5xx, timeouts, connection errors and unparseable bodies are retried with jittered exponential
  backoff, up to ``max_attempts``; then ``LLMFailure`` is raised and the engine records that
  sample as failed while the run goes on.
- Errors that no retry can fix (a wrong key, an unknown model) stop the run at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Sequence

import openai
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from .cache import Cache, content_key

try:  # the HTTP library under the openai client: httpx2 from openai 3 on, httpx before
    from httpx2 import Response as RawResponse
except ImportError:  # pragma: no cover
    from httpx import Response as RawResponse
from .errors import EvolError, LLMFailure
from .records import Message, Usage


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters; the defaults are the WizardLM paper's."""

    temperature: float = 1.0
    top_p: float = 0.9
    max_tokens: int = 2048

    def with_overrides(self, **overrides: Any) -> Decoding:
        return dataclasses.replace(self, **overrides) if overrides else self


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    cached: bool


class EndpointRefused(EvolError):
    """The endpoint rejected the run itself (authentication, permission, unknown model)."""


class MalformedResponse(Exception):
    """A 200 answer that is not a usable chat completion; retried like a server error."""


class AdaptiveLimit:
    """A semaphore whose size shrinks on rate limiting and grows back on success."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._successes = 0
        self._last_decrease = 0.0

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


def _read_completion(body: bytes) -> tuple[str, Usage]:
    """The first choice's text and the usage of a chat-completion body."""
    data = json.loads(body)  # a JSONDecodeError is retried like a server error
    try:
        text = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise MalformedResponse(f"no message content in the response: {body[:200]!r}") from None
    if not isinstance(text, str):
        raise MalformedResponse(f"the message content is not text: {body[:200]!r}")
    used = data.get("usage") or {}
    usage = Usage(
        prompt_tokens=int(used.get("prompt_tokens") or 0),
        completion_tokens=int(used.get("completion_tokens") or 0),
        requests=1,
    )
    return text, usage


def _retryable(error: BaseException) -> bool:
    if isinstance(error, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError)):
        return True
    if isinstance(error, (MalformedResponse, openai.APIResponseValidationError, json.JSONDecodeError)):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code >= 500 or error.status_code in (408, 409)
    return False


def _retry_after(error: BaseException | None) -> float | None:
    response = getattr(error, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass
class LLMStats:
    sent: int = 0
    cached: int = 0
    retries: int = 0
    failed: int = 0
    usage: Usage = Usage()


def _aiohttp_client(timeout: float) -> Any:
    """The openai client's aiohttp transport (its ``aiohttp`` extra), or None for its default.

    At 64 connections the default transport's connection pool scans every pooled connection on
    every request; with aiohttp underneath, the client spends about half the CPU per request.
    """
    factory = getattr(openai, "DefaultAioHttpClient", None)
    if factory is None:
        return None
    try:
        return factory(timeout=timeout)
    except RuntimeError:  # the extra is not installed
        return None


class LLM:
    """The run's single way to the model."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        cache: Cache,
        concurrency: int = 32,
        max_attempts: int = 6,
        timeout: float = 600.0,
        backoff_max: float = 30.0,
    ) -> None:
        self.model = model
        self.cache = cache
        self.limit = AdaptiveLimit(concurrency)
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.backoff_max = backoff_max
        self.stats = LLMStats()
        # Retries are ours (adaptive limit, Retry-After, failure records), not the client's.
        self.client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "none",
            max_retries=0,
            timeout=timeout,
            http_client=_aiohttp_client(timeout),
        )

    async def chat(self, messages: Sequence[Message], params: Decoding, seed: int) -> Completion:
        request = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": seed,
        }
        key = content_key("chat", request)
        stored = self.cache.get(key)
        if stored is not None:
            self.stats.cached += 1
            return Completion(stored["text"], Usage(**stored["usage"]), cached=True)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    text, usage = await self._send(request)
        except (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError) as error:
            raise EndpointRefused(f"the endpoint refused the run: {error}") from error
        except Exception as error:
            self.stats.failed += 1
            status = getattr(error, "status_code", None)
            raise LLMFailure(
                f"{type(error).__name__}: {error}", attempts=retrying.statistics.get("attempt_number", 1), status=status
            ) from error

        self.cache.put(key, "chat", {"text": text, "usage": usage.as_dict()})
        self.stats.usage = self.stats.usage + usage
        return Completion(text, usage, cached=False)

    async def _send(self, request: dict[str, Any]) -> tuple[str, Usage]:
        await self.limit.acquire()
        try:
            self.stats.sent += 1
            # The client's generic request method with the raw response, read with json.loads:
            # the typed layer (parameter transformation, response models) costs more CPU than
            # everything else the engine does per request, and the engine must not be the
            # bottleneck.
            raw = await self.client.post("/chat/completions", body=request, cast_to=RawResponse)
        except openai.RateLimitError:
            self.limit.throttled()
            raise
        finally:
            self.limit.release()
        text, usage = _read_completion(raw.content)
        self.limit.succeeded()
        return text, usage

    def _wait(self, retry_state: Any) -> float:
        backoff = wait_random_exponential(multiplier=0.5, max=self.backoff_max)(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = _retry_after(error)
        return max(backoff, retry_after) if retry_after is not None else backoff

    async def aclose(self) -> None:
        await self.client.close()
