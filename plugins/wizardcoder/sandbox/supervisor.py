"""PID 1 of every sandbox container: runs one job at a time for the host, forking a child per job.

This file is copied into the sandbox image and runs there with the image's Python 3, standard
library only; the host never imports it.

Why this shape:
- A warm interpreter forks per job, so a job pays neither container start nor interpreter start.
- Being PID 1 of the container's PID namespace protects the supervisor: the kernel drops every
  signal sent from inside the namespace to PID 1 unless PID 1 installed a handler, SIGKILL
  included, so job code running as the same user cannot kill it. It is also non-dumpable, so job
  code can neither ptrace it nor open /proc/1/fd to write on the host's channel.
- ``kill(-1, SIGKILL)`` from PID 1 reaches every other process of the container, which is how
  each job is reset: nothing a job started (daemons, double forks) survives into the next one.
- PASS needs the harness's completion record, carrying a nonce that reaches the child through a
  pipe it reads only after the program and its tests returned; the record travels on its own
  pipe, not on stdout, so printing a fake record or exiting early (``sys.exit``, ``os._exit``,
  killing the parent) cannot pass. Code that deliberately digs the harness's pipes out of its own
  process could still forge it: in-process code can always tamper with its own process.
- The host keeps its own wall clock and kills the whole container if this process ever fails to
  answer in time, so a supervisor bug cannot hang a build either.

Protocol on stdin/stdout: frames of a 4-byte big-endian length followed by UTF-8 JSON.
"""

from __future__ import annotations

import ctypes
import json
import linecache
import os
import random
import resource
import secrets
import select
import signal
import struct
import sys
import time
import traceback
import types

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
    "operator", "random", "re", "statistics", "string", "textwrap", "typing", "unicodedata",
)
SOLUTION_FILE = "solution.py"
TESTS_FILE = "tests.py"
PR_SET_DUMPABLE = 4
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
    """SIGKILL every process but this one and reap them; False if some survived the budget."""
    deadline = time.monotonic() + budget_s
    while True:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            # No children at all. A fork racing the kill can still be in flight, so look.
            if not _other_pids():
                return True
        if time.monotonic() > deadline:
            return not _other_pids()
        time.sleep(0.001)


def _wipe_tree(path: str) -> None:
    with os.scandir(path) as entries:
        for entry in list(entries):
            if entry.is_dir(follow_symlinks=False):
                # A job may leave a directory it made unreadable; its owner may open it again.
                os.chmod(entry.path, 0o700)
                _wipe_tree(entry.path)
                os.rmdir(entry.path)
            else:
                os.unlink(entry.path)


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
    for path in WORK_DIRS:
        if not os.path.isdir(path):
            continue
        try:
            if os.stat(path).st_uid == os.getuid():
                os.chmod(path, 0o700 if path == "/work" else 0o1777)
            _wipe_tree(path)
        except OSError as error:
            errors.append(f"{path}: {error}")
    try:
        _wipe_sysv_ipc()
    except OSError as error:
        errors.append(f"sysv ipc: {error}")
    return errors


# ----------------------------------------------------------------------------- the child


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    # Lone surrogates from the program's strings would make the reply unencodable.
    return text[:500].encode("utf-8", "backslashreplace").decode("utf-8")


def _print_error(error: BaseException) -> None:
    try:
        # The first frame is the harness's own exec call, of no use to whoever reads this.
        tb = error.__traceback__.tb_next if error.__traceback__ else None
        # The interpreter's own printer, in C: a million-frame recursion prints in no time. It
        # reads the traceback from the exception itself.
        sys.__excepthook__(type(error), error.with_traceback(tb), tb)
    except BaseException:
        pass


def _raised_in(error: BaseException, filename: str) -> bool:
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            return True
        tb = tb.tb_next
    return False


def _classify(error: BaseException, *, in_tests: bool) -> tuple[str, str]:
    if isinstance(error, AssertionError):
        return "FAIL", _describe(error) if str(error) else "AssertionError"
    if isinstance(error, MemoryError):
        return "MEMORY_LIMIT", "MemoryError"
    if isinstance(error, SystemExit):
        # A test runner (unittest.main) ends by exiting; the solution exiting is cheating or a
        # bug, wherever it is called from, so only an exit raised by the tests' own code counts.
        if in_tests and not _raised_in(error, SOLUTION_FILE):
            return ("PASS", "") if error.code in (None, 0, False) else ("FAIL", f"tests exited with {error.code!r}")
        return "RUNTIME_ERROR", f"the program exited (SystemExit {error.code!r}) before its tests completed"
    return "RUNTIME_ERROR", _describe(error)


def _compile(source: str, filename: str, *, on_disk: bool = False) -> types.CodeType:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    if on_disk:
        # The interpreter's traceback printer and `inspect` read source from files, not from
        # linecache: without the file, tracebacks would show no source lines.
        try:
            with open(filename, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(source)
        except OSError:
            pass
    return compile(source, filename, "exec", dont_inherit=True)


def _run_program(code: str, tests: str | list | None) -> dict:
    module = types.ModuleType("__main__")
    module.__file__ = SOLUTION_FILE
    sys.modules["__main__"] = module
    scope = module.__dict__
    total = len(tests) if isinstance(tests, list) else None
    try:
        compiled = _compile(code, SOLUTION_FILE, on_disk=True)
        compiled_tests = _compile(tests, TESTS_FILE, on_disk=True) if isinstance(tests, str) and tests else None
    except (SyntaxError, ValueError, UnicodeError) as error:
        # The program never started: only the error itself is of interest, not where we compiled.
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
        return {"verdict": "RUNTIME_ERROR", "message": _describe(error), "passed": 0 if total else None, "total": total}
    stage = "solution"
    try:
        exec(compiled, scope)
        if tests is None or isinstance(tests, str):
            stage = "tests"
            if compiled_tests is not None:
                exec(compiled_tests, scope)
            return {"verdict": "PASS"}
    except BaseException as error:
        _print_error(error)
        verdict, message = _classify(error, in_tests=stage == "tests")
        return {"verdict": verdict, "message": message, "passed": 0 if total is not None else None, "total": total}

    passed, first_failure, verdicts = 0, "", set()
    for index, statement in enumerate(tests):
        try:
            exec(_compile(str(statement), f"test_{index}.py"), scope)
            passed += 1
        except Exception as error:
            _print_error(error)
            verdict, message = _classify(error, in_tests=True)
            verdicts.add(verdict)
            first_failure = first_failure or f"test {index} ({str(statement)[:200]!r}): {message}"
        except BaseException as error:
            # SystemExit out of a single statement ends the run: the remaining statements never
            # ran, so the program did not complete, whatever the exit code.
            _print_error(error)
            message = _classify(error, in_tests=False)[1]
            return {"verdict": "RUNTIME_ERROR", "message": f"test {index}: {message}", "passed": passed, "total": len(tests)}
    if passed == len(tests):
        return {"verdict": "PASS", "passed": passed, "total": len(tests)}
    worst = next(v for v in ("MEMORY_LIMIT", "FAIL", "RUNTIME_ERROR") if v in verdicts)
    return {"verdict": worst, "message": first_failure, "passed": passed, "total": len(tests)}


def _limit_memory(memory_mb: int) -> None:
    # Address space caps one process so that most memory bombs end in a clean MemoryError; the
    # container's cgroup limit (set by the host) catches memory spread over many processes.
    with open("/proc/self/statm") as handle:
        base = int(handle.read().split()[0]) * resource.getpagesize()
    limit = base + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def child(job: dict, out_w: int, err_w: int, report_w: int, nonce_r: int) -> None:
    """The forked job process. Never returns."""
    try:
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
        # The harness's own channels sit at random high descriptors, closed on exec, away from
        # 0-2 where the program's output goes.
        report_fd, nonce_fd = random.sample(range(200, 1000), 2)
        os.dup2(report_w, report_fd, inheritable=False)
        os.dup2(nonce_r, nonce_fd, inheritable=False)
        keep = sorted((report_fd, nonce_fd))
        os.closerange(3, keep[0])
        os.closerange(keep[0] + 1, keep[1])
        os.closerange(keep[1] + 1, 65536)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _limit_memory(int(job["memory_mb"]))
        os.chdir("/work")
        os.umask(0o077)
        os.environ.clear()
        os.environ.update(JOB_ENV)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stdin = open(0, "r", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)
        sys.argv = [SOLUTION_FILE]
        sys.path[0] = "/work"
    except BaseException:
        os._exit(71)

    outcome = _run_program(str(job.get("code") or ""), job.get("tests"))

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        nonce = os.read(nonce_fd, 64).decode()
        data = json.dumps({"nonce": nonce, **outcome}).encode()
        os.write(report_fd, data)
    except BaseException:
        os._exit(72)
    os._exit(0)


# ----------------------------------------------------------------------------- one job


def _verdict(job: dict, record: dict | None, status: int | None, stop: str, oom: bool) -> dict:
    if stop == "output":
        return {"verdict": "OUTPUT_LIMIT", "message": f"output above {job['output_cap']} bytes"}
    if oom:
        # Whatever the program made of it, it went over its memory: a process of it was killed.
        counts = {k: record.get(k) for k in ("passed", "total")} if record else {}
        return {"verdict": "MEMORY_LIMIT", "message": "out of memory (a process of the job was OOM-killed)", **counts}
    if record is not None:
        return {k: record.get(k) for k in ("verdict", "message", "passed", "total")}
    if stop == "timeout":
        return {"verdict": "TIMEOUT", "message": f"no result within {job['timeout_s']}s"}
    if status is None:
        return {"verdict": "RUNTIME_ERROR", "message": "the program vanished without an exit status"}
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        return {"verdict": "RUNTIME_ERROR", "message": f"killed by {name} before its tests completed"}
    code = os.WEXITSTATUS(status)
    return {"verdict": "RUNTIME_ERROR", "message": f"exited with status {code} before its tests completed"}


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


def run_job(job: dict, inbox: Inbox) -> dict:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    report_r, report_w = os.pipe()
    nonce_r, nonce_w = os.pipe()
    nonce = secrets.token_hex(16)
    oom_before = _cgroup_oom_kills()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(job, out_w, err_w, report_w, nonce_r)
    for fd in (out_w, err_w, report_w, nonce_r):
        os.close(fd)
    os.write(nonce_w, nonce.encode())
    os.close(nonce_w)

    keep = int(job["return_cap"])
    captures = {out_r: Capture(keep), err_r: Capture(keep)}
    report = bytearray()
    sinks: dict[int, Capture | bytearray] = {**captures, report_r: report}
    for fd in sinks:
        os.set_blocking(fd, False)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None  # old kernel: poll the child instead

    deadline = started + float(job["timeout_s"])
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
            if fd != pidfd and not _read_into(fd, sinks[fd]):
                open_fds.discard(fd)
        if sum(c.total for c in captures.values()) > int(job["output_cap"]):
            stop = "output"
            break
        if pidfd is None or pidfd in ready:
            waited, wait_status = os.waitpid(pid, os.WNOHANG)
            if waited:
                status = wait_status
    duration = time.monotonic() - started

    clean = kill_all()
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

    oom = _cgroup_oom_kills() > oom_before >= 0
    record = None
    try:
        parsed = json.loads(bytes(report))
        if isinstance(parsed, dict) and parsed.get("nonce") == nonce:
            record = parsed
    except ValueError:
        pass
    result = _verdict(job, record, status, stop, oom)
    errors = wipe()
    return {
        **result,
        "duration_s": round(duration, 4),
        "stdout": captures[out_r].text(),
        "stderr": captures[err_r].text(),
        "stdout_bytes": captures[out_r].total,
        "stderr_bytes": captures[err_r].total,
        # Whether the job had to be stopped by force or left the container in doubt: the host
        # replaces the container then, as a reset alone is not trusted after a kill.
        "killed": bool(stop) or oom,
        "dirty": bool(errors) or not clean,
        "errors": errors,
    }


# ----------------------------------------------------------------------------- main loop


def _facts() -> dict:
    return {"pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "python": sys.version.split()[0]}


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
            reply.update({"verdict": "SANDBOX_ERROR", "message": traceback.format_exc()[-2000:], "dirty": True})
        send(proto_out, reply)


if __name__ == "__main__":
    main()
