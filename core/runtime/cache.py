"""The run's memory: every LLM response and every memoised result, content-addressed in SQLite.

The cache is what makes a run resumable. A request's key is a hash of everything that decides
its answer (the endpoint's identity, model, messages, decoding parameters, request seed), so running the same command on
the same folder finds every answer it already paid for and sends only the missing requests.

Each response is committed as soon as it arrives. In WAL mode with ``synchronous=NORMAL`` a
commit is an append to the write-ahead log without an fsync: it survives the process being
killed (SIGKILL included) at any moment, which is the failure that matters for a long build; only
a crash of the whole machine can lose the last few commits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Awaitable, Callable

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key   TEXT PRIMARY KEY,
    kind  TEXT NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""


def content_key(kind: str, payload: Any) -> str:
    """A stable hash of a JSON-able payload (key order does not matter)."""
    canonical = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


class Cache:
    """Content-addressed store used from one event loop thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: every INSERT is its own committed transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return json.loads(row[0])

    def put(self, key: str, kind: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO entries (key, kind, value) VALUES (?, ?, ?)",
            (key, kind, json.dumps(value, ensure_ascii=False, separators=(",", ":"))),
        )

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        return self._db.execute("SELECT COUNT(*) FROM entries WHERE kind = ?", (kind,)).fetchone()[0]

    async def memo(self, namespace: str, key: Any, compute: Callable[[], Awaitable[Any]]) -> Any:
        """``compute()`` once per (namespace, key); concurrent callers of one key share the work."""
        full_key = content_key(f"memo:{namespace}", key)
        stored = self.get(full_key)
        if stored is not None:
            return stored["value"]
        pending = self._in_flight.get(full_key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._in_flight[full_key] = future
        try:
            value = await compute()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must log it
            raise
        finally:
            self._in_flight.pop(full_key, None)
        self.put(full_key, f"memo:{namespace}", {"value": value})
        future.set_result(value)
        return value

    def close(self) -> None:
        self._db.close()
