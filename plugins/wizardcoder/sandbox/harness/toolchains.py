"""Each language's recipe: its one compilation unit, how it is built and run, and what a run
that left no completion record means.

The program is the job's code followed by its tests, in one file, the way MultiPL-E builds its
programs:

- python: the tests are a script, or a list of statements run and counted one by one;
- javascript, typescript: the tests may ``require('assert')``; a list of statements is counted;
- c, cpp, go, rust: the tests hold ``main``;
- java: the code defines its classes (``class Solution``), the tests hold ``public class Main``;
- bash: the tests are commands, and a test fails with ``exit 1``;
- sql: SQLite (see sql_tests.py).

Where a language needs it, the unit is normalised the way a person would merge two files: Go and
Java imports move to the top (they must come first), Java's top-level types other than Main lose
``public`` (one public type per file), Go's ``package`` lines become one ``package main``.

The code comes first and could redefine what the tests check with. So the tests get their own
assertions back: in C and C++, ``#undef NDEBUG`` and ``#include <assert.h>`` between code and
tests (assert.h defines ``assert`` anew at each inclusion, whatever ``#define NDEBUG`` or
``#define assert(x)`` the code wrote); in Rust, the tests' assertion macros are called by their
path (``::std::assert_eq!``), which a ``macro_rules!`` of the code's cannot shadow; in Go, where a
package may redeclare ``panic`` (or ``len``, ``nil``...) and nothing can name the built-in one, the
tests are not run and the verdict is a FAIL that names the redeclared name; likewise in Java for a
top-level class of the code's named like a java.lang or java.util class the tests use (``Objects``).

A run passes only on a completion record that carries the job's nonce, written by the program
itself once its tests are done, on a descriptor that is not stdout. How each language writes it:

- python, sql: the supervisor's warm interpreter runs them (python_tests.py, sql_tests.py);
- c, cpp, rust: ``exit`` is wrapped at link time (``--wrap=exit``) and a handler registered
  before anything else writes the record when the process ends by returning from ``main``; a call
  to ``exit()`` from the program marks the run as ended early, and then no record is written;
- go: the program's ``main`` is renamed, and ours calls it, then writes the record;
- java: EvolHarness.java calls ``Main.main``, waits for the program's non-daemon threads as the
  JVM would, then writes it;
- javascript, typescript: harness.js loads the program and writes it when the event loop is empty
  (``beforeExit``, which ``process.exit()`` skips);
- bash: the script's last lines write it.

Standard library only: this file runs inside the container, and the host imports it for the list
of languages.
"""

from __future__ import annotations

import glob
import json
import re
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

    def plan(self, code: str, tests: str | list[str] | None, channels: Channels, memory_mb: int) -> Plan:
        raise NotImplementedError


def _joined(code: str, tests: str | None) -> str:
    return code.rstrip("\n") + "\n\n" + (tests or "").strip("\n") + "\n"


_HAS_MAIN = {
    "c": re.compile(r"\bmain\s*\("),
    "cpp": re.compile(r"\bmain\s*\("),
    "rust": re.compile(r"\bfn\s+main\s*\("),
}
_EMPTY_MAIN = {"c": "int main(void) { return 0; }", "cpp": "int main() { return 0; }", "rust": "fn main() {}"}


def _with_main(language: str, code: str, tests: str | list[str] | None) -> str:
    """Code and tests; code with no tests and no main of its own gets an empty one, so that a
    job without tests still compiles (and is UNTESTED, not a COMPILE_ERROR)."""
    text = tests if isinstance(tests, str) else None
    if not (text or "").strip():
        if not _HAS_MAIN[language].search(code):
            text = _EMPTY_MAIN[language]
        return _joined(code, text)
    if language in ("c", "cpp"):
        return _joined(code, _c_assert_restored(code) + text)
    if language == "rust":
        return _joined(code, rust_std_assertions(text))
    return _joined(code, text)


# The names `assert` expands to (glibc's assert.h, C and C++): a macro of the code's with one of
# these names would change what the tests' assertions do.
_C_ASSERT_NAMES = frozenset({"assert", "NDEBUG", "__assert_fail", "__ASSERT_FUNCTION", "__ASSERT_VOID_CAST",
                             "__extension__", "__PRETTY_FUNCTION__", "__func__", "static_cast", "void", "if",
                             "else", "sizeof", "_ASSERT_H"})
_C_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)", re.M)


def _c_assert_restored(code: str) -> str:
    """Lines between the code and the tests that give the tests the C library's own `assert`,
    whatever the code did to it (``#define NDEBUG`` before its include, ``#define assert(x)``):
    assert.h defines `assert` anew, by NDEBUG, each time it is included."""
    undefined = sorted({name for name in _C_DEFINE.findall(code) if name in _C_ASSERT_NAMES} - {"assert", "NDEBUG"})
    # A function __assert_fail of the code's own would be called by the tests' failed assertions
    # and return: theirs call the harness's (evol_record.c), declared by assert.h under this name.
    lines = ["// evolinstruct sandbox: the tests' assertions are the C library's, whatever the code defined",
             "#undef NDEBUG", *(f"#undef {name}" for name in undefined), "#undef __evol_assert_fail",
             "#define __assert_fail __evol_assert_fail",
             "#undef _ASSERT_H_DECLS",  # assert.h declares its functions (under the name above) again
             "#include <assert.h>"]
    return "\n".join(lines) + "\n"


# The assertion macros of Rust's standard library: the tests call them by their full path, so that
# a `macro_rules! assert_eq` of the code's cannot take their place.
_RUST_ASSERTION = re.compile(
    r"(?<![\w:.$])(assert|assert_eq|assert_ne|debug_assert|debug_assert_eq|debug_assert_ne|panic|unreachable|"
    r"unimplemented|todo)(?=[ \t]*!)"
)


def rust_std_assertions(tests: str) -> str:
    """The tests with their assertion macros path-qualified (``::std::assert_eq!``). Strings and
    comments are left as they are."""
    blanked = blank(tests, "rust")
    parts: list[str] = []
    last = 0
    for match in _RUST_ASSERTION.finditer(blanked):
        # `macro_rules! assert` in the tests themselves defines, not invokes.
        if re.search(r"macro_rules[ \t]*!\s*$", blanked[:match.start()]):
            continue
        parts.append(tests[last:match.start()])
        parts.append(f"::std::{match.group(1)}")
        last = match.end()
    parts.append(tests[last:])
    return "".join(parts)


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


class JavaScript(Toolchain):
    name = "javascript"
    aliases = ("js", "node", "nodejs")
    list_tests = True
    memory_patterns = (re.compile(r"JavaScript heap out of memory|Allocation failed - process out of memory"),)

    def plan(self, code, tests, channels, memory_mb):
        count = str(len(tests)) if isinstance(tests, list) else "-"
        return Plan(
            files={"solution.js": _js_unit(code, tests, typed=False)},
            run=_node(memory_mb, channels, f"{WORK}/solution.js", count),
        )


def _node(memory_mb: int, channels: Channels, script: str, count: str) -> tuple[str, ...]:
    return ("/usr/bin/node", f"--max-old-space-size={_heap_mb(memory_mb)}", f"{HARNESS_DIR}/harness.js",
            str(channels.report), str(channels.nonce), script, count)


class TypeScript(Toolchain):
    name = "typescript"
    aliases = ("ts",)
    list_tests = True
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
        )


# --- C, C++ and Rust: exit wrapped at link time ------------------------------------------------


def _record_object(compiler: str, channels: Channels) -> tuple[str, ...]:
    # The record writer is its own translation unit, so that none of its names can clash with
    # the program's (competitive code often defines its own `read`).
    return (compiler, "-std=gnu17", "-O2", "-c", f"-DEVOL_REPORT_FD={channels.report}",
            f"-DEVOL_NONCE_FD={channels.nonce}", "-o", f"{WORK}/evol_record.o", f"{HARNESS_DIR}/evol_record.c")


_ASSERT_FAILED = re.compile(r"Assertion [`'].*' failed|Assertion failed")
_BAD_ALLOC = re.compile(r"std::bad_alloc|Cannot allocate memory")


class C(Toolchain):
    name = "c"
    aliases = ("h",)
    nonzero_main_fails = True
    fail_patterns = (_ASSERT_FAILED,)
    memory_patterns = (_BAD_ALLOC,)

    def plan(self, code, tests, channels, memory_mb):
        build = ("/usr/bin/gcc", "-std=gnu17", "-O2", "-pipe", "-fmax-errors=10", "-o", f"{WORK}/solution",
                 f"{WORK}/solution.c", f"{WORK}/evol_record.o", "-lm", "-Wl,--wrap=exit")
        return Plan(
            files={"solution.c": _with_main("c", code, tests)},
            compile=(_record_object("/usr/bin/gcc", channels), build),
            run=(f"{WORK}/solution",),
        )


class Cpp(Toolchain):
    name = "cpp"
    aliases = ("c++", "cxx", "cc", "hpp")
    nonzero_main_fails = True
    fail_patterns = (_ASSERT_FAILED,)
    memory_patterns = (_BAD_ALLOC,)

    def plan(self, code, tests, channels, memory_mb):
        build = ("/usr/bin/g++", "-std=gnu++17", "-O2", "-pipe", "-fmax-errors=10", "-o", f"{WORK}/solution",
                 f"{WORK}/solution.cpp", f"{WORK}/evol_record.o", "-Wl,--wrap=exit")
        return Plan(
            files={"solution.cpp": _with_main("cpp", code, tests)},
            compile=(_record_object("/usr/bin/gcc", channels), build),
            run=(f"{WORK}/solution",),
        )


RUST_RECORD = """
// evolinstruct sandbox: the completion record (see toolchains.py)
#[allow(dead_code, non_upper_case_globals, non_snake_case)]
mod __evol_harness {
    static mut EXPLICIT_EXIT: bool = false;
    extern "C" {
        fn __real_exit(code: i32) -> !;
        fn atexit(callback: extern "C" fn()) -> i32;
        fn read(fd: i32, buffer: *mut u8, count: usize) -> isize;
        fn write(fd: i32, buffer: *const u8, count: usize) -> isize;
    }
    #[no_mangle]
    pub extern "C" fn __wrap_exit(code: i32) -> ! {
        unsafe {
            EXPLICIT_EXIT = true;
            __real_exit(code)
        }
    }
    extern "C" fn report() {
        unsafe {
            if EXPLICIT_EXIT {
                return;
            }
            let mut nonce = [0u8; 64];
            let size = read(NONCE_FD, nonce.as_mut_ptr(), 64);
            if size <= 0 {
                return;
            }
            let mut record: Vec<u8> = Vec::with_capacity(128);
            record.extend_from_slice(b"{\\"nonce\\": \\"");
            record.extend_from_slice(&nonce[..size as usize]);
            record.extend_from_slice(b"\\", \\"verdict\\": \\"PASS\\"}");
            write(REPORT_FD, record.as_ptr(), record.len());
        }
    }
    extern "C" fn register() {
        unsafe {
            atexit(report);
        }
    }
    #[used]
    #[link_section = ".init_array"]
    static REGISTER: extern "C" fn() = register;
}
"""


class Rust(Toolchain):
    name = "rust"
    aliases = ("rs",)
    fail_patterns = (re.compile(r"panicked at '?assertion|panicked at .*\n?assertion"),)
    memory_patterns = (re.compile(r"memory allocation of \d+ bytes failed|capacity overflow"),)

    def plan(self, code, tests, channels, memory_mb):
        record = RUST_RECORD.replace("NONCE_FD", str(channels.nonce)).replace("REPORT_FD", str(channels.report))
        build = ("/usr/bin/rustc", "--edition", "2021", "-C", "opt-level=1", "-C", "debug-assertions=on",
                 "-A", "warnings", "-C", "link-arg=-Wl,--wrap=exit", "-o", f"{WORK}/solution", f"{WORK}/solution.rs")
        return Plan(
            files={"solution.rs": _with_main("rust", code, tests) + record},
            compile=(build,),
            run=(f"{WORK}/solution",),
        )


# --- Go ---------------------------------------------------------------------------------------

_GO_PACKAGE = re.compile(r"^[ \t]*package[ \t]+\w+[ \t]*(?://.*)?$", re.M)
_GO_IMPORT_BLOCK = re.compile(r"^[ \t]*import[ \t]*\((?P<specs>.*?)\)[ \t]*$", re.M | re.S)
_GO_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+(?P<spec>(?:[\w.]+[ \t]+)?\"[^\"\n]+\")[ \t]*(?://.*)?$", re.M)
_GO_MAIN = re.compile(r"^func[ \t]+main[ \t]*\([ \t]*\)", re.M)

GO_RECORD = """
// evolinstruct sandbox: the completion record (see toolchains.py)
func main() {
	evolUserMain()
	evolNonce := make([]byte, 64)
	evolSize, _ := evolos.NewFile(uintptr(NONCE_FD), "nonce").Read(evolNonce)
	evolos.NewFile(uintptr(REPORT_FD), "report").Write([]byte(`{"nonce": "` + string(evolNonce[:evolSize]) + `", "verdict": "PASS"}`))
}
"""


# Go's predeclared names that tests check with (`panic("assertion failed")`, `len(got) != 3`,
# `got != nil`): a package may redeclare them, and then the tests would call the code's own.
_GO_CHECKING_NAMES = ("panic", "recover", "len", "cap", "true", "false", "nil", "iota", "error", "string", "bool",
                      "int")
_GO_FUNC = re.compile(r"^func[ \t]+(\w+)", re.M)
_GO_DECLARATION = re.compile(r"^(?:var|const|type)[ \t]+(?:\((?P<group>[^()]*(?:\([^()]*\)[^()]*)*)\)|(?P<names>\w+(?:[ \t]*,[ \t]*\w+)*))",
                             re.M)


def go_redeclared(code: str) -> str | None:
    """The predeclared name the tests check with that the code redeclares at package level, or None."""
    text = _outside_braces(blank(code, "go"))  # package level only: what is inside braces is local
    declared = set(_GO_FUNC.findall(text))
    for match in _GO_DECLARATION.finditer(text):
        if match.group("names"):
            declared.update(name.strip() for name in match.group("names").split(","))
        for line in (match.group("group") or "").splitlines():
            names = re.match(r"[ \t]*(\w+(?:[ \t]*,[ \t]*\w+)*)", line)
            if names:
                declared.update(name.strip() for name in names.group(1).split(","))
    return next((name for name in _GO_CHECKING_NAMES if name in declared), None)


GO_REFUSED = """
// evolinstruct sandbox: the code redeclares a name the tests check with; they are not run
func main() {
	evolNonce := make([]byte, 64)
	evolSize, _ := evolos.NewFile(uintptr(NONCE_FD), "nonce").Read(evolNonce)
	evolos.NewFile(uintptr(REPORT_FD), "report").Write([]byte(`{"nonce": "` + string(evolNonce[:evolSize]) + `", "verdict": "FAIL", "message": MESSAGE}`))
}
"""


def go_unit(code: str, tests: str | None, channels: Channels) -> str:
    """One Go file from two: one `package main`, every import at the top, our main last."""
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

    body = _joined(code, tests)
    body = _GO_PACKAGE.sub("", body)
    body = _GO_IMPORT_BLOCK.sub(take_block, body)
    body = _GO_IMPORT_LINE.sub(take_line, body)
    body, renamed = _GO_MAIN.subn("func evolUserMain()", body)
    if not renamed:
        body += "\nfunc evolUserMain() {}\n"
    unique = list(dict.fromkeys(" ".join(spec.split()) for spec in specs))
    imports = "".join(f"\t{spec}\n" for spec in ['evolos "os"', *unique])
    record = GO_RECORD
    redeclared = go_redeclared(code) if (tests or "").strip() else None
    if redeclared:
        message = (f"the program redeclares Go's built-in {redeclared}, which the tests rely on to check "
                   "(a test that cannot fail is not a test)")
        record = GO_REFUSED.replace("MESSAGE", json.dumps(message))
    record = record.replace("NONCE_FD", str(channels.nonce)).replace("REPORT_FD", str(channels.report))
    return f"package main\n\nimport (\n{imports})\n\n{body.strip()}\n{record}"


def _go_tools() -> str:
    # The compiler and linker themselves, not the `go` command: the Debian toolchain ships the
    # standard library precompiled, so no build cache, module set-up or sources are needed.
    found = sorted(glob.glob("/usr/lib/go*/pkg/tool/*/compile"))
    return found[-1].rsplit("/", 1)[0] if found else "/usr/lib/go/pkg/tool/linux_amd64"


class Go(Toolchain):
    name = "go"
    aliases = ("golang",)
    fail_patterns = (re.compile(r"^panic: .*assert", re.M | re.I),)
    memory_patterns = (re.compile(r"fatal error: runtime: out of memory|runtime: cannot allocate memory"),)

    def plan(self, code, tests, channels, memory_mb):
        tools = _go_tools()
        return Plan(
            files={"solution.go": go_unit(code, tests if isinstance(tests, str) else None, channels)},
            compile=(
                (f"{tools}/compile", "-p", "main", "-complete", "-o", f"{WORK}/solution.o", f"{WORK}/solution.go"),
                (f"{tools}/link", "-o", f"{WORK}/solution", f"{WORK}/solution.o"),
            ),
            run=(f"{WORK}/solution",),
            # The Go runtime sizes its heap goal from this, and stops the program with a clear
            # "out of memory" rather than being killed from outside.
            env={"GOMEMLIMIT": f"{_heap_mb(memory_mb)}MiB"},
        )


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
_JAVA_TOP_TYPE = re.compile(r"\b(?:class|interface|enum|record)[ \t]+(\w+)")


def java_shadowed(code: str, tests: str | None) -> str | None:
    """The java.lang or java.util type the tests use that a top-level type of the code shadows, or None."""
    if not (tests or "").strip():
        return None
    # Top-level types only: a nested one is not what the tests' name means.
    declared = set(_JAVA_TOP_TYPE.findall(_outside_braces(blank(code, "java"))))
    used = set(re.findall(r"\w+", blank(tests or "", "java")))
    return next((name for name in _JAVA_CHECKING_TYPES if name in declared and name in used), None)


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
    # "unable to create native thread" is the process limit, not memory.
    memory_patterns = (re.compile(r"java\.lang\.OutOfMemoryError(?!: unable to create native thread)"),)

    def plan(self, code, tests, channels, memory_mb):
        # One garbage collector thread, the quick JIT only, no /tmp/hsperfdata: a program of a
        # few classes starts in a fraction of a second under one CPU.
        jvm = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", f"-Xmx{_heap_mb(memory_mb)}m")
        javac = ("/usr/bin/javac", *(f"-J{flag}" for flag in jvm), "-encoding", "UTF-8", "-nowarn", "-d", f"{WORK}/classes",
                 f"{WORK}/Main.java", f"{HARNESS_DIR}/EvolHarness.java")
        text = tests if isinstance(tests, str) else None
        refusal: tuple[str, ...] = ()
        shadowed = java_shadowed(code, text)
        if shadowed:
            # EvolHarness then reports this FAIL instead of running the tests.
            message = (f"the program declares its own class {shadowed}, which takes the place of Java's {shadowed} "
                       "in the tests (a test that cannot fail is not a test)")
            refusal = (f"-Devol.refused={message}",)
        return Plan(
            files={"Main.java": java_unit(code, text)},
            compile=(javac,),
            run=("/usr/bin/java", "-ea", *jvm, *refusal, "-cp", f"{WORK}/classes", "EvolHarness",
                 str(channels.report), str(channels.nonce)),
        )


# --- Bash -------------------------------------------------------------------------------------

BASH_RECORD = """
# evolinstruct sandbox: the completion record (see toolchains.py)
builtin read -r -N 64 __evol_nonce <&NONCE_FD || :
builtin printf '{"nonce": "%s", "verdict": "PASS"}' "$__evol_nonce" >&REPORT_FD
"""


class Bash(Toolchain):
    name = "bash"
    aliases = ("sh", "shell", "zsh")
    exit_one_fails = True

    def plan(self, code, tests, channels, memory_mb):
        record = BASH_RECORD.replace("NONCE_FD", str(channels.nonce)).replace("REPORT_FD", str(channels.report))
        return Plan(
            files={"solution.sh": _joined(code, tests if isinstance(tests, str) else None) + record},
            compile=(("/bin/bash", "-n", f"{WORK}/solution.sh"),),
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
