"""Hostile and broken programs: each gets its expected verdict, and leaves nothing behind.

After every case, the next job on the pool's only container must find no stray process, no file
and no IPC object, and the host must see exactly one process (the supervisor) in the container.
Compiled programs are hostile too: their compilers and binaries run under the same limits.
"""

from __future__ import annotations

import os
import textwrap
import time
from dataclasses import dataclass

import pytest

from wizardcoder.sandbox import Job, SandboxPool, Verdict

pytestmark = pytest.mark.docker

CLEAN_CHECK = textwrap.dedent(
    """
    import os
    # 1 is the supervisor, evol-zygote the process it forks Python jobs from, the parent this
    # job's harness: anything else was left behind.
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())
              and open(f"/proc/{p}/comm").read().strip() != "evol-zygote"]
    own = {"solution.py", "tests.py"}  # this job's program, written by the harness
    files = {d: sorted(set(os.listdir(d)) - own) for d in ("/work", "/tmp", "/dev/shm")}
    ipc = [open(f"/proc/sysvipc/{k}").read().splitlines()[1:] for k in ("shm", "sem", "msg")]
    print(others, files, ipc)
    """
)
CLEAN_TESTS = ["assert not others", "assert not any(files.values())", "assert not any(ipc)"]


@dataclass(frozen=True)
class Case:
    code: str
    expected: Verdict
    tests: str | list[str] | None = None
    timeout_s: float = 5.0
    memory_mb: int = 256
    language: str = "python"
    message: str = ""  # words the result's message must contain
    compile_timeout_s: float | None = None

    def job(self, name: str) -> Job:
        return Job(name, textwrap.dedent(self.code), self.tests, self.timeout_s, self.memory_mb,
                   language=self.language, compile_timeout_s=self.compile_timeout_s)


CASES = {
    "python_infinite_loop": Case("while True:\n    pass", Verdict.TIMEOUT, timeout_s=1),
    "c_level_infinite_loop": Case("sum(range(10**12))", Verdict.TIMEOUT, timeout_s=1),
    "sleep_forever": Case("import time\ntime.sleep(10**6)", Verdict.TIMEOUT, timeout_s=1),
    "ignores_sigterm_and_sigalrm": Case(
        """
        import signal
        for s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        signal.alarm(1)
        while True:
            pass
        """,
        Verdict.TIMEOUT,
        timeout_s=1,
    ),
    "stops_itself": Case("import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)", Verdict.TIMEOUT, timeout_s=1),
    "fork_bomb": Case(
        """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        Verdict.TIMEOUT,
        timeout_s=1,
    ),
    "daemon_left_behind": Case(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:  # a double-forked daemon that outlives the job
                    with open("/tmp/daemon-was-here", "a") as f:
                        f.write("x")
                    time.sleep(0.02)
            os._exit(0)
        os.wait()
        time.sleep(0.1)
        def f():
            return 1
        """,
        Verdict.PASS,
        ["assert f() == 1"],
    ),
    "memory_bomb": Case("chunks = []\nwhile True:\n    chunks.append(b'x' * 10**7)", Verdict.MEMORY_LIMIT, memory_mb=128),
    "memory_over_child_processes": Case(
        """
        import os, time
        children = []
        for _ in range(4):  # each child stays under the per-process cap; together they do not
            pid = os.fork()
            if pid == 0:
                ballast = b"x" * (100 << 20)
                time.sleep(2)
                os._exit(0)
            children.append(pid)
        statuses = [os.waitpid(pid, 0)[1] for pid in children]
        """,
        Verdict.MEMORY_LIMIT,
        "assert all(s == 0 for s in statuses), statuses",
        timeout_s=10,
        memory_mb=200,
    ),
    "huge_stdout": Case("import sys\nwhile True:\n    sys.stdout.write('y' * 65536)", Verdict.OUTPUT_LIMIT),
    "huge_stderr": Case("import os\nwhile True:\n    os.write(2, b'z' * 65536)", Verdict.OUTPUT_LIMIT),
    "closes_stdout_and_stderr": Case(
        "import os\nos.close(1)\nos.close(2)\ndef f():\n    return 1", Verdict.PASS, ["assert f() == 1"]
    ),
    "network_access": Case(
        """
        import socket
        reached = []
        for address in (("1.1.1.1", 53), ("8.8.8.8", 443)):
            try:
                socket.create_connection(address, timeout=2).close()
                reached.append(address)
            except OSError:
                pass
        try:
            socket.getaddrinfo("pypi.org", 443)
            reached.append("dns")
        except OSError:
            pass
        """,
        Verdict.PASS,
        "assert not reached, reached",
    ),
    "reads_host_files": Case(
        """
        import os
        visible = [p for p in ("/var/run/docker.sock", "/run/docker.sock", "/work/main", "/root/.ssh",
                               "/etc/apt/sources.list.d/debian.sources") if os.path.exists(p)]
        try:
            open("/proc/1/environ", "rb").read()
            visible.append("/proc/1/environ")
        except OSError:
            pass
        """,
        Verdict.PASS,
        "assert not visible, visible",
    ),
    "writes_outside_the_work_dir": Case(
        """
        import glob
        written = []
        for path in ["/etc/passwd", "/opt/sandbox/supervisor.py", "/x", "/var/tmp/x", "/root/x",
                     "/usr/bin/python3", *glob.glob("/usr/lib/python3*/os.py")]:
            try:
                with open(path, "a") as f:
                    f.write("# planted")
                written.append(path)
            except OSError:
                pass
        """,
        Verdict.PASS,
        "assert not written, written",
    ),
    "plants_files_for_the_next_job": Case(
        """
        import ctypes, os
        for d in ("/work", "/tmp", "/dev/shm"):
            with open(f"{d}/planted.py", "w") as f:
                f.write("print('planted')")
        os.makedirs("/work/locked/deeper")
        open("/work/locked/deeper/f", "w").close()
        os.chmod("/work/locked/deeper", 0)
        os.chmod("/work/locked", 0)
        libc = ctypes.CDLL(None)
        shm = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE | IPC_CREAT | 0600
        """,
        Verdict.PASS,
        "assert shm >= 0",
    ),
    "sys_exit_0_before_list_tests": Case("import sys\ndef f():\n    return 2\nsys.exit(0)", Verdict.RUNTIME_ERROR, ["assert f() == 1"]),
    "sys_exit_0_before_script_tests": Case("import sys\ndef f():\n    return 2\nsys.exit(0)", Verdict.RUNTIME_ERROR, "assert f() == 1"),
    "os_exit_0_before_tests": Case("import os\ndef f():\n    return 2\nos._exit(0)", Verdict.RUNTIME_ERROR, "assert f() == 1"),
    "exit_0_from_inside_the_solution": Case("import sys\ndef f():\n    sys.exit(0)", Verdict.FAIL, "assert f() == 1",
                                            message="exited with status 0 in the middle of its tests"),
    "fills_the_work_dir_with_files": Case(
        """
        import os
        made = 0
        try:
            while True:
                open(f"/work/f{made}", "w").close()
                made += 1
        except OSError as error:
            print("stopped after", made, error)
        """,
        Verdict.PASS,
        ["assert made > 1000", "assert made < 100_000"],
        timeout_s=20,
    ),
    "fills_tmp_and_shm_with_directories": Case(
        """
        import os
        made = 0
        for root in ("/tmp", "/dev/shm"):
            try:
                while True:
                    os.mkdir(f"{root}/d{made}")
                    made += 1
            except OSError:
                pass
        """,
        Verdict.PASS,
        ["assert made > 1000"],
        timeout_s=20,
    ),
    "main_thread_ends_while_another_thread_runs_forever": Case(
        """
        import threading, time
        def spin():
            while True:
                time.sleep(0.05)
        threading.Thread(target=spin).start()  # not a daemon: `python3 solution.py` never exits
        def f():
            return 1
        """,
        Verdict.TIMEOUT,
        ["assert f() == 1"],
        timeout_s=2,
        message="the tests passed, but the program did not end",
    ),
    "main_thread_ends_while_another_thread_finishes": Case(
        """
        import threading, time
        def work():
            time.sleep(0.3)
            print("the thread finished")
        threading.Thread(target=work).start()
        def f():
            return 1
        """,
        Verdict.PASS,
        ["assert f() == 1"],
    ),
    "a_thread_exits_with_status_3_after_the_tests": Case(
        """
        import os, threading, time
        def later():
            time.sleep(0.2)
            os._exit(3)
        threading.Thread(target=later).start()
        def f():
            return 1
        """,
        Verdict.RUNTIME_ERROR,
        ["assert f() == 1"],
        message="the tests passed, then the program exited with status 3",
    ),
    "c_fork_bomb": Case(
        "#include <unistd.h>\nvoid f(void) { for (;;) fork(); }", Verdict.TIMEOUT, "int main(void) { f(); }",
        timeout_s=2, language="c", compile_timeout_s=60,
    ),
    "c_daemon_left_behind": Case(
        """
        #include <stdio.h>
        #include <unistd.h>
        #include <sys/wait.h>
        int f(void) {
            if (fork() == 0) {
                setsid();
                if (fork() == 0) {
                    for (;;) { FILE *out = fopen("/tmp/daemon-was-here", "a"); if (out) { fputs("x", out); fclose(out); } usleep(20000); }
                }
                _exit(0);
            }
            wait(NULL);
            usleep(100000);
            return 1;
        }
        """,
        Verdict.PASS, "#include <assert.h>\nint main(void) { assert(f() == 1); return 0; }", timeout_s=60, language="c",
    ),
    "c_writes_outside_the_work_dir": Case(
        """
        #include <stdio.h>
        int written(void) {
            const char *paths[] = {"/etc/passwd", "/opt/sandbox/supervisor.py", "/usr/bin/gcc", "/x", "/root/x"};
            int count = 0;
            for (int i = 0; i < 5; i++) { FILE *out = fopen(paths[i], "a"); if (out) { count++; fclose(out); } }
            return count;
        }
        """,
        Verdict.PASS, "#include <assert.h>\nint main(void) { assert(written() == 0); return 0; }", timeout_s=60, language="c",
    ),
    "cpp_compiler_error_flood": Case(
        # Every line an error: the compiler's output is cut to a message, not shipped whole.
        "\n".join(f"int f{i}() {{ return undefined_{i}; }}" for i in range(3000)),
        Verdict.COMPILE_ERROR, "int main() {}", timeout_s=60, language="cpp",
    ),
    "go_floods_stdout": Case(
        'import "os"\nfunc f() { b := make([]byte, 65536); for { os.Stdout.Write(b) } }', Verdict.OUTPUT_LIMIT,
        "func main() { f() }", timeout_s=60, language="go",
    ),
    "java_spawns_threads_without_end": Case(
        """
        class Solution {
            static void f() {
                while (true) {
                    new Thread(() -> { try { Thread.sleep(100000); } catch (InterruptedException e) { } }).start();
                }
            }
        }
        """,
        Verdict.RUNTIME_ERROR, "public class Main { public static void main(String[] a) { Solution.f(); } }",
        timeout_s=60, language="java",
    ),
    "prints_a_fake_success_record": Case(
        """
        import json, os
        fake = json.dumps({"op": "job", "verdict": "PASS", "nonce": "0" * 32, "passed": 1, "total": 1})
        print(fake)
        print("PASS")
        for fd in range(3, 1024):  # also on every descriptor the harness might listen to
            try:
                os.write(fd, fake.encode())
            except OSError:
                pass
        os._exit(0)
        """,
        Verdict.RUNTIME_ERROR,
        "assert False",
    ),
    "kills_its_parent": Case(
        """
        import os, signal
        for pid in {os.getppid(), 1}:
            for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGSTOP):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        os._exit(0)
        """,
        Verdict.RUNTIME_ERROR,
        "assert False",
    ),
    "tampers_with_the_supervisor": Case(
        """
        denied = []
        for path, mode in (("/proc/1/fd/1", "wb"), ("/proc/1/fd/0", "rb"), ("/proc/1/mem", "rb")):
            try:
                open(path, mode)
            except OSError:
                denied.append(path)
        """,
        Verdict.PASS,
        "assert len(denied) == 3, denied",
    ),
    "runaway_recursion": Case(
        "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\nf(0)", Verdict.RUNTIME_ERROR, timeout_s=10, memory_mb=64
    ),
    "segfault": Case("import ctypes\nctypes.string_at(0)", Verdict.RUNTIME_ERROR),
}
KILLED = {Verdict.TIMEOUT, Verdict.OUTPUT_LIMIT}


def _host_processes(container_id: str) -> int:
    """Processes the host kernel sees in the container's cgroup."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cgroup") as handle:
                if container_id in handle.read():
                    count += 1
        except OSError:
            continue
    return count


def _settled(pool: SandboxPool, timeout_s: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while pool.live < pool.size and time.monotonic() < deadline:
        time.sleep(0.05)
    return pool.container_ids()


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_program_gets_its_verdict_and_leaves_nothing_behind(solo_pool: SandboxPool, name: str) -> None:
    case = CASES[name]
    containers_before = solo_pool.containers_started
    started = time.monotonic()
    result = solo_pool.run(case.job(name))
    elapsed = time.monotonic() - started

    assert result.verdict is case.expected, result
    assert case.message in result.message, result
    if case.expected is Verdict.TIMEOUT:
        # Stopped at its limit from outside the program, not whenever it chose to stop.
        assert elapsed - (result.compile_s or 0.0) < case.timeout_s + 2.5
    if case.expected in (Verdict.OUTPUT_LIMIT, Verdict.COMPILE_ERROR):
        assert len(result.stdout) + len(result.stderr) < 8 * 1024 and len(result.message) <= 2000
    if case.expected not in KILLED and case.expected is not Verdict.MEMORY_LIMIT:
        assert solo_pool.containers_started == containers_before, "the container should have been kept"

    after = solo_pool.run(Job(f"{name}-after", CLEAN_CHECK, CLEAN_TESTS, timeout_s=10))
    assert after.verdict is Verdict.PASS, after
    for container_id in _settled(solo_pool):
        assert _host_processes(container_id) == 2  # the supervisor and the zygote it forks jobs from


def test_the_outcome_record_is_per_job(solo_pool: SandboxPool) -> None:
    """A record left in the container by one job cannot count for the next."""
    first = solo_pool.run(Job("a", "import json\nprint(json.dumps({'verdict': 'PASS'}))", "assert True"))
    second = solo_pool.run(Job("b", "import os\nos._exit(0)", "assert True"))
    assert (first.verdict, second.verdict) == (Verdict.PASS, Verdict.RUNTIME_ERROR)


def test_host_secrets_never_reach_a_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-do-not-leak")
    probe = Job(
        "env",
        "import glob, os\nleaks = [p for p in glob.glob('/proc/*/environ') if os.access(p, os.R_OK) and b'sk-host' in open(p, 'rb').read()]",
        ["assert 'OPENAI_API_KEY' not in os.environ", "assert not leaks", "assert 'sk-host' not in repr(os.environ)"],
    )
    with SandboxPool(1) as pool:  # made while the secret is in this process's environment
        result = pool.run(probe)
    assert result.verdict is Verdict.PASS, result
    assert (result.tests_passed, result.tests_total) == (3, 3)
