"""Talking to the model: cached, bounded, patient, and honest about what cannot be retried.

- Every request goes through the run's cache first (see cache.py): a resumed run pays nothing
  for what it already has. The key holds the endpoint's identity, so placeholder answers of the
  offline model are never served as a real model's, nor one server's answers as another's.
- Requests are spread over the run's endpoints (see endpoints.py), which pause the run through
  an outage instead of letting samples fail.
- Server errors, timeouts and unparseable bodies are retried with jittered exponential backoff
  up to ``max_attempts`` (attempts made while the endpoint is down do not count); then
  ``LLMFailure`` (a transient error) fails that one sample and the run goes on.
- What no retry can fix stops the run at once with the endpoint's own words (``EndpointError``):
  a wrong key, an unknown model, or requests the endpoint rejects as invalid again and again.
  One rejected request alone (say, a prompt over the context length) fails only its sample.
- A batched client (``batches``, see batches.py) sends its requests through the provider's Batch
  API instead, at the batch price, behind the same ``chat`` call: its answers are cached as they
  arrive and refused lines are read as the same refusals of direct requests.
- A request asking for structured output (``response_format``) that the endpoint rejects is sent
  again without it, and the run stops asking for it. Its answer is cached as the plain request's,
  where a later run asking with ``response_format`` finds it too.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from urllib.parse import urlsplit
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import openai
from tenacity import AsyncRetrying, retry_if_exception, wait_random_exponential

from ..types.errors import EndpointError, EvolError, LLMFailure
from ..types.records import Completion, Decoding, Message, Usage
from .batches import BatchQueue, LineRefused, SendDirectly
from .cache import Cache, content_key
from .endpoints import Endpoint, Endpoints
from .pricing import CostMeter, Price, worst_prompt_tokens
from .urls import public_url

try:  # the HTTP library under the openai client: httpx2 from openai 3 on, httpx before
    from httpx2 import Response as RawResponse
except ImportError:  # pragma: no cover
    from httpx import Response as RawResponse

log = logging.getLogger("evolinstruct.llm")

REJECTIONS_BEFORE_STOP = 3
PREFLIGHT_TIMEOUT_S = 10.0


class MalformedResponse(Exception):
    """A 200 answer that is not a usable chat completion; retried like a server error."""


class RequestRejected(Exception):
    """The endpoint rejected one request as invalid (400, 422): sending it again cannot help."""


class _StructuredOutputRejected(Exception):
    pass


@dataclass
class LLMStats:
    sent: int = 0
    cached: int = 0
    retries: int = 0
    failed: int = 0
    usage: Usage = Usage()
    batch_usage: Usage = Usage()
    """The part of ``usage`` answered through the Batch API (at the batch price)."""


@dataclass
class _Attempts:
    counted: int = 0
    waiting_for_endpoint: bool = False
    last_error: BaseException | None = field(default=None, repr=False)


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


EMBEDDING_BATCH = 64
"""Texts per ``/embeddings`` request."""


def _embeddings_reader(count: int) -> Callable[[bytes], tuple[list[list[float]], Usage]]:
    """Reads an embeddings body of ``count`` vectors, in the order of the texts sent."""

    def read(body: bytes) -> tuple[list[list[float]], Usage]:
        data = json.loads(body)  # a JSONDecodeError is retried like a server error
        try:
            items = sorted(data["data"], key=lambda item: item["index"])
            vectors = [item["embedding"] for item in items]
        except (KeyError, TypeError):
            raise MalformedResponse(f"no embeddings in the response: {body[:200]!r}") from None
        if len(vectors) != count or not all(
            isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            for v in vectors
        ):
            raise MalformedResponse(f"expected {count} embeddings as lists of numbers: {body[:200]!r}")
        used = data.get("usage") or {}
        return vectors, Usage(prompt_tokens=int(used.get("prompt_tokens") or 0), requests=1)

    return read


def _retryable(error: BaseException) -> bool:
    if isinstance(error, (openai.RateLimitError, openai.APIConnectionError)):
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


def _endpoint_message(error: openai.APIStatusError) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(body.get("message"), str):
            return body["message"]
    return str(error)


def _not_found_hint(url: str) -> str:
    """What to check after a 404: a base URL without the API's /v1 path is the usual cause."""
    if not urlsplit(url).path.rstrip("/").endswith("/v1"):
        return ("the base URL does not end in /v1, where OpenAI-compatible servers (OpenAI, vLLM, "
                f"llama.cpp, Ollama...) serve the API: try --base-url {public_url(url).rstrip('/')}/v1; "
                "else check --model")
    return "check --model and --base-url"


def _cannot_connect(error: BaseException) -> bool:
    """Whether the request never reached the server (refused, unresolvable, no route), as opposed
    to a server that took too long to answer. The HTTP library says so in the error's causes; the
    openai client reports both as connection errors, and with aiohttp even a refusal as a timeout."""
    cause: BaseException | None = error
    while cause is not None:
        if type(cause).__name__ in ("ConnectError", "ConnectTimeout") or isinstance(cause, (ConnectionRefusedError, socket.gaierror)):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def connection_reason(error: BaseException) -> str:
    """The lowest-level reason of a connection failure ("Name or service not known"...)."""
    reason: BaseException = error
    while reason.__cause__ is not None or reason.__context__ is not None:
        reason = reason.__cause__ or reason.__context__  # type: ignore[assignment]
    return str(reason) or type(reason).__name__


class LLM:
    """The run's single way to the model."""

    def __init__(
        self,
        *,
        model: str,
        base_url: str | Sequence[str],
        api_key: str | None,
        cache: Cache,
        identity: str | None = None,
        concurrency: int = 32,
        max_attempts: int = 6,
        timeout: float = 600.0,
        backoff_max: float = 30.0,
        max_outage: float = 600.0,
        price: Price | None = None,
        meter: CostMeter | None = None,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.model = model
        self.cache = cache
        self.endpoints = Endpoints(
            [Endpoint(url, api_key=api_key, concurrency=concurrency, timeout=timeout) for url in urls],
            max_outage=max_outage,
        )
        self.identity = identity if identity is not None else ",".join(sorted(e.name for e in self.endpoints.all))
        self.max_attempts = max_attempts
        self.backoff_max = backoff_max
        self.stats = LLMStats()
        self.structured_output = True
        self._rejections_in_a_row = 0
        self.price: Price | None = price
        """What this model costs (None: unknown, so its requests count nothing against a cap)."""
        self.meter = meter
        self.batches: BatchQueue | None = None
        """Where requests go instead of the endpoint when they are batched (None: never)."""

    async def chat(
        self,
        messages: Sequence[Message],
        params: Decoding,
        seed: int,
        *,
        response_format: Mapping[str, Any] | None = None,
    ) -> Completion:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "seed": seed,
        }
        structured = response_format is not None and self.structured_output
        if structured:
            request["response_format"] = dict(response_format or {})
        key = content_key("chat", {"endpoint": self.identity, **request})
        stored = self.cache.get(key)
        if stored is None and structured:
            # An earlier run whose endpoint rejected response_format has this question's answer
            # under the plain request: a resumed run reads it instead of being refused again.
            plain = {name: value for name, value in request.items() if name != "response_format"}
            stored = self.cache.get(content_key("chat", {"endpoint": self.identity, **plain}))
            structured = structured and stored is None
        if stored is not None:
            self.stats.cached += 1
            return Completion(stored["text"], Usage(**stored["usage"]), cached=True, structured=structured)
        batched = self.batches is not None and self.batches.takes(key)
        price = (self.price.batched() if batched else self.price) if self.price is not None else None
        # The worst this request can cost is held against the cap before it is sent.
        worst = price.cost(worst_prompt_tokens(request["messages"]), params.max_tokens) if price else 0.0
        if self.meter is not None:
            await self.meter.reserve(worst)
        usage = Usage()
        try:
            if batched:  # cached, counted and paid as the answer arrived (accept_batch_line)
                text, _usage = await self._batched(key, request)
            else:
                text, usage = await self._send(request)
        except _StructuredOutputRejected:
            text = None
        finally:  # released before the plain request below reserves its own
            if self.meter is not None:
                self.meter.settle(worst, self.price.of(usage) if self.price else 0.0)
        if text is None:
            if self.structured_output:
                log.info("the endpoint does not accept response_format; judges read plain text from now on")
            self.structured_output = False
            return await self.chat(messages, params, seed)
        if batched:
            return Completion(text, _usage, cached=False, structured=structured)
        self.cache.put(key, "chat", {"text": text, "usage": usage.as_dict()})
        self.stats.usage = self.stats.usage + usage
        return Completion(text, usage, cached=False, structured=structured)

    async def _batched(self, key: str, request: dict[str, Any]) -> tuple[str, Usage]:
        """The answer to ``request`` through the batch queue, with a direct request's errors."""
        assert self.batches is not None
        # An earlier run's batch may have answered it while this request waited for the cap.
        stored = self.cache.get(key)
        if stored is not None:
            return stored["text"], Usage(**stored["usage"])
        try:
            return await self.batches.complete(key, request)
        except SendDirectly:
            text, usage = await self._send(request)
            self._keep(key, text, usage, self.price)
            return text, usage
        except LLMFailure:
            self.stats.failed += 1
            raise
        except LineRefused as refused:
            try:
                self._refusal(refused.status, refused.message, request, self.batches.endpoint)
            except (EndpointError, RequestRejected):
                self.stats.failed += 1
                raise
        raise AssertionError("unreachable: a refusal raises")  # pragma: no cover

    def accept_batch_line(self, key: str, body: bytes) -> tuple[str, Usage]:
        """A batch's answer to the request of ``key``, kept as it arrives (whether or not a
        lineage waits for it yet): cached, counted, and paid at the batch price."""
        try:
            text, usage = _read_completion(body)
        except MalformedResponse as error:
            raise ValueError(str(error)) from None
        self._keep(key, text, usage, self.price.batched() if self.price is not None else None)
        self._rejections_in_a_row = 0
        self.stats.batch_usage = self.stats.batch_usage + usage
        return text, usage

    def _keep(self, key: str, text: str, usage: Usage, price: Price | None) -> None:
        """An answer that came outside ``chat``'s own path: cached, counted and paid here."""
        self.cache.put(key, "chat", {"text": text, "usage": usage.as_dict()})
        self.stats.usage = self.stats.usage + usage
        if self.meter is not None and price is not None:
            self.meter.paid(price.of(usage))

    def cost(self) -> float | None:
        """What this client's answers of this invocation cost, batch answers at the batch price;
        None when its model has no price and it was answered (unknown, never 0)."""
        if self.price is None:
            return 0.0 if self.stats.usage.requests == 0 else None
        return self.price.of(self.stats.usage) - self.batch_saving()

    def batch_saving(self) -> float:
        """What the Batch API took off this client's cost (0 without a price)."""
        if self.price is None:
            return 0.0
        return self.price.of(self.stats.batch_usage) - self.price.batched().of(self.stats.batch_usage)

    async def embed(self, texts: Sequence[str], *, model: str, dimensions: int | None = None) -> list[list[float]]:
        """One vector per text from the endpoint's ``/embeddings``, each text cached on its own
        (endpoint identity, model, dimensions, text) as completions are: a rerun, or a second
        selection over the same rows, sends only the texts it has not embedded yet."""
        keys = [
            content_key("embedding", {"endpoint": self.identity, "model": model, "dimensions": dimensions, "input": text})
            for text in texts
        ]
        vectors: list[list[float] | None] = []
        for key in keys:
            stored = self.cache.get(key)
            vectors.append(None if stored is None else stored["embedding"])
        self.stats.cached += sum(1 for vector in vectors if vector is not None)
        missing = [index for index, vector in enumerate(vectors) if vector is None]
        for start in range(0, len(missing), EMBEDDING_BATCH):
            batch = missing[start : start + EMBEDDING_BATCH]
            request: dict[str, Any] = {"model": model, "input": [texts[i] for i in batch], "encoding_format": "float"}
            if dimensions is not None:
                request["dimensions"] = dimensions
            received, usage = await self._send(request, path="/embeddings", read=_embeddings_reader(len(batch)))
            self.stats.usage = self.stats.usage + usage
            for index, vector in zip(batch, received):
                self.cache.put(keys[index], "embedding", {"embedding": vector})
                vectors[index] = vector
        return [vector for vector in vectors if vector is not None]

    async def _send(
        self, request: dict[str, Any], *, path: str = "/chat/completions",
        read: Callable[[bytes], tuple[Any, Usage]] | None = None,
    ) -> tuple[Any, Usage]:
        attempts = _Attempts()
        retrying = AsyncRetrying(
            stop=lambda _state: attempts.counted >= self.max_attempts,
            wait=lambda state: self._wait(state, attempts),
            retry=retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.stats.retries += 1
                    return await self._attempt(request, attempts, path, read or _read_completion)
        except (EndpointError, RequestRejected):
            # Answered with a refusal no retry can fix: a request that failed all the same, and
            # the manifest's requests.failed counts it.
            self.stats.failed += 1
            raise
        except (EvolError, _StructuredOutputRejected):
            raise  # the whole run's outage, or sent again without response_format: not a failure
        except Exception as error:
            self.stats.failed += 1
            status = getattr(error, "status_code", None)
            raise LLMFailure(f"{type(error).__name__}: {error}", attempts=attempts.counted, status=status) from error
        raise AssertionError("unreachable: the retry loop returns or raises")  # pragma: no cover

    async def _attempt(
        self, request: dict[str, Any], attempts: _Attempts, path: str, read: Callable[[bytes], tuple[Any, Usage]]
    ) -> tuple[Any, Usage]:
        endpoint, probe = await self.endpoints.choose()
        try:
            return await self._attempt_on(endpoint, probe, request, attempts, path, read)
        finally:
            if probe and endpoint.probing:  # cancelled mid-probe: let another request probe
                endpoint.probing = False
                self.endpoints.changed()

    async def _attempt_on(
        self, endpoint: Endpoint, probe: bool, request: dict[str, Any], attempts: _Attempts, path: str,
        read: Callable[[bytes], tuple[Any, Usage]],
    ) -> tuple[Any, Usage]:
        await endpoint.limit.acquire()
        started = time.monotonic()
        self.stats.sent += 1
        try:
            # The client's generic request method with the raw response, read with json.loads:
            # the typed layer (parameter transformation, response models) costs more CPU than
            # everything else the engine does per request, and the engine must not be the
            # bottleneck.
            raw = await endpoint.client.post(path, body=request, cast_to=RawResponse)
        except openai.RateLimitError:
            endpoint.limit.throttled()
            self._answered_badly(endpoint, probe)
            self._count(attempts, endpoint, went_down=False)
            raise
        except openai.APIConnectionError as error:  # refused, reset, unresolvable, or timed out
            await self._server_fault(endpoint, probe, request, attempts, unreachable=_cannot_connect(error))
            raise
        except openai.APIStatusError as error:
            if error.status_code >= 500 or error.status_code in (408, 409):
                await self._server_fault(endpoint, probe, request, attempts, unreachable=False)
            else:
                self._status_error(error, request, endpoint, attempts, probe)
            raise
        finally:
            endpoint.limit.release()
        try:
            text, usage = read(raw.content)
        except (MalformedResponse, json.JSONDecodeError):
            self._answered_badly(endpoint, probe)
            self._count(attempts, endpoint, went_down=False)
            raise
        if endpoint.succeeded(time.monotonic() - started, probe=probe):
            self.endpoints.changed()
        endpoint.limit.succeeded()
        self._rejections_in_a_row = 0
        return text, usage

    def _status_error(
        self, error: openai.APIStatusError, request: dict[str, Any], endpoint: Endpoint, attempts: _Attempts,
        probe: bool,
    ) -> None:
        """Classify an HTTP error answer that is not a server fault; raises instead when it is not
        to be retried."""
        self._answered_badly(endpoint, probe)
        self._refusal(error.status_code, _endpoint_message(error), request, endpoint)

    def _refusal(self, status: int, message: str, request: dict[str, Any], endpoint: Endpoint) -> None:
        """Raise what a refusal of ``request`` (not a server fault) means, whether the endpoint
        answered it directly or in a batch."""
        if status in (401, 403):
            raise EndpointError(f"{endpoint.name} refused the run ({status}): {message}") from None
        if status == 404:
            raise EndpointError(
                f"{endpoint.name} answered 404 for model {request['model']!r}: {message} ({_not_found_hint(endpoint.url)})"
            ) from None
        if status in (400, 422) and "response_format" in request:
            raise _StructuredOutputRejected() from None
        self._rejections_in_a_row += 1
        if self._rejections_in_a_row >= REJECTIONS_BEFORE_STOP:
            raise EndpointError(
                f"{endpoint.name} rejects the run's requests as invalid ({status}, {self._rejections_in_a_row} "
                f"in a row): {message}"
            ) from None
        raise RequestRejected(f"the endpoint rejected the request as invalid ({status}): {message}") from None

    async def _server_fault(
        self, endpoint: Endpoint, probe: bool, request: dict[str, Any], attempts: _Attempts, *, unreachable: bool
    ) -> None:
        """A server error or no answer: the endpoint may be down, then the attempt does not count."""
        went_down = endpoint.faulted(id(request), unreachable=unreachable, probe=probe)
        if went_down and probe and not unreachable:
            went_down = not await self._server_answers(endpoint)
        self._count(attempts, endpoint, went_down=went_down)

    async def _server_answers(self, endpoint: Endpoint) -> bool:
        """After a probe failed with a server error or a timeout: does the server answer at all?

        The probe is a real request, and the requests left waiting near the end of a run may be
        the ones that fail on their own (a prompt that always gets a 500): probing with them alone
        would keep a working endpoint out until --max-outage. When the server answers its model
        list, the probe's request failed on its own: the endpoint is back and the attempt counts.
        """
        try:
            await endpoint.client.get("/models", cast_to=RawResponse, options={"timeout": PREFLIGHT_TIMEOUT_S})
        except openai.APIStatusError as error:
            answered = error.status_code < 500  # no model list here, but a server that answers
        except openai.APIError:
            answered = False
        else:
            answered = True
        if answered and endpoint.back():
            self.endpoints.changed()
        return answered

    def _answered_badly(self, endpoint: Endpoint, probe: bool) -> None:
        if endpoint.answered_badly(probe=probe):
            self.endpoints.changed()

    def _count(self, attempts: _Attempts, endpoint: Endpoint, *, went_down: bool) -> None:
        """An attempt counts against ``max_attempts`` unless it failed because the endpoint is down."""
        attempts.waiting_for_endpoint = went_down
        if went_down:
            self.endpoints.changed()
        else:
            attempts.counted += 1

    def _wait(self, retry_state: Any, attempts: _Attempts) -> float:
        if attempts.waiting_for_endpoint:
            return 0.0  # Endpoints.choose() waits for the endpoint to come back
        backoff = wait_random_exponential(multiplier=0.5, max=self.backoff_max)(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = _retry_after(error)
        return max(backoff, retry_after) if retry_after is not None else backoff

    async def preflight(self) -> list[str]:
        """Reach every endpoint once before the run; returns warnings, raises what stops it.

        Asks for the model list (free on hosted APIs): a server that cannot be reached or that
        refuses the key is found within seconds instead of after a run's worth of retries. Of
        several endpoints, those that cannot be reached are taken out and probed; the run stops
        only when none can.
        """
        warnings: list[str] = []
        unreachable: list[tuple[Endpoint, str]] = []
        for endpoint in self.endpoints.all:
            try:
                raw = await endpoint.client.get(
                    "/models", cast_to=RawResponse, options={"timeout": PREFLIGHT_TIMEOUT_S}
                )
            except openai.APIConnectionError as error:
                unreachable.append((endpoint, connection_reason(error)))
                continue
            except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
                raise EndpointError(
                    f"{endpoint.name} refused the key ({error.status_code}): {_endpoint_message(error)}"
                ) from None
            except openai.APIStatusError:
                continue  # no model list here: the first chat request will tell
            try:
                served = {item["id"] for item in json.loads(raw.content)["data"]}
            except (ValueError, KeyError, TypeError):
                continue
            if served and self.model not in served:
                shown = ", ".join(sorted(served)[:10])
                warnings.append(f"{endpoint.name} does not list model {self.model!r} (it lists: {shown})")
        if len(unreachable) == len(self.endpoints.all):
            raise EndpointError("; ".join(f"cannot connect to {endpoint.name}: {reason}" for endpoint, reason in unreachable))
        for endpoint, reason in unreachable:
            # One replica of several being down (restarting, say) is what several endpoints are
            # for: it is taken out and probed like one that goes down mid-run.
            warnings.append(f"cannot connect to {endpoint.name} ({reason}); the run starts without it")
            endpoint.take_out()
        if self.batches is not None and self.batches.submits:
            await self.batches.check()  # a server without the Batch API stops the run before it starts
        return warnings

    async def aclose(self) -> None:
        if self.batches is not None:
            await self.batches.aclose()
        await self.endpoints.aclose()
