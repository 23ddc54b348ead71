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
# A value equal to anything, unequal to nothing.
EQUAL_TO_ALL = ("class A:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n        return False\n"
                "    __hash__ = object.__hash__\n\ndef solve(x):\n    return A()\n")


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
    "eq_always_true_in_assert_true_argument": Hack(
        "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef solve(x):\n    return Anything()\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertTrue(solve(1) == 2)\n\n"
        "unittest.main()\n",
        "DefeatedComparison: the comparison",
    ),
    "ne_always_false_in_assert_false_argument": Hack(
        EQUAL_TO_ALL,
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertFalse(solve(1) != 2)\n\n"
        "unittest.main()\n",
        "DefeatedComparison: the comparison",
    ),
    "eq_always_true_through_assert_almost_equal": Hack(
        EQUAL_TO_ALL,
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertAlmostEqual(solve(1), 2.0)\n\n"
        "unittest.main()\n",
        "DefeatedComparison: the comparison",
    ),
    "order_always_true_through_assert_greater": Hack(
        "class Big:\n    def __gt__(self, other):\n        return True\n\ndef solve(x):\n    return Big()\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertGreater(solve(1), 10)\n\n"
        "unittest.main()\n",
        "Big.__gt__ is the program's own",
    ),
    "ne_always_false_in_an_if_that_raises": Hack(
        EQUAL_TO_ALL,
        ["if solve(1) != 2:\n    raise AssertionError('solve(1) should be 2')",
         "if not solve(2) == 4:\n    raise AssertionError('solve(2) should be 4')"],
        "A.__eq__ is the program's own",
    ),
    "ne_always_false_in_an_if_that_exits": Hack(
        EQUAL_TO_ALL,
        "import sys\n\nif solve(1) != 2:\n    print('solve(1) should be 2')\n    sys.exit(1)\n",
        "A.__eq__ is the program's own",
    ),
    "eq_always_true_with_the_raise_in_else": Hack(
        EQUAL_TO_ALL,
        "def check(candidate):\n    if candidate(1) == 2:\n        pass\n    else:\n        raise AssertionError('wrong')\n\ncheck(solve)\n",
        "A.__eq__ is the program's own",
    ),
    "mock_any_returned": Hack(
        "from unittest.mock import ANY\n\ndef solve(x):\n    return ANY\n",
        ["assert solve(1) == 2", "assert 2 == solve(1)"],
        "_ANY.__eq__ is the program's own",
    ),
    "mock_any_inside_a_list": Hack(
        "from unittest.mock import ANY\n\ndef solve(x):\n    return [ANY, ANY]\n",
        ["assert solve(1) == [1, 2]"],
        "_ANY.__eq__ is the program's own",
    ),
    "mock_any_through_unittest": Hack(
        "def solve(x):\n    import unittest.mock\n    return unittest.mock.ANY\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n        self.assertEqual(solve(1), 2)\n\nunittest.main()\n",
        "_ANY.__eq__ is the program's own",
    ),
    "stdlib_function_borrowed_as_eq": Hack(
        "import unittest.mock\n\nclass Anything:\n    __eq__ = type(unittest.mock.ANY).__eq__\n\ndef solve(x):\n    return Anything()\n",
        ["assert solve(1) == 2"],
        "Anything.__eq__ is the program's own",
    ),
    "patched_math_isclose": Hack(
        "import math\n\nmath.isclose = lambda *args, **kwargs: True\n\ndef solve(x):\n    return 0\n",
        "import math\nassert math.isclose(solve(1), 2)\n",
        "the program replaced math.isclose",
    ),
    "patched_operator_eq": Hack(
        "import operator\n\noperator.eq = lambda a, b: True\n\ndef solve(x):\n    return 0\n",
        "import operator\nassert operator.eq(solve(1), 2)\n",
        "the program replaced operator.eq",
    ),
    "cpp_ndebug_before_cassert": Hack(
        "#define NDEBUG\n#include <cassert>\nint solve(int x) { return x; }\n",
        "int main() {\n    assert(solve(1) == 2);\n    return 0;\n}\n",
        "Assertion",
        "cpp",
    ),
    "cpp_assert_redefined": Hack(
        "#include <cassert>\n#undef assert\n#define assert(x) ((void)0)\nint solve(int x) { return x; }\n",
        "int main() {\n    assert(solve(1) == 2);\n    return 0;\n}\n",
        "Assertion",
        "cpp",
    ),
    "cpp_own_assert_fail_that_returns": Hack(
        "#include <cassert>\nextern \"C\" void __assert_fail(const char*, const char*, unsigned int, const char*) noexcept {}\n"
        "int solve(int x) { return x; }\n",
        "int main() {\n    assert(solve(1) == 2);\n    return 0;\n}\n",
        "Assertion `solve(1) == 2' failed",
        "cpp",
    ),
    "c_own_assert_fail_that_returns": Hack(
        "#include <assert.h>\nvoid __assert_fail(const char *a, const char *f, unsigned int l, const char *u) {}\n"
        "int solve(int x) { return x; }\n",
        "int main(void) {\n    assert(solve(1) == 2);\n    return 0;\n}\n",
        "Assertion `solve(1) == 2' failed",
        "c",
    ),
    "c_ndebug_before_assert_h": Hack(
        "#define NDEBUG\n#include <assert.h>\nint solve(int x) { return x; }\n",
        "int main(void) {\n    assert(solve(1) == 2);\n    return 0;\n}\n",
        "Assertion",
        "c",
    ),
    "rust_assert_macros_shadowed": Hack(
        "macro_rules! assert_eq { ($($t:tt)*) => {} }\nmacro_rules! assert { ($($t:tt)*) => {} }\n"
        "macro_rules! assert_ne { ($($t:tt)*) => {} }\nfn solve(x: i32) -> i32 { x }\n",
        "fn main() {\n    assert_eq!(solve(1), 2);\n    assert!(solve(1) == 2);\n    assert_ne!(solve(1), 1);\n}\n",
        "assertion",
        "rust",
    ),
    "go_panic_redeclared": Hack(
        "package main\n\nfunc panic(v interface{}) {}\n\nfunc solve(x int) int { return x }\n",
        "func main() {\n\tif solve(1) != 2 {\n\t\tpanic(\"assertion failed\")\n\t}\n}\n",
        "the program redeclares Go's built-in panic",
        "go",
    ),
    "java_class_shadowing_java_util_objects": Hack(
        "class Objects {\n    static boolean equals(Object a, Object b) { return true; }\n}\n\n"
        "class Solution {\n    static int solve(int x) { return x; }\n}\n",
        "import java.util.*;\n\npublic class Main {\n    public static void main(String[] args) {\n"
        "        if (!Objects.equals(Solution.solve(1), 2)) throw new AssertionError(\"solve(1) should be 2\");\n    }\n}\n",
        "the program declares its own class Objects",
        "java",
    ),
    "javascript_fake_before_exit": Hack(
        "function solve(x) { process.emit('beforeExit', 0); process.exit(0); }\n",
        "const assert = require('assert');\nassert.strictEqual(solve(1), 2);\n",
        "exited with status 0 in the middle of its tests",
        "javascript",
    ),
    "javascript_fake_before_exit_then_a_later_exit": Hack(
        "function solve(x) {\n  process.emit('beforeExit', 0);\n  setImmediate(() => process.exit(0));\n"
        "  return new Promise((resolve) => setTimeout(() => resolve(x), 50));\n}\n",
        "const assert = require('assert');\nsetTimeout(() => solve(1).then((value) => assert.strictEqual(value, 2)), 5);\n",
        "exited with status 0 in the middle of its tests",
        "javascript",
    ),
    # A program that skips the tests it would fail: each skip is the program's, so a FAIL.
    "skip_hard_cases_the_pytest_way": Hack(
        "import pytest\n\ndef solve(x):\n    if x > 1:\n        pytest.skip('later')\n    return 2 * x\n",
        "def test_small():\n    assert solve(1) == 2\n\ndef test_large():\n    assert solve(5) == 11\n",
        "a program cannot skip the tests that judge it",
    ),
    "skip_hard_cases_with_an_own_class_named_skipped": Hack(
        "class Skipped(Exception):\n    pass\n\ndef solve(x):\n    if x > 1:\n        raise Skipped()\n    return 2 * x\n",
        "def test_small():\n    assert solve(1) == 2\n\ndef test_large():\n    assert solve(5) == 11\n",
        "a program cannot skip the tests that judge it",
    ),
    "skip_hard_cases_the_unittest_way": Hack(
        "import unittest\n\ndef solve(x):\n    if x > 1:\n        raise unittest.SkipTest('later')\n    return 2 * x\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_small(self):\n        self.assertEqual(solve(1), 2)\n"
        "    def test_large(self):\n        self.assertEqual(solve(5), 11)\n",
        "a program cannot skip the tests that judge it",
    ),
    "skip_from_a_method_the_tests_subclass_in_process": Hack(
        "import pytest\n\nclass Base:\n    def solve(self, x):\n        if x > 1:\n            pytest.skip('later')\n        return 2 * x\n",
        "class Sub(Base):\n    pass\n\ndef test_small():\n    assert Sub().solve(1) == 2\n\ndef test_large():\n    assert Sub().solve(5) == 11\n",
        "a program cannot skip the tests that judge it",
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
    "unittest_assertions_of_numbers": Hack(
        "from fractions import Fraction\n\ndef solve(x):\n    return x / 3\n\ndef exact(x):\n    return Fraction(x, 3)\n",
        "import math, unittest\n\nclass T(unittest.TestCase):\n    def test_it(self):\n"
        "        self.assertAlmostEqual(solve(1), 0.3333333)\n        self.assertNotAlmostEqual(solve(1), 0.5)\n"
        "        self.assertAlmostEqual(exact(1), 1 / 3)\n        self.assertGreater(solve(3), 0.5)\n"
        "        self.assertLessEqual(solve(3), 1)\n        self.assertFalse(solve(3) != 1)\n"
        "        self.assertTrue(math.isclose(solve(1), 1 / 3))\n        self.assertTrue(exact(3) == 1)\n\n"
        "unittest.main()\n", ""),
    "if_that_raises": Hack(
        "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: int\n\ndef solve(x):\n    return Point(x)\n",
        "import math, operator\n\ndef reference(n):\n    if n < 0:\n        raise ValueError(n)\n    return Point(n)\n\n"
        "for n in range(5):\n    if solve(n) != reference(n):\n        raise AssertionError(n)\n"
        "    if not solve(n).x == n:\n        raise AssertionError(n)\n    if not math.isclose(solve(n).x, n):\n"
        "        raise AssertionError(n)\n    if operator.ne(solve(n).x, n):\n        raise AssertionError(n)\n", ""),
    "cpp_own_ndebug": Hack("#define NDEBUG\n#include <cassert>\nint solve(int x) { assert(x > 100); return 2 * x; }\n",
                           "int main() {\n    assert(solve(1) == 2);\n    return 0;\n}\n", "", "cpp"),
    "c_tests_without_their_own_include": Hack("int solve(int x) { return 2 * x; }\n",
                                              "int main(void) {\n    assert(solve(1) == 2);\n    return 0;\n}\n", "", "c"),
    "rust_macros": Hack("macro_rules! double { ($x:expr) => { 2 * $x } }\nfn solve(x: i32) -> i32 { double!(x) }\n",
                        "fn main() {\n    let text = \"assert_eq!(1, 2)\";\n    assert_eq!(solve(1), 2);\n"
                        "    assert!(solve(2) == 4, \"solve(2) = {}\", solve(2));\n    std::assert_ne!(solve(1), 3);\n"
                        "    debug_assert!(text.len() > 0);\n}\n", "", "rust"),
    "go_own_max": Hack("package main\n\nfunc max(a, b int) int {\n\tif a > b {\n\t\treturn a\n\t}\n\treturn b\n}\n\n"
                       "func solve(x int) int { return max(2*x, 0) }\n",
                       "func main() {\n\tif solve(1) != 2 {\n\t\tpanic(\"assertion failed\")\n\t}\n}\n", "", "go"),
    "java_own_stack_class": Hack("class Stack {\n    private final int[] items = new int[8];\n    private int size;\n"
                                 "    void push(int x) { items[size++] = x; }\n    int pop() { return items[--size]; }\n}\n",
                                 "import java.util.*;\n\npublic class Main {\n    public static void main(String[] args) {\n"
                                 "        Stack s = new Stack();\n        s.push(2);\n"
                                 "        if (!Objects.equals(s.pop(), 2)) throw new AssertionError();\n"
                                 "        String text = \"class Objects\";\n    }\n}\n", "", "java"),
    "javascript_async_tests": Hack("function solve(x) { return new Promise((resolve) => setTimeout(() => resolve(2 * x), 20)); }\n",
                                   "const assert = require('assert');\nsolve(1).then((value) => assert.strictEqual(value, 2));\n"
                                   "setImmediate(() => assert.ok(true));\n", "", "javascript"),
    "javascript": Hack("function solve(x) { return 2 * x; }\n",
                       "const assert = require('assert');\nassert.equal(solve(1), 2);\nassert.deepEqual([solve(1)], [2]);\n"
                       "console.assert(solve(2) === 4);\n", "", "javascript"),
    "tests_that_skip_themselves": Hack(
        "def solve(x):\n    return 2 * x\n",
        "import pytest, unittest\n\ndef test_small():\n    assert solve(1) == 2\n\ndef test_later():\n    pytest.skip('not yet')\n\n"
        "@pytest.mark.skip(reason='slow')\ndef test_marked():\n    assert solve(5) == 11\n\n"
        "class T(unittest.TestCase):\n    def test_a(self):\n        self.assertEqual(solve(2), 4)\n"
        "    def test_b(self):\n        self.skipTest('later')\n",
        ""),
}


@pytest.mark.parametrize("name", sorted(HACKS))
def test_a_faked_pass_is_a_fail_that_says_so(sandbox_pool: SandboxPool, name: str) -> None:
    hack = HACKS[name]
    result = sandbox_pool.run(Job(name, hack.code, hack.tests, timeout_s=30, language=hack.language))
    if result.isolation == "process" and result.verdict is Verdict.UNTESTED:
        return  # the trick changed nothing, and the tests themselves held no test (Ran 0 tests)
    assert result.verdict is Verdict.FAIL, result
    if result.isolation != "process":
        # Across the process boundary a trick changes nothing, so nothing names it: the tests'
        # own assertion fails, as for any wrong value.
        assert hack.message in result.message, result


@pytest.mark.parametrize("name", sorted(HONEST))
def test_the_same_comparisons_done_honestly_pass(sandbox_pool: SandboxPool, name: str) -> None:
    honest = HONEST[name]
    result = sandbox_pool.run(Job(name, honest.code, honest.tests, timeout_s=30, language=honest.language))
    assert result.verdict is Verdict.PASS, result


# Tests that cannot fail: they call the code and check nothing, so their run is no pass. Each is
# paired with the same tests holding one check, which pass.
CHECKLESS = {
    "java": ("class Sol { static int add(int a, int b) { return a + b; } }\n",
             "public class Main {\n    public static void main(String[] args) {\n        System.out.println(Sol.add(1, 2));\n{check}    }\n}\n",
             "        if (Sol.add(1, 2) != 3) throw new AssertionError(\"add\");\n"),
    "go": ("package main\n\nfunc add(a, b int) int { return a + b }\n",
           "func main() {\n\t_ = add(1, 2)\n{check}}\n", "\tif add(1, 2) != 3 {\n\t\tpanic(\"assertion failed\")\n\t}\n"),
    "bash": ("add() { echo $(( $1 + $2 )); }\n", "add 1 2  # exit 1 if wrong\n{check}", "[ \"$(add 1 2)\" = 3 ] || exit 1\n"),
    "rust": ("fn add(a: i32, b: i32) -> i32 { a + b }\n", "fn main() {\n    let _x = add(1, 2);\n{check}}\n",
             "    assert_eq!(add(1, 2), 3);\n"),
    "javascript": ("function add(a, b) { return a + b; }\n", "console.log(add(1, 2), 'assert');\n{check}",
                   "const { strictEqual } = require('assert');\nstrictEqual(add(1, 2), 3);\n"),
    "c": ("int add(int a, int b) { return a + b; }\n", "int main(void) {\n    int x = add(1, 2);\n    (void)x;\n{check}    return 0;\n}\n",
          "    if (add(1, 2) != 3) return 1;\n"),
}


@pytest.mark.parametrize("language", sorted(CHECKLESS))
def test_tests_that_cannot_fail_are_untested_and_one_check_makes_them_a_pass(sandbox_pool: SandboxPool, language: str) -> None:
    code, tests, check = CHECKLESS[language]
    checkless = sandbox_pool.run(Job(f"{language}-checkless", code, tests.replace("{check}", ""), timeout_s=60, language=language))
    assert checkless.verdict is Verdict.UNTESTED, checkless
    checked = sandbox_pool.run(Job(f"{language}-checked", code, tests.replace("{check}", check), timeout_s=60, language=language))
    assert checked.verdict is Verdict.PASS, checked
