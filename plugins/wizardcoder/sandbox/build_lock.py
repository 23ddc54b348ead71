"""One `evol sandbox build` at a time per cache directory.

Two builds sharing a cache would debootstrap into the same folder and import over each other's
image. The lock is an advisory ``flock`` on ``CACHE/build.lock``: the kernel drops it when its
holder dies, however it dies, so a lock left by a killed build is simply taken over, and a build
that finds the lock held by a live process stops at once, saying which process holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from evolinstruct import EvolError

LOCK_NAME = "build.lock"


class BuildLocked(EvolError):
    """Another build holds the cache."""


@contextlib.contextmanager
def build_lock(cache_dir: Path) -> Iterator[Path]:
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / LOCK_NAME
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BuildLocked(
                f"another `evol sandbox build` ({holder}) is using the cache {cache_dir}; "
                "wait for it to finish, or give this one another --cache-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield path
    finally:
        handle.close()  # releases the lock
