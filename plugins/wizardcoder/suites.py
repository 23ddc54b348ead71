"""Test suites: what they are, whether they still fit a solution, and whether they test anything.

A suite is either a list of assert statements (MBPP style, and every suite the LLM writes), each
run and counted on its own by the sandbox, or one script (HumanEval style: ``def check(candidate)``
followed by ``check(entry_point)``) that passes or fails as a whole. ``setup`` is code the tests
need (MBPP's ``test_setup_code``, imports, helpers); it runs after the solution.

Nothing here talks to the LLM or the sandbox: this module answers questions about code by reading
it (``ast``), so that the rules are easy to test and cheap to apply.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys
from dataclasses import dataclass
from typing import Any, Mapping

from .extract import code_blocks, python_blocks, unfenced_code

MAX_TESTS = 20

# Origins of a suite, recorded in ``checks.tests.origin``.
SEED = "seed"  # the seed's own tests, whole
REDUCED = "reduced"  # the seed's tests less those a rewrite contradicts
GENERATED = "generated"  # written by the LLM for this lineage

# Solutions a useful suite must reject. ``pass`` and ``return None`` are the same function; the
# constants and the echo catch suites that only test one easy value.
TRIVIAL_BODIES: tuple[str, ...] = (
    "pass",
    "return 0",
    "return True",
    "return []",
    "return ''",
    "return args[0] if args else None",
)

_BUILTINS = frozenset(dir(builtins))
# A test may use ``math.isclose`` relying on the reference solution's ``import math``; such names
# are the standard library's, not the solution's, and ``imports_for`` supplies them.
_STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Suite:
    tests: tuple[str, ...] | str
    setup: str = ""
    entry_point: str | None = None
    origin: str = SEED

    @property
    def is_script(self) -> bool:
        return isinstance(self.tests, str)

    @property
    def items(self) -> list[str]:
        """The tests one by one (a script is one item)."""
        return [self.tests] if isinstance(self.tests, str) else list(self.tests)

    def job_tests(self) -> str | list[str]:
        """The form the sandbox takes: a script as a string, assert statements as a list."""
        return self.tests if isinstance(self.tests, str) else list(self.tests)

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "tests": self.tests if isinstance(self.tests, str) else list(self.tests),
            "setup": self.setup,
            "entry_point": self.entry_point,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Suite | None:
        tests = data.get("tests")
        if isinstance(tests, list):
            tests = tuple(str(test) for test in tests)
            if not tests:
                return None
        elif not isinstance(tests, str) or not tests.strip():
            return None
        return cls(tests, str(data.get("setup") or ""), data.get("entry_point"), str(data.get("origin") or SEED))

    def keeping(self, indices: list[int]) -> Suite:
        """The suite with only the tests at ``indices`` (0-based); a script cannot be split."""
        kept = tuple(test for index, test in enumerate(self.items) if index in indices)
        return Suite(kept, self.setup, self.entry_point, REDUCED)


# --- what the solution defines and what the tests use ---------------------------------------


@dataclass(frozen=True)
class Signature:
    """How a top-level function (or a class, through ``__init__``) can be called."""

    positional: tuple[str, ...]
    required_positional: int
    keyword_names: frozenset[str]
    required_keywords: frozenset[str]
    varargs: bool
    varkw: bool

    @classmethod
    def of(cls, args: ast.arguments, *, drop_first: bool = False) -> Signature:
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        defaults = len(args.defaults)
        if drop_first and positional:
            positional = positional[1:]
        keyword_names = {a.arg for a in args.args} | {a.arg for a in args.kwonlyargs}
        required_kw = {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None}
        return cls(
            tuple(positional),
            max(0, len(positional) - defaults),
            frozenset(keyword_names),
            frozenset(required_kw),
            args.vararg is not None,
            args.kwarg is not None,
        )

    def accepts(self, call: ast.Call) -> bool:
        if any(isinstance(arg, ast.Starred) for arg in call.args) or any(kw.arg is None for kw in call.keywords):
            return True  # f(*xs) or f(**kw): cannot tell by reading
        given = len(call.args)
        keywords = {kw.arg for kw in call.keywords if kw.arg}
        if given > len(self.positional) and not self.varargs:
            return False
        for index in range(given, self.required_positional):
            if self.positional[index] not in keywords:
                return False
        if not self.required_keywords <= keywords:
            return False
        return self.varkw or keywords <= self.keyword_names


@dataclass(frozen=True)
class Definitions:
    """The names a piece of code defines at top level; signatures for functions and classes."""

    names: frozenset[str]
    signatures: Mapping[str, Signature]
    headers: Mapping[str, str]
    """``def name(params)`` / ``class Name(params)`` as written, for prompts."""

    @classmethod
    def of(cls, code: str) -> Definitions:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return cls(frozenset(), {}, {})
        names: set[str] = set()
        signatures: dict[str, Signature] = {}
        headers: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
                signatures[node.name] = Signature.of(node.args)
                headers[node.name] = f"def {node.name}({ast.unparse(node.args)})"
            elif isinstance(node, ast.ClassDef):
                names.add(node.name)
                init = next(
                    (item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == "__init__"),
                    None,
                )
                if init is not None and not node.bases:  # with bases, __init__ may come from elsewhere
                    signatures[node.name] = Signature.of(init.args, drop_first=True)
                    headers[node.name] = f"class {node.name}: def __init__({ast.unparse(init.args)})"
                else:
                    headers[node.name] = f"class {node.name}"
            else:
                names.update(_bound_names(node))
        return cls(frozenset(names), signatures, headers)


def _bound_names(node: ast.AST) -> set[str]:
    """Names an assignment, import, loop or with statement binds (at any depth of ``node``)."""
    bound: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            bound.add(child.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            for alias in child.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(child.name)
        elif isinstance(child, ast.arg):
            bound.add(child.arg)
        elif isinstance(child, ast.ExceptHandler) and child.name:
            bound.add(child.name)
    return bound


def _parse_all(*sources: str) -> list[ast.Module] | None:
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except (SyntaxError, ValueError):
            return None
    return trees


def free_names(suite: Suite) -> set[str] | None:
    """The names the tests use but neither they, their setup nor Python define: the solution's.

    None when the tests do not parse.
    """
    trees = _parse_all(suite.setup, *suite.items)
    if trees is None:
        return None
    bound: set[str] = set()
    used: set[str] = set()
    for tree in trees:
        bound |= _bound_names(tree)
        used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    free = used - bound - _BUILTINS - _STDLIB
    if suite.entry_point:
        free.add(suite.entry_point)
    return free


def imports_for(suite: Suite) -> str:
    """``import`` lines for the standard-library modules the tests use without importing them."""
    trees = _parse_all(suite.setup, *suite.items)
    if trees is None:
        return ""
    bound: set[str] = set()
    used: set[str] = set()
    for tree in trees:
        bound |= _bound_names(tree)
        used |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    modules = sorted((used - bound - _BUILTINS) & _STDLIB)
    return "".join(f"import {module}\n" for module in modules)


def misfit(suite: Suite, solution: str) -> str | None:
    """Why the suite cannot call this solution as it stands (None when it can).

    This is the test of whether a lineage's tests "still apply" to a rewritten task: the names
    the tests use must still be defined, and every call must fit the definition's parameters. A
    rewrite that renames the function or changes its parameters gets tests of its own.
    """
    free = free_names(suite)
    if free is None:
        return "the tests do not parse"
    defined = Definitions.of(solution)
    missing = sorted(name for name in free if name not in defined.names)
    if missing:
        return f"the solution does not define {', '.join(missing)}"
    # HumanEval's check(candidate) calls the entry point under the name ``candidate``.
    aliases = {"candidate": suite.entry_point} if suite.is_script and suite.entry_point else {}
    for tree in _parse_all(suite.setup, *suite.items) or []:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            name = aliases.get(node.func.id, node.func.id)
            signature = defined.signatures.get(name) if name in free else None
            if signature is not None and not signature.accepts(node):
                return f"the call {ast.unparse(node)[:120]} does not fit {defined.headers.get(name, name)}"
    return None


def signatures_for(suite: Suite | None, reference: str | None) -> list[str]:
    """How the definitions the suite uses are declared in ``reference`` (a parent's solution)."""
    if suite is None or not reference:
        return []
    free = free_names(suite) or set()
    headers = Definitions.of(reference).headers
    return [headers[name] for name in sorted(free) if name in headers]


# --- suites the LLM writes --------------------------------------------------------------------


def parse_generated(reply: str) -> Suite | None:
    """The assert statements of a test-writing reply, with the imports and helpers they need."""
    sources = python_blocks(reply)
    if not sources:
        if any(block.language for block in code_blocks(reply)):
            return None
        fallback = unfenced_code(reply) or reply
        sources = [fallback]
    tests: list[str] = []
    setup: list[str] = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            continue
        for node in tree.body:
            text = ast.get_source_segment(source, node) or ast.unparse(node)
            if isinstance(node, ast.Assert):
                if text not in tests:
                    tests.append(text)
            elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.ClassDef)):
                setup.append(text)
            # anything else (prints, bare calls, a test runner) is not part of a suite
    if not tests:
        return None
    return Suite(tuple(tests[:MAX_TESTS]), "\n".join(setup), None, GENERATED)


def trivial_solutions(suite: Suite, solution: str) -> list[tuple[str, str]]:
    """(body, code) pairs: stand-ins for the solution's definitions that do nothing useful.

    Every function the tests use becomes ``def name(*args, **kwargs): <body>``; a class becomes
    one whose methods all run that body. Names the solution binds otherwise (constants) are None.
    """
    free = sorted(free_names(suite) or ())
    defined = Definitions.of(solution)
    classes = _class_names(solution)
    stubs = []
    for body in TRIVIAL_BODIES:
        lines = []
        for name in free:
            if name in classes:
                lines.append(
                    f"class {name}:\n"
                    f"    def __init__(self, *args, **kwargs):\n        pass\n"
                    f"    def __getattr__(self, attribute):\n"
                    f"        def method(*args, **kwargs):\n            {body}\n"
                    f"        return method\n"
                )
            elif name in defined.signatures or name == suite.entry_point:
                lines.append(f"def {name}(*args, **kwargs):\n    {body}\n")
            else:
                lines.append(f"{name} = None\n")
        stubs.append((body, "\n".join(lines)))
    return stubs


def _class_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


# --- the reviewer's answer --------------------------------------------------------------------

_CONTRADICTED = re.compile(r"contradicted\s*[:：]\s*(?P<rest>[^\n]*)", re.IGNORECASE)


def parse_review(reply: str, count: int) -> list[int] | None:
    """0-based indices of the tests the reviewer says are contradicted; None if unreadable."""
    found = None
    for found in _CONTRADICTED.finditer(reply):
        pass  # the last such line is the answer; earlier ones may restate the question
    if found is None:
        return None
    rest = found.group("rest").strip().strip(".*` ")
    if re.match(r"none\b", rest, re.IGNORECASE):
        return []
    numbers = [int(n) for n in re.findall(r"\d+", rest)]
    if not numbers:
        return None
    return sorted({n - 1 for n in numbers if 1 <= n <= count})
