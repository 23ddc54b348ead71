from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
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
