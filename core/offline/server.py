"""A real OpenAI-compatible chat-completions server on loopback, scripted per test.

Tests talk to it over HTTP with the real ``openai`` client, so retries, timeouts, keep-alive and
error parsing are exercised exactly as against a hosted endpoint. It runs on aiohttp's low-level
server (no router, no access log): the engine benchmark drives it at concurrency 64 and must
measure its own limits, not this server's.

Determinism: reply text depends only on the request body (hashed), never on arrival order;
the only randomness, ``Rule.probability``, is keyed by (server seed, request number, rule index).
``/v1/embeddings`` answers with the offline model's hashed character n-gram vectors
(``embeddings.py``): the same text, the same vector. ``/v1/files`` and ``/v1/batches`` serve the
Batch API (``batches.py``), each line answered as the chat route answers it.

``evol loopback-llm`` serves in the foreground (see ``run_foreground``).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TextIO

from aiohttp import web
from aiohttp.web_request import BaseRequest

from .batches import BatchDesk
from .embeddings import DEFAULT_DIMENSIONS as DEFAULT_EMBEDDING_DIMENSIONS, HashedEmbedder
from .model import offline_reply
from .requests import ChatRequest, RecordedRequest, Responder, message_text
from .script import Rule

# A fixed creation time: responses to equal requests are byte-identical.
CREATED = 1_700_000_000
DEFAULT_MODEL = "offline"
STOP_GRACE = 0.05  # seconds in-flight (hanging) handlers get when the server stops

_CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODELS_PATHS = frozenset({"/v1/models", "/models"})
_EMBEDDINGS_PATHS = frozenset({"/v1/embeddings", "/embeddings"})
MAX_EMBEDDING_DIMENSIONS = 4096
_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", None),
    408: ("timeout_error", None),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}
# A body cut off mid-string: no JSON parser accepts it, whatever the client's validation mode.
_MALFORMED = b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"index": 0, "message": {"content": "cut off'


def request_key(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def count_tokens(text: str) -> int:
    # A rough, deterministic stand-in for a tokenizer: about four tokens per three words.
    return round(len(text.split()) * 4 / 3)


def _draw(seed: int, number: int, rule_index: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{number}:{rule_index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class _Decision:
    number: int
    rule_index: int | None
    rule: Rule | None
    application: int  # how many times the rule had been applied before this request


class LoopbackLLM:
    """An OpenAI-compatible server in a background thread; use as a context manager or start()/stop()."""

    def __init__(
        self,
        *,
        rules: Sequence[Rule] = (),
        latency: float = 0.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Responder | None = None,
        structured_output: bool = True,
        models: Sequence[str] = (),
        batch_hold: float = 0.0,
        batch_api: bool = True,
    ) -> None:
        self.latency = latency
        self.batch_hold = batch_hold
        """Seconds a batch stays in_progress after it is created; read whenever a batch is looked
        at, so a test may change it while batches wait."""
        self.batches = BatchDesk(self._answer, lambda: self.batch_hold)
        # False: /v1/files and /v1/batches answer 404, as from servers without the Batch API.
        self.batch_api = batch_api
        # False: requests that ask for response_format get a 400, as from endpoints without it.
        self.structured_output = structured_output  # read per request, so a test may change it while serving
        self.seed = seed
        self.host = host
        self.port = port
        self.responder: Responder = responder or offline_reply
        self._lock = threading.Lock()  # rules and log are touched by the test thread and the loop
        self._rules: list[Rule] = list(rules)
        self._applied: list[int] = [0] * len(self._rules)
        self._count = 0
        self._log: list[RecordedRequest] = []
        # What GET /models lists: empty by default, meaning "any model name is served" (the
        # offline model answers whatever model is asked for); a test can emulate a server of
        # named models.
        self.models: tuple[str, ...] = tuple(models)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self._embedders: dict[int, HashedEmbedder] = {}  # by dimensions; used on the server's thread only

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> LoopbackLLM:
        if self._thread is not None:
            raise RuntimeError("this LoopbackLLM is already started")
        sock = self.bind()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run_thread, args=(sock, ready), name=f"loopback-llm:{self.port}", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError("the loopback LLM server did not start within 30 s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the loopback LLM server failed to start: {self._startup_error}") from (
                self._startup_error
            )
        return self

    def stop(self) -> None:
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop closed between the check and the call
                pass
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> LoopbackLLM:
        return self.start() if self._thread is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def bind(self) -> socket.socket:
        """A listening socket on (host, port); with port 0 the OS picks a free port, kept in self.port."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(1024)  # the benchmark opens many connections at once
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    def _run_thread(self, sock: socket.socket, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # this thread's own loop, for code that asks for "the" loop
        self._loop = loop
        try:
            loop.run_until_complete(self.serve(sock, on_ready=ready.set))
        except BaseException as exc:  # reported to start(), which is waiting on `ready`
            self._startup_error = exc
        finally:
            ready.set()
            # Handlers still sleeping (a hang rule) are cancelled, not left for the GC to scold.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def serve(self, sock: socket.socket, *, on_ready: Callable[[], None] | None = None) -> None:
        """Serve on an already bound socket until stop() (or cancellation)."""
        self._stopping = asyncio.Event()
        server = web.Server(self._handle, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=STOP_GRACE)
        await runner.setup()
        try:
            site = web.SockSite(runner, sock, backlog=1024)
            await site.start()
            if on_ready is not None:
                on_ready()
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    # -- scripting and log -------------------------------------------------------------------

    def add_rule(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)
            self._applied.append(0)

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()
            self._applied.clear()

    @property
    def rules(self) -> tuple[Rule, ...]:
        with self._lock:
            return tuple(self._rules)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received since the last reset_log(), in arrival order."""
        with self._lock:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """Chat requests received so far; numbering is never reset, so rules can target ``count + k``."""
        with self._lock:
            return self._count

    def reset_log(self) -> None:
        """Forget the recorded requests (request numbering goes on)."""
        with self._lock:
            self._log.clear()

    def _decide(self, last_user_message: str, *, scripted: bool = True) -> _Decision:
        with self._lock:
            self._count += 1
            number = self._count
            if not scripted:
                return _Decision(number, None, None, 0)
            for index, rule in enumerate(self._rules):
                if not rule.selects(last_user_message, number):
                    continue
                if rule.times is not None and self._applied[index] >= rule.times:
                    continue
                if rule.probability < 1.0 and _draw(self.seed, number, index) >= rule.probability:
                    continue
                application = self._applied[index]
                self._applied[index] += 1
                return _Decision(number, index, rule, application)
            return _Decision(number, None, None, 0)

    def _record(self, decision: _Decision, body: dict[str, Any], key: str, status: int) -> None:
        with self._lock:
            self._log.append(RecordedRequest(decision.number, body, key, status, decision.rule_index))

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        path = request.path
        if path in _CHAT_PATHS:
            if request.method != "POST":
                return _error(405, f"{request.method} is not allowed on {path}; use POST")
            return await self._chat(request)
        if path in _MODELS_PATHS and request.method == "GET":
            return self._list_models()
        if path in _EMBEDDINGS_PATHS:
            if request.method != "POST":
                return _error(405, f"{request.method} is not allowed on {path}; use POST")
            return await self._embeddings(request)
        batch_route = await self.batches.handle(request) if self.batch_api else None
        if batch_route is not None:
            return batch_route
        return _error(404, f"no route for {request.method} {path} on the loopback LLM server")

    async def _chat(self, request: BaseRequest) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            body = exc
        response, rule = self._reply(body)
        wait = self.latency
        if rule is not None:
            wait += (rule.hang or 0.0) + (rule.delay or 0.0)
        if wait > 0:
            await asyncio.sleep(wait)
        return response

    def _answer(self, body: dict[str, Any]) -> tuple[int, bytes]:
        """What the chat route answers to ``body`` (status and body), without its waits: a batch
        line's answer."""
        response, _rule = self._reply(body)
        assert isinstance(response.body, bytes)
        return response.status, response.body

    def _reply(self, body: Any) -> tuple[web.Response, Rule | None]:
        """The chat route's answer to a request body (or the error that made it unreadable),
        counted and logged, and the rule that decided it."""
        if isinstance(body, Exception):
            body, problem = {}, f"the request body is not valid JSON: {body}"
        else:
            problem = _check_body(body)
        if problem is not None:
            # Counted (numbers are per received request) but never scripted: a rule meant for
            # real requests should not be spent on a broken one.
            decision = self._decide("", scripted=False)
            self._record(decision, body, request_key(body), 400)
            return _error(400, problem), None

        key = request_key(body)
        response_format = body.get("response_format")
        if response_format is not None and not self.structured_output:
            decision = self._decide("", scripted=False)
            self._record(decision, body, key, 400)
            return _error(400, "response_format is not supported by this server"), None
        messages = tuple(body["messages"])
        chat = ChatRequest(
            model=str(body.get("model", DEFAULT_MODEL)),
            messages=messages,
            seed=body.get("seed"),
            temperature=body.get("temperature"),
            top_p=body.get("top_p"),
            max_tokens=body.get("max_tokens") or body.get("max_completion_tokens"),
            n=int(body.get("n") or 1),
            key=key,
            response_format=response_format if isinstance(response_format, dict) else None,
        )
        decision = self._decide(chat.last_user_message)
        rule = decision.rule
        # The response is built before waiting, so the log keeps arrival order and final status.
        response = self._respond(chat, decision)
        self._record(decision, body, key, response.status)
        return response, rule

    def _respond(self, chat: ChatRequest, decision: _Decision) -> web.Response:
        rule = decision.rule
        if rule is not None and rule.status is not None:
            headers = {}
            if rule.retry_after is not None:
                seconds = rule.retry_after
                headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
            return _error(
                rule.status,
                f"scripted {rule.status} from loopback rule {decision.rule_index} (request {decision.number})",
                headers=headers,
            )
        if rule is not None and rule.malformed:
            return web.Response(body=_MALFORMED, content_type="application/json")
        reply = rule.reply_for(decision.application) if rule is not None else None
        try:
            texts = [
                reply if reply is not None else self.responder(_with_choice(chat, i)) for i in range(chat.n)
            ]
        except Exception as exc:  # a broken custom responder should fail the request, loudly
            return _error(500, f"the loopback responder raised {type(exc).__name__}: {exc}")
        return web.Response(body=_completion_body(chat, texts), content_type="application/json")

    async def _embeddings(self, request: BaseRequest) -> web.Response:
        """The offline model's embeddings (``embeddings.HashedEmbedder``): the same text always
        gets the same vector. Counted and logged like chat requests, never scripted: a rule is
        written for chat replies."""
        raw = await request.read()
        try:
            body = json.loads(raw)
            problem = _check_embeddings_body(body)
        except (ValueError, UnicodeDecodeError) as exc:
            body, problem = {}, f"the request body is not valid JSON: {exc}"
        decision = self._decide("", scripted=False)
        if problem is not None:
            self._record(decision, body, request_key(body), 400)
            return _error(400, problem)
        texts = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        dimensions = body.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
        embedder = self._embedders.get(dimensions)
        if embedder is None:
            embedder = self._embedders[dimensions] = HashedEmbedder(dimensions)
        vectors = embedder.embed_many(texts)
        as_base64 = body.get("encoding_format") == "base64"
        tokens = sum(count_tokens(text) for text in texts)
        payload = {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": index,
                    # base64: the vector's float32 bytes, little-endian, as OpenAI sends them.
                    "embedding": base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
                    if as_base64
                    else vector.tolist(),
                }
                for index, vector in enumerate(vectors)
            ],
            "model": str(body.get("model", DEFAULT_MODEL)),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        self._record(decision, body, request_key(body), 200)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return web.Response(body=json.dumps(payload).encode(), content_type="application/json")

    def _list_models(self) -> web.Response:
        names = list(self.models)
        data = [{"id": name, "object": "model", "created": CREATED, "owned_by": "evolinstruct-loopback"}
                for name in names]
        return web.Response(body=json.dumps({"object": "list", "data": data}).encode(),
                            content_type="application/json")


def _with_choice(chat: ChatRequest, choice: int) -> ChatRequest:
    if choice == 0:
        return chat
    return dataclasses.replace(chat, choice=choice)


def _check_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        return "'messages' must be a non-empty list of message objects"
    n = body.get("n")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128):
        return "'n' must be an integer from 1 to 128"
    return None


def _check_embeddings_body(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    given = body.get("input")
    texts = [given] if isinstance(given, str) else given
    if not isinstance(texts, list) or not texts:
        return "'input' must be a string or a non-empty list of strings"
    if not all(isinstance(text, str) for text in texts):
        return "'input' must be text: token arrays are not supported by the loopback server"
    empty = [index for index, text in enumerate(texts) if not text.strip()]
    if empty:
        return f"'input' [{empty[0]}] is empty: an empty text has no embedding"
    dimensions = body.get("dimensions")
    if dimensions is not None and (
        not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= MAX_EMBEDDING_DIMENSIONS
    ):
        return f"'dimensions' must be an integer from 1 to {MAX_EMBEDDING_DIMENSIONS}"
    if body.get("encoding_format") not in (None, "float", "base64"):
        return "'encoding_format' must be 'float' or 'base64'"
    return None


def _completion_body(chat: ChatRequest, texts: Sequence[str]) -> bytes:
    prompt_tokens = sum(count_tokens(message_text(m)) for m in chat.messages)
    completion_tokens = sum(count_tokens(t) for t in texts)
    return json.dumps(
        {
            "id": f"chatcmpl-{chat.key[:24]}",
            "object": "chat.completion",
            "created": CREATED,
            "model": chat.model,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
                for i, text in enumerate(texts)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "fp_loopback",
        },
        ensure_ascii=False,
    ).encode()


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json",
                        headers=headers)


# -- foreground serving (the CLI and ``python -m``) ----------------------------------------------


def run_foreground(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    latency: float = 0.0,
    rules: Sequence[Rule] = (),
    seed: int = 0,
    batch_hold: float = 0.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> None:
    """Serve until Ctrl-C (or SIGTERM's default death), announcing the URL on ``out``.

    The first line on ``out`` is ``listening on URL``: a parent process started with ``--port 0``
    reads the port from it. The hints for humans go to ``err`` so stdout stays one line.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    server = LoopbackLLM(rules=rules, latency=latency, seed=seed, host=host, port=port, batch_hold=batch_hold)
    sock = server.bind()

    def announce() -> None:
        print(f"listening on {server.base_url}", file=out, flush=True)
        print(
            f"loopback LLM (bundled offline model, placeholder text; {len(rules)} rule(s), "
            f"latency {latency:g} s, seed {seed}). Point evol at it with:\n"
            f"  OPENAI_BASE_URL={server.base_url} OPENAI_API_KEY=sk-loopback evol build ...\n"
            f"Press Ctrl-C to stop.",
            file=err,
            flush=True,
        )

    try:
        asyncio.run(server.serve(sock, on_ready=announce))
    except KeyboardInterrupt:
        print("stopped", file=err, flush=True)
