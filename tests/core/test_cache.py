from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import sqlite3
import textwrap
from pathlib import Path

from evolinstruct.runtime.cache import Cache, content_key


def test_content_key_ignores_key_order_but_not_values() -> None:
    assert content_key("chat", {"a": 1, "b": [1, 2]}) == content_key("chat", {"b": [1, 2], "a": 1})
    assert content_key("chat", {"a": 1}) != content_key("chat", {"a": 2})
    assert content_key("chat", {"a": 1}) != content_key("memo", {"a": 1})


def test_entries_survive_reopening(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    cache.put("k", "chat", {"text": "héllo"})
    cache.close()
    assert Cache(tmp_path / "c.sqlite").get("k") == {"text": "héllo"}


def test_memo_computes_once_even_when_asked_concurrently(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    calls = 0

    async def compute() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"answer": 42}

    async def main() -> list[object]:
        return await asyncio.gather(*(cache.memo("job", {"code": "x"}, compute) for _ in range(5)))

    assert asyncio.run(main()) == [{"answer": 42}] * 5
    assert asyncio.run(cache.memo("job", {"code": "x"}, compute)) == {"answer": 42}
    assert calls == 1


def test_every_committed_entry_survives_sigkill(tmp_path: Path) -> None:
    """A writer killed with SIGKILL loses none of the entries it had already put."""
    path = tmp_path / "c.sqlite"
    writer = textwrap.dedent(
        f"""
        import sys, time
        from evolinstruct.runtime.cache import Cache
        cache = Cache({str(path)!r})
        for i in range(100000):
            cache.put(f"k{{i}}", "chat", {{"i": i}})
            print(i, flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    last = -1
    for line in process.stdout:
        last = int(line)
        if last >= 2000:
            break
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    cache = Cache(path)
    for i in range(last + 1):
        assert cache.get(f"k{i}") == {"i": i}


def test_a_shard_cache_reads_the_main_cache_and_writes_only_its_own(tmp_path: Path) -> None:
    main = Cache(tmp_path / "cache.sqlite")
    main.put("old", "chat", {"text": "from an earlier run"})
    main.checkpoint()  # what the main cache's readers on other machines need: all of it in the file
    shard = Cache(tmp_path / "shard" / "cache.sqlite", base=tmp_path / "cache.sqlite", exclusive=True)
    assert shard.get("old") == {"text": "from an earlier run"}
    shard.put("new", "chat", {"text": "from this shard"})
    assert main.get("new") is None and shard.count() == 1
    shard.close()
    assert main.absorb(tmp_path / "shard" / "cache.sqlite") == 1
    assert main.absorb(tmp_path / "shard" / "cache.sqlite") == 0  # entries it has are not added twice
    assert main.get("new") == {"text": "from this shard"} and main.count() == 2


def test_a_shard_cache_without_a_main_cache_reads_only_its_own(tmp_path: Path) -> None:
    shard = Cache(tmp_path / "s.sqlite", base=tmp_path / "missing.sqlite", exclusive=True)
    shard.put("k", "chat", {"v": 1})
    assert shard.get("k") == {"v": 1} and shard.get("other") is None


def test_a_shard_cache_is_its_owner_s_alone_and_a_killed_owner_loses_nothing(tmp_path: Path) -> None:
    """Exclusive WAL: no shared-memory file (which a network file system cannot share), a second
    opener is refused while the owner lives, and a SIGKILLed owner's entries are recovered, both
    by the shard that runs again and by the main cache absorbing the file."""
    path = tmp_path / "shard.sqlite"
    writer = textwrap.dedent(
        f"""
        import time
        from evolinstruct.runtime.cache import Cache
        cache = Cache({str(path)!r}, exclusive=True)
        for i in range(500):
            cache.put(f"k{{i}}", "chat", {{"i": i}})
        print("written", flush=True)
        time.sleep(60)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "written"
    assert not path.with_name("shard.sqlite-shm").exists() and path.with_name("shard.sqlite-wal").exists()
    try:
        Cache(path, exclusive=True)
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
    else:
        raise AssertionError("a second process opened a cache its owner holds")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    main = Cache(tmp_path / "cache.sqlite")
    assert main.absorb(path) == 500
    again = Cache(path, exclusive=True)
    assert all(again.get(f"k{i}") == {"i": i} for i in range(500))


OLD_SCHEMA = """
CREATE TABLE entries (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
"""


def _old_cache(path: Path, entries: dict[str, object]) -> None:
    """A cache file as the cache wrote it before values were compressed: a WITHOUT ROWID table
    of JSON text."""
    import json

    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    for key, value in entries.items():
        db.execute("INSERT INTO entries VALUES (?, 'chat', ?)", (key, json.dumps(value, separators=(",", ":"))))
    db.commit()
    db.close()


def test_a_cache_written_before_compression_is_read_and_extended(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    answer = {"text": "an answer written by the old cache " * 20, "usage": {"prompt_tokens": 3, "completion_tokens": 90, "requests": 1}}
    _old_cache(path, {"old": answer})
    cache = Cache(path)
    assert cache.get("old") == answer
    cache.put("new", "chat", {"text": "a new answer " * 50})
    cache.close()
    cache = Cache(path)
    assert cache.get("old") == answer and cache.get("new") == {"text": "a new answer " * 50}
    assert cache.count("chat") == 2
    cache.close()


def test_long_values_are_stored_compressed_and_short_ones_as_text(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    long_text = "The train leaves at nine and arrives at noon, three hours later. " * 16
    cache.put("long", "chat", {"text": long_text})
    cache.put("short", "memo:x", {"value": 1})
    cache.close()
    db = sqlite3.connect(tmp_path / "c.sqlite")
    stored = dict(db.execute("SELECT key, value FROM entries").fetchall())
    db.close()
    assert isinstance(stored["long"], bytes) and len(stored["long"]) < len(long_text) / 2
    assert stored["short"] == '{"value":1}'
    assert Cache(tmp_path / "c.sqlite").get("long") == {"text": long_text}


def test_an_old_shard_cache_is_absorbed_into_a_new_main_cache(tmp_path: Path) -> None:
    _old_cache(tmp_path / "shard.sqlite", {"k": {"text": "from an old shard"}})
    main = Cache(tmp_path / "cache.sqlite")
    assert main.absorb(tmp_path / "shard.sqlite") == 1
    assert main.get("k") == {"text": "from an old shard"}
    main.close()
