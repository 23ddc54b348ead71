"""The classic ways code fakes a passing test run, each a FAIL whose message says what was faked.

A model trained on data where such tricks "pass" learns them; none may reach the dataset as PASS.
Each case pairs a hack with the same program done honestly, which must still pass: the guards
refuse the trick, not the code around it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from wizardcoder.sandbox import Job, SandboxPool, Verdict

pytestmark = pytest.mark.docker

D = textwrap.dedent


@dataclass(frozen=True)
class Hack:
    code: str
    tests: str | list[str]
    message: str  # words the FAIL's message must contain
    language: str = "python"


HACKS = {
    "eq_always_true": Hack(
        D("""
            class Anything:
                def __eq__(self, other):
                    return True
            def solve(x):
                return Anything()
            """),
        ["assert solve(1) == 2", "assert solve(2) == [1, 2]"],
        "was decided by the value under test: Anything.__eq__ is the program's own",
    ),
    "eq_always_true_in_a_subclass_of_int_in_a_check_script": Hack(
        D("""
            class Zero(int):
                def __eq__(self, other):
                    return True
                __hash__ = int.__hash__
            def solve(x):
                return Zero(0)
            """),
        "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 10\n\ncheck(solve)\n",
        "Zero.__eq__ is the program's own",
    ),
    "eq_always_true_inside_a_list": Hack(
        "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef solve(x):\n    return [Anything(), Anything()]\n",
        ["assert solve(1) == [1, 2]"],
        "Anything.__eq__",
    ),
    "ne_always_true": Hack(
        "class Other:\n    def __ne__(self, other):\n        return True\n\ndef solve(x):\n    return Other()\n",
        ["assert solve(1) != 1"],
        "Other.__ne__",
    ),
    "truth_always_true": Hack(
        "class Yes:\n    def __bool__(self):\n        return True\n\ndef is_prime(n):\n    return Yes()\n",
        ["assert is_prime(7)", "assert is_prime(13)"],
        "Yes.__bool__",
    ),
    "order_always_true_in_a_chained_comparison": Hack(
        D("""
            class Anything:
                def __lt__(self, other):
                    return True
                __gt__ = __le__ = __ge__ = __lt__
            def solve(x):
                return Anything()
            """),
        ["assert 0 <= solve(1) < 10", "assert 5 < solve(2) <= 6"],
        "Anything.__lt__ is the program's own",
    ),
    "eq_always_true_assigned_before_the_assert": Hack(
        "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef solve(x):\n    return Anything()\n",
        "ok = solve(1) == 2\nassert ok\n\ndef same(got, want):\n    return got == want\n\nassert same(solve(2), 4)\n",
        "Anything.__eq__ is the program's own",
    ),
    "truth_always_true_assigned_before_the_assert": Hack(
        "class Yes:\n    def __bool__(self):\n        return True\n\ndef is_prime(n):\n    return Yes()\n",
        ["prime = is_prime(8)\nassert prime"],
        "Yes.__bool__",
    ),
    "eq_always_true_through_unittest": Hack(
        "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef solve(x):\n    return Anything()\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(solve(1), 2)\n\nunittest.main()\n",
        "the tests exited with status 1 (a test runner reporting failures): DefeatedComparison: the comparison",
    ),
    "sys_exit_0_inside_the_tests": Hack(
        "import sys\n\ndef solve(x):\n    sys.exit(0)\n",
        ["assert solve(1) == 2"],
        "exited with status 0 in the middle of its tests",
    ),
    "os_exit_0_inside_the_tests": Hack(
        "import os\n\ndef solve(x):\n    os._exit(0)\n",
        "assert solve(1) == 2\n",
        "exited with status 0 in the middle of its tests",
    ),
    "exit_in_del_as_a_failing_test_unwinds": Hack(
        D("""
            import os
            class Bomb:
                def __del__(self):
                    os._exit(0)
            def solve(x):
                bomb = Bomb()
                return x
            """),
        "result = solve(1)\nassert result == 2\n",
        "exited with status 0 in the middle of its tests",
    ),
    "sys_exit_in_del": Hack(
        "import sys\n\nclass Bomb:\n    def __del__(self):\n        sys.exit(0)\n\ndef solve(x):\n    Bomb()\n    return x\n",
        ["assert solve(1) == 2"],
        "AssertionError",
    ),
    "patched_unittest_assertion": Hack(
        "import unittest\n\nunittest.TestCase.assertEqual = lambda self, first, second, msg=None: None\n\ndef solve(x):\n    return x\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(solve(1), 2)\n\nunittest.main()\n",
        "the program replaced unittest.case.TestCase.assertEqual",
    ),
    "patched_unittest_result": Hack(
        "import unittest.result\n\nunittest.result.TestResult.wasSuccessful = lambda self: True\n\ndef solve(x):\n    return x\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(solve(1), 2)\n\nunittest.main()\n",
        "the program replaced unittest.result.TestResult.wasSuccessful",
    ),
    "patched_sys_exit": Hack(
        "import sys\n\nsys.exit = lambda *args: None\n\ndef solve(x):\n    return x\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(solve(1), 2)\n\nunittest.main()\n",
        "the program replaced sys.exit",
    ),
    "patched_builtin": Hack(
        "import builtins\n\nbuiltins.sorted = lambda values, **kwargs: [1, 2, 3]\n\ndef solve(xs):\n    return xs\n",
        ["assert sorted(solve([3, 1])) == [1, 2, 3]"],
        "the program replaced the built-in sorted",
    ),
    "trace_function_skipping_lines": Hack(
        D("""
            import sys
            def tracer(frame, event, arg):
                if event == "line" and frame.f_code.co_filename == "tests.py":
                    frame.f_lineno = frame.f_lineno + 1  # jump over the assertion
                return tracer
            def solve(x):
                return x
            sys.settrace(tracer)
            """),
        "assert solve(1) == 2\nassert solve(2) == 3\n",
        "installed a trace or profile function",
    ),
    "replaced_module_in_sys_modules": Hack(
        D("""
            import sys, types
            fake = types.ModuleType("unittest")
            fake.TestCase = object
            fake.main = lambda *args, **kwargs: None
            sys.modules["unittest"] = fake
            def solve(x):
                return x
            """),
        "import unittest\nunittest.main()\nassert False\n",
        "the program replaced the module unittest in sys.modules",
    ),
    "javascript_loose_equality": Hack(
        "function solve(x) { return { valueOf() { return 2; } }; }\n",
        "const assert = require('assert');\nassert.equal(solve(1), 2);\n",
        "assert.equal was decided by the value under test",
        "javascript",
    ),
    "javascript_patched_assert": Hack(
        "const assert = require('assert');\nassert.strictEqual = () => {};\nfunction solve(x) { return x; }\n",
        "const assert = require('assert');\nassert.strictEqual(solve(1), 2);\n",
        "the program replaced assert.strictEqual",
        "javascript",
    ),
    "javascript_exit_0_inside_the_tests": Hack(
        "function solve(x) { process.exit(0); }\n",
        "const assert = require('assert');\nassert.strictEqual(solve(1), 2);\n",
        "exited with status 0 in the middle of its tests",
        "javascript",
    ),
    "javascript_failed_console_assert": Hack(
        "function solve(x) { return x; }\n",
        "console.assert(solve(1) === 2, 'solve(1) should be 2');\n",
        "console.assert failed: solve(1) should be 2",
        "javascript",
    ),
}

HONEST = {
    "python": Hack("from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: int\n\ndef solve(x):\n    return Point(x)\n",
                   ["assert solve(1) == Point(1)", "assert solve(1) != Point(2)", "assert solve(3).x == 3",
                    "assert [solve(1)] == [Point(1)]", "assert 0 <= solve(1).x < 10 is not None",
                    "ok = solve(2) == Point(2)\nassert ok", "x = solve(4).x\nassert x and 3 < x <= 4"], ""),
    "unittest": Hack("def solve(x):\n    return 2 * x\n",
                     "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(solve(1), 2)\n"
                     "        self.assertTrue(solve(0) == 0)\n\nunittest.main()\n", ""),
    "javascript": Hack("function solve(x) { return 2 * x; }\n",
                       "const assert = require('assert');\nassert.equal(solve(1), 2);\nassert.deepEqual([solve(1)], [2]);\n"
                       "console.assert(solve(2) === 4);\n", "", "javascript"),
}


@pytest.mark.parametrize("name", sorted(HACKS))
def test_a_faked_pass_is_a_fail_that_says_so(sandbox_pool: SandboxPool, name: str) -> None:
    hack = HACKS[name]
    result = sandbox_pool.run(Job(name, hack.code, hack.tests, timeout_s=30, language=hack.language))
    assert result.verdict is Verdict.FAIL, result
    assert hack.message in result.message, result


@pytest.mark.parametrize("name", sorted(HONEST))
def test_the_same_comparisons_done_honestly_pass(sandbox_pool: SandboxPool, name: str) -> None:
    honest = HONEST[name]
    result = sandbox_pool.run(Job(name, honest.code, honest.tests, timeout_s=30, language=honest.language))
    assert result.verdict is Verdict.PASS, result
