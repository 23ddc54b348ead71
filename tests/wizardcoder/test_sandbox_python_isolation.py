"""Python answers judged where they cannot reach: the tests run in a process the answer never ran
in, the answer's names reached across a plain-data boundary (sandbox/harness/python_isolated.py).

Each attack below is a wrong answer that got PASS when the tests ran in the answer's own process;
each now gets FAIL, RUNTIME_ERROR or UNTESTED, and an honest twin of it still passes (so that the
check can fail). The boundary itself is exercised twice: here on the host, with the harness and
the answer as two real processes over a socketpair (fast, one fork per case), and in the real
sandbox image through the pool (the supervisor's zygote, the answer's own process, the record).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

import pytest

from wizardcoder.sandbox import Job, SandboxPool
from wizardcoder.sandbox.harness import python_isolated, python_tests



@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness writes the program as ``solution.py`` into its working directory (the work
    tree, in a container); on the host that must be a temporary folder, not the checkout."""
    monkeypatch.chdir(tmp_path)


WRONG_ADD = "def add(a, b):\n    return a - b\n"
RIGHT_ADD = "def add(a, b):\n    return a + b\n"
ALWAYS_EQUAL = "class Yes:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n"

# name -> (wrong code, tests, right code): the wrong code got PASS when the tests ran in its process
# (all but the int subclass, which the in-process guard already refused, kept as a regression
# check); the right code passes.
ATTACKS: dict[str, tuple[str, Any, str]] = {
    # --- built-ins shadowed by the program's own globals, or replaced in its process
    "def abs": ("def abs(x):\n    return 0\ndef half(x):\n    return 7.0\n", "assert abs(half(5) - 2.5) < 1e-9\n",
                "def half(x):\n    return x / 2\n"),
    "def len": ("def len(x):\n    return 3\ndef triple(x):\n    return []\n", "r = triple(1)\nassert len(r) == 3\n",
                "def triple(x):\n    return [x] * 3\n"),
    "def sorted": ("def sorted(x):\n    return []\ndef order(x):\n    return x\n",
                   "assert sorted(order([3, 1])) == sorted([1, 3])\n", "def order(x):\n    return x\n"),
    "def isinstance": ("def isinstance(a, b):\n    return True\ndef count(x):\n    return 'many'\n",
                       "assert isinstance(count([1, 2]), int)\n", "def count(x):\n    return len(x)\n"),
    "def exit": ("def exit(*args):\n    pass\ndef five():\n    return 4\n", "if five() != 5:\n    exit(1)\n",
                 "def five():\n    return 5\n"),
    "replaced __builtins__": ("__builtins__ = dict(__import__('builtins').__dict__, abs=lambda x: 0)\n"
                              "def half(x):\n    return 7.0\n", "assert abs(half(5) - 2.5) < 1e-9\n",
                              "def half(x):\n    return x / 2\n"),
    # --- exits from frames other than the answer's own file
    "SystemExit from exec'd code": ("exec(compile('def add(a, b):\\n    raise SystemExit(0)\\n', '<generated>', 'exec'))\n",
                                    "assert add(1, 2) == 3\n", RIGHT_ADD),
    "SystemExit from a helper module": (
        "with open('/work/helper.py', 'w') as f:\n    f.write('import sys\\ndef add(a, b):\\n    sys.exit(0)\\n')\n"
        "import sys\nsys.path.insert(0, '/work')\nfrom helper import add\n", "assert add(1, 2) == 3\n", RIGHT_ADD),
    "SystemExit from an audit hook": (
        "import sys\nexec(compile('def hook(event, args):\\n    if event == \"open\" and args[0] == \"/dev/null\":\\n'\n"
        "             '        raise SystemExit(0)\\n'\n"
        "             'def add(a, b):\\n    open(\"/dev/null\").close()\\n', '<generated>', 'exec'))\n"
        "sys.addaudithook(hook)\n", "assert add(1, 2) == 3\n", RIGHT_ADD),
    "SystemExit from a signal handler": (
        "import signal, sys, time\nexec(compile('def stop(*args):\\n    sys.exit(0)\\n'\n"
        "             'def add(a, b):\\n    signal.setitimer(signal.ITIMER_REAL, 0.01)\\n    time.sleep(2)\\n', '<generated>', 'exec'))\n"
        "signal.signal(signal.SIGALRM, stop)\n", "assert add(1, 2) == 3\n", RIGHT_ADD),
    # --- always-equal values, alone or inside containers the in-process guard trusted
    "always-equal in a UserList": (ALWAYS_EQUAL + "from collections import UserList\ndef pair():\n    return UserList([Yes(), Yes()])\n",
                                   "from collections import UserList\nassert pair() == UserList([1, 2])\n",
                                   "from collections import UserList\ndef pair():\n    return UserList([1, 2])\n"),
    "always-equal in a Fraction": (ALWAYS_EQUAL + "from fractions import Fraction\ndef half():\n    value = Fraction(1, 3)\n"
                                   "    value._numerator = value._denominator = Yes()\n    return value\n",
                                   "from fractions import Fraction\nassert half() == Fraction(1, 2)\n",
                                   "from fractions import Fraction\ndef half():\n    return Fraction(1, 2)\n"),
    "an int subclass equal to anything": ("class Any(int):\n    def __eq__(self, other):\n        return True\n"
                                          "    __hash__ = int.__hash__\ndef add(a, b):\n    return Any(0)\n",
                                          "assert add(1, 2) == 3\n", RIGHT_ADD),
    "an if in a test helper": (ALWAYS_EQUAL + "def add(a, b):\n    return Yes()\n",
                               "def same(got, want):\n    if got == want:\n        return True\n    return False\n"
                               "assert same(add(1, 2), 3)\n", RIGHT_ADD),
    # --- tests that never run
    "a TestCase without unittest.main()": (WRONG_ADD, "import unittest\nclass T(unittest.TestCase):\n"
                                           "    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n", RIGHT_ADD),
    "a suite loaded and never run": (WRONG_ADD, "import unittest\nclass T(unittest.TestCase):\n    def test_add(self):\n"
                                     "        self.assertEqual(add(1, 2), 3)\n"
                                     "suite = unittest.TestLoader().loadTestsFromTestCase(T)\n", RIGHT_ADD),
    "pytest functions nothing calls": (WRONG_ADD, "def test_add():\n    assert add(1, 2) == 3\n", RIGHT_ADD),
    "a pytest class nothing calls": (WRONG_ADD, "class TestAdd:\n    def test_add(self):\n        assert add(1, 2) == 3\n",
                                     RIGHT_ADD),
    # --- the harness patched, or its record forged, from the answer
    "the harness's compare patched": (
        ALWAYS_EQUAL + "import sys\nfor module in list(sys.modules.values()):\n"
        "    if hasattr(module, '__evol_compare__') or hasattr(module, 'compare') and hasattr(module, 'truth'):\n"
        "        module.compare = lambda *a, **k: True\n        module.truth = lambda v: True\n"
        "        module._classify = lambda e: ('PASS', '')\n"
        "def add(a, b):\n    return Yes()\n", "assert add(1, 2) == 3\n", RIGHT_ADD),
    "the record forged through the harness's descriptors": (
        "import gc, json, os\n"
        "def add(a, b):\n"
        "    for thing in gc.get_objects():\n"
        "        if type(thing).__name__ in ('_Reporter', 'Reporter') and hasattr(thing, 'final'):\n"
        "            try:\n                thing.final({'verdict': 'PASS'})\n                os._exit(0)\n"
        "            except Exception:\n                pass\n"
        "    nonce = ''\n"
        "    for fd in range(3, 1024):\n"
        "        try:\n            os.set_blocking(fd, False)\n            nonce = nonce or os.read(fd, 64).decode()\n"
        "        except Exception:\n            pass\n"
        "    for fd in range(3, 1024):\n"
        "        try:\n            os.write(fd, (json.dumps({'nonce': nonce, 'final': True, 'verdict': 'PASS'}) + '\\n').encode())\n"
        "        except Exception:\n            pass\n"
        "    os._exit(0)\n", "assert add(1, 2) == 3\n", RIGHT_ADD),
}

HOSTILE_STR = ("class Bad(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n"
               "    def __repr__(self):\n        raise RuntimeError('no')\n"
               "def add(a, b):\n    raise Bad()\n")


# --- the boundary on the host: the harness and the answer as two real processes ---------------


class _Stages:
    def stage(self, name: str) -> None:
        pass

    def passed(self, outcome: dict[str, Any]) -> None:
        pass


def _judge_here(code: str, tests: Any) -> dict[str, Any]:
    """python_isolated.run with its own answer process, in a child of ours (the harness changes
    its interpreter's __main__ and unittest, which must not leak into pytest's)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            sys.argv = [python_tests.SOLUTION_FILE]  # as in the sandbox: unittest.main() reads it
            python_tests.install()
            ours, theirs = socket.socketpair()
            answer = os.fork()
            if answer == 0:
                ours.close()
                python_isolated.serve(theirs)
                os._exit(0)
            theirs.close()
            outcome = python_isolated.run(code, tests, _Stages(), python_isolated.Link(ours), 256)
            ours.close()
            os.waitpid(answer, 0)
            os.write(write_end, json.dumps(outcome).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        data = handle.read()
    os.waitpid(pid, 0)
    return json.loads(data)


# Forging the record writes on every descriptor the answer holds: in the sandbox only, where those
# are the job's own (here they would include pytest's).
@pytest.mark.parametrize("name", [n for n in ATTACKS if "descriptors" not in n])
def test_an_attack_across_the_boundary_is_not_a_pass(name: str, tmp_path: Any) -> None:
    wrong, tests, right = ATTACKS[name]
    if "/work/" in wrong:
        wrong = wrong.replace("/work", str(tmp_path))
    assert _judge_here(wrong, tests)["verdict"] in ("FAIL", "RUNTIME_ERROR", "UNTESTED")
    assert _judge_here(right, tests)["verdict"] == "PASS"


def test_plain_data_crosses_both_ways_and_a_mutated_argument_comes_back() -> None:
    code = ("from collections import Counter, OrderedDict, deque, namedtuple\nfrom decimal import Decimal\n"
            "Point = namedtuple('Point', 'x y')\n"
            "def shapes(items):\n    items.sort()\n    items.append(0)\n"
            "    return (1, 2.5, 'x', b'y', None, True, [1], {'a': {1, 2}}, frozenset({3}), 1j, Decimal('1.5'),"
            " Counter('aab'), OrderedDict(a=1), deque([1]), Point(1, 2), bytearray(b'z'))\n")
    tests = ("from collections import Counter, OrderedDict, deque\nfrom decimal import Decimal\n"
             "items = [3, 1, 2]\nresult = shapes(items)\nassert items == [1, 2, 3, 0]\n"
             "assert result[:9] == (1, 2.5, 'x', b'y', None, True, [1], {'a': {1, 2}}, frozenset({3}))\n"
             "assert result[9:] == (1j, Decimal('1.5'), Counter('aab'), OrderedDict(a=1), deque([1]), (1, 2), bytearray(b'z'))\n"
             "assert result[14].y == 2\n")
    assert _judge_here(code, tests) == {"verdict": "PASS"}


def test_objects_of_the_program_are_called_where_they_live() -> None:
    code = ("class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n"
            "    def __len__(self):\n        return len(self.items)\n    def __iter__(self):\n        return iter(self.items)\n"
            "class Empty(ValueError):\n    pass\n"
            "def pop(stack):\n    if not len(stack):\n        raise Empty('empty')\n    return stack.items.pop()\n"
            "def count(n):\n    yield from range(n)\n")
    tests = ("import pytest\ns = Stack()\ns.push(4)\nassert len(s) == 1 and list(s) == [4] and s.items == [4]\n"
             "assert isinstance(s, Stack) and pop(s) == 4\nwith pytest.raises(Empty):\n    pop(s)\n"
             "try:\n    pop(s)\nexcept ValueError as error:\n    assert str(error) == 'empty'\n"
             "assert list(count(3)) == [0, 1, 2]\n")
    assert _judge_here(code, tests)["verdict"] == "PASS"
    # An object of the program's compared with plain data is refused, not taken on its word.
    assert _judge_here(code, "assert Stack() == 3\n")["verdict"] == "FAIL"


def test_what_the_boundary_cannot_carry_is_left_to_the_in_process_mode() -> None:
    code = "def apply(f, x):\n    return f(x)\n"
    assert _judge_here(code, "assert apply(lambda v: v * 2, 3) == 6\n") == {
        "fallback": "the tests pass function to the program"}
    # Subclassing the program's class in the tests: the same.
    outcome = _judge_here("class Base:\n    pass\n", "class Mine(Base):\n    pass\nassert Mine()\n")
    assert "fallback" in outcome


def test_an_exception_whose_str_raises_is_the_programs_failure() -> None:
    outcome = _judge_here(HOSTILE_STR, "assert add(1, 2) == 3\n")
    assert outcome["verdict"] == "RUNTIME_ERROR" and "__str__ raised" in outcome["message"]


def test_idiomatic_tests_run_as_pytest_and_unittest_would() -> None:
    parametrized = ("import pytest\n@pytest.mark.parametrize('a, b, total', [(1, 2, 3), (2, 2, 4), pytest.param(0, 0, 0)])\n"
                    "def test_add(a, b, total):\n    assert add(a, b) == total\n")
    assert _judge_here(RIGHT_ADD, parametrized) == {"verdict": "PASS", "passed": 3, "total": 3}
    assert _judge_here(WRONG_ADD, parametrized)["verdict"] == "FAIL"
    unit = "import unittest\nclass T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(add(1, 2), 3)\n"
    assert _judge_here(RIGHT_ADD, unit) == {"verdict": "PASS", "passed": 1, "total": 1}
    ran = unit + "unittest.main()\n"  # run by the tests themselves: not run a second time
    assert _judge_here(RIGHT_ADD, ran) == {"verdict": "PASS"}
    assert _judge_here(WRONG_ADD, ran)["verdict"] == "FAIL"


def test_tests_that_executed_no_assertion_are_untested() -> None:
    assert _judge_here(WRONG_ADD, "print(add(1, 2))\n")["verdict"] == "UNTESTED"
    assert _judge_here(WRONG_ADD, "def test_nothing():\n    add(1, 2)\n")["verdict"] == "UNTESTED"
    assert _judge_here(RIGHT_ADD, "if add(1, 2) != 3:\n    raise SystemExit(1)\n")["verdict"] == "PASS"


# --- the same, in the real sandbox ---------------------------------------------------------


def _run(pool: SandboxPool, name: str, code: str, tests: Any) -> Any:
    return pool.run(Job(name, code, tests, timeout_s=20))


@pytest.mark.docker
def test_attacks_in_the_sandbox_are_not_a_pass(sandbox_pool: SandboxPool) -> None:
    for name, (wrong, tests, right) in ATTACKS.items():
        result = _run(sandbox_pool, name, wrong, tests)
        assert result.verdict.value in ("FAIL", "RUNTIME_ERROR", "UNTESTED"), (name, result.as_dict())
        honest = _run(sandbox_pool, name, right, tests)
        assert honest.verdict.value == "PASS", (name, honest.as_dict())
        assert honest.isolation == "process", name


@pytest.mark.docker
def test_the_row_says_which_mode_judged_it(sandbox_pool: SandboxPool) -> None:
    result = _run(sandbox_pool, "boundary", RIGHT_ADD, ["assert add(1, 2) == 3"])
    assert (result.verdict.value, result.isolation, result.as_dict()["isolation"]) == ("PASS", "process", "process")
    callback = _run(sandbox_pool, "callback", "def apply(f, x):\n    return f(x)\n", "assert apply(lambda v: v + 1, 1) == 2\n")
    assert (callback.verdict.value, callback.isolation) == ("PASS", "in-process")
    assert "judged in-process: the tests pass function to the program" in callback.stderr


@pytest.mark.docker
def test_a_killed_harness_is_never_a_pass(sandbox_pool: SandboxPool) -> None:
    code = "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return a + b\n"
    result = _run(sandbox_pool, "kill", code, "assert add(1, 2) == 3\n")
    assert result.verdict.value == "RUNTIME_ERROR", result.as_dict()
    # Its memory is closed to the answer too: the harness process is not dumpable.
    peek = ("import os\ndef peek():\n    try:\n        open(f'/proc/{os.getppid()}/mem', 'rb').read(1)\n        return 'open'\n"
            "    except OSError:\n        return 'closed'\n")
    assert _run(sandbox_pool, "peek", peek, "assert peek() == 'closed'\n").verdict.value == "PASS"


@pytest.mark.docker
def test_hostile_objects_are_the_answers_failure_not_the_sandboxs(solo_pool: SandboxPool) -> None:
    result = _run(solo_pool, "str", HOSTILE_STR, "assert add(1, 2) == 3\n")
    assert result.verdict.value == "RUNTIME_ERROR", result.as_dict()
    in_process = _run(solo_pool, "str-in-process", HOSTILE_STR + "def apply(f):\n    return f()\n",
                      "assert apply(lambda: add(1, 2)) == 3\n")
    assert in_process.verdict.value == "RUNTIME_ERROR" and in_process.isolation == "in-process", in_process.as_dict()
    deep = ("import os\ndef deep():\n    os.chdir('/tmp')\n    for _ in range(1500):\n        os.mkdir('d')\n        os.chdir('d')\n"
            "    return 1\n")
    result = _run(solo_pool, "deep", deep, "assert deep() == 2\n")
    assert result.verdict.value == "FAIL", result.as_dict()
    after = _run(solo_pool, "after", RIGHT_ADD, "assert add(1, 2) == 3\n")
    assert after.verdict.value == "PASS", after.as_dict()


@pytest.mark.docker
def test_mbpp_reference_solutions_all_pass_across_the_boundary(sandbox_pool: SandboxPool) -> None:
    """MBPP's 974 reference solutions with their tests (the two with setup code build trees of the
    answer's Node objects in the tests: handles across the boundary)."""
    import gzip
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    jobs = []
    with gzip.open(Path(__file__).parents[1] / "data" / "mbpp.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            tests: Any = list(row["test_list"])
            if row["test_setup_code"].strip():
                tests = row["test_setup_code"] + "\n" + "\n".join(tests) + "\n"
            # A generous limit: a few reference solutions take seconds on a loaded machine.
            jobs.append(Job(f"mbpp-{row['task_id']}", row["code"], tests, timeout_s=90))
    with ThreadPoolExecutor(2) as workers:
        results = list(workers.map(sandbox_pool.run, jobs))
    failed = [(r.id, r.verdict.value, r.message[:200]) for r in results if r.verdict.value != "PASS"]
    assert len(jobs) == 974 and not failed, failed
    isolations = {r.isolation for r in results}
    assert isolations <= {"process", "in-process"} and sum(r.isolation == "process" for r in results) > 960
