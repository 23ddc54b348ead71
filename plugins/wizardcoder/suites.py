"""Test suites: what they are, whether they still fit a solution, and whether they test anything.

A suite is in the task's language. It is either a list of statements (MBPP's asserts, and what
the LLM writes for Python, JavaScript, TypeScript and SQL), each run and counted on its own by
the sandbox, or one script that passes or fails as a whole (HumanEval's ``def check(candidate)``
followed by ``check(entry_point)``; for C, C++, Go, Rust and Java a ``main`` holding the checks;
a Bash script). ``setup`` is code the tests need (MBPP's ``test_setup_code``, imports, helpers);
it runs after the solution, except for SQL, where it creates and fills the tables the solution
queries and so runs before it.

Nothing here talks to the LLM or the sandbox: this module answers questions about code by reading
it (``ast`` for Python; for the brace languages, clike.py), so that the rules are easy to test and
cheap to apply.
"""

from __future__ import annotations

import ast
import builtins
import re
import sys
from dataclasses import dataclass
from typing import Any, Mapping

from . import clike
from .extract import blocks_in, code_blocks, python_blocks, unfenced_code

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
    language: str = "python"

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
            "language": self.language,
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
        return cls(tests, str(data.get("setup") or ""), data.get("entry_point"), str(data.get("origin") or SEED),
                   str(data.get("language") or "python"))

    def keeping(self, indices: list[int]) -> Suite:
        """The suite with only the tests at ``indices`` (0-based); a script cannot be split."""
        kept = tuple(test for index, test in enumerate(self.items) if index in indices)
        return Suite(kept, self.setup, self.entry_point, REDUCED, self.language)


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


def misfit(suite: Suite, solution: str, reference: str | None = None) -> str | None:
    """Why the suite cannot call this solution as it stands (None when it can).

    This is the test of whether a lineage's tests "still apply" to a rewritten task: the names
    the tests use must still be defined, and every call must fit the definition's parameters. A
    rewrite that renames the function or changes its parameters gets tests of its own. In
    languages other than Python only the names are checked (those of the `reference` solution,
    the one the suite was settled against, that the tests use); a changed signature shows when
    the program does not compile.
    """
    if suite.language != "python":
        missing = sorted(needed_names(suite, reference) - names_defined(solution, suite.language))
        return f"the solution does not define {', '.join(missing)}" if missing else None
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
    if suite.language != "python":
        return declarations(reference, suite.language, needed_names(suite, reference))
    free = free_names(suite) or set()
    headers = Definitions.of(reference).headers
    return [headers[name] for name in sorted(free) if name in headers]


# --- suites the LLM writes --------------------------------------------------------------------


def parse_generated(reply: str, language: str = "python") -> Suite | None:
    """The assert statements of a test-writing reply, with the imports and helpers they need."""
    if language != "python":
        return _parse_generated_other(reply, language)
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
    In the other languages see ``trivial_programs``.
    """
    if suite.language != "python":
        return trivial_programs(solution, suite.language)
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


# --- other languages -------------------------------------------------------------------------


def names_defined(code: str, language: str) -> set[str]:
    """The names a solution in `language` defines (functions, types, top-level constants)."""
    from .extract import _names

    return _names(code, language)


def needed_names(suite: Suite, reference: str | None) -> set[str]:
    """The solution's names a suite uses: those of the reference solution the tests mention,
    and the suite's entry point."""
    needed = {suite.entry_point} if suite.entry_point else set()
    if reference:
        used = clike.identifiers("\n".join([suite.setup, *suite.items]), suite.language) \
            if suite.language in clike.BRACE_LANGUAGES else set(re.findall(r"[A-Za-z_]\w*", " ".join(suite.items)))
        needed |= used & names_defined(reference, suite.language)
    return needed


def declarations(code: str, language: str, names: set[str] | None = None) -> list[str]:
    """How the functions of `code` are declared (all of them, or those named), for prompts."""
    if language in clike.BRACE_LANGUAGES:
        found = [f for f in clike.functions(code, language) if not f.constructor and f.name != "main"]
        if names is not None:
            found = [f for f in found if f.name.split("::")[-1] in names or f.owner in names]
        # A method is shown with its class, which the tests name too (Solution.add in Java).
        kind = "impl" if language == "rust" else "class"
        return list(dict.fromkeys(f"{kind} {f.owner} {{ {f.header} }}" if f.owner else f.header for f in found))
    if language == "bash":
        return [f"{name}()" for name in sorted(names_defined(code, language)) if names is None or name in names]
    return []


def trivial_programs(solution: str, language: str) -> list[tuple[str, str]]:
    """(description, code) pairs: the solution reduced to doing nothing useful.

    C, C++, Java, Go and Rust keep their declarations with trivial bodies (zero values, or 1);
    JavaScript and TypeScript get the solution's names defined as functions returning one
    trivial value; Bash functions print nothing or 0; SQL answers nothing or NULL.
    """
    if language in ("javascript", "typescript"):
        return [(f"return {value}", code) for value, code in zip(clike.JS_TRIVIAL_VALUES, clike.js_trivial_variants(solution, language))]
    if language in clike.BRACE_LANGUAGES:
        return [(f"trivial bodies #{number}", code)
                for number, code in enumerate(clike.trivial_variants(clike.without_main(solution, language), language), 1)]
    if language == "bash":
        names = sorted(names_defined(solution, language))
        if not names:
            return []
        return [(body, "".join(f"{name}() {{ {body}; }}\n" for name in names)) for body in (":", "echo 0", "echo")]
    if language == "sql":
        return [("no query", "SELECT 1 WHERE 0;"), ("SELECT NULL", "SELECT NULL;")]
    return []


_JS_CHECK = re.compile(r"^(?:assert\b|console\.assert\b)")
_MAIN = {
    "c": re.compile(r"\bmain\s*\("),
    "cpp": re.compile(r"\bmain\s*\("),
    "go": re.compile(r"\bfunc\s+main\s*\("),
    "rust": re.compile(r"\bfn\s+main\s*\("),
    "java": re.compile(r"\bclass\s+Main\b"),
}


def _js_chunks(code: str) -> list[str]:
    """Top-level statements of JavaScript: a new one starts at every line that is not indented
    and does not continue the previous one (a closing bracket, a chained call)."""
    chunks: list[str] = []
    for line in code.splitlines():
        starts = line[:1] not in (" ", "\t", "}", ")", "]", ".", "") and not (chunks and chunks[-1].rstrip().endswith((",", "(", "[", "{", "+", "&&", "||")))
        if starts or not chunks:
            chunks.append(line)
        else:
            chunks[-1] += "\n" + line
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def _parse_generated_other(reply: str, language: str) -> Suite | None:
    blocks = blocks_in(reply, language)
    if not blocks:
        return None
    if language in ("javascript", "typescript"):
        tests: list[str] = []
        setup: list[str] = []
        for block in blocks:
            for chunk in _js_chunks(block):
                if _JS_CHECK.match(chunk) and "=>" not in chunk.split("(", 1)[0]:
                    if chunk not in tests:
                        tests.append(chunk)
                else:
                    setup.append(chunk)
        return Suite(tuple(tests[:MAX_TESTS]), "\n".join(setup), None, GENERATED, language) if tests else None
    if language == "sql":
        from .sandbox.harness.sql_tests import statements

        checks: list[str] = []
        tables: list[str] = []
        for statement in (s for block in blocks for s in statements(block)):
            (checks if re.match(r"(?:SELECT|WITH|VALUES)\b", statement, re.I) else tables).append(statement)
        return Suite(tuple(checks[:MAX_TESTS]), "\n".join(tables), None, GENERATED, language) if checks else None
    script = max(blocks, key=len)
    if language in _MAIN and not _MAIN[language].search(script):
        return None
    if language == "bash" and "exit" not in script:
        return None
    return Suite(script.strip("\n") + "\n", "", None, GENERATED, language)
