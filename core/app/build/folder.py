"""The output folder's rules: one build at a time, and one configuration per folder.

- A lock (``OUT/.lock``, an advisory ``flock``) makes a second build into the same folder stop at
  once with exit 2. The kernel drops the lock when its process dies, however it dies, so a lock
  left by a killed build is simply taken over.
- The folder remembers what its dataset was built from (``OUT/run.json``: the options that decide
  the dataset, the seeds file's digest, the endpoint's identity). Running the same command again
  resumes; a rerun that changes any of them is refused, naming what differs, so that a dataset
  is never silently replaced by another. ``--restart`` starts it over on purpose (the response
  cache stays: requests the two runs share are not paid twice). Pointing the folder at another
  endpoint is refused the same way: ``--endpoint-id`` with the folder's recorded identity says
  the new endpoint serves the same model, and its cached responses are reused.
- Commands that read a build (``evol export``, ``evol report``) never write over one of its own
  files: an ``--output`` that resolves (symlinks, ``..``, hard links) to one of them (which
  ``runtime.output`` declares: the dataset, the manifest, the cache, ``curated/``...) or to the
  seeds is refused before anything is opened for writing (``check_output``). A build refuses a
  seeds file that is one of them the same way (``runtime.seeds.refuse_output_file``).

The folder's file names are declared once, in ``runtime.output``; this module holds the rules a
build follows in it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Any, Collection, Mapping

from ...runtime.output import (
    DATASET, LOCK, MANIFEST, RUN_STATE, OutputFolder, same_file, write_text,
)
from ...types.errors import UsageError

STATE_VERSION = 1


def prepare_folder(out: Path) -> Path:
    """The folder, created if needed; a clear error when that is impossible."""
    for parent in (out, *out.parents):
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"--out {out}: {parent} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {out}: cannot create the folder ({error.strerror or error})") from None
    return out


class FolderLock:
    """Holds ``OUT/.lock`` for the life of a build."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK
        self._handle: IO[str] | None = None

    def acquire(self) -> FolderLock:
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UsageError(
                f"--out {self.path.parent}: another build is writing to this folder ({holder}); "
                "wait for it, or choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_state(out: Path, state: Mapping[str, Any], *, restart: bool) -> bool:
    """Compare this build's state with the folder's. True when the folder is resumed.

    Raises ``UsageError`` naming every difference unless ``restart``. Nothing is written: the
    state is recorded (``record_state``) once the endpoint has answered, so that a first build
    whose endpoint check fails does not tie the folder to a wrong URL.
    """
    path = out / RUN_STATE
    previous: Mapping[str, Any] | None = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise UsageError(f"{path}: not readable JSON; remove it or use --restart") from None
    elif (out / DATASET).is_file() and (out / DATASET).stat().st_size > 0:
        # A folder with a dataset but no record of how it was made cannot be resumed safely.
        if not restart:
            raise UsageError(
                f"--out {out} already holds a dataset that this build cannot check against; "
                "use --restart to build it over (the response cache is kept), or choose another --out"
            )
    resumed = False
    if previous is not None and not restart:
        differences = _differences(previous.get("state", {}), state)
        if differences:
            raise UsageError(
                f"--out {out} was built with other settings ({'; '.join(differences)}). Run with the "
                "folder's settings to resume, --restart to start it over (the response cache is kept), "
                "or choose another --out"
            )
        resumed = True
    return resumed


def check_domain(out: Path, domain: str) -> None:
    """``UsageError`` when the folder was built with another domain than ``domain``: said first,
    before the seeds are read with the wrong domain's fields. A folder whose run.json cannot be
    read is left to ``check_state``."""
    try:
        recorded = json.loads((out / RUN_STATE).read_text(encoding="utf-8")).get("state", {}).get("domain")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(recorded, str) and recorded != domain:
        raise UsageError(
            f"--out {out}: this folder was built with --domain {recorded} (this run: --domain {domain}); add "
            f"--domain {recorded} to resume it, --restart to start it over, or choose another --out"
        )


def record_state(out: Path, state: Mapping[str, Any]) -> None:
    """Remember the settings the folder is built with (``run.json``), for the next run to check."""
    write_text(out / RUN_STATE, json.dumps({"version": STATE_VERSION, "state": dict(state)}, indent=2) + "\n")


def _differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(before) | set(now)):
        if before.get(key) != now.get(key):
            if key == "endpoint":
                changes.append(
                    f"endpoint was {before.get(key)!r}, now {now.get(key)!r}: if the new endpoint serves the "
                    f"same model, pass --endpoint-id {before.get(key)!r} to reuse its responses"
                    if before.get(key) != "offline" and now.get(key) != "offline"
                    else f"endpoint was {before.get(key)!r}, now {now.get(key)!r}: the offline model's "
                    "placeholder answers are never reused for a real model"
                )
            elif key == "roles":
                before_roles, now_roles = before.get(key) or {}, now.get(key) or {}
                for name in sorted(set(before_roles) | set(now_roles)):
                    if before_roles.get(name) != now_roles.get(name):
                        changes.append(f"role {name} was {before_roles.get(name)!r}, now {now_roles.get(name)!r}")
            elif key == "options" and isinstance(before.get(key), Mapping) and isinstance(now.get(key), Mapping):
                # Name the domain options that changed, not the whole set.
                before_options, now_options = before[key], now[key]
                for name in sorted(set(before_options) | set(now_options)):
                    if before_options.get(name) != now_options.get(name):
                        changes.append(f"--{name.replace('_', '-')} was {before_options.get(name)!r}, "
                                       f"now {now_options.get(name)!r}")
            elif key == "seeds_sha256":
                changes.append("the seeds file's content changed")
            else:
                changes.append(f"{key} was {before.get(key)!r}, now {now.get(key)!r}")
    return changes


def check_output(folder: Path, output: Path, *, replaces: Collection[str] = (), option: str = "--output") -> None:
    """Refuse ``output`` (``UsageError``, exit 2) when writing it would destroy part of the build
    ``folder`` it is made from, or cannot be written at all because a parent is a file.

    The folder's own files (``OutputFolder.own``: the build's files, the card, the report page,
    its exports, ``curated/``) are compared once resolved, and existing files by identity, so a
    symlink, a ``..`` or a hard link to one is caught too; so is the seeds file the build was
    made from. ``replaces`` names the own files this command itself writes (``report.html`` for
    ``evol report``, an earlier export for ``evol export``), which it may write again.
    """
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option} {output}: {parent} is a file, not a folder")
            break
    home = folder.resolve()
    target = output.resolve()
    if target == home:
        raise UsageError(f"{option} {output}: is the build folder itself, which this command reads; give a file name")
    what = OutputFolder(folder).own(output)
    if what is not None and not any(target == home / name for name in replaces):
        raise UsageError(f"{option} {output}: is {what}, one of the build folder's own files; "
                         "choose a file outside them")
    seeds = _seeds_file(home)
    if seeds is not None and same_file(target, seeds):
        raise UsageError(f"{option} {output}: is the seeds file this build was made from; choose another file")
    if target.is_file() and home in target.parents and _is_the_seeds_content(home, target):
        raise UsageError(f"{option} {output}: holds the seeds this build was made from (same content as the "
                         "manifest's seeds file); choose another file")


def _manifest(home: Path) -> Mapping[str, Any]:
    try:
        data = json.loads((home / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _seeds_file(home: Path) -> Path | None:
    """The seeds file the manifest names, when its path is absolute (a relative one was relative to
    the build's working directory, which is not recorded: the content check covers it)."""
    seeds = _manifest(home).get("seeds")
    name = seeds.get("file") if isinstance(seeds, dict) else None
    if isinstance(name, str) and Path(name).is_absolute():
        return Path(name).resolve()
    return None


def _is_the_seeds_content(home: Path, target: Path) -> bool:
    seeds = _manifest(home).get("seeds")
    digest = seeds.get("sha256") if isinstance(seeds, dict) else None
    if not isinstance(digest, str):
        return False
    try:
        return file_digest(target) == digest
    except OSError:
        return False
