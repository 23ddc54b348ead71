"""Requests through a provider's Batch API (``/v1/files`` and ``/v1/batches``) at the batch price.

A batched client (``LLM.batches``) hands each request it would have sent to its ``BatchQueue``
and waits for the answer, so the engine's per-lineage flow is the same as with direct requests.
The queue gathers the requests that lineages have ready (until ``BatchSettings.size`` of them, or
``BatchSettings.window`` seconds after the first), writes them as one JSONL file
(``custom_id`` = the request's cache key), uploads it, creates a batch (``completion_window``
24h), polls it with growing waits, and reads its output and error files:

- every answered line is handed to the client (``accept``), which puts it in the cache at once
  and counts what it cost, whether or not a lineage waits for it yet;
- a line answered with a server error (5xx, 408, 409, 429), one the provider could not finish
  (expired, cancelled) and one missing from both files goes into the next batch, until the
  client's ``max_attempts``; then its lineage fails with ``LLMFailure`` like a direct request;
- a line refused for what it is (400, 401, 404...) is the waiting lineage's ``LineRefused``,
  which the client reads as it reads the same refusal of a direct request.

The ids of the batches in flight are kept in the build folder (``BatchLedger``, written whole
after each change): a build killed while its batches wait resumes by collecting them. A request
of a batch in flight is never sent again, batched or not: it waits for that batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import openai
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_random_exponential

from ..types.errors import EndpointError, EndpointOutage, LLMFailure, UsageError
from .output import write_text

if TYPE_CHECKING:
    from .endpoints import Endpoint

log = logging.getLogger("evolinstruct.batches")
DELETE_WAIT_S = 30.0  # how long closing waits for a collected batch's files to be deleted

CHAT_URL = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
"""The only completion window OpenAI's Batch API offers."""
FIRST_POLL_S = 0.25
POLL_GROWTH = 1.5
MAX_POLL_S = 60.0
"""Polls of a batch start a quarter second apart (a loopback server answers at once) and grow to
a minute apart (a provider's batch takes minutes to hours)."""
ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
RETRIED_STATUSES = frozenset({408, 409, 429})
"""Statuses below 500 that say "try again later", as for a direct request."""


@dataclass(frozen=True)
class BatchSettings:
    """How requests are gathered into batches."""

    size: int = 1000
    """Most requests in one batch file."""
    window: float = 30.0
    """Seconds the first ready request waits for others before its batch is sent."""


@dataclass(frozen=True)
class InFlight:
    """A batch sent and not yet collected, as the build folder keeps it."""

    id: str
    input_file_id: str
    client: str
    """Which client sent it (``client_name``): only that client, on resume, collects it."""
    endpoint: str
    """The endpoint (its public URL) that holds it."""
    keys: tuple[str, ...]
    """The cache keys of its requests (each line's ``custom_id``)."""


@dataclass(frozen=True)
class Batching:
    """Which clients of a session send through the Batch API (by role name), how requests are
    gathered, and where the batches in flight are kept. A client that does not batch still
    collects the batches an earlier run of the folder left in flight."""

    roles: frozenset[str]
    settings: BatchSettings
    ledger: BatchLedger


def client_name(model: str, identity: str) -> str:
    """A client's name in the ledger: its model at its endpoint identity (as in cache keys)."""
    return f"{model} at {identity}"


class BatchLedger:
    """The batches in flight of one build folder, in a JSON file rewritten whole on each change
    (written to a temporary name, then renamed: a kill never leaves half a file)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, InFlight] = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                for item in data["batches"]:
                    entry = InFlight(**{**item, "keys": tuple(item["keys"])})
                    self._entries[entry.id] = entry
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise UsageError(
                    f"{path}: not a readable record of batches in flight ({error}); delete it to send their "
                    "requests again"
                ) from None

    def of(self, client: str) -> list[InFlight]:
        return [entry for entry in self._entries.values() if entry.client == client]

    @property
    def entries(self) -> list[InFlight]:
        return list(self._entries.values())

    def add(self, entry: InFlight) -> None:
        self._entries[entry.id] = entry
        self._write()

    def remove(self, batch_id: str) -> None:
        if self._entries.pop(batch_id, None) is not None:
            self._write()

    def _write(self) -> None:
        if self.path is None:
            return
        if not self._entries:
            self.path.unlink(missing_ok=True)
            return
        write_text(self.path, json.dumps({"batches": [asdict(entry) for entry in self._entries.values()]}, indent=1))


class SendDirectly(Exception):
    """A request of an earlier run's batch that the batch did not answer, in a build that does not
    batch this client: its lineage sends it as a direct request."""


class LineRefused(Exception):
    """The batch answered a request with a refusal no retry can fix (400, 401, 404...)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


@dataclass
class BatchCounts:
    """What a queue sent this run, for the manifest."""

    batches: int = 0
    requests: int = 0
    """Lines of those batches (a request sent again counts again)."""


class BatchQueue:
    """One client's batches: gathered, sent, polled and collected in the client's event loop.

    ``accept(key, body)`` takes an answered line's chat-completion body: it keeps it (cache, cost)
    and returns what the waiting lineage gets; it raises ``ValueError`` for a body it cannot use,
    which is sent again like a server error. ``stats`` is the client's ``LLMStats``: each line
    sent counts in its ``sent``, each sent again in its ``retries``. ``submits`` False: the client
    sends directly and the queue only collects the batches an earlier run left in flight.
    """

    def __init__(
        self, *, endpoints: list[Endpoint], name: str, ledger: BatchLedger, settings: BatchSettings,
        accept: Callable[[str, bytes], Any], stats: Any, max_attempts: int, max_outage: float,
        submits: bool = True,
    ) -> None:
        self.stats = stats
        self.endpoints = endpoints
        self.name = name
        self.ledger = ledger
        self.settings = settings
        self.accept = accept
        self.max_attempts = max_attempts
        self.max_outage = max_outage
        self.submits = submits
        self.counts = BatchCounts()
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._requests: dict[str, dict[str, Any]] = {}
        self._queued: dict[str, None] = {}  # keys to send, in arrival order
        self._in_batch: dict[str, str] = {}  # key: the id of the batch that holds it
        self._attempts: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        # Deleting a collected batch's files outlives the lineages it answered: the build may end
        # meanwhile, and closing waits for them (a little) rather than leave files at the provider.
        self._deleting: set[asyncio.Task[None]] = set()
        self._arrived: asyncio.Event | None = None
        self._started = False

    @property
    def endpoint(self) -> Endpoint:
        """Where new batches go: the client's first endpoint (a batch is collected where it was sent)."""
        return self.endpoints[0]

    @property
    def waiting(self) -> int:
        """Requests of this run waiting for a batch's answer (queued, or in a batch in flight)."""
        return len(self._waiting)

    def takes(self, key: str) -> bool:
        """Whether the request of ``key`` goes through this queue: all of them when it submits,
        else only those of a batch in flight."""
        self._start()
        return self.submits or key in self._in_batch

    async def complete(self, key: str, request: Mapping[str, Any]) -> Any:
        """The answer to ``request`` (what ``accept`` returned for it); raises ``LineRefused``,
        ``LLMFailure`` or what stopped the batch (``EndpointError``, ``EndpointOutage``)."""
        self._start()
        future = self._waiting.get(key)
        if future is None:
            if not self.submits and key not in self._in_batch:
                # Its earlier run's batch ended without an answer for it while this request
                # waited to be sent: a client that does not batch sends it itself.
                raise SendDirectly()
            future = self._waiting[key] = asyncio.get_running_loop().create_future()
            self._requests[key] = dict(request)  # kept to send it again should its batch not answer it
            if key not in self._in_batch:
                self._enqueue(key, self._requests[key])
        # Shielded: a lineage cancelled while it waits must not cancel the answer another awaits.
        return await asyncio.shield(future)

    async def check(self) -> None:
        """Before the run: ``EndpointError`` when the endpoint new batches go to has no Batch API
        (asking for its newest batch costs nothing). Other faults are the client's preflight's."""
        endpoint = self.endpoint
        if not endpoint.up:
            return
        try:
            await endpoint.client.batches.list(limit=1)
        except openai.NotFoundError:
            raise EndpointError(f"{endpoint.name} has no Batch API (404 for /batches); build without --batch, or "
                                "use a provider that offers it (OpenAI, Azure OpenAI...)") from None
        except openai.APIError:
            pass

    async def aclose(self) -> None:
        """Stop gathering and polling; the batches in flight stay in the ledger for the next run.
        The files of collected batches still being deleted get ``DELETE_WAIT_S`` to go."""
        if self._deleting:
            await asyncio.wait(self._deleting, timeout=DELETE_WAIT_S)
        for task in self._deleting:
            task.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for future in self._waiting.values():
            future.cancel()

    # -- the queue's tasks ---------------------------------------------------------------------

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._arrived = asyncio.Event()
        names = {endpoint.name for endpoint in self.endpoints}
        for entry in self.ledger.of(self.name):
            if entry.endpoint not in names:
                log.warning("batch %s was sent to %s, which this build does not use: its %d requests are sent "
                            "again", entry.id, entry.endpoint, len(entry.keys))
                self.ledger.remove(entry.id)
                continue
            log.info("collecting batch %s (%d requests) sent by an earlier run", entry.id, len(entry.keys))
            self._in_batch.update(dict.fromkeys(entry.keys, entry.id))
            self._spawn(self._collect(entry))
        if self.submits:
            self._spawn(self._gather())

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _enqueue(self, key: str, request: dict[str, Any]) -> None:
        assert self._arrived is not None
        self._requests[key] = request
        self._queued[key] = None
        self._arrived.set()

    async def _gather(self) -> None:
        """Send the ready requests as one batch when there are ``size`` of them, or ``window``
        seconds after the first of them arrived."""
        assert self._arrived is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._arrived.wait()
            deadline = loop.time() + self.settings.window
            while len(self._queued) < self.settings.size and loop.time() < deadline:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
                except TimeoutError:
                    break
            keys = list(self._queued)[: self.settings.size]
            for key in keys:
                del self._queued[key]
            if not self._queued:
                self._arrived.clear()
            if keys:
                self._spawn(self._send(keys))

    async def _send(self, keys: list[str]) -> None:
        try:
            entry = await self._submit(keys)
        except asyncio.CancelledError:
            raise
        except BaseException as error:  # the waiting lineages get what stopped their batch
            self._fail(keys, error)
            return
        await self._collect(entry)

    async def _submit(self, keys: list[str]) -> InFlight:
        endpoint = self.endpoint
        content = "".join(
            json.dumps({"custom_id": key, "method": "POST", "url": CHAT_URL, "body": self._requests[key]},
                       ensure_ascii=False, separators=(",", ":")) + "\n"
            for key in keys
        ).encode("utf-8")
        uploaded = await self._call(endpoint, "upload a batch file", lambda: endpoint.client.files.create(
            file=("requests.jsonl", content, "application/jsonl"), purpose="batch"))
        batch = await self._call(endpoint, "create a batch", lambda: endpoint.client.batches.create(
            input_file_id=uploaded.id, endpoint=CHAT_URL, completion_window=COMPLETION_WINDOW))
        # Recorded before anything else can happen: a build killed from here on collects it.
        entry = InFlight(batch.id, uploaded.id, self.name, endpoint.name, tuple(keys))
        self.ledger.add(entry)
        self._in_batch.update(dict.fromkeys(keys, batch.id))
        self.stats.sent += len(keys)
        self.counts.requests += len(keys)
        self.counts.batches += 1
        log.info("sent batch %s of %d requests to %s", batch.id, len(keys), endpoint.name)
        return entry

    async def _collect(self, entry: InFlight) -> None:
        try:
            lines, files = await self._results(entry)
        except asyncio.CancelledError:
            raise
        except openai.NotFoundError:
            # The endpoint does not know the batch (a server restarted without it): its requests
            # were never answered, so they are sent again (not counted as attempts).
            log.warning("%s does not know batch %s: its %d requests are sent again", entry.endpoint, entry.id,
                        len(entry.keys))
            self.ledger.remove(entry.id)
            for key in entry.keys:
                self._in_batch.pop(key, None)
                if key in self._waiting:
                    self._again(key)
            return
        except BaseException as error:
            self._fail(list(entry.keys), error)
            return
        for key in entry.keys:
            self._in_batch.pop(key, None)
            self._settle(key, lines.get(key))
        self.ledger.remove(entry.id)
        deleting = asyncio.ensure_future(self._delete(entry, files))
        self._deleting.add(deleting)
        deleting.add_done_callback(self._deleting.discard)

    async def _delete(self, entry: InFlight, files: list[str]) -> None:
        """Delete a collected batch's files at the provider (its answers are in the cache now), so
        a long build does not fill the account's file storage; a file that stays is only logged."""
        endpoint = next(e for e in self.endpoints if e.name == entry.endpoint)
        for file_id in (entry.input_file_id, *files):
            try:
                await endpoint.client.files.delete(file_id)
            except openai.APIError as error:
                log.info("could not delete file %s of batch %s at %s: %s", file_id, entry.id, endpoint.name, error)

    async def _results(self, entry: InFlight) -> tuple[dict[str, Mapping[str, Any]], list[str]]:
        """Each line of the batch's output and error files by custom_id, once the batch ended,
        and the ids of those files."""
        endpoint = next(e for e in self.endpoints if e.name == entry.endpoint)
        wait = FIRST_POLL_S
        while True:
            batch = await self._call(endpoint, "poll a batch", lambda: endpoint.client.batches.retrieve(entry.id))
            if batch.status in ENDED:
                break
            await asyncio.sleep(wait)
            wait = min(MAX_POLL_S, wait * POLL_GROWTH)
        if batch.status == "failed":
            errors = getattr(batch.errors, "data", None) or []
            said = "; ".join(f"line {error.line}: {error.message}" if error.line else str(error.message)
                             for error in errors[:3]) or "no reason given"
            self.ledger.remove(entry.id)  # nothing of it will ever be answered: not to be polled again
            raise EndpointError(f"{endpoint.name} refused batch {entry.id}: {said}")
        lines: dict[str, Mapping[str, Any]] = {}
        files = [file_id for file_id in (batch.output_file_id, batch.error_file_id) if file_id]
        for file_id in files:
            content = await self._call(endpoint, "download a batch's results",
                                       lambda file_id=file_id: endpoint.client.files.content(file_id))
            for text in content.content.decode("utf-8").splitlines():
                try:
                    line = json.loads(text)
                    lines[str(line["custom_id"])] = line
                except (ValueError, KeyError, TypeError):
                    continue  # unreadable: its request is treated as missing and sent again
        return lines, files

    def _settle(self, key: str, line: Mapping[str, Any] | None) -> None:
        response = line.get("response") if line is not None else None
        if line is None:
            self._retry(key, "the batch returned no line for the request", None)
            return
        if not isinstance(response, Mapping):
            error = line.get("error") or {}
            reason = error.get("message") or error.get("code") if isinstance(error, Mapping) else None
            self._retry(key, f"the batch did not answer it ({reason or 'no reason given'})", None)
            return
        status = response.get("status_code")
        body = response.get("body")
        if status == 200:
            try:
                value = self.accept(key, json.dumps(body).encode("utf-8"))
            except ValueError as error:
                self._retry(key, f"unusable answer: {error}", 200)
                return
            self._attempts.pop(key, None)
            self._requests.pop(key, None)
            waiter = self._waiting.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(value)
            return
        if not isinstance(status, int) or status >= 500 or status in RETRIED_STATUSES:
            self._retry(key, f"{status}: {_message(body)}", status if isinstance(status, int) else None)
            return
        self._finish(key, LineRefused(status, _message(body)))

    def _retry(self, key: str, reason: str, status: int | None) -> None:
        """A line the batch did not answer usably: into the next batch, or failed after the last
        attempt. A request no lineage waits for (an earlier run's) is left to be asked again."""
        self._attempts[key] += 1
        attempts = self._attempts[key]
        if key not in self._waiting:
            return
        if attempts < self.max_attempts:
            self.stats.retries += 1
            log.debug("request %s of a batch failed (%s); it is sent again", key[:12], reason)
            self._again(key)
            return
        self._finish(key, LLMFailure(
            f"the batch API failed it {attempts} time(s), last: {reason}", attempts=attempts, status=status))

    def _again(self, key: str) -> None:
        """Send a waiting request again: in the next batch, or directly by a client that does not batch."""
        if self.submits:
            self._enqueue(key, self._requests[key])
        else:
            self._requests.pop(key, None)
            waiter = self._waiting.pop(key)
            if not waiter.done():
                waiter.set_exception(SendDirectly())

    def _finish(self, key: str, error: BaseException) -> None:
        self._attempts.pop(key, None)
        self._requests.pop(key, None)
        waiter = self._waiting.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _fail(self, keys: list[str], error: BaseException) -> None:
        for key in keys:
            self._in_batch.pop(key, None)
            self._finish(key, error)

    async def _call(self, endpoint: Endpoint, what: str, call: Callable[[], Any]) -> Any:
        """One Batch API call, retried through server errors and outages for up to ``max_outage``
        seconds; a refusal (a wrong key, no Batch API here) stops the run with the endpoint's words."""
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_delay(self.max_outage), wait=wait_random_exponential(multiplier=0.5, max=30),
                retry=retry_if_exception(_transient), reraise=True,
            ):
                with attempt:
                    return await call()
        except openai.NotFoundError:
            if what == "poll a batch":
                raise
            raise EndpointError(f"{endpoint.name} has no Batch API (404 when asked to {what}); build without "
                                "--batch, or use a provider that offers it (OpenAI, Azure OpenAI...)") from None
        except openai.APIStatusError as error:
            if _transient(error):
                raise EndpointOutage(f"{endpoint.name} kept failing to {what} for {self.max_outage:g} s: "
                                     f"{error.status_code}") from None
            hint = "; a smaller --batch-size makes smaller files" if error.status_code == 413 else ""
            raise EndpointError(f"{endpoint.name} refused to {what} ({error.status_code}): "
                                f"{_message(error.body)}{hint}") from None
        except openai.APIConnectionError as error:
            raise EndpointOutage(f"cannot reach {endpoint.name} to {what} for {self.max_outage:g} s: {error}") from None
        raise AssertionError("unreachable: the retry loop returns or raises")  # pragma: no cover


def _transient(error: BaseException) -> bool:
    if isinstance(error, openai.APIConnectionError):
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code >= 500 or error.status_code in RETRIED_STATUSES
    return False


def _message(body: Any) -> str:
    """The error message of an error body (``{"error": {"message": ...}}``), else the body."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return inner["message"]
    return str(body)[:300]


ALL = "all"
"""``--batch`` alone: every role's requests."""


def batched_roles(given: tuple[str, ...], roles: Mapping[str, bool], default: str) -> frozenset[str]:
    """The roles whose clients batch: those ``--batch`` names (``all``: every one; ``default``:
    the build's own model) and those whose recipe table says ``batch = true``. ``roles`` maps each
    role of the build to its table's ``batch``. An unknown name is a ``UsageError`` listing the
    valid ones."""
    names = {default, *roles}
    unknown = sorted(set(given) - names - {ALL})
    if unknown:
        raise UsageError(f"--batch {', '.join(unknown)}: no such role in this build; valid: {ALL}, "
                         f"{', '.join(sorted(names))} (a stage without a --role is served by {default})")
    if ALL in given:
        return frozenset(names)
    return frozenset({*given, *(name for name, batch in roles.items() if batch)})


def batch_numbers(numbers: Mapping[str, Mapping[str, Any]], ledger: BatchLedger) -> dict[str, Any] | None:
    """The manifest's ``batches``: what the batched roles sent, what the batch price took off their
    cost (None when a batched model has no price), and the batches still in flight."""
    batched = {role: entry["batch"] for role, entry in numbers.items() if "batch" in entry}
    if not batched and not ledger.entries:
        return None
    discounts = [entry["discount_usd"] for entry in batched.values()]
    return {
        "roles": sorted(role for role, entry in batched.items() if entry["submits"]),
        "batches": sum(entry["batches"] for entry in batched.values()),
        "requests": sum(entry["requests"] for entry in batched.values()),
        "discount_usd": round(sum(discounts), 6) if None not in discounts else None,
        "in_flight": [entry.id for entry in ledger.entries],
    }
