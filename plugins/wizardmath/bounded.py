"""Run sympy work in persistent worker processes that are killed when a call runs too long.

sympy can spend unbounded time (and memory) on innocent-looking input such as
``10^{10^{10^{10}}}`` or a factorial of a huge number, and it does so inside C-level big-integer
arithmetic that no in-process alarm can interrupt. So every parse and comparison runs in a
separate process, and the limit is enforced from outside: a worker that overruns is killed and
replaced, and the call reports a timeout.

Workers are persistent (starting a Python with sympy costs about a second) and take batches: one
round trip can carry many items, each still bounded on its own, because a worker handles its items
in order and reports each result as soon as it is done, so the parent always knows which item is
running and since when.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import sys
import threading
from contextlib import contextmanager
import time
from typing import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Callable, Sequence

# A worker may use this much address space; past it, MemoryError is raised inside the worker
# instead of the machine swapping while the clock runs.
MEMORY_LIMIT_BYTES = 3 * 1024**3

# Modules a forkserver imports once, so that replacing a killed worker is a cheap fork.
PRELOAD = ["sympy", "wizardmath.answers", "wizardmath.steps", "wizardmath.units_loaded"]


@dataclass(frozen=True)
class Outcome:
    """The result of one bounded call: a value, or why there is none."""

    value: Any = None
    error: str | None = None
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):  # not on this platform, or already lower
        pass


def _worker_main(conn: Connection) -> None:
    """Serve batches: receive (fn, [args, ...]); send (index, ok, value_or_error) per item."""
    _limit_memory()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, batch = message
        for index, args in enumerate(batch):
            try:
                reply = (index, True, fn(*args))
            except BaseException as error:  # RecursionError and MemoryError included
                reply = (index, False, f"{type(error).__name__}: {error}"[:500])
            try:
                conn.send(reply)
            except Exception as error:  # an unpicklable result
                conn.send((index, False, f"unsendable result: {error}"[:500]))


@dataclass(frozen=True)
class _Busy:
    worker: "_Worker"
    batch: list[int]
    position: int
    since: float


_start_lock = threading.Lock()


@contextmanager
def _main_module_hidden():
    """Start children without re-running the caller's script.

    spawn and forkserver children import the parent's ``__main__`` to find pickled functions;
    our workers only need ``wizardmath``, and a script without an ``if __name__ == "__main__"``
    guard would otherwise run again in every worker.
    """
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__") if hasattr(main, name)}
    with _start_lock:
        try:
            if "__file__" in saved:
                del main.__file__
            if "__spec__" in saved:
                main.__spec__ = None
            yield
        finally:
            for name, value in saved.items():
                setattr(main, name, value)


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        parent, child = context.Pipe()
        self.conn = parent
        self.process = context.Process(target=_worker_main, args=(child,), daemon=True)
        with _main_module_hidden():
            self.process.start()
        child.close()

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(timeout=5)
        finally:
            self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=1)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def _default_context() -> multiprocessing.context.BaseContext:
    # fork is unsafe with threads (asyncio.to_thread callers); forkserver forks from a clean,
    # preloaded server, so a replacement worker is ready in milliseconds.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class BoundedPool:
    """A few persistent worker processes; every call is bounded in wall-clock time.

    Thread-safe: each call checks out idle workers for its duration, so several threads (or
    ``asyncio.to_thread`` callers) can use one pool at once.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.size = max(1, workers or min(4, os.cpu_count() or 1))
        self._context = _default_context()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False

    # -- worker bookkeeping -------------------------------------------------------------------

    def _checkout(self, wanted: int) -> list[_Worker]:
        """At least one worker (blocking until one is free), up to ``wanted`` if idle."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        taken: list[_Worker] = []
        with self._lock:
            while len(taken) < wanted:
                try:
                    taken.append(self._idle.get_nowait())
                except queue.Empty:
                    break
            while len(taken) < wanted and self._started < self.size:
                self._started += 1
                taken.append(_Worker(self._context))
        if not taken:
            taken.append(self._idle.get())
        return taken

    def _checkin(self, worker: _Worker) -> None:
        if self._closed:
            worker.stop()
        else:
            self._idle.put(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        return _Worker(self._context)

    # -- calls ----------------------------------------------------------------------------------

    def run(self, fn: Callable[..., Any], *args: Any, timeout_s: float = 5.0) -> Outcome:
        """One call of ``fn(*args)`` in a worker, bounded by ``timeout_s`` seconds."""
        return self.map(fn, [args], timeout_s=timeout_s)[0]

    def map(
        self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], timeout_s: float = 5.0,
        progress: Callable[[int], None] | None = None,
    ) -> list[Outcome]:
        """``fn(*args)`` for each args tuple, in order; each item bounded by ``timeout_s``.

        Items are split into contiguous chunks, one per free worker, and sent in one message per
        chunk. ``progress`` is called with the number of items finished since its last call.
        """
        results: list[Outcome | None] = [None] * len(items)
        if not items:
            return []
        workers = self._checkout(min(self.size, len(items)))
        # Chunks small enough that a killed worker does not delay too many items.
        chunk = max(1, min(64, len(items) // (len(workers) * 4) or 1))
        starts = list(range(0, len(items), chunk))[::-1]  # popped from the end
        # Per busy worker: the batch it was sent, the position of its running item, and since when.
        active: dict[Connection, _Busy] = {}

        def next_chunk() -> list[int]:
            if not starts:
                return []
            first = starts.pop()
            return list(range(first, min(first + chunk, len(items))))

        def give(worker: _Worker, batch: list[int]) -> None:
            if not batch:
                self._checkin(worker)
                return
            worker.conn.send((fn, [items[i] for i in batch]))
            active[worker.conn] = _Busy(worker, batch, 0, time.monotonic())

        def finish(item: int, outcome: Outcome) -> None:
            results[item] = outcome
            if progress:
                progress(1)

        try:
            for worker in workers:
                give(worker, next_chunk())
            while active:
                deadline = min(busy.since for busy in active.values()) + timeout_s
                ready = wait(list(active), timeout=max(0.0, deadline - time.monotonic()))
                now = time.monotonic()
                for conn in ready:
                    busy = active.pop(conn)
                    try:
                        index, ok, value = conn.recv()
                    except (EOFError, OSError):  # the worker died (e.g. killed by the OS)
                        finish(busy.batch[busy.position], Outcome(
                            error="worker died", seconds=now - busy.since))
                        give(self._replace(busy.worker), busy.batch[busy.position + 1:] or next_chunk())
                        continue
                    seconds = now - busy.since
                    finish(busy.batch[index], Outcome(value=value, seconds=seconds) if ok
                           else Outcome(error=value, seconds=seconds))
                    if index + 1 < len(busy.batch):  # it goes on with the items it already has
                        active[conn] = _Busy(busy.worker, busy.batch, index + 1, now)
                    else:
                        give(busy.worker, next_chunk())
                for conn, busy in list(active.items()):
                    if now - busy.since < timeout_s:
                        continue
                    del active[conn]
                    finish(busy.batch[busy.position], Outcome(timed_out=True, seconds=now - busy.since))
                    give(self._replace(busy.worker), busy.batch[busy.position + 1:] or next_chunk())
        except BaseException:
            # Interrupted mid-flight: the busy workers hold stale work, so they go.
            for busy in active.values():
                busy.worker.kill()
                with self._lock:
                    self._started -= 1
            raise
        return [r if r is not None else Outcome(error="lost") for r in results]

    async def run_async(self, fn: Callable[..., Any], *args: Any, timeout_s: float = 5.0) -> Outcome:
        """``run`` without blocking the event loop (the waiting happens in a thread)."""
        return await asyncio.to_thread(self.run, fn, *args, timeout_s=timeout_s)

    async def map_async(
        self, fn: Callable[..., Any], items: Sequence[tuple[Any, ...]], timeout_s: float = 5.0
    ) -> list[Outcome]:
        return await asyncio.to_thread(self.map, fn, items, timeout_s)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                break


_default: BoundedPool | None = None
_default_lock = threading.Lock()


def default_pool() -> BoundedPool:
    """The pool checks run in: the one a build (or a command) opened with ``pool_scope``, else a
    process-wide one made on first use for direct calls (``EVOL_MATH_WORKERS`` sets its size),
    whose workers are daemon processes that end with this process."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            size = int(os.environ.get("EVOL_MATH_WORKERS", "0") or 0) or None
            _default = BoundedPool(size)
        return _default


def configure_default_pool(workers: int) -> BoundedPool:
    """Replace the process-wide pool with one of ``workers`` workers (the CLI's --workers)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = BoundedPool(workers)
        return _default


@contextmanager
def pool_scope(workers: int | None = None) -> Iterator[BoundedPool]:
    """A pool for the duration of a build (the math domain's per-build resource): the checks
    run in it, and its workers stop when the scope ends."""
    global _default
    size = workers or int(os.environ.get("EVOL_MATH_WORKERS", "0") or 0) or None
    pool = BoundedPool(size)
    with _default_lock:
        previous, _default = _default, pool
    try:
        yield pool
    finally:
        with _default_lock:
            _default = previous
        pool.close()
