"""One job must not touch the next in the same warm container.

A default ACL or an extended attribute set on /work by one job is gone for the next; a Python job
finds nothing of an earlier job's code or tests in its own memory (jobs are forked from a zygote
that never held a job); a job that breaks the container's machinery (the zygote) gets the
container replaced, and the next job runs as usual.
"""

from __future__ import annotations

import secrets
import struct

import pytest

from wizardcoder.sandbox import Job, SandboxPool

pytestmark = pytest.mark.docker

ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_OTHER = 0x01, 0x04, 0x20
# A default ACL granting nothing to anyone, in the kernel's xattr form: every file made in /work
# after it would be created unreadable and unwritable, compilers' output included.
NO_ACCESS_DEFAULT_ACL = struct.pack("<I", 2) + b"".join(
    struct.pack("<HHI", tag, 0, 0xFFFFFFFF) for tag in (ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_OTHER))

C_ADD = ("int add(int a, int b) { return a + b; }\n", "#include <assert.h>\nint main(void) { assert(add(1, 2) == 3); return 0; }\n")


def _python(pool: SandboxPool, name: str, code: str, tests: str | list[str]) -> dict:
    return pool.run(Job(name, code, tests, timeout_s=30)).as_dict()


def test_a_default_acl_on_work_is_gone_for_the_next_job(solo_pool: SandboxPool) -> None:
    setter = f"import os\ndef mark():\n    os.setxattr('/work', 'system.posix_acl_default', {NO_ACCESS_DEFAULT_ACL!r})\n    return 1\n"
    first = _python(solo_pool, "acl", setter, "assert mark() == 1\n")
    assert first["verdict"] == "PASS", first  # the kernel let the job set it
    compiled = solo_pool.run(Job("c", C_ADD[0], C_ADD[1], language="c", timeout_s=60)).as_dict()
    assert compiled["verdict"] == "PASS", compiled
    check = _python(solo_pool, "check", "import os\ndef attributes():\n    return os.listxattr('/work')\n",
                    "assert attributes() == []\n")
    assert check["verdict"] == "PASS", check


def test_an_extended_attribute_on_work_is_no_channel_to_the_next_job(solo_pool: SandboxPool) -> None:
    secret = secrets.token_hex(8)
    setter = f"import os\ndef send():\n    os.setxattr('/work', 'user.channel', b'{secret}')\n    return 1\n"
    first = _python(solo_pool, "send", setter, "assert send() == 1\n")
    assert first["verdict"] == "PASS", first
    reader = ("import os\ndef receive():\n    try:\n        return os.getxattr('/work', 'user.channel').decode()\n"
              "    except OSError:\n        return None\n")
    second = _python(solo_pool, "receive", reader, "assert receive() is None\n")
    assert second["verdict"] == "PASS", second


# Scans the job's own readable memory for a run of 40 "Zq7x" (a regular expression that does not
# itself hold the run), which only the earlier job's tests held.
MEMORY_SCAN = r'''
import re

def earlier_job_seen():
    run = re.compile(rb"(?:Zq7x){40}")
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as memory:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r") or "[vvar]" in line or "[vsyscall]" in line:
                continue
            start, end = (int(part, 16) for part in span.split("-"))
            try:
                memory.seek(start)
                if run.search(memory.read(end - start)):
                    return True
            except (OSError, OverflowError, ValueError):
                continue
    return False
'''


@pytest.mark.parametrize("isolation", ["process", "in-process"])
def test_a_python_job_finds_nothing_of_an_earlier_job_in_its_memory(isolation: str) -> None:
    with SandboxPool(1, max_jobs_per_container=1000, python_isolation=isolation) as pool:
        secret_tests = f"SECRET = '{'Zq7x' * 40}'\nassert len(SECRET) == 160\n"
        first = pool.run(Job("secret", "def f():\n    return 1\n", secret_tests)).as_dict()
        assert first["verdict"] == "PASS", first
        # The scan itself can see: a run held by this very job is found.
        own = pool.run(Job("own", MEMORY_SCAN + f"OWN = '{'Zq7x' * 40}'\n", "assert earlier_job_seen() is True\n",
                           timeout_s=30)).as_dict()
        assert own["verdict"] == "PASS", own
        scan = pool.run(Job("scan", MEMORY_SCAN, "assert earlier_job_seen() is False\n", timeout_s=30)).as_dict()
        assert scan["verdict"] == "PASS", scan


def test_a_job_that_kills_the_zygote_gets_its_container_replaced() -> None:
    killer = ("import os, signal\ndef stop():\n    me, parent = os.getpid(), os.getppid()\n"
              "    for pid in os.listdir('/proc'):\n        if pid.isdigit() and int(pid) not in (1, me, parent):\n"
              "            try:\n                os.kill(int(pid), signal.SIGKILL)\n            except OSError:\n                pass\n"
              "    return 1\n")
    with SandboxPool(1, max_jobs_per_container=1000) as pool:
        first = pool.run(Job("killer", killer, "assert stop() == 1\n")).as_dict()
        assert first["verdict"] == "PASS", first
        after = pool.run(Job("after", "def add(a, b):\n    return a + b\n", "assert add(1, 2) == 3\n")).as_dict()
        assert after["verdict"] == "PASS", after
        assert pool.containers_started == 2  # the first container was found dirty and replaced
