"""The run's memory: every LLM response and every memoised result, content-addressed in SQLite.

The cache is what makes a run resumable. A request's key is a hash of everything that decides
its answer (the endpoint's identity, model, messages, decoding parameters, request seed), so running the same command on
the same folder finds every answer it already paid for and sends only the missing requests.

Each response is committed as soon as it arrives. In WAL mode with ``synchronous=NORMAL`` a
commit is an append to the write-ahead log without an fsync: it survives the process being
killed (SIGKILL included) at any moment, which is the failure that matters for a long build; only
a crash of the whole machine can lose the last few commits.

A build on a cluster gives each shard a cache of its own (SQLite has one writer at a time, and
WAL's shared-memory index does not work across machines): ``exclusive`` keeps that index in the
process's own memory, so a shard's file may live on a network file system; ``base`` is the
folder's main cache, read-only, whose answers the shard needs no more than once. ``absorb`` adds
a shard's entries to the main cache when the shard is done.

A value is stored as zstd-compressed JSON (a BLOB) when that is smaller than its JSON text, which
it is for every response of more than a few words: a 1 KB answer then takes about a third of its
former room (``benchmarks/cache_size.py``), and a compressed record stays on its B-tree page
instead of spilling into an overflow page of its own. Whether a value is compressed is told by
its SQLite storage class (BLOB or TEXT), so the files written before compression (every value
TEXT) are read as they are, and a folder's cache may hold both kinds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Awaitable, Callable

import zstandard

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key   TEXT PRIMARY KEY,
    kind  TEXT NOT NULL,
    value NOT NULL
);
"""
# A rowid table, not WITHOUT ROWID as caches were first made: a WITHOUT ROWID table keeps at most
# about 1,000 bytes of a record on its B-tree page and the rest on an overflow page of its own, so
# every answer over that took a whole 4 KB page more; a rowid table keeps records of up to about
# 4,000 bytes on the page (the key's index costs some 50 bytes a row). Files made the other way
# keep their table: the same statements read and write both.


COMPRESSION_LEVEL = 3
"""zstd's default: higher levels save 2-3 % more on 1 KB answers for several times the CPU."""
_compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL)
_decompressor = zstandard.ZstdDecompressor()
# Both are used from one thread at a time: a cache belongs to one event loop's thread (and the
# zstandard objects keep no state between calls).


def encode_value(value: Any) -> str | bytes:
    """What the ``value`` column holds: compressed JSON (bytes) when smaller, else the JSON text."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    raw = text.encode("utf-8")
    packed = _compressor.compress(raw)
    return packed if len(packed) < len(raw) else text


def decode_value(stored: str | bytes) -> Any:
    """The value of a ``value`` column: BLOBs are compressed JSON, TEXT (every entry of a cache
    written before compression, and small values) is the JSON itself."""
    if isinstance(stored, bytes):
        return json.loads(_decompressor.decompress(stored))
    return json.loads(stored)


def content_key(kind: str, payload: Any) -> str:
    """A stable hash of a JSON-able payload (key order does not matter)."""
    canonical = json.dumps([kind, payload], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


class Cache:
    """Content-addressed store used from one event loop thread."""

    def __init__(self, path: Path | str, *, base: Path | None = None, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: every INSERT is its own committed transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if exclusive:
            # Must come before the first access in WAL mode: the WAL index then lives in this
            # process's memory instead of a shared-memory file, and no other process may open the
            # file while this one has it. A killed owner's log is recovered by the next opener.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._base = _read_only(base) if base is not None else None
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None and self._base is not None:
            row = self._base.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return decode_value(row[0])

    def put(self, key: str, kind: str, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO entries (key, kind, value) VALUES (?, ?, ?)",
            (key, kind, encode_value(value)),
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

    def checkpoint(self) -> None:
        """Move everything in the write-ahead log into the database file itself, so that readers
        that open the file read-only (shards on other machines) see every entry."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def absorb(self, other: Path) -> int:
        """Add the entries of another cache file (a shard's) that this one lacks; returns how many.
        Opening it recovers its write-ahead log if its owner was killed."""
        before = self._db.total_changes
        self._db.execute("ATTACH DATABASE ? AS other", (str(other),))
        try:
            self._db.execute("INSERT OR IGNORE INTO main.entries (key, kind, value) SELECT key, kind, value FROM other.entries")
        finally:
            self._db.execute("DETACH DATABASE other")
        return self._db.total_changes - before

    def close(self) -> None:
        self._db.close()
        if self._base is not None:
            self._base.close()


def _read_only(path: Path) -> sqlite3.Connection | None:
    """The main cache as a shard reads it: read-only, and ``immutable`` (no locks, no WAL), which
    holds because nobody writes it while the shards run and it was checkpointed before."""
    if not path.is_file():
        return None
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").fetchone() is None:
        db.close()
        return None
    return db
