"""A Python job run as one program, in the answer's own process (the in-process mode), and what
it cannot fake; and what both modes share: compiling the tests with their guards and assertion
counts, running them, discovering pytest- and unittest-style tests.

Most jobs are judged across a process boundary instead (python_isolated.py), where nothing below
is needed to keep the answer from deciding its verdict. This mode judges the jobs whose tests need
what that boundary cannot carry, and its guards close the known tricks, not everything.

The program is the code (``solution.py``) followed by the tests (``tests.py``, or a list of
statements run and counted one by one), in one ``__main__`` namespace, as ``python3 solution.py``
would run them. When the tests are done, the interpreter's own exit steps run as they would at
the end of that command: the program's non-daemon threads are waited for, then its atexit
handlers. Only then does the outcome count: a thread that never ends is a TIMEOUT, not a PASS.

Ways a program can make failing tests look passed, and what closes them here:

- A value under test whose ``__eq__`` answers True to anything (or ``__ne__`` False, an ordering
  that always holds, a ``__bool__`` that is always True): every comparison in an ``assert`` of
  the tests is checked, chained ones too, and so is one whose outcome is assigned or returned
  (``ok = f(x) == 5`` before ``assert ok``), as is the truth of what an ``assert`` tests alone.
  When one side's comparison is the built-in one (a literal, a list of ints...) and the other side
  brings its own, written by the program, the comparison was decided by the value under test: a
  FAIL that says so. Comparisons between two of the program's own values are left alone, as are
  ``is`` tests. unittest's assertEqual family (and assertAlmostEqual, assertGreater...) is checked
  the same way, as are comparisons in the arguments of any ``assert...`` call
  (``self.assertTrue(f(x) == 5)``) and in the test of an ``if`` that raises
  (``if f(x) != 5: raise AssertionError``). ``unittest.mock.ANY`` counts as the program's own.
- Exiting early with status 0 (``sys.exit(0)`` or ``os._exit(0)`` from the solution while the
  tests run, an exit in ``__del__`` as a failing test unwinds): no completion record is written,
  and the supervisor judges a status-0 exit in the middle of the tests a FAIL.
- Patching what the tests rely on: a replaced built-in, a replaced attribute of unittest's
  modules and classes (``TestCase.assertEqual``, ``TestResult.wasSuccessful``...) or of the
  modules tests check with (``math.isclose``, ``operator.eq``, ``collections.Counter``...), a replaced
  function of ``sys`` (``sys.exit``), a replaced module in ``sys.modules``, or a trace function
  (which can jump over the tests' lines) is a FAIL naming what was replaced.

In-process code can always tamper with its own process on purpose (dig out the harness's
descriptors, forge a code object's file name); these guards close the known reward hacks, not a
determined attacker, whom the container contains.
"""

from __future__ import annotations

import ast
import atexit
import builtins
import linecache
import operator
import os
import sys
import sysconfig
import threading
import traceback
import types
from typing import Any, Callable, Protocol

SOLUTION_FILE = "solution.py"
TESTS_FILE = "tests.py"
COMPARE = "__evol_compare__"
TRUTH = "__evol_truth__"
COUNT = "__evol_count__"
UNITTEST_MODULES = ("unittest", "unittest.case", "unittest.main", "unittest.result", "unittest.runner",
                    "unittest.suite", "unittest.loader")
# What tests commonly check with (math.isclose, operator.eq, collections.Counter, re.fullmatch...):
# imported before any job, so that a replacement of one of their functions is seen.
CHECKING_MODULES = ("math", "cmath", "operator", "functools", "itertools", "collections", "heapq", "re", "string",
                    "copy", "fractions", "decimal", "statistics")
WATCHED_MODULES = UNITTEST_MODULES + CHECKING_MODULES

_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep
_C_METHODS = (types.WrapperDescriptorType, types.MethodWrapperType, types.MethodDescriptorType)
_MOCK = os.path.join(_STDLIB, "unittest", "mock.py")  # ANY, MagicMock...: equal to what they are told
_ELEMENTS_CHECKED = 10_000  # beyond this many elements, a container is taken as it is
# pytest.approx of the harness's pytest stand-in compares as pytest's own would: Python's side.
_PYTEST_SHIM = os.path.join(os.path.dirname(os.path.realpath(__file__)), "pytest_shim.py")


class DefeatedComparison(AssertionError):
    """A comparison in the tests whose outcome the value under test decided for itself."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # Kept where a test runner that catches it (unittest) cannot hide it from the verdict.
        DEFEATED.append(message)


DEFEATED: list[str] = []  # in the job's process, the comparisons refused so far
# Assertions the tests executed (an ``assert``, an ``assert...`` call, an ``if`` that raises, a
# unittest assertion, ``pytest.raises``): a run that executed none tested nothing, whatever it
# printed, and is UNTESTED rather than PASS.
ASSERTIONS = [0]
# The unittest.TestCase classes whose tests ran (through unittest.main or a runner the tests
# called): discovery does not run them a second time.
CASES_RUN: set[type] = set()


def count(value: Any) -> Any:
    """One assertion executed; `value` passes through unchanged."""
    ASSERTIONS[0] += 1
    return value


class Tampering(AssertionError):
    """The program replaced something the tests rely on."""


# --- where a comparison comes from ------------------------------------------------------------


def _honest_method(kind: type, method: str) -> bool:
    """Does `kind` get `method` from Python itself (C code or the standard library)?

    A standard-library function counts only in the class that defines it: one borrowed into a
    class of the program's (``__eq__ = some_stdlib_function``) is the program's choice. The test
    doubles of ``unittest.mock`` never count: ``mock.ANY`` equals anything by design.
    """
    for klass in kind.__mro__:
        impl = klass.__dict__.get(method, _MISSING)
        if impl is _MISSING:
            continue
        if impl is None:
            return True  # __hash__ = None: unhashable, nothing decided
        if isinstance(impl, _C_METHODS):
            return True
        if isinstance(impl, types.FunctionType):
            filename = os.path.realpath(impl.__code__.co_filename)
            return ((filename.startswith(_STDLIB) and filename != _MOCK or filename == _PYTEST_SHIM)
                    and getattr(impl, "__module__", None) == klass.__module__)
        return False
    return True


_MISSING = object()
_EQUALITY = ("__eq__", "__ne__")
_ORDER = ("__eq__", "__lt__", "__le__", "__gt__", "__ge__")


def _who_decides(value: Any, methods: tuple[str, ...], budget: list[int], depth: int = 0) -> str | None:
    """The program-written method that would decide a comparison of `value`, or None.

    Containers compare their elements, so their elements are looked at too.
    """
    kind = type(value)
    for method in methods:
        if not _honest_method(kind, method):
            return f"{kind.__qualname__}.{method}"
    if depth > 20 or budget[0] <= 0:
        return None
    elements: Any = ()
    if isinstance(value, (list, tuple)):
        elements = value
    elif isinstance(value, (set, frozenset)):
        elements, methods = value, (*methods, "__hash__")
    elif isinstance(value, dict):
        for key in value:
            budget[0] -= 1
            found = _who_decides(key, ("__eq__", "__hash__"), budget, depth + 1)
            if found:
                return found
        elements = value.values()
    for element in elements:
        budget[0] -= 1
        if budget[0] <= 0:
            return None
        found = _who_decides(element, methods, budget, depth + 1)
        if found:
            return found
    return None


def _decider(value: Any, methods: tuple[str, ...]) -> str | None:
    return _who_decides(value, methods, [_ELEMENTS_CHECKED])


_OPERATORS: dict[str, tuple[Callable[[Any, Any], Any], tuple[str, ...]]] = {
    "==": (operator.eq, _EQUALITY),
    "!=": (operator.ne, _EQUALITY),
    "<": (operator.lt, _ORDER),
    "<=": (operator.le, _ORDER),
    ">": (operator.gt, _ORDER),
    ">=": (operator.ge, _ORDER),
    "in": (lambda item, container: item in container, _EQUALITY),
    "not in": (lambda item, container: item not in container, _EQUALITY),
}


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def compare(left: Any, op: str, right: Any, strict: bool = False) -> Any:
    """`left op right`, as the test wrote it, refusing an outcome the value under test decided.

    A false outcome is let through when the test needs a true one (an ``assert`` fails on it
    anyway); ``strict`` checks it too, for a test that passes when a comparison is false
    (``if f(x) != 5: raise ...``, ``assert not f(x) == 5``).
    """
    function, methods = _OPERATORS[op]
    result = function(left, right)
    if not strict and type(result) is bool and not result:
        return result  # the assertion fails on its own
    _refuse_decided(left, op, right, methods)
    return result


def _refuse_decided(left: Any, op: str, right: Any, methods: tuple[str, ...]) -> None:
    left_decider = _decider(left, methods)
    right_decider = _decider(right, methods)
    if op in ("in", "not in"):
        # A container of the program's own may answer membership as its task asks; an element
        # that equals anything must not get into a container of Python's.
        defeated = left_decider is not None and right_decider is None
    else:
        defeated = (left_decider is None) != (right_decider is None)
    if defeated:
        raise DefeatedComparison(
            f"the comparison {_short(left)} {op} {_short(right)} was decided by the value under test: "
            f"{left_decider or right_decider} is the program's own, not Python's (a value that claims to "
            "equal anything cannot pass)"
        )


def truth(value: Any) -> Any:
    """A value an `assert` tests directly, refusing one whose truth the program wrote."""
    if type(value) is bool:
        return value
    kind = type(value)
    for method in ("__bool__", "__len__"):
        if not _honest_method(kind, method):
            raise DefeatedComparison(
                f"the assertion tested the truth of {_short(value)}, which {kind.__qualname__}.{method} decides: "
                "the program's own, not Python's (a value that is always true cannot pass)"
            )
    return value


_NEARNESS = ("__eq__", "__ne__", "__sub__", "__rsub__", "__abs__", "__round__", "__lt__", "__le__", "__gt__",
             "__ge__")

_OP_NAMES = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
             ast.In: "in", ast.NotIn: "not in"}


class _GuardAsserts(ast.NodeTransformer):
    """Routes the comparisons whose outcome a test asserts through ``compare``, and a value an
    ``assert`` tests directly through ``truth``. Evaluation order is unchanged.

    Guarded: every comparison inside an ``assert``, chained ones included, and a comparison that
    is the whole value of an assignment or a ``return`` (``ok = f(x) == 5`` then ``assert ok``; a
    helper ``return got == want``), which is how a test carries an outcome to its ``assert``. Other
    comparisons (an ``if`` in a reference solution the tests hold, a sort key) decide nothing
    alone and are left as they are: guarding them would only slow such code down.
    """

    def __init__(self, chains: bool) -> None:
        self.comparisons = _Comparisons(chains)

    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        node.test = _tested_truth(self.comparisons.visit(node.test))
        return node

    def visit_If(self, node: ast.If) -> ast.AST:
        """``if f(x) != 5: raise AssertionError`` (or ``sys.exit(1)``) is an assertion written out:
        its test is guarded, strictly, since the test passes on a false comparison as well as on a
        true one. Other ifs are left alone: a reference solution in the tests would only be slowed."""
        self.generic_visit(node)
        if any(_fails(statement) for statement in (*node.body, *node.orelse)):
            node.test = _tested_truth(self.comparisons.visit_strictly(node.test))
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        """``self.assertTrue(f(x) == 5)``, ``np.testing.assert_equal(...)``: the comparisons in the
        arguments of an assertion function decide its outcome as they would in an ``assert``."""
        self.generic_visit(node)
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else function.id if isinstance(function, ast.Name) else ""
        if name.startswith("assert"):
            # assertFalse passes on a false comparison: every comparison is checked strictly.
            node.args = [self.comparisons.visit_strictly(argument) for argument in node.args]
            for keyword in node.keywords:
                keyword.value = self.comparisons.visit_strictly(keyword.value)
        return node

    def visit_Assign(self, node: ast.Assign) -> ast.AST:
        self.generic_visit(node)
        node.value = self._outcome(node.value)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        if node.value is not None:
            node.value = self._outcome(node.value)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        if node.value is not None:
            node.value = self._outcome(node.value)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node  # a lambda's comparisons run later, when whatever called it decides

    def _outcome(self, value: ast.expr) -> ast.expr:
        """A comparison (or a not/and/or of comparisons) that is an assigned or returned value."""
        if isinstance(value, ast.Compare):
            return self.comparisons.visit(value)
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
            value.operand = self._outcome(value.operand)
        elif isinstance(value, ast.BoolOp):
            value.values = [self._outcome(v) for v in value.values]
        return value


_EXITS = frozenset({"exit", "quit", "_exit"})


def _fails(statement: ast.stmt) -> bool:
    """Does this statement end the tests as failed: a ``raise``, or an exit (``sys.exit(1)``)?"""
    if isinstance(statement, ast.Raise):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        function = statement.value.func
        name = function.attr if isinstance(function, ast.Attribute) else function.id if isinstance(function, ast.Name) else ""
        return name in _EXITS
    return False


def _tested_truth(test: ast.expr) -> ast.expr:
    """``truth`` around each value whose truth an assertion tests: a call's result, a name, an
    attribute or an item (``assert is_prime(7)``, ``assert ok``), also under not/and/or."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        test.operand = _tested_truth(test.operand)
        return test
    if isinstance(test, ast.BoolOp):
        test.values = [_tested_truth(v) for v in test.values]
        return test
    if isinstance(test, (ast.Call, ast.Name, ast.Attribute, ast.Subscript)):
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id in (COMPARE, TRUTH):
            return test
        return ast.copy_location(ast.Call(ast.Name(TRUTH, ast.Load()), [test], []), test)
    return test


class _Comparisons(ast.NodeTransformer):
    """Each comparison through ``compare``. A chain ``a < b <= c`` becomes
    ``compare(a, '<', (t := b)) and compare(t, '<=', c)``: each operand evaluated once and in
    order, the later ones only when the earlier comparisons hold, as Python evaluates a chain."""

    def __init__(self, chains: bool) -> None:
        self.chains = chains
        self.temporaries = 0
        self.strict = False

    def visit_strictly(self, node: ast.expr) -> ast.AST:
        """Comparisons whose false outcome a test may rely on, all checked whatever their outcome."""
        strict, self.strict = self.strict, True
        try:
            return self.visit(node)
        finally:
            self.strict = strict

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        if not isinstance(node.op, ast.Not):
            return self.generic_visit(node)
        # Under a `not`, the test passes when the comparison is false.
        strict, self.strict = self.strict, True
        try:
            return self.generic_visit(node)
        finally:
            self.strict = strict

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return ast.copy_location(self._one(node.left, node.ops[0], node.comparators[0]), node)
        if not self.chains:
            return node
        parts: list[ast.expr] = []
        left = node.left
        for index, (op, right) in enumerate(zip(node.ops, node.comparators)):
            if index < len(node.ops) - 1:
                name = f"__evol_chain_{self.temporaries}__"
                self.temporaries += 1
                right_value: ast.expr = ast.NamedExpr(ast.Name(name, ast.Store()), right)
                parts.append(self._one(left, op, right_value))
                left = ast.Name(name, ast.Load())
            else:
                parts.append(self._one(left, op, right))
        return ast.copy_location(ast.BoolOp(ast.And(), parts), node)

    def _one(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> ast.expr:
        if type(op) not in _OP_NAMES:
            return ast.Compare(left, [op], [right])  # `is`, `is not`: identity, nothing to decide
        arguments = [left, ast.Constant(_OP_NAMES[type(op)]), right]
        if self.strict:
            arguments.append(ast.Constant(True))
        return ast.Call(ast.Name(COMPARE, ast.Load()), arguments, [])

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node  # a lambda's comparisons run later, outside the assertion


def guarded(tree: ast.Module, chains: bool = True) -> ast.Module:
    """The tests with their asserted comparisons guarded. ``chains=False`` leaves chained
    comparisons as they are: the temporaries of a chain are assignment expressions, which a few
    places (a comprehension in a class body) do not allow."""
    return ast.fix_missing_locations(_GuardAsserts(chains).visit(tree))


class _CountAssertions(ast.NodeTransformer):
    """Counts each assertion as it executes: an ``assert``, a call of an ``assert...`` function
    (``self.assertEqual``, ``np.testing.assert_allclose``) and the test of an ``if`` that raises or
    exits. Nothing else changes."""

    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        self.generic_visit(node)
        node.test = _counted(node.test)
        return node

    def visit_If(self, node: ast.If) -> ast.If:
        self.generic_visit(node)
        if any(_fails(statement) for statement in (*node.body, *node.orelse)):
            node.test = _counted(node.test)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else function.id if isinstance(function, ast.Name) else ""
        return _counted(node) if name.startswith("assert") or name in ("raises", "warns") else node


def _counted(value: ast.expr) -> ast.expr:
    return ast.copy_location(ast.Call(ast.Name(COUNT, ast.Load()), [value], []), value)


def counted(tree: ast.Module) -> ast.Module:
    return ast.fix_missing_locations(_CountAssertions().visit(tree))


# --- what the tests rely on -------------------------------------------------------------------


def _unittest_wrap() -> None:
    """Check unittest's equality assertions the way plain ``assert`` comparisons are checked."""
    import unittest

    case = unittest.TestCase
    pairs = {"assertEqual": "==", "assertNotEqual": "!=", "assertIn": "in", "assertNotIn": "not in",
             "assertCountEqual": None, "assertListEqual": "==", "assertTupleEqual": "==",
             "assertDictEqual": "==", "assertSetEqual": "==", "assertGreater": ">", "assertGreaterEqual": ">=",
             "assertLess": "<", "assertLessEqual": "<=", "assertAlmostEqual": "almost",
             "assertNotAlmostEqual": "not almost"}
    for name, op in pairs.items():
        original = getattr(case, name)

        def checked(self: Any, first: Any, second: Any, *args: Any, _original: Any = original, _op: str | None = op,
                    **kwargs: Any) -> Any:
            try:
                if _op in ("almost", "not almost"):
                    # `first == second`, else the rounded `abs(first - second)`: a value with its
                    # own equality or arithmetic would decide either.
                    _refuse_decided(first, _op, second, _NEARNESS)
                elif _op is not None:
                    compare(first, _op, second, strict=_op == "!=")
            except DefeatedComparison as error:
                raise self.failureException(str(error)) from None
            return _original(self, first, second, *args, **kwargs)

        checked.__name__ = name
        checked.__qualname__ = f"TestCase.{name}"
        setattr(case, name, checked)

    original_true = case.assertTrue

    def assert_true(self: Any, expr: Any, msg: Any = None) -> Any:
        try:
            truth(expr)
        except DefeatedComparison as error:
            raise self.failureException(str(error)) from None
        return original_true(self, expr, msg)

    case.assertTrue = assert_true  # type: ignore[method-assign]
    original_false = case.assertFalse

    def assert_false(self: Any, expr: Any, msg: Any = None) -> Any:
        try:
            truth(expr)
        except DefeatedComparison as error:
            raise self.failureException(str(error)) from None
        return original_false(self, expr, msg)

    case.assertFalse = assert_false  # type: ignore[method-assign]

    # Every assertion method counts as an assertion executed (assertRaises too).
    for name in dir(case):
        method = getattr(case, name)
        if name.startswith("assert") and callable(method):

            def counting(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
                count(None)
                return _method(self, *args, **kwargs)

            counting.__name__ = name
            counting.__qualname__ = f"TestCase.{name}"
            setattr(case, name, counting)
    original_run = case.run

    def run(self: Any, result: Any = None) -> Any:
        CASES_RUN.add(type(self))
        return original_run(self, result)

    case.run = run  # type: ignore[method-assign]


def install() -> None:
    """Once, in the supervisor before any job: the checked unittest assertions, the modules
    whose functions the tampering guard watches, and ``pytest`` when the image has none."""
    import importlib
    import importlib.util

    _unittest_wrap()
    for name in CHECKING_MODULES:
        importlib.import_module(name)
    if importlib.util.find_spec("pytest") is None:
        shim = importlib.import_module(f"{__package__}.pytest_shim" if __package__ else "pytest_shim")
        sys.modules["pytest"] = shim


def _attributes(namespace: dict[str, Any], prefix: str, into: dict[str, int]) -> None:
    for name, value in list(namespace.items()):
        into[f"{prefix}{name}"] = id(value)


class Guards:
    """What the tests rely on, as it was before the program ran."""

    def __init__(self) -> None:
        self.builtins = dict(vars(builtins))
        self.modules = dict(sys.modules)
        self.sys_functions = {name: value for name, value in vars(sys).items() if callable(value)}
        self.watched: dict[str, int] = {}
        for name in WATCHED_MODULES:
            module = sys.modules.get(name)
            if module is None:
                continue
            _attributes(vars(module), f"{name}.", self.watched)
            for attribute, value in list(vars(module).items()):
                if isinstance(value, type) and value.__module__ == name:
                    _attributes(dict(vars(value)), f"{name}.{attribute}.", self.watched)
        self.kept = (self.builtins, self.modules, self.sys_functions)  # the ids above stay valid

    def tampering(self) -> str | None:
        """What the program replaced, or None."""
        if sys.gettrace() is not None or sys.getprofile() is not None:
            return "the program installed a trace or profile function (which can skip the tests' lines)"
        current = vars(builtins)
        for name, value in self.builtins.items():
            if current.get(name, _MISSING) is not value:
                return f"the program replaced the built-in {name}"
        for name, module in self.modules.items():
            if name in sys.modules and sys.modules[name] is not module:
                return f"the program replaced the module {name} in sys.modules"
        for name, function in self.sys_functions.items():
            if getattr(sys, name, _MISSING) is not function:
                return f"the program replaced sys.{name}"
        now: dict[str, int] = {}
        for name in WATCHED_MODULES:
            module = sys.modules.get(name)
            if module is None:
                continue
            _attributes(vars(module), f"{name}.", now)
            for attribute, value in list(vars(module).items()):
                if isinstance(value, type) and value.__module__ == name:
                    _attributes(dict(vars(value)), f"{name}.{attribute}.", now)
        for key, ident in self.watched.items():
            if now.get(key) != ident:
                return f"the program replaced {key}"
        return None


# --- running the program ----------------------------------------------------------------------


def _describe(error: BaseException) -> str:
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - an exception whose __str__ raises is still the program's failure
        message = "<its __str__ raised>"
    try:
        name = type(error).__name__
        text = f"{name}: {message}" if message else name
    except BaseException:  # noqa: BLE001 - a hostile __name__ or a str subclass
        text = "an exception that cannot be described"
    if type(text) is not str:
        text = "an exception that cannot be described"
    # Lone surrogates from the program's strings would make the record unencodable.
    return text[:500].encode("utf-8", "backslashreplace").decode("utf-8")


def _print_error(error: BaseException) -> None:
    try:
        # The first frame is the harness's own exec call, of no use to whoever reads this.
        tb = error.__traceback__.tb_next if error.__traceback__ else None
        # The interpreter's own printer, in C: a million-frame recursion prints in no time.
        sys.__excepthook__(type(error), error.with_traceback(tb), tb)
    except BaseException:
        pass


_UNITTEST_MAIN = os.path.join(_STDLIB, "unittest", "main.py")


def _exit_by_tests(error: SystemExit) -> bool:
    """Was this exit raised by the tests themselves (``sys.exit(...)`` in a tests file) or by
    unittest's runner? Only then does its status judge the tests. An exit from anywhere else (the
    program's code, code it exec'd, a module it wrote, an audit hook or signal handler of its own)
    ends the tests early, whatever its status."""
    tb = error.__traceback__
    innermost = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if os.path.realpath(filename) == _UNITTEST_MAIN:
            return True
        # Python's own frames (``exit()`` is site's Quitter) are not who exited: their caller is.
        if not (filename.startswith("<frozen ") or os.path.realpath(filename).startswith(_STDLIB)):
            innermost = filename
        tb = tb.tb_next
    return innermost is not None and is_tests_file(innermost)


def is_tests_file(filename: str) -> bool:
    """The tests' own file names: the script, or one statement of a list (``test_3.py``)."""
    return filename == TESTS_FILE or (filename.startswith("test_") and filename[5:-3].isdigit()
                                      and filename.endswith(".py"))


class ProgramSkipped(AssertionError):
    """A skip raised by the program under test, not by its tests: it fails the test it would
    have skipped, or an answer could pass by skipping every test it would fail."""


_SKIP_NAMES = ("Skipped", "_CaseSkipped")  # the pytest shim's class, and the harness's own
_HARNESS_FILES = frozenset(os.path.realpath(os.path.join(os.path.dirname(__file__), name))
                           for name in ("python_tests.py", "pytest_shim.py"))


def is_skip(kind: type) -> bool:
    """Whether an exception of this class asks to skip a test (pytest's or unittest's way)."""
    import unittest

    return issubclass(kind, unittest.SkipTest) or kind.__name__ in _SKIP_NAMES


def _skipped_by_tests(error: BaseException) -> bool:
    """A skip is the tests' own when every frame it passed through is the tests', the harness's
    or unittest's; a frame of anything else (the program, code it compiled) makes it the program's."""
    import unittest

    if isinstance(error, ProgramSkipped):
        return False
    unittest_dir = os.path.dirname(os.path.realpath(unittest.__file__))
    tb = error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        trusted = (is_tests_file(filename) or os.path.realpath(filename) in _HARNESS_FILES
                   or os.path.dirname(os.path.realpath(filename)) == unittest_dir)
        if not trusted:
            return False
        tb = tb.tb_next
    return True


def program_skip(error: BaseException) -> ProgramSkipped:
    return ProgramSkipped(f"the program raised {type(error).__name__}({str(error)[:200]!r}): "
                          "a program cannot skip the tests that judge it")


def _classify(error: BaseException) -> tuple[str, str]:
    """The verdict of an exception raised while the tests ran."""
    if isinstance(error, AssertionError):
        return "FAIL", _describe(error) if str(error) else "AssertionError"
    if isinstance(error, MemoryError):
        return "MEMORY_LIMIT", "MemoryError"
    if isinstance(error, SystemExit):
        if not _exit_by_tests(error):
            if error.code in (None, 0, False):
                return "FAIL", ("the program exited with status 0 in the middle of its tests: "
                                "a run whose tests did not all complete is not a pass")
            return "RUNTIME_ERROR", f"the program exited (SystemExit {error.code!r}) before its tests completed"
        # A test runner (unittest.main) ends by exiting: its status is the tests' verdict.
        if error.code in (None, 0, False):
            return "PASS", ""
        status = 1 if error.code is True else error.code
        why = f": DefeatedComparison: {DEFEATED[0]}" if DEFEATED else ""
        return "FAIL", f"the tests exited with status {status!r} (a test runner reporting failures){why}"
    return "RUNTIME_ERROR", _describe(error)


def _source(source: str, filename: str) -> None:
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    # The interpreter's traceback printer and `inspect` read source from files, not from
    # linecache: without the file, tracebacks would show no source lines.
    try:
        with open(filename, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(source)
    except OSError:
        pass


def _compile_tests(source: str, filename: str) -> types.CodeType:
    try:
        return compile(counted(guarded(ast.parse(source, filename))), filename, "exec", dont_inherit=True)
    except SyntaxError:
        # Either the tests are not Python (reported as they are, below) or a chain's temporaries
        # landed where an assignment expression is not allowed: then chains stay unguarded.
        return compile(counted(guarded(ast.parse(source, filename), chains=False)), filename, "exec",
                       dont_inherit=True)


def _finish() -> None:
    """What the interpreter does when a script ends: wait for non-daemon threads, run atexit."""
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


class Reporter(Protocol):
    """How a run tells the supervisor where it is (see supervisor.py)."""

    def stage(self, name: str) -> None: ...

    def passed(self, outcome: dict[str, Any]) -> None:
        """The tests passed; the interpreter's exit steps (threads, atexit) come next."""


def run(code: str, tests: str | list | None, reporter: Reporter) -> dict[str, Any]:
    """The outcome of the program and its tests (verdict, message, passed, total)."""
    guards = Guards()
    module = types.ModuleType("__main__")
    module.__file__ = SOLUTION_FILE
    sys.modules["__main__"] = module
    guards.modules["__main__"] = module
    scope = module.__dict__
    total = len(tests) if isinstance(tests, list) else None
    counts = {"passed": 0 if total is not None else None, "total": total}
    try:
        _source(code, SOLUTION_FILE)
        compiled = compile(code, SOLUTION_FILE, "exec", dont_inherit=True)
        compiled_tests: list[types.CodeType] = []
        if isinstance(tests, str) and tests.strip():
            _source(tests, TESTS_FILE)
            compiled_tests = [_compile_tests(tests, TESTS_FILE)]
        elif isinstance(tests, list):
            for index, test in enumerate(tests):
                name = f"test_{index}.py"
                linecache.cache[name] = (len(test), None, str(test).splitlines(True), name)
                compiled_tests.append(_compile_tests(str(test), name))
    except (SyntaxError, ValueError, UnicodeError) as error:
        # The program never started: only the error itself is of interest, not where we compiled.
        sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))
        return {"verdict": "COMPILE_ERROR", "message": _describe(error), **counts}

    try:
        exec(compiled, scope)
    except BaseException as error:
        _print_error(error)
        if isinstance(error, SystemExit):
            return {"verdict": "RUNTIME_ERROR", **counts,
                    "message": f"the program exited (SystemExit {error.code!r}) before its tests ran"}
        verdict = "MEMORY_LIMIT" if isinstance(error, MemoryError) else "RUNTIME_ERROR"
        return {"verdict": verdict, "message": _describe(error), **counts}
    tampered = guards.tampering()
    if tampered:
        return {"verdict": "FAIL", "message": f"{tampered}: a test that cannot fail is not a test", **counts}

    scope[COMPARE] = compare
    scope[TRUTH] = truth
    scope[COUNT] = count
    reporter.stage("tests")
    outcome = untested_unless_asserted(_run_tests(compiled_tests, tests, scope), tests)
    if outcome["verdict"] != "PASS":
        return outcome
    tampered = guards.tampering()
    if tampered:
        return {**outcome, "verdict": "FAIL", "message": f"{tampered}: a test that cannot fail is not a test"}
    reporter.passed(outcome)
    try:
        _finish()
    except BaseException as error:  # noqa: BLE001 - an atexit handler's own error, as Python prints it
        _print_error(error)
    tampered = guards.tampering()
    if tampered:
        return {**outcome, "verdict": "FAIL", "message": f"{tampered}: a test that cannot fail is not a test"}
    return outcome


def _run_tests(compiled_tests: list[types.CodeType], tests: str | list | None, scope: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(tests, list):
        try:
            for compiled_test in compiled_tests:
                exec(compiled_test, scope)
        except BaseException as error:
            _print_error(error)
            verdict, message = _classify(error)
            if verdict != "PASS":
                return {"verdict": verdict, "message": message}
        return run_discovered(scope)
    return _run_counted([(f"test {index} ({str(tests[index])[:200]!r})", lambda code=compiled_test: exec(code, scope))
                         for index, compiled_test in enumerate(compiled_tests)])


def _run_counted(cases: list[tuple[str, Callable[[], None]]]) -> dict[str, Any]:
    """Run each test and count: PASS when every test the tests did not skip passed. An exit out of
    one test ends the run, since the tests after it never ran."""
    passed, skipped, first_failure, verdicts = 0, 0, "", set()
    for label, call in cases:
        try:
            call()
            passed += 1
        except Exception as error:
            if is_skip(type(error)):
                if _skipped_by_tests(error):
                    skipped += 1
                    continue
                error = program_skip(error)
            _print_error(error)
            verdict, message = ("RUNTIME_ERROR", str(error)) if isinstance(error, _CaseError) else _classify(error)
            verdicts.add(verdict)
            first_failure = first_failure or f"{label}: {message}"
        except BaseException as error:
            _print_error(error)
            verdict, message = _classify(error)
            if verdict == "PASS":
                verdict, message = "FAIL", "a test exited before the other tests ran"
            return {"verdict": verdict, "message": f"{label}: {message}", "passed": passed, "total": len(cases) - skipped}
    total = len(cases) - skipped
    if passed == total:
        return {"verdict": "PASS", "passed": passed, "total": total}
    worst = next(v for v in ("MEMORY_LIMIT", "FAIL", "RUNTIME_ERROR") if v in verdicts)
    return {"verdict": worst, "message": first_failure, "passed": passed, "total": total}


def untested_unless_asserted(outcome: dict[str, Any], tests: Any) -> dict[str, Any]:
    """A pass whose tests executed no assertion tested nothing. (A job without tests is left to
    the supervisor, which says that no test ran.)"""
    has_tests = bool(tests.strip()) if isinstance(tests, str) else bool(tests)
    if outcome["verdict"] == "PASS" and ASSERTIONS[0] == 0 and has_tests:
        return {**outcome, "verdict": "UNTESTED",
                "message": "the tests ran to their end, but executed no assertion: nothing was checked"}
    return outcome


# --- tests written for pytest and unittest ----------------------------------------------------


class _CaseError(Exception):
    """A unittest test that raised something other than a failed assertion."""


def _defined_in_tests(kind: type) -> bool:
    return any(isinstance(member, types.FunctionType) and is_tests_file(member.__code__.co_filename)
               for member in vars(kind).values())


def _run_case(case: type, method: str) -> None:
    import unittest

    result = _case_result()
    case(method).run(result)
    if result.failures:
        last = result.failures[0][1].strip().splitlines()[-1]
        raise AssertionError(last.partition("AssertionError: ")[2] or last[:500])
    if result.errors:
        raise _CaseError(result.errors[0][1].strip().splitlines()[-1][:500])
    if result.skipped and not result.testsRun - len(result.skipped):
        _skip(str(result.skipped[0][1]))


def _case_result() -> Any:
    """unittest's result, where a skip the program raised counts as a failure."""
    import unittest

    class CaseResult(unittest.TestResult):
        def addSkip(self, test: Any, reason: str) -> None:
            # unittest calls this inside its `except SkipTest`: the exception is at hand.
            error = sys.exc_info()[1]
            if error is not None and not _skipped_by_tests(error):
                self.failures.append((test, f"AssertionError: {program_skip(error)}"))
                return
            super().addSkip(test, reason)

    return CaseResult()


def _skip(reason: str) -> None:
    shim = sys.modules.get("pytest")
    raise getattr(shim, "Skipped", _CaseSkipped)(reason)


class _CaseSkipped(Exception):
    pass


def _marks(function: Any) -> list[Any]:
    marks = getattr(function, "pytestmark", [])
    return list(marks) if isinstance(marks, (list, tuple)) else [marks]


def _parameter_sets(function: Any) -> list[dict[str, Any]]:
    """pytest's parametrize marks, expanded: one dict of arguments per test (their product)."""
    sets: list[dict[str, Any]] = [{}]
    for mark in reversed(_marks(function)):
        if getattr(mark, "name", "") != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",") if n.strip()] if isinstance(names, str) else list(names)
        rows = []
        for value in values:
            value = getattr(value, "values", value) if type(value).__name__ == "ParameterSet" else value
            rows.append(dict(zip(names, value if len(names) > 1 else (value,))))
        sets = [{**done, **row} for done in sets for row in rows]
    return sets


def _skipped_by_mark(function: Any) -> bool:
    for mark in _marks(function):
        name = getattr(mark, "name", "")
        if name == "skip" or (name == "skipif" and mark.args and mark.args[0]):
            return True
    return False


def _pytest_calls(label: str, function: Any, scope: dict[str, Any], owner: type | None) -> list[tuple[str, Callable[[], None]]]:
    import inspect

    parameters = [p for p in inspect.signature(function).parameters if p != "self"]
    calls = []
    for index, arguments in enumerate(_parameter_sets(function)):

        def call(arguments: dict[str, Any] = arguments) -> None:
            if _skipped_by_mark(function):
                _skip("marked skip")
            instance = owner() if owner is not None else None
            finalizers: list[Any] = []
            try:
                if instance is not None and hasattr(instance, "setup_method"):
                    instance.setup_method(function)
                given = dict(arguments)
                for name in parameters:
                    if name not in given:
                        given[name] = _fixture(name, scope, finalizers)
                bound = function.__get__(instance) if instance is not None else function
                bound(**given)
            finally:
                for finalizer in reversed(finalizers):
                    finalizer()
                if instance is not None and hasattr(instance, "teardown_method"):
                    instance.teardown_method(function)

        calls.append((f"{label}[{index}]" if len(_parameter_sets(function)) > 1 else label, call))
    return calls


def _fixture(name: str, scope: dict[str, Any], finalizers: list[Any]) -> Any:
    import inspect

    provider = scope.get(name)
    if not getattr(provider, "_evol_fixture", False):
        raise _CaseError(f"the test asks for the fixture {name!r}, which neither the tests nor the sandbox provide")
    arguments = {p: _fixture(p, scope, finalizers) for p in inspect.signature(provider).parameters}
    value = provider(**arguments)
    if inspect.isgenerator(value):
        generator = value
        value = next(generator)
        finalizers.append(lambda: next(generator, None))
    return value


def discover(scope: dict[str, Any]) -> list[tuple[str, Callable[[], None]]]:
    """The tests pytest and unittest would collect from the tests' namespace: ``test*`` functions,
    ``Test*`` classes without ``__init__`` (their ``test*`` methods) and unittest.TestCase classes
    whose tests did not already run (through ``unittest.main()`` in the tests)."""
    import unittest

    found: list[tuple[str, Callable[[], None]]] = []
    for name, value in list(scope.items()):
        if isinstance(value, types.FunctionType):
            if name.startswith("test") and is_tests_file(value.__code__.co_filename):
                found.extend(_pytest_calls(name, value, scope, None))
        elif isinstance(value, type) and _defined_in_tests(value):
            if issubclass(value, unittest.TestCase):
                if value not in CASES_RUN:
                    for method in unittest.TestLoader().getTestCaseNames(value):
                        found.append((f"{name}.{method}", lambda case=value, method=method: _run_case(case, method)))
            elif name.startswith("Test") and "__init__" not in vars(value):
                for attribute in sorted(vars(value)):
                    member = vars(value)[attribute]
                    if attribute.startswith("test") and isinstance(member, types.FunctionType):
                        found.extend(_pytest_calls(f"{name}.{attribute}", member, scope, value))
    return found


def run_discovered(scope: dict[str, Any]) -> dict[str, Any]:
    """Run what `discover` finds: PASS when there is nothing, else counted like a list of tests."""
    found = discover(scope)
    if not found:
        return {"verdict": "PASS"}
    return _run_counted(found)


def limit_memory(memory_mb: int) -> None:
    """Address space caps one process so that most memory bombs end in a clean MemoryError; the
    container's cgroup limit (set by the host) catches memory spread over many processes. Only
    for Python: the JVM, V8 and the Go runtime reserve far more address space than they use, and
    get their own heap limits instead (toolchains.py)."""
    import resource

    with open("/proc/self/statm") as handle:
        base = int(handle.read().split()[0]) * resource.getpagesize()
    limit = base + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
