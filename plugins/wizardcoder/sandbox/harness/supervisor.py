"""PID 1 of every sandbox container: runs one job at a time for the host, in any of its languages.

This file is copied into the sandbox image with the rest of this folder and runs there with the
image's Python 3, standard library only. The host imports it only for unit tests of the framing.

A job goes through stages, each a process forked from here and watched from here:

1. its files are written to /work (toolchains.py says what they are);
2. each compile step runs (g++, rustc, javac, tsc, the Go compiler and linker, ``bash -n``); a
   step that fails is a COMPILE_ERROR carrying the compiler's message, truncated;
3. the program runs: Python and SQL in a process forked from the zygote, a fork of this warm
   interpreter made before the first job (no interpreter start per job, and nothing of any other
   job in its memory); Python's tests are judged in that process while the answer runs in a child
   of its own (python_isolated.py); the others are exec'd. Stdout and stderr are captured, head
   and tail.

The time, memory, output and process limits hold for compilers and programs alike: compile time
counts against the job's time limit unless the job gives ``compile_timeout_s``, the container's
memory and pids limits cover every process, and the output cap covers compiler and program.

Why this shape:
- Being PID 1 of the container's PID namespace protects the supervisor: the kernel drops every
  signal sent from inside the namespace to PID 1 unless PID 1 installed a handler, SIGKILL
  included, so job code running as the same user cannot kill it. It is also non-dumpable, so job
  code can neither ptrace it nor open /proc/1/fd to write on the host's channel.
- Every other process of the container but the zygote is killed after each job (``kill_all``),
  which is how each job is reset: nothing a job started (daemons, double forks) survives into the
  next one, and /work, /tmp, /dev/shm and System V IPC are emptied after every job, with what a job set on
  those directories themselves (ACLs, extended attributes). The zygote is spared and checked.
- PASS needs the program's completion record, carrying a nonce that the program reads from a
  pipe only after its tests have completed; the record travels on its own pipe, not on stdout, so
  printing a fake record or exiting early (``sys.exit``, ``os._exit``, ``exit(0)``, ``os.Exit``,
  ``System.exit``, ``process.exit``, killing the parent) cannot pass. An exit with status 0 in the
  middle of the tests is a FAIL that says so. Code that deliberately digs the harness's pipes out
  of its own process could still forge it where code and tests share a process; Python's answer
  runs in a process that holds no descriptor of the record channel at all.
- The host keeps its own wall clock and kills the whole container if this process ever fails to
  answer in time, so a supervisor bug cannot hang a build either.

Protocol on stdin/stdout: frames of a 4-byte big-endian length followed by UTF-8 JSON.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import random
import resource
import secrets
import select
import signal
import socket
import struct
import sys
import time
import traceback
from typing import Any

if __package__:  # imported on the host, as wizardcoder.sandbox.harness.supervisor
    from . import python_isolated, python_tests, sql_tests, toolchains
else:  # /opt/sandbox/supervisor.py under `python3 -I`, which puts no script directory on sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import python_isolated  # noqa: E402
    import python_tests  # noqa: E402
    import sql_tests  # noqa: E402
    import toolchains  # noqa: E402

WORK_DIRS = ("/work", "/tmp", "/dev/shm", "/dev/mqueue")
JOB_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/work",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}
# Imported once here so that forked jobs find them already loaded: most solutions use a few of
# these, and importing them in every job would cost more than the job itself.
PRELOAD = (
    "abc", "array", "bisect", "collections", "copy", "dataclasses", "datetime", "decimal",
    "enum", "fractions", "functools", "hashlib", "heapq", "itertools", "json", "math",
    "operator", "random", "re", "sqlite3", "statistics", "string", "textwrap", "typing",
    "unicodedata", "unittest",
)
# Where an exec'd program finds the harness's two descriptors (chosen at random per job); bash
# keeps 255 for itself.
CHANNEL_FDS = range(200, 250)
COMPILER_MESSAGE_CHARS = 2000
WIPE_BUDGET_S = 2.0
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
M_ARENA_MAX = -8
IPC_RMID = 0

_libc = ctypes.CDLL(None, use_errno=True)


# ----------------------------------------------------------------------------- framing


class Inbox:
    """Requests from the host, read through a buffer so that end-of-file can be noticed while a
    job runs (the host never sends a second request before our reply)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    def fill(self) -> bool:
        """One read; False at end of file, meaning the host is gone."""
        data = os.read(self.fd, 1 << 20)
        self.buffer += data
        return bool(data)

    def message(self) -> dict | None:
        if len(self.buffer) < 4:
            return None
        size = struct.unpack(">I", self.buffer[:4])[0]
        if len(self.buffer) < 4 + size:
            return None
        body = bytes(self.buffer[4 : 4 + size])
        del self.buffer[: 4 + size]
        return json.loads(body)

    def receive(self) -> dict | None:
        while True:
            message = self.message()
            if message is not None:
                return message
            if not self.fill():
                return None


def send(fd: int, message: dict) -> None:
    body = json.dumps(message).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data):]


# ----------------------------------------------------------------------------- output capture


class Capture:
    """What a job wrote on one stream: the head and the tail, and how much in all."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            del self.tail[: max(0, len(self.tail) - self.keep)]

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        if not self.tail:
            return head
        skipped = self.total - len(self.head) - len(self.tail)
        tail = self.tail.decode("utf-8", "replace")
        if skipped <= 0:
            return head + tail
        return f"{head}\n...[{skipped} bytes truncated]...\n{tail}"


# ----------------------------------------------------------------------------- container state


def _cgroup_oom_kills() -> int:
    """OOM kills so far in this container's memory cgroup (v2 or v1), -1 when unreadable."""
    for path, key in (
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
    ):
        try:
            with open(path) as handle:
                for line in handle:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except OSError:
            continue
    return -1


def _other_pids() -> list[int]:
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def kill_all(budget_s: float = 2.0) -> bool:
    """SIGKILL every process but this one and the zygote, and reap them; False if some survived
    the budget.

    Without a zygote, ``kill(-1)`` reaches them all at once. With one, the others are killed by
    name from /proc, again and again until none is left: a process forking as it is killed only
    adds children that the next round sees, and the container's pids limit bounds them.
    """
    deadline = time.monotonic() + budget_s
    while True:
        spare = ZYGOTE.pids()
        if not spare:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            for pid in _other_pids():
                if pid not in spare:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        try:
            while True:
                reaped = os.waitpid(-1, os.WNOHANG)[0]
                if not reaped:
                    break
                ZYGOTE.reaped(reaped)
        except ChildProcessError:
            pass
        if not [pid for pid in _other_pids() if pid not in ZYGOTE.pids()]:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)


def _wipe_tree(path: str, deadline: float) -> None:
    """Empty `path`, however deep the tree a job left in it.

    Entries are removed while the directory is read, never listed whole first: a job may leave
    as many files as the work dir has inodes, and a list of them all would cost memory the
    supervisor does not have to spare. A subdirectory's own subdirectories are first moved up to
    `path` itself, so nothing is ever more than two levels deep: a chain thousands of directories
    deep needs neither recursion nor a path longer than PATH_MAX. Read again until nothing is left.
    """
    root = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    moved = 0
    try:
        while True:
            removed = False
            with os.scandir(root) as entries:
                for entry in entries:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{path} still not empty after {WIPE_BUDGET_S}s")
                    if entry.is_dir(follow_symlinks=False):
                        moved = _remove_directory(root, entry.name, moved)
                    else:
                        os.unlink(entry.name, dir_fd=root)
                    removed = True
            if not removed:
                return
    finally:
        os.close(root)


def _remove_directory(root: int, name: str, moved: int) -> int:
    # A job may leave a directory it made unreadable; its owner may open it again.
    os.chmod(name, 0o700, dir_fd=root)
    directory = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root)
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    moved += 1
                    os.rename(entry.name, f".evol-wipe-{moved}-{secrets.token_hex(4)}", src_dir_fd=directory,
                              dst_dir_fd=root)
                else:
                    os.unlink(entry.name, dir_fd=directory)
    finally:
        os.close(directory)
    os.rmdir(name, dir_fd=root)
    return moved


def _wipe_sysv_ipc() -> None:
    removers = (
        ("/proc/sysvipc/shm", lambda ident: _libc.shmctl(ident, IPC_RMID, None)),
        ("/proc/sysvipc/sem", lambda ident: _libc.semctl(ident, 0, IPC_RMID)),
        ("/proc/sysvipc/msg", lambda ident: _libc.msgctl(ident, IPC_RMID, None)),
    )
    for path, remove in removers:
        try:
            with open(path) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            remove(int(row.split()[1]))


def wipe() -> list[str]:
    """Empty every place a job can write; the errors, if any (the host then recycles us)."""
    errors = []
    deadline = time.monotonic() + WIPE_BUDGET_S
    for path in WORK_DIRS:
        if not os.path.isdir(path):
            continue
        try:
            if os.stat(path).st_uid == os.getuid():
                os.chmod(path, 0o700 if path == "/work" else 0o1777)
            _wipe_tree(path, deadline)
        except (OSError, TimeoutError) as error:
            errors.append(f"{path}: {error}")
    try:
        _wipe_sysv_ipc()
    except OSError as error:
        errors.append(f"sysv ipc: {error}")
    errors.extend(_reset_attributes())
    return errors


# What the work directories carry when the container starts (none, as a rule): a job's own
# additions are removed after it, never these.
_BASELINE_XATTRS: dict[str, frozenset[str]] = {}


def _xattrs(path: str) -> frozenset[str]:
    try:
        return frozenset(os.listxattr(path, follow_symlinks=False))
    except OSError:
        return frozenset()


def record_baseline() -> None:
    for path in WORK_DIRS:
        _BASELINE_XATTRS[path] = _xattrs(path)


def _reset_attributes() -> list[str]:
    """Emptying a work directory keeps what a job set on the directory itself: a default ACL on
    /work (inherited by every file a later job makes there, which then cannot be written or run),
    extended attributes (a channel to the next job), another mode. Each job must find the
    directories as new: what a job added is removed, and what cannot be is reported (the host
    then replaces the container)."""
    errors = []
    for path in WORK_DIRS:
        if not os.path.isdir(path):
            continue
        baseline = _BASELINE_XATTRS.get(path, frozenset())
        for name in _xattrs(path) - baseline:
            try:
                os.removexattr(path, name, follow_symlinks=False)
            except OSError:
                pass
        left = _xattrs(path) - baseline
        if left:
            errors.append(f"{path}: attributes a job set are still there: {', '.join(sorted(left))}")
    try:
        status = os.stat("/work")
        if os.path.isdir("/work") and status.st_uid == os.getuid() and (status.st_mode & 0o7777) != 0o700:
            errors.append(f"/work: mode {status.st_mode & 0o7777:o}, not 700")
    except OSError as error:
        errors.append(f"/work: {error}")
    return errors


# ----------------------------------------------------------------------------- processes


def _enter_job(out_w: int, err_w: int, fds: dict[int, int], *, inheritable: bool) -> None:
    """In a forked child: the job's session, descriptors, limits, directory and environment."""
    os.setsid()
    # Dumpable again (the supervisor is not) so that the job owns its own /proc entries.
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    with open("/proc/self/oom_score_adj", "w") as handle:
        # When the container runs out of memory, the job dies, not the supervisor.
        handle.write("1000")
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    # The harness's own channels sit at random high descriptors, away from 0-2 where the
    # program's output goes; everything else the supervisor holds is closed.
    for target, source in fds.items():
        os.dup2(source, target, inheritable=inheritable)
    keep = sorted(fds)
    start = 3
    for fd in keep:
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, 65536)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.chdir("/work")
    os.umask(0o077)


def _limit_memory(memory_mb: int) -> None:
    python_tests.limit_memory(memory_mb)


def _spawn_exec(argv: tuple[str, ...], out_w: int, err_w: int, fds: dict[int, int], env: dict[str, str]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _enter_job(out_w, err_w, fds, inheritable=True)
            os.execve(argv[0], list(argv), {**JOB_ENV, **env})
        except BaseException as error:  # noqa: BLE001 - reported on the job's stderr
            try:
                os.write(2, f"cannot run {argv[0]}: {error}\n".encode())
            finally:
                os._exit(127)
    return pid


class _Reporter:
    """The in-process child's side of the report pipe: JSON lines, the last with the nonce."""

    def __init__(self, report_fd: int, nonce_fd: int) -> None:
        self.report_fd = report_fd
        self.nonce_fd = nonce_fd
        self._nonce: str | None = None

    def _write(self, message: dict) -> None:
        os.write(self.report_fd, (json.dumps(message) + "\n").encode())

    def _nonce_value(self) -> str:
        if self._nonce is None:
            self._nonce = os.read(self.nonce_fd, 64).decode()
        return self._nonce

    def stage(self, name: str) -> None:
        self._write({"stage": name})

    def passed(self, outcome: dict) -> None:
        self._write({"nonce": self._nonce_value(), "final": False, **outcome})

    def final(self, outcome: dict) -> None:
        self._write({"nonce": self._nonce_value(), "final": True, **outcome})


JOB_FD = 3  # where a forked job reads its code and tests from the supervisor, once


class Zygote:
    """The process every Python and SQL job is forked from.

    It is forked from the supervisor before the first job, with the preloaded modules, and never
    receives a job's code or tests: only the job's descriptors and language cross to it. A job
    forked from it finds in its own memory nothing of any other job, which a fork of the
    supervisor (that has read every job's request) would hold. Its fork is double, so that each
    job is a child of the supervisor (PID 1 adopts it) and is watched and reaped like any other.

    A job runs as the same user and could signal it: a zygote that is gone or does not answer
    after a job makes the container dirty, and the host replaces it.
    """

    def __init__(self) -> None:
        self.pid: int | None = None
        self.sock: socket.socket | None = None

    def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            ours.close()
            keep = theirs.fileno()
            os.closerange(3, keep)
            os.closerange(keep + 1, 65536)
            _zygote_loop(theirs)
        theirs.close()
        self.pid, self.sock = pid, ours

    def pids(self) -> set[int]:
        return {self.pid} if self.pid is not None else set()

    def reaped(self, pid: int) -> None:
        if pid == self.pid:
            self.pid = None

    def _exchange(self, message: bytes, fds: list[int], timeout_s: float) -> bytes:
        if self.pid is None or self.sock is None:
            raise OSError("the zygote is gone")
        self.sock.settimeout(timeout_s)
        socket.send_fds(self.sock, [message], fds)
        reply = self.sock.recv(64)
        if not reply:
            raise OSError("the zygote is gone")
        return reply

    def spawn(self, language: str, channels: Any, fds: list[int], isolate: bool) -> int:
        """A new job process (a child of ours by then); OSError when the zygote cannot make one."""
        message = json.dumps({"op": "spawn", "language": language, "report": channels.report,
                              "nonce": channels.nonce, "isolate": isolate}).encode()
        pid = struct.unpack(">q", self._exchange(message, fds, 5.0)[:8])[0]
        if pid <= 0:
            raise OSError("the zygote could not fork")
        return pid

    def healthy(self) -> bool:
        try:
            return self._exchange(b'{"op": "ping"}', [], 1.0) == b"pong"
        except (OSError, ValueError):
            return False


ZYGOTE = Zygote()


def _zygote_loop(sock: socket.socket) -> None:
    _libc.prctl(PR_SET_NAME, b"evol-zygote", 0, 0, 0)  # how `ps` and checks tell it from a job
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 4096, 8)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the supervisor is gone
        request = json.loads(message)
        if request.get("op") != "spawn":
            for fd in fds:
                os.close(fd)
            sock.send(b"pong")
            continue
        pid_r, pid_w = os.pipe()
        middle = os.fork()
        if middle == 0:
            child = os.fork()
            if child == 0:
                os.close(pid_r)
                os.close(pid_w)
                sock.close()
                _job_process(request, fds)
            os.write(pid_w, struct.pack(">q", child))
            os._exit(0)
        os.close(pid_w)
        data = os.read(pid_r, 8)
        os.close(pid_r)
        os.waitpid(middle, 0)  # once it is reaped, the job is the supervisor's child
        for fd in fds:
            os.close(fd)
        sock.send(data if len(data) == 8 else struct.pack(">q", -1))


def _job_process(request: dict, fds: list[int]) -> None:
    """A Python or SQL job, in its own process forked from the zygote; never returns.

    Python: the answer's process is forked first, before this process reads the job, so it holds
    neither the tests nor the record channel; then this process makes itself non-dumpable (the
    answer runs as the same user: no ptrace, no /proc/PID/mem or fd of ours) and judges the tests
    across the boundary (python_isolated.py). A job whose tests need what the boundary cannot
    carry is judged in this process instead, as one program (python_tests.py).
    """
    answer_pid = 0
    link = None
    try:
        # Above every target first, so that no mapping below overwrites a source still needed.
        out_w, err_w, report_w, nonce_r, job_r = (fcntl.fcntl(fd, fcntl.F_DUPFD, 300) for fd in fds)
        channels = toolchains.Channels(int(request["report"]), int(request["nonce"]))
        _enter_job(out_w, err_w, {JOB_FD: job_r, channels.report: report_w, channels.nonce: nonce_r},
                   inheritable=False)
        os.environ.clear()
        os.environ.update(JOB_ENV)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        sys.argv = [python_tests.SOLUTION_FILE]
        if request.get("language") == "python" and request.get("isolate"):
            ours, theirs = socket.socketpair()
            answer_pid = os.fork()
            if answer_pid == 0:
                _answer_process(ours, theirs)
            theirs.close()
            _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
            link = python_isolated.Link(ours, answer_pid)
        with os.fdopen(JOB_FD, "rb") as handle:
            job = json.loads(handle.read())
        # The tests are trusted here; nothing the answer's process writes is imported by us.
        sys.path[:] = [entry for entry in sys.path if entry not in ("", "/work", "/tmp")]
        reporter = _Reporter(channels.report, channels.nonce)
    except BaseException:
        os._exit(71)
    code, tests, memory_mb = str(job.get("code") or ""), job.get("tests"), int(job["memory_mb"])
    try:
        if request.get("language") == "sql":
            _limit_memory(memory_mb)
            outcome = sql_tests.run(code, tests)
        elif link is None:
            _limit_memory(memory_mb)
            outcome = _in_process(code, tests, reporter, 0, "")
        else:
            _limit_memory(memory_mb)
            outcome = python_isolated.run(code, tests, reporter, link, memory_mb)
            outcome["isolation"] = "process"
            if "fallback" in outcome:
                outcome = _in_process(code, tests, reporter, answer_pid, outcome["fallback"])
    except MemoryError:
        outcome = {"verdict": "MEMORY_LIMIT", "message": "MemoryError"}
    except BaseException:  # noqa: BLE001 - the harness's own failure, never the program's verdict
        outcome = {"verdict": "SANDBOX_ERROR", "message": traceback.format_exc()[-1500:]}
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        reporter.final(outcome)
    except BaseException:
        os._exit(72)
    os._exit(0)


def _answer_process(harness_end: socket.socket, ours: socket.socket) -> None:
    """The answer's process: nothing of the harness's but its end of the channel; never returns."""
    try:
        harness_end.close()
        keep = ours.fileno()
        os.closerange(3, keep)  # the job pipe, the record channel and the nonce among them
        os.closerange(keep + 1, 65536)
        _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own /proc entries, as any program has
        sys.path[0] = "/work"
        python_isolated.serve(ours)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(0)


def _in_process(code: str, tests: Any, reporter: _Reporter, answer_pid: int, reason: str) -> dict:
    """The job as one program in this process: the pool asked for it, or the tests need what the
    boundary cannot carry (then the answer's process is stopped, the program runs again from the
    start, and its stderr says why). The record says "in-process"."""
    if answer_pid:
        try:
            os.kill(answer_pid, signal.SIGKILL)
            os.waitpid(answer_pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    if reason:
        sys.stderr.write(f"[sandbox] judged in-process: {reason}; the program ran again from the start\n")
    python_tests.ASSERTIONS[0] = 0
    python_tests.DEFEATED.clear()
    python_tests.CASES_RUN.clear()
    sys.path.insert(0, "/work")
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        outcome = python_tests.run(code, tests, reporter)
    except MemoryError:
        outcome = {"verdict": "MEMORY_LIMIT", "message": "MemoryError"}
    except BaseException as error:  # noqa: BLE001
        # The program ran in this very process and could have broken anything the harness
        # uses (a hostile object's __str__, a module it replaced): its failure, not the sandbox's.
        outcome = {"verdict": "RUNTIME_ERROR",
                   "message": f"the tests' harness failed in the program's process: {python_tests._describe(error)}"}
    return {**outcome, "isolation": "in-process"}


# ----------------------------------------------------------------------------- watching


def _read_into(fd: int, capture: Capture | bytearray) -> bool:
    """Read what is there; False at end of file."""
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return True
    if not data:
        return False
    if isinstance(capture, Capture):
        capture.add(data)
    else:
        capture += data[: 65536 - len(capture)]
    return True


def _watch(pid: int, sinks: dict[int, Capture | bytearray], deadline: float, output_cap: int,
           inbox: Inbox) -> tuple[int | None, str]:
    """Wait for the process to end: (its wait status or None, "" | "timeout" | "output").

    Everything the job started is killed and reaped before this returns, and the pipes are read
    to the end and closed.
    """
    captures = [sink for sink in sinks.values() if isinstance(sink, Capture)]
    for fd in sinks:
        os.set_blocking(fd, False)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None  # old kernel: poll the child instead
    status, stop = None, ""
    open_fds = set(sinks)
    while status is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            stop = "timeout"
            break
        watched = [*open_fds, inbox.fd] + ([pidfd] if pidfd is not None else [])
        ready, _, _ = select.select(watched, [], [], remaining if pidfd is not None else min(remaining, 0.01))
        if inbox.fd in ready and not inbox.fill():
            # The host is gone (killed, even by SIGKILL): stop the job now rather than when it
            # ends, so the engine can remove this container at once.
            kill_all()
            os._exit(0)
        for fd in ready:
            if fd != pidfd and fd in sinks and not _read_into(fd, sinks[fd]):
                open_fds.discard(fd)
        if sum(capture.total for capture in captures) > output_cap:
            stop = "output"
            break
        if pidfd is None or pidfd in ready:
            waited, wait_status = os.waitpid(pid, os.WNOHANG)
            if waited:
                status = wait_status
    kill_all()
    if status is None:
        try:
            waited, wait_status = os.waitpid(pid, os.WNOHANG)
            status = wait_status if waited else None
        except ChildProcessError:
            pass  # reaped by kill_all; the verdict does not need its status then
    # Every writer is dead now: what is left in the pipes is bounded, read it to the end.
    for fd in list(open_fds):
        for _ in range(64):
            if not _read_into(fd, sinks[fd]):
                break
    for fd in list(sinks) + ([pidfd] if pidfd is not None else []):
        os.close(fd)
    return status, stop


def _signal_name(status: int) -> str:
    try:
        return signal.Signals(os.WTERMSIG(status)).name
    except ValueError:
        return f"signal {os.WTERMSIG(status)}"


def _matching_line(patterns: tuple, text: str) -> str | None:
    for pattern in patterns:
        found = pattern.search(text)
        if found:
            start = text.rfind("\n", 0, found.start()) + 1
            end = text.find("\n", found.end())
            return text[start : end if end >= 0 else len(text)].strip()[:300]
    return None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f": {lines[-1][:300]}" if lines else ""


# ----------------------------------------------------------------------------- verdicts


def _parse_report(data: bytes, nonce: str) -> tuple[dict | None, dict | None, str]:
    """(final record, provisional record, last stage marker) from the report pipe."""
    record = provisional = None
    stage = ""
    for chunk in bytes(data).split(b"\n"):
        try:
            message = json.loads(chunk)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if "stage" in message and isinstance(message["stage"], str):
            stage = message["stage"]
        elif message.get("nonce") == nonce:
            if message.get("final") is False:
                provisional = message
            else:
                record = message
    return record, provisional, stage


COUNT_KEYS = ("passed", "total")
VERDICTS = {"PASS", "UNTESTED", "FAIL", "RUNTIME_ERROR", "MEMORY_LIMIT", "COMPILE_ERROR", "SANDBOX_ERROR"}


def _from_record(record: dict) -> dict:
    verdict = record.get("verdict")
    if verdict not in VERDICTS:
        return {"verdict": "SANDBOX_ERROR", "message": f"unreadable completion record: {str(record)[:300]}"}
    isolation = record.get("isolation") if record.get("isolation") in ("process", "in-process") else None
    return {"verdict": verdict, "message": str(record.get("message") or ""),
            **{key: record.get(key) for key in COUNT_KEYS}, "isolation": isolation}


def _failed_exit(chain: Any, code: int, stderr: str, *, after_record: bool) -> dict:
    """The verdict of a program that ended with a non-zero status on its own."""
    memory = _matching_line(chain.memory_patterns, stderr)
    if memory:
        return {"verdict": "MEMORY_LIMIT", "message": memory}
    failed = _matching_line(chain.fail_patterns, stderr)
    if failed:
        return {"verdict": "FAIL", "message": failed}
    if after_record and chain.nonzero_main_fails:
        return {"verdict": "FAIL", "message": f"main returned {code}{_last_line(stderr)}"}
    if chain.exit_one_fails and code == 1:
        return {"verdict": "FAIL", "message": f"the tests exited with status 1{_last_line(stderr)}"}
    when = "after its tests completed" if after_record else "before its tests completed"
    return {"verdict": "RUNTIME_ERROR", "message": f"exited with status {code} {when}{_last_line(stderr)}"}


def _run_verdict(chain: Any, job: dict, report: bytes, nonce: str, status: int | None, stop: str,
                 oom: bool, stderr: str) -> dict:
    record, provisional, stage = _parse_report(report, nonce)
    counts = {key: (record or provisional or {}).get(key) for key in COUNT_KEYS}
    if stop == "output":
        return {"verdict": "OUTPUT_LIMIT", "message": f"output above {job['output_cap']} bytes"}
    if oom:
        # Whatever the program made of it, it went over its memory: a process of it was killed.
        return {"verdict": "MEMORY_LIMIT", "message": "out of memory (a process of the job was OOM-killed)", **counts}
    code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else None
    if record is not None:
        result = _from_record(record)
        if result["verdict"] == "PASS" and status is not None and code != 0:
            if code is None:
                return {"verdict": "RUNTIME_ERROR", "message": f"killed by {_signal_name(status)} after its tests completed"}
            return {**_failed_exit(chain, code, stderr, after_record=True), **counts}
        return result
    if stop == "timeout":
        if provisional is not None:
            return {"verdict": "TIMEOUT", **counts, "message": f"the tests passed, but the program did not end within "
                    f"{job['timeout_s']}s (a non-daemon thread still running keeps `python3 solution.py` from exiting)"}
        return {"verdict": "TIMEOUT", "message": f"no result within {job['timeout_s']}s"}
    if status is None:
        return {"verdict": "RUNTIME_ERROR", "message": "the program vanished without an exit status"}
    if provisional is not None:
        # The tests passed; then the interpreter's exit steps (threads, atexit) ended the process.
        if code == 0:
            return _from_record(provisional)
        how = f"status {code}" if code is not None else _signal_name(status)
        return {"verdict": "RUNTIME_ERROR", **counts, "message": f"the tests passed, then the program exited with {how}"}
    if code is None:
        memory = _matching_line(chain.memory_patterns, stderr)
        if memory:
            return {"verdict": "MEMORY_LIMIT", "message": memory}
        failed = _matching_line(chain.fail_patterns, stderr)
        if failed:
            return {"verdict": "FAIL", "message": failed}
        return {"verdict": "RUNTIME_ERROR", "message": f"killed by {_signal_name(status)} before its tests completed{_last_line(stderr)}"}
    if code == 0:
        if chain.in_process and stage != "tests":
            return {"verdict": "RUNTIME_ERROR", "message": "exited with status 0 before its tests ran"}
        return {"verdict": "FAIL", "message": "exited with status 0 in the middle of its tests: "
                "a run whose tests did not all complete is not a pass (an early exit cannot fake one)"}
    return _failed_exit(chain, code, stderr, after_record=False)


def _send_job(fd: int, job: dict) -> None:
    """The code and tests, to the job process that reads them once (it may have died already)."""
    data = json.dumps({"code": job.get("code"), "tests": job.get("tests"), "memory_mb": job["memory_mb"]}).encode()
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass  # the job is gone: its exit status tells the verdict
    finally:
        os.close(fd)


def _has_tests(tests: Any) -> bool:
    if isinstance(tests, str):
        return bool(tests.strip())
    return bool(tests)


# ----------------------------------------------------------------------------- one job


def _compile(command: tuple[str, ...], env: dict[str, str], job: dict, deadline: float, inbox: Inbox) -> dict | None:
    """Run one compile step; None when it succeeded, else the job's result (with the compiler's
    output as its stderr, and whether the compiler had to be stopped by force)."""
    read_end, write_end = os.pipe()
    oom_before = _cgroup_oom_kills()
    pid = _spawn_exec(command, write_end, write_end, {}, env)
    os.close(write_end)
    output = Capture(int(job["return_cap"]))
    status, stop = _watch(pid, {read_end: output}, deadline, int(job["output_cap"]), inbox)
    text = output.text()
    tool = os.path.basename(command[0])
    if stop == "timeout":
        return {"verdict": "TIMEOUT", "stderr": text, "killed": True,
                "message": f"{tool} did not finish within the time limit (compile time counts against it)"}
    if _cgroup_oom_kills() > oom_before >= 0:
        return {"verdict": "MEMORY_LIMIT", "stderr": text, "killed": True, "message": f"{tool} ran out of memory"}
    if stop == "output":
        return {"verdict": "COMPILE_ERROR", "stderr": text, "killed": True, "message": f"{tool} wrote more than "
                f"{job['output_cap']} bytes of messages; the first were:\n{text[:COMPILER_MESSAGE_CHARS]}"}
    if status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return None
    if status is not None and os.WIFSIGNALED(status):
        how = f"was killed by {_signal_name(status)}"
    else:
        how = f"failed (status {os.WEXITSTATUS(status) if status is not None else '?'})"
    message = text.strip()[:COMPILER_MESSAGE_CHARS] or f"{tool} {how}"
    return {"verdict": "COMPILE_ERROR", "stderr": text, "message": message}


def run_job(job: dict, inbox: Inbox) -> dict:
    started = time.monotonic()
    try:
        chain = toolchains.toolchain(str(job.get("language") or "python"))
    except KeyError:
        return {"verdict": "SANDBOX_ERROR", "message": f"no toolchain for language {job.get('language')!r}"}
    timeout_s = float(job["timeout_s"])
    compile_timeout = job.get("compile_timeout_s")
    channels = toolchains.Channels(*random.sample(CHANNEL_FDS, 2))
    plan = chain.plan(str(job.get("code") or ""), job.get("tests"), channels, int(job["memory_mb"]))
    result: dict[str, Any] | None = None
    compile_s = None
    try:
        for name, text in plan.files.items():
            with open(os.path.join("/work", name), "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(text)
    except OSError as error:
        # /work was emptied after the last job: a file that cannot be written is the sandbox's fault.
        return {"verdict": "SANDBOX_ERROR", "message": f"cannot write the program: {error}", "dirty": True,
                "errors": wipe()}

    if plan.compile:
        deadline = started + (float(compile_timeout) if compile_timeout else timeout_s)
        for command in plan.compile:
            result = _compile(command, plan.env, job, deadline, inbox)
            if result is not None:
                break
        compile_s = time.monotonic() - started

    stdout = stderr = ""
    stdout_bytes = stderr_bytes = 0
    killed = False
    if result is None:
        run_started = time.monotonic()
        deadline = (run_started + timeout_s) if compile_timeout else started + timeout_s
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        report_r, report_w = os.pipe()
        nonce_r, nonce_w = os.pipe()
        nonce = secrets.token_hex(16)
        fds = {channels.report: report_w, channels.nonce: nonce_r}
        oom_before = _cgroup_oom_kills()
        job_w = None
        if chain.in_process:
            job_r, job_w = os.pipe()
            try:
                pid = ZYGOTE.spawn(chain.name, channels, [out_w, err_w, report_w, nonce_r, job_r],
                                   isolate=job.get("isolation", "process") != "in-process")
            except OSError as error:
                for fd in (out_w, err_w, report_w, nonce_r, job_r, job_w, out_r, err_r, report_r, nonce_w):
                    os.close(fd)
                return {"verdict": "SANDBOX_ERROR", "message": f"cannot fork the job: {error}", "dirty": True,
                        "errors": wipe()}
            os.close(job_r)
        else:
            pid = _spawn_exec(plan.run, out_w, err_w, fds, plan.env)
        for fd in (out_w, err_w, report_w, nonce_r):
            os.close(fd)
        if job_w is not None:
            _send_job(job_w, job)
        os.write(nonce_w, nonce.encode())
        os.close(nonce_w)
        keep = int(job["return_cap"])
        captures = {out_r: Capture(keep), err_r: Capture(keep)}
        report = bytearray()
        status, stop = _watch(pid, {**captures, report_r: report}, deadline, int(job["output_cap"]), inbox)
        oom = _cgroup_oom_kills() > oom_before >= 0
        stdout, stderr = captures[out_r].text(), captures[err_r].text()
        stdout_bytes, stderr_bytes = captures[out_r].total, captures[err_r].total
        result = _run_verdict(chain, job, bytes(report), nonce, status, stop, oom, stderr)
        killed = bool(stop) or oom
    else:
        stderr = result.pop("stderr", "")
        stderr_bytes = len(stderr)
        killed = bool(result.pop("killed", False))
    duration = time.monotonic() - started

    if result["verdict"] == "PASS" and (not _has_tests(job.get("tests")) or result.get("total") == 0):
        result = {**result, "verdict": "UNTESTED", "message": "the program ran to its end, but no test ran"}
    elif (result["verdict"] == "PASS" and result.get("total") is None and isinstance(job.get("tests"), str)
          and not chain.holds_a_check(job["tests"])):
        result = {**result, "verdict": "UNTESTED",
                  "message": "the tests hold no check (no assertion, and nothing that makes them fail): they ran, but checked nothing"}
    errors = wipe()
    if not ZYGOTE.healthy():
        errors.append("the zygote is gone or does not answer (a job signalled it)")
    return {
        **{key: value for key, value in result.items() if value is not None},
        "duration_s": round(duration, 4),
        **({"compile_s": round(compile_s, 4)} if compile_s is not None else {}),
        "stdout": stdout,
        "stderr": stderr,
        "stdout_bytes": stdout_bytes,
        "stderr_bytes": stderr_bytes,
        # Whether the job had to be stopped by force or left the container in doubt: the host
        # replaces the container then, as a reset alone is not trusted after a kill.
        "killed": killed,
        "dirty": bool(errors) or result["verdict"] == "SANDBOX_ERROR",
        "errors": errors,
    }


# ----------------------------------------------------------------------------- main loop


def _facts() -> dict:
    return {"pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "python": sys.version.split()[0],
            "languages": list(toolchains.LANGUAGES)}


def main() -> None:
    if os.getpid() != 1:
        # Outside its container, kill(-1) and the wipe would hit the whole machine.
        sys.exit("supervisor.py runs only as PID 1 of a sandbox container")
    # No handler for anything: without one, PID 1 ignores every signal sent from inside the
    # container. Python installs a SIGINT handler by default, which would let a job stop us.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    # Few malloc arenas: each one reserves address space, which the job's RLIMIT_AS counts.
    _libc.mallopt(M_ARENA_MAX, 2)
    proto_in, proto_out = os.dup(0), os.dup(1)
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    for name in PRELOAD:
        __import__(name)
    python_tests.install()
    ZYGOTE.start()
    record_baseline()
    wipe()
    send(proto_out, {"op": "ready", **_facts()})
    inbox = Inbox(proto_in)
    while True:
        request = inbox.receive()
        if request is None:
            # The host went away (stdin closes with its attach): leave, and the engine removes us.
            return
        reply: dict = {"op": request.get("op"), "seq": request.get("seq"), "token": request.get("token")}
        try:
            if request.get("op") == "job":
                reply.update(run_job(request, inbox))
            else:
                reply.update(_facts())
        except BaseException:
            kill_all()
            reply.update({"verdict": "SANDBOX_ERROR", "message": traceback.format_exc()[-2000:], "dirty": True})
        send(proto_out, reply)


if __name__ == "__main__":
    main()
