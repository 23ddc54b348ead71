"""Removing every sandbox container when the program ends: normally, on Ctrl-C, on SIGTERM.

Ctrl-C raises KeyboardInterrupt, which unwinds `with SandboxPool(...)` blocks; atexit catches pools
closed by nobody; SIGTERM and SIGHUP are turned into SystemExit so that both of those run too
(by default they end the process on the spot, skipping all clean-up). Even a SIGKILL leaves no
container behind for long: see WarmContainer.start.
"""

from __future__ import annotations

import atexit
import signal
import threading
import weakref
from typing import Any, Protocol


class Closable(Protocol):
    def close(self) -> None: ...


_open: "weakref.WeakSet[Any]" = weakref.WeakSet()
_installed = False
_lock = threading.Lock()


def _close_all() -> None:
    for pool in list(_open):
        try:
            pool.close()
        except Exception:
            pass


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _install() -> None:
    atexit.register(_close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # Only where nobody else decided: an application's own handler wins.
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _exit_on_signal)


def register(pool: Closable) -> None:
    global _installed
    with _lock:
        if not _installed:
            _install()
            _installed = True
        _open.add(pool)


def unregister(pool: Closable) -> None:
    _open.discard(pool)
