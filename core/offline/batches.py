"""The Batch API of the loopback server: ``/v1/files`` and ``/v1/batches`` in OpenAI's format.

A client uploads a JSONL file (``purpose=batch``) whose lines are requests
(``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``), creates a batch of
it (``completion_window`` 24h), polls the batch, and downloads its output file (the lines that
were answered: ``{"id", "custom_id", "response": {"status_code", "request_id", "body"},
"error": null}``) and its error file (the lines answered with an error status, and those never
answered: ``"response": null, "error": {"code", "message"}``).

Each line is answered exactly as the server's chat-completions route answers the same body
(``answer``): the same reply text, the same usage, the same scripted rules, counted and logged
as a chat request. A batch stays ``in_progress`` for ``hold()`` seconds after it was created
(read when the batch is looked at, so a test may shorten it while batches wait), and is
processed the first time it is looked at after that: what a client sees depends on its own
requests only, never on a timer firing between them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.web_request import BaseRequest

CHAT_URL = "/v1/chat/completions"
COMPLETION_WINDOW = "24h"
"""The only completion window OpenAI offers, and so the only one served here."""
MAX_FILE_BYTES = 200 * 1024 * 1024
"""The largest batch file OpenAI takes."""

Answer = Callable[[dict[str, Any]], tuple[int, bytes]]
"""The chat route's answer to one request body: (HTTP status, response body)."""


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def described(self) -> dict[str, Any]:
        return {"id": self.id, "object": "file", "bytes": len(self.content), "created_at": self.created_at,
                "filename": self.filename, "purpose": self.purpose, "status": "processed"}


@dataclass
class _Batch:
    id: str
    input_file_id: str
    created_at: int
    created: float  # time.monotonic() at creation
    metadata: dict[str, Any] | None
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    ended_at: int | None = None

    def described(self) -> dict[str, Any]:
        ended = self.ended_at
        return {
            "id": self.id, "object": "batch", "endpoint": CHAT_URL, "input_file_id": self.input_file_id,
            "completion_window": COMPLETION_WINDOW, "status": self.status,
            "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "created_at": self.created_at, "in_progress_at": self.created_at,
            "expires_at": self.created_at + 24 * 3600,
            "completed_at": ended if self.status == "completed" else None,
            "failed_at": ended if self.status == "failed" else None,
            "cancelled_at": ended if self.status == "cancelled" else None,
            "finalizing_at": None, "expired_at": None, "cancelling_at": None,
            "request_counts": dict(self.counts), "metadata": self.metadata,
        }


class BatchDesk:
    """The files and batches of one loopback server; ``handle`` serves their routes."""

    def __init__(self, answer: Answer, hold: Callable[[], float]) -> None:
        self._answer = answer
        self._hold = hold
        self._lock = threading.Lock()  # the counts are read from the test's thread
        self._files: dict[str, _File] = {}
        self._batches: dict[str, _Batch] = {}
        self._lines: dict[str, tuple[str, ...]] = {}  # batch id: the custom_ids it was given
        self._collected: set[str] = set()  # batches whose output or error file was downloaded
        self._numbers = 0

    # -- what tests read -----------------------------------------------------------------------

    @property
    def created(self) -> int:
        """Batches created so far."""
        with self._lock:
            return len(self._batches)

    @property
    def submitted(self) -> dict[str, tuple[str, ...]]:
        """Each batch's id and the custom_ids of its lines, in the order created."""
        with self._lock:
            return dict(self._lines)

    @property
    def collected(self) -> frozenset[str]:
        """The batches whose output or error file a client downloaded."""
        with self._lock:
            return frozenset(self._collected)

    @property
    def files(self) -> int:
        """Files stored (uploaded, or a batch's output and error files) and not deleted."""
        with self._lock:
            return len(self._files)

    def status(self, batch_id: str) -> str:
        with self._lock:
            return self._batches[batch_id].status

    # -- routes --------------------------------------------------------------------------------

    async def handle(self, request: BaseRequest) -> web.Response | None:
        """The answer to a request for ``/v1/files...`` or ``/v1/batches...``; None for other paths."""
        parts = request.path.removeprefix("/v1").strip("/").split("/")
        method = request.method
        if parts[0] == "files":
            if len(parts) == 1 and method == "POST":
                return await self._upload(request)
            if len(parts) == 2 and method == "GET":
                return self._file(parts[1], lambda f: _json(f.described()))
            if len(parts) == 2 and method == "DELETE":
                return self._delete(parts[1])
            if len(parts) == 3 and parts[2] == "content" and method == "GET":
                return self._file(parts[1], self._content)
        elif parts[0] == "batches":
            if len(parts) == 1 and method == "POST":
                return await self._create(request)
            if len(parts) == 1 and method == "GET":
                return self._list(request)
            if len(parts) == 2 and method == "GET":
                return self._batch(parts[1], lambda b: _json(b.described()))
            if len(parts) == 3 and parts[2] == "cancel" and method == "POST":
                return self._batch(parts[1], self._cancel)
        else:
            return None
        return _error(404, f"no route for {method} {request.path} on the loopback LLM server")

    async def _upload(self, request: BaseRequest) -> web.Response:
        # Read part by part: request.post() refuses bodies over 1 MB, and a batch file of a
        # thousand requests is larger (OpenAI takes up to 200 MB).
        parts: dict[str, tuple[str | None, bytes]] = {}
        try:
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if isinstance(part, BodyPartReader) and part.name:
                    data = bytearray()
                    while chunk := await part.read_chunk():  # read() too stops at 1 MB
                        data.extend(chunk)
                        if len(data) > MAX_FILE_BYTES:
                            return _error(413, f"a file may hold at most {MAX_FILE_BYTES} bytes")
                    parts[part.name] = (part.filename, bytes(data))
        except (ValueError, AssertionError) as error:  # aiohttp asserts a multipart content type
            return _error(400, f"the upload is not a multipart form: {error}")
        purpose = parts.get("purpose", (None, b""))[1].decode("utf-8", "replace")
        if purpose != "batch":
            return _error(400, f"purpose must be 'batch' on this server, got {purpose!r}")
        if "file" not in parts:
            return _error(400, "the form has no 'file' part")
        filename, content = parts["file"]
        with self._lock:
            file = _File(self._new_id("file"), filename or "upload.jsonl", "batch", content, int(time.time()))
            self._files[file.id] = file
        return _json(file.described())

    def _file(self, file_id: str, then: Callable[[_File], web.Response]) -> web.Response:
        with self._lock:
            file = self._files.get(file_id)
        if file is None:
            return _error(404, f"no file {file_id!r}")
        return then(file)

    def _content(self, file: _File) -> web.Response:
        with self._lock:
            for batch in self._batches.values():
                if file.id in (batch.output_file_id, batch.error_file_id):
                    self._collected.add(batch.id)
        return web.Response(body=file.content, content_type="application/octet-stream")

    def _delete(self, file_id: str) -> web.Response:
        with self._lock:
            found = self._files.pop(file_id, None)
        if found is None:
            return _error(404, f"no file {file_id!r}")
        return _json({"id": file_id, "object": "file", "deleted": True})

    async def _create(self, request: BaseRequest) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError as error:
            return _error(400, f"the request body is not valid JSON: {error}")
        if not isinstance(body, dict):
            return _error(400, "the request body must be a JSON object")
        if body.get("endpoint") != CHAT_URL:
            return _error(400, f"endpoint must be {CHAT_URL!r} on this server, got {body.get('endpoint')!r}")
        if body.get("completion_window") != COMPLETION_WINDOW:
            return _error(400, f"completion_window must be {COMPLETION_WINDOW!r}, got {body.get('completion_window')!r}")
        with self._lock:
            file = self._files.get(str(body.get("input_file_id")))
        if file is None:
            return _error(400, f"no input file {body.get('input_file_id')!r}")
        if file.purpose != "batch":
            return _error(400, f"file {file.id} was not uploaded for purpose 'batch'")
        lines, errors = _read_lines(file.content)
        with self._lock:
            batch = _Batch(self._new_id("batch"), file.id, int(time.time()), time.monotonic(),
                           body.get("metadata"))
            batch.counts["total"] = len(lines)
            if errors:  # OpenAI validates the whole file first: one bad line fails the batch
                batch.status, batch.errors, batch.ended_at = "failed", errors, int(time.time())
            self._batches[batch.id] = batch
            self._lines[batch.id] = tuple(line["custom_id"] for line in lines)
        return _json(batch.described())

    def _list(self, request: BaseRequest) -> web.Response:
        try:
            limit = max(1, min(100, int(request.query.get("limit", "20"))))
        except ValueError:
            return _error(400, "limit must be an integer")
        after = request.query.get("after")
        with self._lock:
            newest_first = list(reversed(self._batches.values()))
        if after is not None:
            ids = [batch.id for batch in newest_first]
            newest_first = newest_first[ids.index(after) + 1:] if after in ids else []
        page = newest_first[:limit]
        for batch in page:
            self._advance(batch)
        data = [batch.described() for batch in page]
        return _json({"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
                      "last_id": data[-1]["id"] if data else None, "has_more": len(newest_first) > limit})

    def _batch(self, batch_id: str, then: Callable[[_Batch], web.Response]) -> web.Response:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            return _error(404, f"no batch {batch_id!r}")
        self._advance(batch)
        return then(batch)

    def _cancel(self, batch: _Batch) -> web.Response:
        if batch.status == "in_progress":
            # Nothing of it was answered: every line is reported as not done, in the error file.
            lines, _ = _read_lines(self._files[batch.input_file_id].content)
            failed = [_line(batch, line["custom_id"], None, {"code": "batch_cancelled",
                                                              "message": "the batch was cancelled"})
                      for line in lines]
            self._finish(batch, "cancelled", [], failed)
        return _json(batch.described())

    # -- processing ----------------------------------------------------------------------------

    def _advance(self, batch: _Batch) -> None:
        """Answer the batch's lines once it has been held long enough (on the server's thread)."""
        if batch.status != "in_progress" or time.monotonic() - batch.created < self._hold():
            return
        lines, _ = _read_lines(self._files[batch.input_file_id].content)
        answered: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for line in lines:
            status, body = self._answer(line["body"])
            try:
                parsed = json.loads(body)
            except ValueError:  # a scripted malformed body: passed on as the text it is
                parsed = body.decode("utf-8", "replace")
            response = {"status_code": status, "request_id": f"req-{batch.id}-{len(answered) + len(failed)}",
                        "body": parsed}
            (answered if status == 200 else failed).append(_line(batch, line["custom_id"], response, None))
        self._finish(batch, "completed", answered, failed)

    def _finish(self, batch: _Batch, status: str, answered: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
        with self._lock:
            if answered:
                batch.output_file_id = self._store(f"{batch.id}_output.jsonl", answered)
            if failed:
                batch.error_file_id = self._store(f"{batch.id}_error.jsonl", failed)
            batch.counts.update(completed=len(answered), failed=len(failed))
            batch.status, batch.ended_at = status, int(time.time())

    def _store(self, filename: str, lines: list[dict[str, Any]]) -> str:
        content = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        file = _File(self._new_id("file"), filename, "batch_output", content, int(time.time()))
        self._files[file.id] = file
        return file.id

    def _new_id(self, prefix: str) -> str:
        self._numbers += 1
        return f"{prefix}-loopback{self._numbers:06d}"


def _line(batch: _Batch, custom_id: str, response: dict[str, Any] | None, error: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": f"batch_req-{batch.id}-{custom_id}", "custom_id": custom_id, "response": response, "error": error}


def _read_lines(content: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The request lines of an input file, and the validation errors of those that are not."""
    lines: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, text in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            errors.append({"code": "invalid_json_line", "message": "the line is not JSON", "line": number, "param": None})
            continue
        problem = None
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            problem = "each line needs a custom_id (a string)"
        elif line["custom_id"] in seen:
            problem = f"custom_id {line['custom_id']!r} is not unique in the file"
        elif line.get("method") != "POST" or line.get("url") != CHAT_URL:
            problem = f"each line must be a POST to {CHAT_URL}"
        elif not isinstance(line.get("body"), dict):
            problem = "each line needs a body (a JSON object)"
        if problem is not None:
            errors.append({"code": "invalid_request", "message": problem, "line": number, "param": None})
            continue
        seen.add(line["custom_id"])
        lines.append(line)
    if not lines and not errors:
        errors.append({"code": "empty_file", "message": "the input file has no request", "line": None, "param": None})
    return lines, errors


def _json(payload: dict[str, Any]) -> web.Response:
    return web.Response(body=json.dumps(payload).encode(), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")
