"""Each language's recipe: its one compilation unit, how it is built and run, and what a run
that left no completion record means.

The program is the job's code followed by its tests, in one file, the way MultiPL-E builds its
programs:

- python: the tests are a script, or a list of statements run and counted one by one;
- javascript, typescript: the tests may ``require('assert')``; a list of statements is counted;
  node:test and describe/it tests are collected and run by harness.js, each counted;
- c, cpp: the tests hold ``main``;
- rust: the tests hold ``main``, or ``#[test]`` functions (``#[cfg(test)] mod tests``), which the
  harness's own main runs as libtest would;
- go: the tests hold ``main``, or ``func TestX(t *testing.T)`` functions, run as ``go test`` does;
- java: the code defines its classes (``class Solution``), the tests hold ``public class Main``;
- bash: the tests are commands, and a test fails with ``exit 1``;
- sql: SQLite (see sql_tests.py).

Where a language needs it, the unit is normalised the way a person would merge two files: Go and
Java imports move to the top (they must come first), Java's top-level types other than Main lose
``public`` (one public type per file), Go's ``package`` lines become one ``package main``. Bash
keeps the code in a file of its own, which the tests' script sources.

The code comes first and could redefine what the tests check with. So the tests get their own
checks back: in C and C++, the C library's ``assert`` (counted, failing through the harness under
a per-job name) between code and tests, whatever the code #defined; in Rust, the tests' assertion
macros called by their path (``::std::assert_eq!``); in Java, ``assert`` statements written out as
explicit throws; in Bash, the builtins restored in POSIX mode. Where the code takes the tests'
checks over and nothing can name the original (Go's redeclared ``panic`` or ``len``, a Java class
named like java.lang's ``Objects``, a C++ ``operator==``, a Rust ``PartialEq`` by hand, Java's
``equals``, Rust's ``#![no_main]``), the tests are not run and the verdict is a FAIL that says
why. These checks read tokens (``tokens``), never patterns a line break would defeat.

A run passes only on a completion record that carries the job's nonce, written by the harness once
the tests are done, on a descriptor that is not stdout, with the nonce read before the program's
own code starts where the language allows it:

- python, sql: the supervisor runs them (python_tests.py, sql_tests.py);
- c, cpp: ``main`` is wrapped at link time (``--wrap=main``, evol_record.c), and the record is
  written when the tests' main returns; any other end of the process leaves none;
- rust: the harness's main calls the tests (their renamed main, or each #[test]) and writes it;
- go: the program's ``main`` is renamed, and ours calls it (or testing.MainStart), then writes it;
- java: EvolHarness.java calls ``Main.main``, waits for the program's non-daemon threads as the
  JVM would, then writes it;
- javascript, typescript: harness.js loads the program and writes it when the event loop is empty
  (``beforeExit``, which ``process.exit()`` skips), unless the program replaced what the tests or
  the harness rely on;
- bash: the script's last lines write it.

Standard library only: this file runs inside the container, and the host imports it for the list
of languages.
"""

from __future__ import annotations

import glob
import json
import re
import secrets
from dataclasses import dataclass, field

HARNESS_DIR = "/opt/sandbox"
WORK = "/work"


@dataclass(frozen=True)
class Channels:
    """The descriptors a program reaches the harness on (numbers in the program's process)."""

    report: int  # the completion record goes here
    nonce: int  # the job's nonce is read from here, once the tests are done


@dataclass(frozen=True)
class Plan:
    """What the supervisor does for one job: write files, compile, run."""

    files: dict[str, str] = field(default_factory=dict)  # path under /work -> text
    compile: tuple[tuple[str, ...], ...] = ()  # commands, in order; each must exit 0
    run: tuple[str, ...] = ()  # the program's command ("" for a program run in-process)
    env: dict[str, str] = field(default_factory=dict)


class Toolchain:
    name = ""
    aliases: tuple[str, ...] = ()
    list_tests = False  # tests may be a list of statements, each run and counted
    in_process = False  # run by the supervisor's own warm interpreter, not exec'd
    # C and C++ tests may signal failure by returning non-zero from main.
    nonzero_main_fails = False
    # What a failed assertion or an exhausted memory prints on stderr, for runs with no record.
    fail_patterns: tuple[re.Pattern[str], ...] = ()
    memory_patterns: tuple[re.Pattern[str], ...] = ()
    exit_one_fails = False  # bash: `exit 1` is how a test fails
    # The names by which tests in this language can fail (an assertion, a throw, a panic, a failing
    # exit); names starting with "assert" always count. Empty: the harness counts the tests'
    # assertions itself (python, sql), so a run that checked nothing is already told apart.
    check_names: frozenset[str] = frozenset()

    def plan(self, code: str, tests: str | list[str] | None, channels: Channels, memory_mb: int) -> Plan:
        raise NotImplementedError

    def holds_a_check(self, tests: str) -> bool:
        """Whether uncounted tests (a script, a main) could fail at all: they name one of the
        language's ways to fail, outside strings and comments. Tests that cannot fail checked
        nothing, and their run is no pass."""
        if not self.check_names:
            return True
        return any(name.startswith("assert") or name in self.check_names for name, _ in tokens(blank(tests, self.name)))


def _joined(code: str, tests: str | None) -> str:
    return code.rstrip("\n") + "\n\n" + (tests or "").strip("\n") + "\n"


_HAS_MAIN = {
    "c": re.compile(r"\bmain\s*\("),
    "cpp": re.compile(r"\bmain\s*\("),
    "rust": re.compile(r"\bfn\s+main\s*\("),
}
_EMPTY_MAIN = {"c": "int main(void) { return 0; }", "cpp": "int main() { return 0; }", "rust": "fn main() {}"}


def job_tag() -> str:
    """A random suffix for the names the harness gives its own functions in one job's program, so
    that the program cannot name (define, overload or call) them."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class NativeNames:
    """The C and C++ harness's per-job names (see evol_record.c)."""

    assert_fail: str
    asserted: str

    @classmethod
    def new(cls) -> NativeNames:
        tag = job_tag()
        return cls(f"__evol_assert_fail_{tag}", f"__evol_asserted_{tag}")


# The names `assert` expands to (glibc's assert.h, C and C++), and the keywords: a macro of the
# code's with one of these names would change what the tests' assertions, or the tests, do.
_C_ASSERT_NAMES = frozenset({"assert", "NDEBUG", "__assert_fail", "__ASSERT_FUNCTION", "__ASSERT_VOID_CAST",
                             "__extension__", "__PRETTY_FUNCTION__", "__func__", "static_cast", "void", "if",
                             "else", "sizeof", "_ASSERT_H", "main", "__FILE__", "__LINE__", "__STRING"})
_C_KEYWORDS = frozenset("""auto bool break case catch char class const constexpr continue default delete do double
    dynamic_cast enum explicit extern false float for friend goto inline int long namespace new noexcept nullptr
    operator private protected public register reinterpret_cast return short signed static struct switch template
    this throw true try typedef typename union unsigned using virtual volatile while exit abort _Exit quick_exit
    std""".split())
_C_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", re.M)
_C_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include\b[^\n]*$", re.M)


def _with_main(language: str, code: str, tests: str | list[str] | None, names: NativeNames | None = None) -> str:
    """Code and tests; code with no tests and no main of its own gets an empty one, so that a
    job without tests still compiles (and is UNTESTED, not a COMPILE_ERROR)."""
    text = tests if isinstance(tests, str) else None
    if not (text or "").strip():
        if not _HAS_MAIN[language].search(code):
            text = _EMPTY_MAIN[language]
        return _joined(code, text)
    if language in ("c", "cpp"):
        return _joined(code, c_tests_part(language, code, text, names or NativeNames.new()))
    return _joined(code, text)


def c_tests_part(language: str, code: str, tests: str, names: NativeNames) -> str:
    """The tests, behind lines that give them back their own `main`, the C library's `assert`
    (counted, and failing through the harness) and the language's keywords, whatever the code
    #defined. Their #include lines come first, so that an <assert.h> of theirs cannot put back
    an `assert` that is not counted."""
    blanked = blank(tests, language)
    includes = [tests[m.start():m.end()].strip() for m in _C_INCLUDE.finditer(blanked)]
    body = tests
    for match in reversed(list(_C_INCLUDE.finditer(blanked))):
        body = body[:match.start()] + body[match.end():]
    undefined = sorted({name for name in _C_DEFINE.findall(blank(code, language))
                        if name in _C_ASSERT_NAMES or name in _C_KEYWORDS} - {"NDEBUG"})
    # Variadic, so that a comma inside the condition (a template's arguments) is no error.
    check = "static_cast<bool>(__VA_ARGS__)" if language == "cpp" else "(__VA_ARGS__)"
    linkage = 'extern "C" ' if language == "cpp" else ""
    lines = ["// evolinstruct sandbox: the tests' own main, assertions and keywords, whatever the code defined",
             "#undef NDEBUG", *(f"#undef {name}" for name in undefined),
             f"#define __assert_fail {names.assert_fail}",
             "#undef _ASSERT_H_DECLS",  # assert.h declares its functions (under the name above) again
             "#include <assert.h>", *includes, "#undef assert",
             f"{linkage}void {names.asserted}(void);",
             f"#define assert(...) ({check} ? {names.asserted}() : {names.assert_fail}(#__VA_ARGS__, __FILE__, __LINE__, __func__))"]
    return "\n".join(lines) + "\n" + body


# The assertion macros of Rust's standard library: the tests call them by their full path, so that
# a `macro_rules! assert_eq` of the code's cannot take their place.
_RUST_ASSERTION = re.compile(
    r"(?<![\w:.$])(assert|assert_eq|assert_ne|debug_assert|debug_assert_eq|debug_assert_ne|panic|unreachable|"
    r"unimplemented|todo)(?=[ \t]*!)"
)


def blank(source: str, language: str) -> str:
    """`source` (a brace language: C, C++, Java, Go, Rust, JavaScript, TypeScript) with the
    insides of strings, characters and comments replaced by spaces, so that a name or a brace in a
    string is not taken for code. Same length, same line breaks, so positions in the result are
    positions in the source. Here, with the standard library only, for the harness; the code
    domain (clike.py) reads code with it too.
    """
    out = list(source)
    i, n = 0, len(source)
    backtick_strings = language in ("go", "javascript", "typescript")

    def clear(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        ch = source[i]
        nxt = source[i + 1] if i + 1 < n else ""
        if ch == "/" and nxt == "/":
            end = source.find("\n", i)
            end = n if end < 0 else end
            clear(i, end)
            i = end
        elif ch == "/" and nxt == "*":
            end = source.find("*/", i + 2)
            end = n if end < 0 else end + 2
            clear(i, end)
            i = end
        elif language == "rust" and ch == "r" and re.match(r'r(#*)"', source[i:]) and not (i and (source[i - 1].isalnum() or source[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', source[i:]).group(1)  # type: ignore[union-attr]
            end = source.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            clear(i + 1, end - 1)
            i = end
        elif ch == '"' or (ch == "`" and backtick_strings):
            j = i + 1
            while j < n and source[j] != ch:
                j += 2 if source[j] == "\\" and ch != "`" else 1
            clear(i + 1, j)
            i = j + 1
        elif ch == "'":
            if language == "rust" and not re.match(r"'(?:\\.[^']*|[^\\'])'", source[i:]):
                i += 1  # a lifetime ('a), not a character
                continue
            if language in ("javascript", "typescript"):
                j = i + 1
                while j < n and source[j] not in "'\n":
                    j += 2 if source[j] == "\\" else 1
            else:
                found = re.match(r"'(?:\\.|[^\\'\n])*'", source[i:])
                j = i + (len(found.group(0)) - 1 if found else 1)
            clear(i + 1, j)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def _outside_braces(blanked: str) -> str:
    """The text of a blanked source that stands at the top level, outside every brace."""
    top, depth = [], 0
    for ch in blanked:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            top.append(ch)
    return "".join(top)


def _heap_mb(memory_mb: int) -> int:
    # Room for what a runtime needs beside its heap (code, stacks, metadata) inside the job's
    # memory, so that running out of heap is the runtime's own clear error, not an OOM kill.
    return max(16, memory_mb - 48)


class Python(Toolchain):
    name = "python"
    aliases = ("py", "python3")
    list_tests = True
    in_process = True

    def plan(self, code, tests, channels, memory_mb):
        return Plan()


class Sql(Toolchain):
    name = "sql"
    aliases = ("sqlite", "sqlite3")
    list_tests = True
    in_process = True

    def plan(self, code, tests, channels, memory_mb):
        return Plan()


# --- JavaScript and TypeScript -------------------------------------------------------------------


# `const assert = require('assert')` in the code and again in the tests is fine in two files and a
# SyntaxError in one: such top-level requires become `var`, which may be declared twice, and an
# ES import written in both parts is kept once, at the top.
_JS_REQUIRE = re.compile(r"^(?:const|let)(?=[ \t]+(?:[\w$]+|\{[^}\n]*\})[ \t]*=[ \t]*require[ \t]*\()", re.M)
_ES_IMPORT = re.compile(r"^import[ \t][^\n;]*?from[ \t]*['\"][^'\"\n]+['\"][ \t]*;?[ \t]*$", re.M)


def _js_merged(part: str, imports: list[str]) -> str:
    def take(match: re.Match[str]) -> str:
        imports.append(match.group(0).strip().rstrip(";") + ";")
        return ""

    return _JS_REQUIRE.sub("var", _ES_IMPORT.sub(take, part))


def _js_unit(code: str, tests: str | list[str] | None, typed: bool) -> str:
    imports: list[str] = []
    code = _js_merged(code, imports)
    if isinstance(tests, list):
        tests = [_js_merged(test, imports) for test in tests]
    elif tests:
        tests = _js_merged(tests, imports)
    header = "".join(f"{line}\n" for line in dict.fromkeys(imports))
    return header + _js_body(code, tests, typed)


def _js_body(code: str, tests: str | list[str] | None, typed: bool) -> str:
    if not isinstance(tests, list):
        return _joined(code, tests)
    # Each statement in its own closure, inside the program's own module scope, so that it sees
    # the code's declarations and harness.js can run and count them one by one.
    target = "(globalThis as any)" if typed else "globalThis"
    closures = "".join(f"() => {{\n{test}\n}},\n" for test in tests)
    return code.rstrip("\n") + f"\n\n;{target}.__evolTests = [\n{closures}];\n"


# A throw, a failing exit, and node's assert functions imported by name (`const { strictEqual } =
# require('assert')`).
_JS_CHECK_NAMES = frozenset({"throw", "expect", "fail", "exit", "exitCode", "reject", "ok", "equal", "strictEqual",
                             "deepEqual", "deepStrictEqual", "notEqual", "notStrictEqual", "notDeepEqual",
                             "notDeepStrictEqual", "throws", "rejects", "doesNotThrow", "doesNotReject", "match",
                             "doesNotMatch", "ifError"})


class JavaScript(Toolchain):
    name = "javascript"
    aliases = ("js", "node", "nodejs")
    list_tests = True
    check_names = _JS_CHECK_NAMES
    memory_patterns = (re.compile(r"JavaScript heap out of memory|Allocation failed - process out of memory"),)

    def plan(self, code, tests, channels, memory_mb):
        count = str(len(tests)) if isinstance(tests, list) else "-"
        return Plan(
            files={"solution.js": _js_unit(code, tests, typed=False)},
            run=_node(memory_mb, channels, f"{WORK}/solution.js", count),
            env=NODE_ENV,
        )


# Where require() finds the npm packages shipped in the image (libraries.py).
NODE_ENV = {"NODE_PATH": "/opt/evol-libs/node_modules"}


def _node(memory_mb: int, channels: Channels, script: str, count: str) -> tuple[str, ...]:
    return ("/usr/bin/node", f"--max-old-space-size={_heap_mb(memory_mb)}", f"{HARNESS_DIR}/harness.js",
            str(channels.report), str(channels.nonce), script, count)


class TypeScript(Toolchain):
    name = "typescript"
    aliases = ("ts",)
    list_tests = True
    check_names = _JS_CHECK_NAMES
    memory_patterns = JavaScript.memory_patterns

    def plan(self, code, tests, channels, memory_mb):
        count = str(len(tests)) if isinstance(tests, list) else "-"
        compile_ts = (
            "/usr/bin/tsc", "--target", "es2020", "--lib", "es2020", "--module", "commonjs",
            "--noEmitOnError", "--pretty", "false", "--rootDir", WORK, "--outDir", f"{WORK}/build",
            f"{WORK}/solution.ts", f"{HARNESS_DIR}/node-globals.d.ts",
        )
        return Plan(
            files={"solution.ts": _js_unit(code, tests, typed=True)},
            compile=(compile_ts,),
            run=_node(memory_mb, channels, f"{WORK}/build/solution.js", count),
            env=NODE_ENV,
        )


# --- C, C++ and Rust: exit wrapped at link time ------------------------------------------------


def _record_object(channels: Channels, names: NativeNames, tests: str | list[str] | None, language: str) -> tuple[str, ...]:
    # The record writer is its own translation unit, so that none of its names can clash with
    # the program's (competitive code often defines its own `read`), and uses no C library
    # function the program could replace (see evol_record.c).
    counting = int(isinstance(tests, str) and "assert" in re.findall(r"\w+", blank(tests, language)))
    return ("/usr/bin/gcc", "-std=gnu17", "-O2", "-ffreestanding", "-fno-builtin", "-fno-tree-loop-distribute-patterns",
            "-fno-stack-protector", "-c", f"-DEVOL_REPORT_FD={channels.report}", f"-DEVOL_NONCE_FD={channels.nonce}",
            f"-DEVOL_ASSERT_FAIL={names.assert_fail}", f"-DEVOL_ASSERTED={names.asserted}",
            f"-DEVOL_COUNTING={counting}", "-o", f"{WORK}/evol_record.o", f"{HARNESS_DIR}/evol_record.c")


# The record object comes first in the link (its start-up entry before the program's), main is
# wrapped (evol_record.c), and the libraries shipped in the image (libraries.py) are linked only
# when the program uses them.
def _native_link() -> tuple[str, ...]:
    openssl = ("-lssl", "-lcrypto") if glob.glob("/usr/lib/*/libcrypto.so") else ()
    return ("-Wl,--wrap=main", "-Wl,--as-needed", *openssl)

_ASSERT_FAILED = re.compile(r"Assertion [`'].*' failed|Assertion failed")
_BAD_ALLOC = re.compile(r"std::bad_alloc|Cannot allocate memory")


def _refusal(channels: Channels, message: str) -> Plan:
    """A plan that does not run the program: its record is this FAIL (the tests could not fail)."""
    script = ("import json, os\n"
              f"nonce = os.read({channels.nonce}, 64).decode()\n"
              f"os.write({channels.report}, json.dumps({{'nonce': nonce, 'verdict': 'FAIL', 'message': {message!r}}}).encode())\n")
    return Plan(run=("/usr/bin/env", "python3", "-I", "-c", script))


def tokens(blanked: str) -> list[tuple[str, int]]:
    """The tokens of a blanked brace-language source, with their positions: names, numbers, and
    punctuation one character at a time (a newline is a token too, for Go's semicolons). Text
    checks of a program work on these, never on a pattern that a newline or a comment between
    two words would defeat."""
    return [(m.group(0), m.start()) for m in re.finditer(r"[A-Za-z_$][\w$]*|\d[\w.]*|\n|[^\s\w]", blanked)]


def _nonblank(found: list[tuple[str, int]]) -> list[tuple[str, int]]:
    return [token for token in found if token[0] != "\n"]


# C++ operators that decide what the tests' comparisons answer: one of the code's own could
# answer "equal" for anything (a vector compared with a vector, or a value of the code's type).
_CPP_DECIDING_OPERATORS = ("==", "!=", "<=>", "bool", "!")


def cpp_comparison_operator(code: str) -> str | None:
    """The message refusing code that defines an operator the tests' comparisons would call, or None."""
    found = _nonblank(tokens(blank(code, "cpp")))
    for index, (word, _) in enumerate(found):
        if word != "operator":
            continue
        following = "".join(token for token, _ in found[index + 1:index + 4])
        for symbol in _CPP_DECIDING_OPERATORS:
            if following.startswith(symbol) and following[len(symbol):len(symbol) + 1] in ("(", "=", "<", "") or \
                    (symbol.isalpha() and found[index + 1][0] == symbol):
                shown = f"operator {symbol}" if symbol.isalpha() else f"operator{symbol}"
                return (f"the program defines its own {shown}, which would decide what the tests' comparisons "
                        "answer (a test that cannot fail is not a test); compare plain values instead")
    return None


def _returns_failure(tests: str, language: str) -> bool:
    """Whether C or C++ tests hold a ``return`` of something other than 0 (their main may fail
    that way)."""
    found = _nonblank(tokens(blank(tests, language)))
    return any(name == "return" and index + 1 < len(found) and found[index + 1][0] not in ("0", ";", "EXIT_SUCCESS")
               for index, (name, _) in enumerate(found))


class C(Toolchain):
    name = "c"
    aliases = ("h",)
    nonzero_main_fails = True
    fail_patterns = (_ASSERT_FAILED,)
    memory_patterns = (_BAD_ALLOC,)
    check_names = frozenset({"abort", "exit", "_exit", "_Exit", "quick_exit"})

    def holds_a_check(self, tests: str) -> bool:
        return super().holds_a_check(tests) or _returns_failure(tests, self.name)

    def plan(self, code, tests, channels, memory_mb):
        names = NativeNames.new()
        build = ("/usr/bin/gcc", "-std=gnu17", "-O2", "-pipe", "-fmax-errors=10", "-o", f"{WORK}/solution",
                 f"{WORK}/evol_record.o", f"{WORK}/solution.c", "-lm", *_native_link())
        return Plan(
            files={"solution.c": _with_main("c", code, tests, names)},
            compile=(_record_object(channels, names, tests, "c"), build),
            run=(f"{WORK}/solution",),
        )


class Cpp(Toolchain):
    name = "cpp"
    aliases = ("c++", "cxx", "cc", "hpp")
    nonzero_main_fails = True
    fail_patterns = (_ASSERT_FAILED,)
    memory_patterns = (_BAD_ALLOC,)
    check_names = frozenset({"abort", "exit", "_exit", "_Exit", "quick_exit", "throw", "terminate"})

    def holds_a_check(self, tests: str) -> bool:
        return super().holds_a_check(tests) or _returns_failure(tests, self.name)

    def plan(self, code, tests, channels, memory_mb):
        names = NativeNames.new()
        text = tests if isinstance(tests, str) else None
        refused = cpp_comparison_operator(code) if (text or "").strip() else None
        if refused:
            return _refusal(channels, refused)
        build = ("/usr/bin/g++", "-std=gnu++17", "-O2", "-pipe", "-fmax-errors=10", "-o", f"{WORK}/solution",
                 f"{WORK}/evol_record.o", f"{WORK}/solution.cpp", *_native_link())
        return Plan(
            files={"solution.cpp": _with_main("cpp", code, tests, names)},
            compile=(_record_object(channels, names, tests, "cpp"), build),
            run=(f"{WORK}/solution",),
        )


RUST_RECORD = r"""
// evolinstruct sandbox: the completion record (see toolchains.py)
#[allow(dead_code, non_upper_case_globals, non_snake_case, unused)]
mod __evol_TAG {
    static mut NONCE: [u8; 64] = [0; 64];
    static mut NONCE_SIZE: isize = 0;
    static mut ASSERTIONS: u64 = 0;

    #[cfg(target_arch = "x86_64")]
    const CALLS: (usize, usize, usize) = (0, 1, 3); // read, write, close
    #[cfg(target_arch = "aarch64")]
    const CALLS: (usize, usize, usize) = (63, 64, 57);

    // Direct system calls: a #[no_mangle] `write` of the program's would replace the C library's.
    unsafe fn call(number: usize, a: usize, b: usize, c: usize) -> isize {
        let result: isize;
        #[cfg(target_arch = "x86_64")]
        ::std::arch::asm!("syscall", inlateout("rax") number as isize => result, in("rdi") a, in("rsi") b, in("rdx") c,
                          lateout("rcx") _, lateout("r11") _, options(nostack));
        #[cfg(target_arch = "aarch64")]
        ::std::arch::asm!("svc 0", in("x8") number, inlateout("x0") a as isize => result, in("x1") b, in("x2") c,
                          options(nostack));
        result
    }

    extern "C" fn take_nonce() {
        unsafe {
            NONCE_SIZE = call(CALLS.0, NONCE_FD, NONCE.as_mut_ptr() as usize, 64);
            call(CALLS.2, NONCE_FD, 0, 0);
        }
    }
    // Before main and the program's own initializers: the nonce's descriptor is closed by then.
    #[used]
    #[link_section = ".preinit_array"]
    static TAKE_NONCE: extern "C" fn() = take_nonce;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars().take(400) {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&::std::format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out
    }

    fn record(verdict: &str, rest: &str) {
        unsafe {
            if NONCE_SIZE <= 0 {
                return; // the nonce was not ours to read: no record
            }
            let nonce = ::std::string::String::from_utf8_lossy(&NONCE[..NONCE_SIZE as usize]).into_owned();
            let text = ::std::format!("{{\"nonce\": \"{}\", \"verdict\": \"{}\"{}}}", escaped(&nonce), verdict, rest);
            let mut done = 0;
            while done < text.len() {
                let written = call(CALLS.1, REPORT_FD, text.as_ptr() as usize + done, text.len() - done);
                if written <= 0 {
                    return;
                }
                done += written as usize;
            }
        }
    }

    pub(crate) fn asserted() {
        unsafe {
            ASSERTIONS += 1;
        }
    }

    pub(crate) trait Outcome {
        fn failure(self) -> Option<String>;
    }
    impl Outcome for () {
        fn failure(self) -> Option<String> {
            None
        }
    }
    impl<T, E: ::std::fmt::Debug> Outcome for ::std::result::Result<T, E> {
        fn failure(self) -> Option<String> {
            self.err().map(|error| ::std::format!("Error: {:?}", error))
        }
    }

    // One #[test] function, as libtest runs it: a panic is a failure unless it should panic.
    pub(crate) fn run<R: Outcome>(name: &str, should_panic: bool, test: fn() -> R) -> bool {
        let outcome = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| test().failure()));
        let passed = match outcome {
            Ok(None) => !should_panic,
            Ok(Some(message)) => {
                ::std::eprintln!("{}", message);
                false
            }
            Err(_) => should_panic,
        };
        ::std::println!("test {} ... {}", name, if passed { "ok" } else { "FAILED" });
        if !passed {
            unsafe { FAILED.push(name.to_string()) };
        }
        passed
    }
    static mut FAILED: Vec<String> = Vec::new();

    pub(crate) fn finish_tests(passed: usize, total: usize) {
        let counts = ::std::format!(", \"passed\": {}, \"total\": {}", passed, total);
        if passed == total {
            record("PASS", &counts);
            return;
        }
        let failed = unsafe { FAILED.join(", ") };
        record("FAIL", &::std::format!("{}, \"message\": \"{}\"", counts, escaped(&::std::format!("failed: {}", failed))));
        ::std::process::exit(101);
    }

    pub(crate) fn finish_script<R: Outcome>(outcome: R, counting: bool) {
        if let Some(message) = outcome.failure() {
            ::std::eprintln!("{}", message);
            record("FAIL", &::std::format!(", \"message\": \"{}\"", escaped(&message)));
            ::std::process::exit(1);
        }
        if counting && unsafe { ASSERTIONS } == 0 {
            record("PASS", ", \"passed\": 0, \"total\": 0"); // the tests' assertions were never reached
        } else {
            record("PASS", "");
        }
    }
}
"""


@dataclass(frozen=True)
class RustTest:
    path: str  # from the crate root: tests::it_adds
    should_panic: bool


# Attributes of the tests that the harness's own runner takes the place of.
_RUST_TEST_ATTRIBUTES = ("test", "cfg(test)", "should_panic", "ignore")


def _rust_attribute_end(found: list[tuple[str, int]], index: int) -> int:
    """The index of the `]` closing the attribute whose `[` is at `index`."""
    depth = 0
    for position in range(index, len(found)):
        if found[position][0] == "[":
            depth += 1
        elif found[position][0] == "]":
            depth -= 1
            if depth == 0:
                return position
    return len(found) - 1


def rust_tests(tests: str, tag: str) -> tuple[str, list[RustTest], bool]:
    """The tests made runnable by the harness's own main: #[test] functions (in `mod tests` or at
    the top) made callable from the crate root, #[cfg(test)] and the test attributes removed, a
    top-level `fn main` renamed, and the assertion macros path-qualified (a `macro_rules!` of the
    code's cannot shadow them) and counted. Returns the text, the tests found, and whether a main
    was renamed."""
    blanked = blank(tests, "rust")
    found = _nonblank(tokens(blanked))
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the tests' text
    found_tests: list[RustTest] = []
    modules: list[tuple[str, int]] = []  # (name, brace depth inside it)
    pending: list[str] = []
    depth = 0
    renamed_main = False
    index = 0
    while index < len(found):
        word, position = found[index]
        if word == "#" and index + 1 < len(found) and found[index + 1][0] == "[":
            end = _rust_attribute_end(found, index + 1)
            attribute = "".join(token for token, _ in found[index + 2:end])
            if attribute.split("(")[0] in ("test", "should_panic", "ignore") or attribute == "cfg(test)":
                pending.append(attribute)
                stop = found[end][1] + 1
                edits.append((position, stop, " " * (stop - position)))
            index = end + 1
            continue
        if word == "{":
            depth += 1
        elif word == "}":
            depth -= 1
            while modules and depth < modules[-1][1]:
                modules.pop()
        elif word == "mod" and index + 2 < len(found) and found[index + 2][0] == "{":
            if found[index - 1][0] != ")" and (index == 0 or found[index - 1][0] != "pub"):
                edits.append((position, position, "pub(crate) "))
            modules.append((found[index + 1][0], depth + 1))
        elif word == "fn" and index + 1 < len(found):
            name = found[index + 1][0]
            if "test" in pending and "ignore" not in [p.split("(")[0] for p in pending]:
                public = index > 0 and (found[index - 1][0] == "pub" or found[index - 1][0] == ")")
                if not public:
                    edits.append((position, position, "pub(crate) "))
                path = "::".join([module for module, _ in modules] + [name])
                found_tests.append(RustTest(path, any(p.startswith("should_panic") for p in pending)))
            elif name == "main" and depth == 0:
                start = found[index + 1][1]
                edits.append((start, start + 4, f"__evol_tests_main_{tag}"))
                renamed_main = True
        if word in ("fn", "mod", "struct", "enum", "impl", "use", ";", "{", "}"):
            pending = []
        index += 1
    for match in _RUST_ASSERTION.finditer(blanked):
        if re.search(r"macro_rules[ \t]*!\s*$", blanked[:match.start()]):
            continue  # `macro_rules! assert` in the tests themselves defines, not invokes
        macro = match.group(1)
        if not macro.startswith(("assert", "debug_assert")):
            edits.append((match.start(), match.end(), f"::std::{macro}"))
            continue
        opening = re.compile(r"[ \t]*![ \t]*[(\[{]").match(blanked, match.end())
        closing = _closing_bracket(blanked, opening.end() - 1) if opening else None
        if closing is None:
            edits.append((match.start(), match.end(), f"::std::{macro}"))
            continue
        edits.append((match.start(), match.end(), f"{{ crate::__evol_{tag}::asserted(); ::std::{macro}"))
        edits.append((closing + 1, closing + 1, " }"))
    text = tests
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, found_tests, renamed_main


def _closing_bracket(blanked: str, opening: int) -> int | None:
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    for index in range(opening, len(blanked)):
        ch = blanked[index]
        if ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return index
    return None


def _rust_top_main(source: str, tag: str, role: str) -> str:
    """`source` with its top-level `fn main` renamed (the harness's main is the program's entry)."""
    blanked = blank(source, "rust")
    depth = 0
    for word, position in _nonblank(tokens(blanked)):
        if word == "{":
            depth += 1
        elif word == "}":
            depth -= 1
        elif depth == 0 and word == "main" and re.search(r"\bfn\s*$", blanked[:position]):
            return source[:position] + f"__evol_{role}_main_{tag}" + source[position + 4:]
    return source


def rust_refused(code: str) -> str | None:
    """Why code cannot be run against tests in Rust, or None: it takes the program's entry point
    away from the harness, or implements a comparison the tests' assert_eq! would ask."""
    found = _nonblank(tokens(blank(code, "rust")))
    words = [word for word, _ in found]
    if "no_main" in words:
        return ("the program declares #![no_main], which takes the program's entry point from the tests "
                "(a test that cannot fail is not a test)")
    for index, word in enumerate(words):
        if word != "impl":
            continue
        header = []
        for following in words[index + 1:index + 60]:
            if following in ("{", ";"):
                break
            header.append(following)
        for trait in ("PartialEq", "PartialOrd"):
            if trait in header:
                return (f"the program implements {trait} by hand, which would decide what the tests' comparisons "
                        f"answer (a test that cannot fail is not a test); derive {trait} instead")
    return None


def rust_unit(code: str, tests: str | None, channels: Channels, tag: str) -> str:
    record = (RUST_RECORD.replace("__evol_TAG", f"__evol_{tag}").replace("NONCE_FD", str(channels.nonce))
              .replace("REPORT_FD", str(channels.report)))
    if not (tests or "").strip():
        # The code alone (UNTESTED): its own main, if any, runs as the program's.
        renamed = _rust_top_main(code, tag, "program")
        call = f"__evol_program_main_{tag}()" if renamed != code else "()"
        return (_joined(renamed, None) + f"\nfn main() {{\n    let outcome = {call};\n"
                f"    crate::__evol_{tag}::finish_script(outcome, false);\n}}\n" + record)
    text, found_tests, renamed_main = rust_tests(tests or "", tag)
    code = _rust_top_main(code, tag, "program")
    if found_tests:
        calls = "".join(f"    passed += crate::__evol_{tag}::run({test.path!r}, {str(test.should_panic).lower()}, "
                        f"crate::{test.path}) as usize;\n".replace("'", '"') for test in found_tests)
        main = (f"\nfn main() {{\n    let mut passed = 0usize;\n{calls}"
                f"    crate::__evol_{tag}::finish_tests(passed, {len(found_tests)});\n}}\n")
    elif renamed_main:
        counting = "true" if re.search(r"\bassert", blank(tests or "", "rust")) else "false"
        main = (f"\nfn main() {{\n    let outcome = __evol_tests_main_{tag}();\n"
                f"    crate::__evol_{tag}::finish_script(outcome, {counting});\n}}\n")
    else:
        # Tests with neither a main nor a #[test]: nothing calls them.
        main = f"\nfn main() {{\n    crate::__evol_{tag}::finish_tests(0, 0);\n}}\n"
    return _joined(code, text) + main + record


class Rust(Toolchain):
    name = "rust"
    check_names = frozenset({"panic", "unreachable", "todo", "unimplemented", "exit", "abort"})
    aliases = ("rs",)
    fail_patterns = (re.compile(r"panicked at '?assertion|panicked at .*\n?assertion"),)
    memory_patterns = (re.compile(r"memory allocation of \d+ bytes failed|capacity overflow"),)

    def plan(self, code, tests, channels, memory_mb):
        text = tests if isinstance(tests, str) else None
        refused = rust_refused(code) if (text or "").strip() else None
        if refused:
            return _refusal(channels, refused)
        build = ("/usr/bin/rustc", "--edition", "2021", "-C", "opt-level=1", "-C", "debug-assertions=on",
                 "-A", "warnings", *rust_library_flags(), "-o", f"{WORK}/solution", f"{WORK}/solution.rs")
        return Plan(
            files={"solution.rs": rust_unit(code, text, channels, job_tag())},
            compile=(build,),
            run=(f"{WORK}/solution",),
        )


RUST_LIBRARIES = "/opt/evol-libs/rust"


def rust_library_flags() -> tuple[str, ...]:
    """rustc's flags for the crates compiled into the image (build-libraries.sh): each may be
    `use`d by name; rustc reads one only when the program does."""
    crates = sorted(glob.glob(f"{RUST_LIBRARIES}/lib*.rlib"))
    if not crates:
        return ()
    externs = [f"--extern={path.rsplit('/', 1)[1][3:-5]}={path}" for path in crates]
    return ("-L", f"dependency={RUST_LIBRARIES}/deps", *externs)


# --- Go ---------------------------------------------------------------------------------------

_GO_PACKAGE = re.compile(r"^[ \t]*package[ \t]+\w+[ \t]*(?://.*)?$", re.M)
_GO_IMPORT_BLOCK = re.compile(r"^[ \t]*import[ \t]*\((?P<specs>.*?)\)[ \t]*$", re.M | re.S)
_GO_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+(?P<spec>(?:[\w.]+[ \t]+)?\"[^\"\n]+\")[ \t]*(?://.*)?$", re.M)
_GO_MAIN = re.compile(r"^func[ \t]+main[ \t]*\([ \t]*\)", re.M)

GO_RECORD = """
// evolinstruct sandbox: the completion record (see toolchains.py)
var _ = evolos.Exit // used by the test runner's main; a script's main leaves it unused

func evolTakeNonce_TAG() []byte {
	evolNonce := make([]byte, 64)
	evolSize, _ := evolsyscall.Read(NONCE_FD, evolNonce)
	evolsyscall.Close(NONCE_FD)
	if evolSize < 0 {
		evolSize = 0
	}
	return evolNonce[:evolSize]
}

func evolRecord_TAG(evolVerdict string, evolRest string) {
	if len(evolNonce_TAG) == 0 {
		return // the nonce was not ours to read: no record
	}
	evolsyscall.Write(REPORT_FD, []byte(`{"nonce": "`+string(evolNonce_TAG)+`", "verdict": "`+evolVerdict+`"`+evolRest+`}`))
}
"""

GO_SCRIPT_MAIN = """
func main() {
	evolUserMain_TAG()
	evolRecord_TAG("PASS", "")
}
"""

# `go test`'s way: testing.MainStart with the Test functions found in the tests, each wrapped to
# count it; the record says how many ran and passed.
GO_TEST_MAIN = """
func main() {
	evolPassed, evolFailed := 0, ""
	evolWrap := func(evolName string, evolTest func(*evoltesting.T)) func(*evoltesting.T) {
		return func(evolT *evoltesting.T) {
			defer func() {
				if evolT.Failed() {
					evolFailed += " " + evolName
				} else if !evolT.Skipped() {
					evolPassed++
				}
			}()
			evolTest(evolT)
		}
	}
	evolTests := []evoltesting.InternalTest{
TESTS	}
	evolStatus := evoltesting.MainStart(evoltestdeps.TestDeps{}, evolTests, nil, nil, nil).Run()
	if evolStatus != 0 || evolFailed != "" {
		evolRecord_TAG("FAIL", `, "passed": `+evolstrconv.Itoa(evolPassed)+`, "total": `+evolstrconv.Itoa(len(evolTests))+
			`, "message": "failed:`+evolFailed+`"`)
		evolos.Exit(1)
	}
	// Skipped tests checked nothing: they count in neither number.
	evolRecord_TAG("PASS", `, "passed": `+evolstrconv.Itoa(evolPassed)+`, "total": `+evolstrconv.Itoa(evolPassed))
}
"""


# Go's predeclared names that tests check with (`panic("assertion failed")`, `len(got) != 3`,
# `got != nil`): a package may redeclare them, and then the tests would call the code's own.
_GO_CHECKING_NAMES = ("panic", "recover", "len", "cap", "true", "false", "nil", "iota", "error", "string", "bool",
                      "int", "append", "copy", "make", "new", "print", "println", "byte", "rune", "float64", "any")
# After these tokens, a line break ends a statement (the Go spec's semicolon rule).
_GO_LINE_ENDERS = frozenset({"break", "continue", "fallthrough", "return", ")", "]", "}", '"', "`", "'"})
_GO_KEYWORDS = frozenset("""break case chan const continue default defer else fallthrough for func go goto if import
    interface map package range return select struct switch type var""".split())


def _go_statements(found: list[tuple[str, int]]) -> list[str]:
    """Go tokens with the semicolons the language inserts at line breaks made explicit."""
    out: list[str] = []
    for word, _ in found:
        if word == "\n":
            if out and (out[-1] in _GO_LINE_ENDERS or (re.match(r"[\w$]", out[-1]) and out[-1] not in _GO_KEYWORDS) or
                        out[-1] in ("+", "-") and
                        len(out) > 1 and out[-2] == out[-1]):
                out.append(";")
            continue
        out.append(word)
    return out


def go_declared(code: str) -> set[str]:
    """The names the code declares at package level: functions (not methods), and every name of
    its var, const and type declarations, grouped or not, however they are split over lines."""
    words = _go_statements(tokens(blank(code, "go")))
    declared: set[str] = set()
    depth = 0
    index = 0

    def names_from(position: int) -> int:
        # IDENT {, IDENT}: the names of one spec; returns where they end.
        while position < len(words) and re.match(r"[A-Za-z_]\w*$", words[position]):
            declared.add(words[position])
            if position + 1 < len(words) and words[position + 1] == ",":
                position += 2
            else:
                return position + 1
        return position

    while index < len(words):
        word = words[index]
        if word in "({[":
            depth += 1
        elif word in ")}]":
            depth = max(0, depth - 1)
        elif depth == 0 and word == "func" and index + 1 < len(words) and words[index + 1] != "(":
            declared.add(words[index + 1])
        elif depth == 0 and word in ("var", "const", "type") and index + 1 < len(words):
            if words[index + 1] != "(":
                index = names_from(index + 1)
                continue
            # A group: one spec after the opening parenthesis and after each semicolon in it.
            inner = 0
            position = index + 2
            start_of_spec = True
            while position < len(words):
                token = words[position]
                if start_of_spec and inner == 0:
                    position = names_from(position)
                    start_of_spec = False
                    continue
                if token in "({[":
                    inner += 1
                elif token in ")}]":
                    if inner == 0:
                        break
                    inner -= 1
                elif token == ";" and inner == 0:
                    start_of_spec = True
                position += 1
            index = position + 1
            continue
        index += 1
    return declared


def go_redeclared(code: str, import_names: set[str] | None = None) -> str | None:
    """The predeclared name the tests check with that the code redeclares at package level (or
    names an import after), or None."""
    declared = go_declared(code) | (import_names or set())
    return next((name for name in _GO_CHECKING_NAMES if name in declared), None)


def go_test_functions(tests: str) -> list[str]:
    """The tests' top-level `func TestXxx(t *testing.T)`, as `go test` finds them."""
    words = _go_statements(tokens(blank(tests, "go")))
    found: list[str] = []
    depth = 0
    for index, word in enumerate(words):
        if word in "({[":
            depth += 1
        elif word in ")}]":
            depth = max(0, depth - 1)
        elif depth == 0 and word == "func" and index + 1 < len(words):
            name = words[index + 1]
            if re.match(r"Test(?![a-z])\w*$", name) and words[index + 2:index + 3] == ["("] and \
                    "*" in words[index + 3:index + 6] and "T" in words[index + 3:index + 8]:
                found.append(name)
    return found


def go_unit(code: str, tests: str | None, channels: Channels, tag: str) -> tuple[str, str | None]:
    """One Go file from two: one `package main`, every import at the top, our main last; or why
    the tests cannot be run (the code redeclares a name they check with)."""
    specs: list[str] = []

    def take_block(match: re.Match[str]) -> str:
        for line in match.group("specs").splitlines():
            spec = line.split("//", 1)[0].strip().rstrip(";")
            if spec:
                specs.append(spec)
        return ""

    def take_line(match: re.Match[str]) -> str:
        specs.append(match.group("spec").strip())
        return ""

    def merged(part: str) -> str:
        part = _GO_PACKAGE.sub("", part)
        part = _GO_IMPORT_BLOCK.sub(take_block, part)
        return _GO_IMPORT_LINE.sub(take_line, part)

    code_part = merged(code)
    code_imports = {spec.split()[0] for spec in specs if len(spec.split()) == 2}
    test_part = merged(tests or "")
    tested = bool((tests or "").strip())
    redeclared = go_redeclared(code_part, code_imports) if tested else None
    if redeclared:
        return "", (f"the program redeclares Go's built-in {redeclared}, which the tests rely on to check "
                    "(a test that cannot fail is not a test)")
    test_functions = go_test_functions(test_part) if tested else []
    body = _joined(code_part, test_part)
    body, renamed = _GO_MAIN.subn(f"func evolUserMain_{tag}()", body)
    if not renamed and not test_functions:
        body += f"\nfunc evolUserMain_{tag}() {{}}\n"
    own = ['evolos "os"', 'evolsyscall "syscall"']
    if test_functions:
        own += ['evoltesting "testing"', 'evoltestdeps "testing/internal/testdeps"', 'evolstrconv "strconv"']
        listed = "".join(f'\t\t{{"{name}", evolWrap("{name}", {name})}},\n' for name in test_functions)
        main = GO_TEST_MAIN.replace("TESTS", listed)
    else:
        main = GO_SCRIPT_MAIN
    unique = list(dict.fromkeys(" ".join(spec.split()) for spec in specs))
    imports = "".join(f"\t{spec}\n" for spec in [*own, *unique])
    # The nonce is taken by the first package-level variable, before the code's own initializers.
    first = f"var evolNonce_{tag} = evolTakeNonce_{tag}()\n"
    record = (GO_RECORD + main).replace("_TAG", f"_{tag}").replace("NONCE_FD", str(channels.nonce)) \
        .replace("REPORT_FD", str(channels.report))
    return f"package main\n\nimport (\n{imports})\n\n{first}\n{body.strip()}\n{record}", None


def _go_tools() -> str:
    # The compiler and linker themselves, not the `go` command: the Debian toolchain ships the
    # standard library precompiled, so no build cache, module set-up or sources are needed.
    found = sorted(glob.glob("/usr/lib/go*/pkg/tool/*/compile"))
    return found[-1].rsplit("/", 1)[0] if found else "/usr/lib/go/pkg/tool/linux_amd64"


class Go(Toolchain):
    name = "go"
    check_names = frozenset({"panic", "Panic", "Panicf", "Panicln", "Error", "Errorf", "Fatal", "Fatalf", "Fatalln",
                             "Fail", "FailNow", "Exit"})
    aliases = ("golang",)
    fail_patterns = (re.compile(r"^panic: .*assert", re.M | re.I),)
    memory_patterns = (re.compile(r"fatal error: runtime: out of memory|runtime: cannot allocate memory"),)

    def plan(self, code, tests, channels, memory_mb):
        tools = _go_tools()
        unit, refused = go_unit(code, tests if isinstance(tests, str) else None, channels, job_tag())
        if refused:
            return _refusal(channels, refused)
        return Plan(
            files={"solution.go": unit},
            compile=(
                # The packages compiled into the image (testify) are found beside the standard library.
                (f"{tools}/compile", "-p", "main", "-complete", "-I", GO_LIBRARIES, "-o", f"{WORK}/solution.o",
                 f"{WORK}/solution.go"),
                (f"{tools}/link", "-L", GO_LIBRARIES, "-o", f"{WORK}/solution", f"{WORK}/solution.o"),
            ),
            run=(f"{WORK}/solution",),
            # The Go runtime sizes its heap goal from this, and stops the program with a clear
            # "out of memory" rather than being killed from outside.
            env={"GOMEMLIMIT": f"{_heap_mb(memory_mb)}MiB"},
        )


GO_LIBRARIES = "/opt/evol-libs/go"


# --- Java -------------------------------------------------------------------------------------

_JAVA_PACKAGE = re.compile(r"^[ \t]*package[ \t]+[\w.]+[ \t]*;[ \t]*$", re.M)
_JAVA_IMPORT = re.compile(r"^[ \t]*import[ \t]+(?:static[ \t]+)?[\w.]+(?:\.\*)?[ \t]*;[ \t]*$", re.M)
_JAVA_PUBLIC_TYPE = re.compile(
    r"^(?P<indent>[ \t]*)public[ \t]+(?P<rest>(?:(?:abstract|final|sealed|non-sealed|strictfp)[ \t]+)*"
    r"(?:class|interface|enum|record|@interface)[ \t]+(?P<name>\w+))",
    re.M,
)


# Types the tests check with that come from java.lang (imported implicitly) or java.util (imported
# with `import java.util.*`): a top-level type of the code's with one of these names takes their
# place in the tests (a class Objects whose equals answers true). Tasks never ask for one of them,
# unlike Stack, List or Queue, which code may define for the tests to use.
_JAVA_CHECKING_TYPES = ("Objects", "Arrays", "Collections", "Math", "StrictMath", "String", "Object", "Integer", "Long",
                        "Double", "Float", "Short", "Byte", "Boolean", "Character", "System", "AssertionError",
                        "Error", "Throwable", "Exception", "RuntimeException", "StringBuilder", "Runtime", "Thread")


def java_declared_types(code: str) -> set[str]:
    """The code's top-level type names (class, interface, enum, record), read on tokens: a line
    break or a comment between the keyword and the name changes nothing."""
    declared: set[str] = set()
    depth = 0
    found = _nonblank(tokens(blank(code, "java")))
    for index, (word, _) in enumerate(found):
        if word == "{":
            depth += 1
        elif word == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and word in ("class", "interface", "enum", "record") and index + 1 < len(found):
            declared.add(found[index + 1][0])
    return declared


def java_shadowed(code: str, tests: str | None) -> str | None:
    """The java.lang or java.util type the tests use that a top-level type of the code shadows, or None."""
    if not (tests or "").strip():
        return None
    # Top-level types only: a nested one is not what the tests' name means.
    declared = java_declared_types(code)
    used = set(re.findall(r"\w+", blank(tests or "", "java")))
    return next((name for name in _JAVA_CHECKING_TYPES if name in declared and name in used), None)


def java_refused(code: str, tests: str | None) -> str | None:
    """Why the tests cannot be run against the code, or None."""
    shadowed = java_shadowed(code, tests)
    if shadowed:
        return (f"the program declares its own class {shadowed}, which takes the place of Java's {shadowed} "
                "in the tests (a test that cannot fail is not a test)")
    found = [word for word, _ in _nonblank(tokens(blank(code, "java")))]
    for index in range(len(found) - 2):
        if found[index] == "boolean" and found[index + 1] == "equals" and found[index + 2] == "(":
            return ("the program overrides equals, which would decide what the tests' comparisons answer "
                    "(a test that cannot fail is not a test)")
    return None


def java_assertions_explicit(tests: str) -> str:
    """The tests with each `assert C;` / `assert C : M;` written as the check it stands for, an
    explicit throw of AssertionError: whether assertions are enabled is then nothing the program
    can change (sun.misc.Unsafe or the class loader's assertion status)."""
    blanked = blank(tests, "java")
    found = _nonblank(tokens(blanked))
    edits: list[tuple[int, int, str]] = []
    for index, (word, position) in enumerate(found):
        if word != "assert" or (index and found[index - 1][0] == "."):
            continue
        depth = questions = 0
        colon = end = None
        for following in range(index + 1, len(found)):
            token, at = found[following]
            if token in "([{":
                depth += 1
            elif token in ")]}":
                depth -= 1
                if depth < 0:
                    break
            elif depth == 0 and token == "?":
                questions += 1
            elif depth == 0 and token == ":":
                adjacent = (following + 1 < len(found) and found[following + 1][0] == ":" and found[following + 1][1] == at + 1) \
                    or (found[following - 1][0] == ":" and found[following - 1][1] == at - 1)
                if adjacent:
                    continue  # a method reference (Type::method)
                if questions:
                    questions -= 1
                elif colon is None:
                    colon = at
            elif depth == 0 and token == ";":
                end = at
                break
        if end is None:
            continue
        start = position + len("assert")
        condition = tests[start:colon if colon is not None else end]
        message = tests[colon + 1:end] if colon is not None else '"assertion failed"'
        edits.append((position, end + 1, f"{{ if (!({condition.strip()})) throw new java.lang.AssertionError({message.strip()}); }}"))
    for start, end, replacement in reversed(edits):
        tests = tests[:start] + replacement + tests[end:]
    return tests


def java_unit(code: str, tests: str | None) -> str:
    """One Main.java from two: imports first, and only Main public."""
    imports: list[str] = []

    def take(match: re.Match[str]) -> str:
        imports.append(" ".join(match.group(0).split()))
        return ""

    def private_unless_main(match: re.Match[str]) -> str:
        if match.group("name") == "Main":
            return match.group(0)
        return match.group("indent") + match.group("rest")

    parts = []
    for part in (code, tests or ""):
        part = _JAVA_PACKAGE.sub("", part)
        part = _JAVA_IMPORT.sub(take, part)
        parts.append(part)
    parts[0] = _JAVA_PUBLIC_TYPE.sub(private_unless_main, parts[0])
    header = "".join(f"{line}\n" for line in dict.fromkeys(imports))
    return header + "\n" + _joined(parts[0].strip("\n"), parts[1])


class Java(Toolchain):
    name = "java"
    check_names = frozenset({"throw", "fail", "exit", "halt"})
    # "unable to create native thread" is the process limit, not memory.
    memory_patterns = (re.compile(r"java\.lang\.OutOfMemoryError(?!: unable to create native thread)"),)

    def plan(self, code, tests, channels, memory_mb):
        # One garbage collector thread, the quick JIT only, no /tmp/hsperfdata: a program of a
        # few classes starts in a fraction of a second under one CPU.
        jvm = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", f"-Xmx{_heap_mb(memory_mb)}m")
        javac = ("/usr/bin/javac", *(f"-J{flag}" for flag in jvm), "-encoding", "UTF-8", "-nowarn", "-d", f"{WORK}/classes",
                 f"{WORK}/Main.java", f"{HARNESS_DIR}/EvolHarness.java")
        text = tests if isinstance(tests, str) else None
        refused = java_refused(code, text)
        if refused:
            return _refusal(channels, refused)
        return Plan(
            files={"Main.java": java_unit(code, java_assertions_explicit(text) if text else text)},
            compile=(javac,),
            run=("/usr/bin/java", "-ea", *jvm, "-cp", f"{WORK}/classes", "EvolHarness",
                 str(channels.report), str(channels.nonce)),
        )


# --- Bash -------------------------------------------------------------------------------------

# Bash's builtins, which the tests check with (`[`, test, exit) and the harness writes with.
_BASH_BUILTINS = ("[", "test", "exit", "echo", "printf", "read", "true", "false", "return", "builtin", "command",
                  "enable", "unalias", "alias", "shopt", "set", "unset", "trap", "declare", "local", "let", "eval",
                  "exec", "source", ".", ":", "type", "mapfile", "readarray", "cd", "pwd", "shift", "export",
                  "readonly", "typeset", "break", "continue", "wait", "kill", "hash", "getopts")

BASH_MAIN = r"""# evolinstruct sandbox: the program runs from its own file, so that nothing it leaves open (a
# here-document without its end...) can reach the tests.
. /work/code.sh
# evolinstruct sandbox: the tests run with bash's own commands, whatever the program redefined.
# In POSIX mode special builtins (unset, trap, set, exit) come before functions of the same name;
# a refusal is an expansion error, which ends a script whatever the program defined (its message
# holds no quote: bash would read one inside the expansion).
POSIXLY_CORRECT=1
case ":$SHELLOPTS:" in *:posix:*) ;; *) : "${__evol_TAG_refused:?the program keeps the bash builtins from the tests}" ;; esac
\unset -f -- BUILTINS
\trap - DEBUG RETURN ERR EXIT
\enable -- ENABLED || : "${__evol_TAG_refused:?the program disabled bash builtins the tests use}"
\unalias -a
\shopt -u extdebug expand_aliases
\set +o errtrace +o functrace
TESTS
# evolinstruct sandbox: the completion record
case ":$SHELLOPTS:" in *:posix:*) ;; *) : "${__evol_TAG_refused:?the bash builtins were changed while the tests ran}" ;; esac
\builtin read -r -N 64 __evol_nonce <&NONCE_FD || :
\builtin printf '{"nonce": "%s", "verdict": "PASS"}' "$__evol_nonce" >&REPORT_FD
"""


def bash_main(tests: str | None, channels: Channels, tag: str) -> str:
    quoted = " ".join(f"'{name}'" for name in _BASH_BUILTINS)
    enabled = " ".join(f"'{name}'" for name in _BASH_BUILTINS if name not in (".", ":", "source"))
    return (BASH_MAIN.replace("__evol_TAG", f"__evol_{tag}").replace("ENABLED", enabled).replace("BUILTINS", quoted)
            .replace("NONCE_FD", str(channels.nonce)).replace("REPORT_FD", str(channels.report))
            .replace("TESTS\n", (tests or "").strip("\n") + "\n"))


class Bash(Toolchain):
    name = "bash"
    aliases = ("sh", "shell", "zsh")
    exit_one_fails = True

    def holds_a_check(self, tests: str) -> bool:
        # A failing command does not end a script unless it asks for that (set -e): without it a
        # test fails by `exit` (or `return` from a function the tests call).
        words = set(re.findall(r"(?<![\w-])[\w-]+|\[\[?", re.sub(r"(^|\s)#.*", " ", tests)))
        if words & {"exit", "return"}:
            return True
        errexit = bool(re.search(r"\bset\s+(-\w*e\w*|-o\s+errexit)\b", tests))
        return errexit and bool(words & {"test", "[", "[[", "false"})

    def plan(self, code, tests, channels, memory_mb):
        return Plan(
            files={"code.sh": code.rstrip("\n") + "\n",
                   "solution.sh": bash_main(tests if isinstance(tests, str) else None, channels, job_tag())},
            compile=(("/bin/bash", "-n", f"{WORK}/code.sh"), ("/bin/bash", "-n", f"{WORK}/solution.sh")),
            run=("/bin/bash", f"{WORK}/solution.sh"),
        )


TOOLCHAINS: dict[str, Toolchain] = {
    chain.name: chain for chain in (Python(), JavaScript(), TypeScript(), C(), Cpp(), Go(), Rust(), Java(), Bash(), Sql())
}
LANGUAGES = tuple(TOOLCHAINS)
ALIASES = {alias: chain.name for chain in TOOLCHAINS.values() for alias in (chain.name, *chain.aliases)}


def toolchain(language: str) -> Toolchain:
    """The recipe for a language name or alias (case-insensitive); KeyError if none."""
    return TOOLCHAINS[ALIASES[language.strip().lower()]]
