"""``manifest.json``: what a build was asked to do, what it did, and how it ended.

Written when the run starts (status ``running``) and again when it ends, whatever ended it, with
one of the states of ``outcome.Status`` and the reason: ``complete`` (every seed's lineage written,
none failed), ``partial`` (some samples failed, or an endpoint outage stopped the run),
``interrupted`` (Ctrl-C), ``refused`` (the configuration or the endpoint refused the run),
``aborted`` (a bug). Every count in it is a count of rows in the folder's files.

A build killed with SIGKILL (or by the OOM killer, or a power cut) never writes its end, so its
manifest says ``running`` forever. The manifest therefore records the process that runs the build
(``process``: pid, host, and the process's start time, which tells it from a later process that got
the same pid), and every reader asks ``read_status`` rather than reading ``status`` itself: a
``running`` build whose process is gone is ``interrupted``. On another host than the build's the
process cannot be looked at: the status is then ``running`` as recorded, and the reason says it was
not checked.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import psutil

from ...runtime.output import MANIFEST
from ...runtime.tally import Tally

RUNNING = "running"
"""The status a manifest holds while its build runs (``outcome.Status`` are those it ends with)."""

START_TOLERANCE_S = 1.0
"""How far a process's start time, as read again, may be from the recorded one and still be the
same process: the system derives it from its boot time, which a clock step may move by a second.
A later process with the build's pid started after the build died, so more than this after the
build started: the build had loaded the package and reached its endpoint (seconds) before its
manifest named it."""


def _read(path: Path) -> Mapping[str, Any] | None:
    """A manifest's content; None when there is none or it is not a readable JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class BuildProcess:
    """The process that runs a build, as its manifest records it."""

    pid: int
    host: str
    started: float
    """When the process started, in seconds since the epoch (``psutil``'s ``create_time``)."""

    @classmethod
    def this(cls) -> BuildProcess:
        """The process this code runs in."""
        return cls(os.getpid(), socket.gethostname(), psutil.Process().create_time())

    @classmethod
    def recorded(cls, value: Any) -> BuildProcess | None:
        """The process a manifest names; None when it names none (a manifest written before
        processes were recorded) or the entry is not one."""
        if not isinstance(value, Mapping):
            return None
        pid, host, started = value.get("pid"), value.get("host"), value.get("started")
        if not (isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and isinstance(host, str) and host
                and isinstance(started, (int, float)) and not isinstance(started, bool)):
            return None
        return cls(pid, host, float(started))

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "host": self.host, "started": self.started}

    def alive(self) -> bool | None:
        """True while the process runs, False once it is gone (or its pid now belongs to another
        process); None when that cannot be told from here: the process is on another host, or
        the system does not let this user read its start time."""
        if self.host != socket.gethostname():
            return None
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False  # dead, waiting for its parent to collect its exit code
            started = process.create_time()
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            return None
        return abs(started - self.started) < START_TOLERANCE_S

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}"


@dataclass(frozen=True)
class RunStatus:
    """How a build stands, as a reader should say it: the manifest's status, except that a
    ``running`` build whose process is gone is ``interrupted``."""

    status: str | None
    """None when the manifest states none (unknown)."""
    reason: str | None


def read_status(manifest: Mapping[str, Any] | None) -> RunStatus:
    """The build's status from its manifest (None: no manifest), with its process looked at when
    the manifest says ``running``: the one rule every reader (the report, the card, ``evol
    export``, a resumed build) follows."""
    if manifest is None:
        return RunStatus(None, None)
    status = manifest.get("status") if isinstance(manifest.get("status"), str) else None
    reason = manifest.get("reason") if isinstance(manifest.get("reason"), str) else None
    if status != RUNNING:
        return RunStatus(status, reason)
    process = BuildProcess.recorded(manifest.get("process"))
    if process is None:
        return RunStatus(RUNNING, "as recorded: the manifest does not name the build's process, so whether it "
                                  "still runs is unknown")
    alive = process.alive()
    if alive is None:
        return RunStatus(RUNNING, f"as recorded by {process}; whether that process still runs cannot be checked "
                                  f"from {socket.gethostname()}")
    if alive:
        return RunStatus(RUNNING, None)
    return RunStatus(
        "interrupted",
        f"the build's process ({process}) is gone: it was killed or crashed before it could record how it ended. "
        "The row files hold what the build before it wrote (none after a first build); running the same "
        "command again resumes it",
    )


class Manifest:
    def __init__(self, out: Path, static: Mapping[str, Any]) -> None:
        self.path = out / MANIFEST
        self.static = dict(static)
        self.started_at = _now()
        # Recorded from the first write on, so a reader can tell a build that runs from one that
        # was killed (``read_status``).
        self.process = BuildProcess.this()
        self.previous = read_status(_read(self.path))
        """How the folder's last build stood before this one wrote over its manifest (the build
        holds the folder's lock by now, so a ``running`` one on this host is gone)."""

    def write(
        self,
        status: str,
        *,
        reason: str | None,
        tally: Tally,
        requests: Mapping[str, Any],
        endpoints: list[Mapping[str, Any]],
        wall_time_s: float,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        data = {
            "status": status,
            "reason": reason,
            "process": self.process.as_dict(),
            **self.static,
            **({"previous": {"status": self.previous.status, "reason": self.previous.reason}}
               if self.previous.status is not None else {}),
            "counts": tally.as_dict(),
            "requests": dict(requests),
            "endpoints": endpoints,
            **(extra or {}),
            "started_at": self.started_at,
            "updated_at": _now(),
            "wall_time_s": round(wall_time_s, 3),
            "python": platform.python_version(),
        }
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
        return data
