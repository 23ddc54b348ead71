"""Wrong code that tries to decide its own verdict, in every language but Python (which has its own
suites): each case passed before the verdict was put out of the program's reach, and none may
pass now. The completion record is written only by the harness, after the tests ran to their
end; what the program can replace (builtins, exits, hooks, operators) is refused or changes
nothing. Each case's honest twin (the same tests, right code) still passes.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from wizardcoder.sandbox import Job, SandboxPool, Verdict
from wizardcoder.sandbox.harness import sql_tests, toolchains

D = textwrap.dedent


@dataclass(frozen=True)
class Attack:
    language: str
    code: str  # wrong code, with the trick
    tests: str | list[str]
    honest: str  # right code, no trick: the same tests pass it


C_TESTS = "#include <assert.h>\nint main(void) {\n    assert(add(1, 2) == 3);\n    assert(add(-1, 1) == 0);\n    return 0;\n}\n"
C_RIGHT = "int add(int a, int b) { return a + b; }\n"
CPP_TESTS = "#include <cassert>\nint main() {\n    assert(add(1, 2) == 3);\n    assert(add(-1, 1) == 0);\n}\n"
RUST_TESTS = "fn main() {\n    assert_eq!(add(1, 2), 3);\n    assert_eq!(add(-1, 1), 0);\n}\n"
RUST_RIGHT = "fn add(a: i64, b: i64) -> i64 { a + b }\n"
JS_TESTS = "const assert = require('assert');\nassert.strictEqual(add(1, 2), 3);\nassert.strictEqual(add(-1, 1), 0);\n"
JS_RIGHT = "function add(a, b) { return a + b; }\n"
JS_WRONG = "function add(a, b) { return a - b; }\n"
BASH_TESTS = '[ "$(add 1 2)" = 3 ] || exit 1\n[ "$(add -1 1)" = 0 ] || exit 1\n'
BASH_RIGHT = "add() { echo $(( $1 + $2 )); }\n"
BASH_WRONG = "add() { echo $(( $1 - $2 )); }\n"
GO_TESTS = 'func main() {\n\tif add(1, 2) != 3 {\n\t\tpanic("assertion failed: add(1, 2)")\n\t}\n}\n'
GO_RIGHT = "func add(a, b int) int { return a + b }\n"
JAVA_TESTS = D("""
    public class Main {
        public static void main(String[] args) {
            assert Solution.add(1, 2) == 3 : "add(1, 2)";
            assert Solution.add(2, 2) == 4 : "add(2, 2)";
        }
    }
    """)
JAVA_RIGHT = "class Solution {\n    static int add(int a, int b) { return a + b; }\n}\n"

ATTACKS = {
    # C and C++: exits that bypassed the wrapped exit, a main the tests' main never became.
    "c_real_exit": Attack("c", "extern void __real_exit(int);\nint add(int a, int b) { __real_exit(0); return 0; }\n",
                          C_TESTS, C_RIGHT),
    "c_dlsym_exit": Attack("c", D("""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        int add(int a, int b) {
            void (*leave)(int) = (void (*)(int)) dlsym(RTLD_DEFAULT, "exit");
            leave(0);
            return 0;
        }
        """), C_TESTS, C_RIGHT),
    "c_pthread_exit_from_main": Attack("c", "#include <pthread.h>\nint add(int a, int b) { pthread_exit(0); return 0; }\n",
                                       C_TESTS, C_RIGHT),
    "c_static_initializer_exits": Attack("c", D("""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        __attribute__((constructor)) static void leave(void) {
            ((void (*)(int)) dlsym(RTLD_DEFAULT, "exit"))(0);
        }
        int add(int a, int b) { return a - b; }
        """), C_TESTS, C_RIGHT),
    "c_signal_handler_swallows_the_failed_assertion": Attack("c", D("""
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <signal.h>
        static void quietly(int signal) { ((void (*)(int)) dlsym(RTLD_DEFAULT, "exit"))(0); }
        __attribute__((constructor)) static void install(void) { signal(SIGABRT, quietly); signal(SIGILL, quietly); }
        int add(int a, int b) { return a - b; }
        """), C_TESTS, C_RIGHT),
    "c_redefined_main": Attack("c", "int add(int a, int b) { return a - b; }\nint main(void) { return 0; }\n#define main tests_main\n",
                               C_TESTS, C_RIGHT),
    "cpp_overloaded_assert_hook": Attack("cpp", D("""
        #include <cstdlib>
        void __evol_assert_fail(const char *, const char *, int, const char *) {}
        int add(int a, int b) { return a - b; }
        """), CPP_TESTS, C_RIGHT),
    "cpp_static_initializer_leaves_the_main_thread": Attack("cpp", D("""
        #include <pthread.h>
        struct Leave { Leave() { pthread_exit(nullptr); } } leave;
        int add(int a, int b) { return a - b; }
        """), CPP_TESTS, C_RIGHT),
    "cpp_terminate_hook": Attack("cpp", D("""
        #include <dlfcn.h>
        #include <exception>
        #include <stdexcept>
        struct Hook {
            Hook() { std::set_terminate([] { ((void (*)(int)) dlsym(RTLD_DEFAULT, "exit"))(0); }); }
        } hook;
        int add(int a, int b) { throw std::runtime_error("no"); }
        """), CPP_TESTS, C_RIGHT),
    "cpp_operator_equal_always_yes": Attack("cpp", D("""
        #include <vector>
        bool operator==(const std::vector<int> &, const std::vector<int> &) { return true; }
        std::vector<int> twice(int n) { return {}; }
        """), "#include <cassert>\nint main() {\n    assert((twice(2) == std::vector<int>{2, 2}));\n}\n",
        "#include <vector>\nstd::vector<int> twice(int n) { return {n, n}; }\n"),
    # Rust: the tests' main never called, exits around it, PartialEq that always says yes.
    "rust_no_main": Attack("rust", D("""
        #![no_main]
        fn add(a: i64, b: i64) -> i64 { a - b }
        #[no_mangle]
        pub extern "C" fn main() -> i32 { 0 }
        """), RUST_TESTS, RUST_RIGHT),
    "rust_dlsym_exit": Attack("rust", D("""
        extern "C" { fn dlsym(handle: *mut u8, name: *const u8) -> *mut u8; }
        fn add(a: i64, b: i64) -> i64 {
            unsafe {
                let exit: extern "C" fn(i32) -> ! = std::mem::transmute(dlsym(std::ptr::null_mut(), b"exit\\0".as_ptr()));
                exit(0)
            }
        }
        """), RUST_TESTS, RUST_RIGHT),
    "rust_real_exit": Attack("rust", D("""
        extern "C" { fn __real_exit(code: i32) -> !; }
        fn add(a: i64, b: i64) -> i64 { unsafe { __real_exit(0) } }
        """), RUST_TESTS, RUST_RIGHT),
    "rust_partial_eq_always_yes": Attack("rust", D("""
        #[derive(Debug)]
        struct Sum(i64);
        impl PartialEq<i64> for Sum { fn eq(&self, _: &i64) -> bool { true } }
        fn add(a: i64, b: i64) -> Sum { Sum(a - b) }
        """), RUST_TESTS, RUST_RIGHT),
    "rust_mod_tests_nobody_calls": Attack("rust", "fn add(a: i64, b: i64) -> i64 { a - b }\nfn main() {}\n",
                                          "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n"
                                          "    fn adds() { assert_eq!(add(1, 2), 3); }\n}\n",
                                          "fn add(a: i64, b: i64) -> i64 { a + b }\nfn main() {}\n"),
    # Go: shadowing checks that a newline or nested parentheses defeated; tests nobody ran.
    "go_panic_redeclared_after_a_newline": Attack("go", "func add(a, b int) int { return a - b }\n\nfunc\npanic(v any) {}\n",
                                                  GO_TESTS, GO_RIGHT),
    "go_len_in_a_group_with_nested_parentheses": Attack("go", D("""
        func twice(n int) []int { return nil }

        var (
        	scale = larger((2), (3))
        	len   = func(v []int) int { return 2 }
        )

        func larger(a, b int) int { if a > b { return a }; return b }
        """), 'func main() {\n\tif len(twice(2)) != 2 {\n\t\tpanic("assertion failed: twice(2)")\n\t}\n}\n',
        "func twice(n int) []int { return []int{n, n} }\n"),
    "go_test_functions_nobody_called": Attack("go", "func add(a, b int) int { return a - b }\n\nfunc main() {}\n",
                                              "import \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif add(1, 2) != 3 {\n"
                                              "\t\tt.Fatal(\"add(1, 2)\")\n\t}\n}\n",
                                              "func add(a, b int) int { return a + b }\n\nfunc main() {}\n"),
    # Java: a shadowing class split over lines, Unsafe turning assertions off, equals always yes.
    "java_objects_shadowed_after_a_newline": Attack("java", D("""
        class
        Objects { static boolean equals(Object a, Object b) { return true; } }
        class Solution { static int add(int a, int b) { return a - b; } }
        """), D("""
        import java.util.Objects;

        public class Main {
            public static void main(String[] args) {
                if (!Objects.equals(Solution.add(1, 2), 3)) throw new AssertionError("add(1, 2)");
            }
        }
        """), JAVA_RIGHT),
    "java_unsafe_turns_assertions_off": Attack("java", D("""
        import java.lang.reflect.Field;
        class Solution {
            static int calls = 0;
            static int add(int a, int b) {
                if (calls++ > 0) return 0;
                try {
                    Field theUnsafe = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
                    theUnsafe.setAccessible(true);
                    sun.misc.Unsafe unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
                    Field disabled = Main.class.getDeclaredField("$assertionsDisabled");
                    unsafe.putBoolean(unsafe.staticFieldBase(disabled), unsafe.staticFieldOffset(disabled), true);
                } catch (Exception ignored) {
                    // nothing to turn off
                }
                return a + b;
            }
        }
        """), JAVA_TESTS, JAVA_RIGHT),
    "java_equals_always_yes": Attack("java", D("""
        class Sum {
            @Override public boolean equals(Object other) { return true; }
            @Override public int hashCode() { return 0; }
        }
        class Solution { static Object add(int a, int b) { return new Sum(); } }
        """), "public class Main {\n    public static void main(String[] args) {\n"
              "        if (!Solution.add(1, 2).equals(3)) throw new AssertionError(\"add\");\n    }\n}\n",
        "class Solution { static Object add(int a, int b) { return a + b; } }\n"),
    # JavaScript and TypeScript: what the harness and the tests rely on, replaced by the program.
    "javascript_array_prototype": Attack("javascript", "Array.prototype.forEach = function () {};\n" + JS_WRONG,
                                         ["assert.strictEqual(add(1, 2), 3)"],
                                         "const assert = require('assert');\n" + JS_RIGHT),
    "javascript_function_prototype_call": Attack("javascript", D("""
        const assert = require('assert');
        const call = Function.prototype.call;
        Function.prototype.call = function (self, ...args) {
          if (this.name === 'guarded') return undefined;
          return Reflect.apply(this, self, args);
        };
        function add(a, b) { return a - b; }
        """), ["assert.equal(add(1, 2), 3)"], "const assert = require('assert');\n" + JS_RIGHT),
    "javascript_json_stringify": Attack("javascript", D("""
        const stringify = JSON.stringify;
        JSON.stringify = (value, ...rest) =>
          stringify(value && value.verdict ? { ...value, verdict: 'PASS', message: '' } : value, ...rest);
        function add(a, b) { return a - b; }
        """), JS_TESTS, JS_RIGHT),
    "javascript_fs_write_sync": Attack("javascript", D("""
        const fs = require('fs');
        const write = fs.writeSync;
        fs.writeSync = (fd, text, ...rest) =>
          write(fd, typeof text === 'string' ? text.replace(/"verdict": ?"[A-Z_]+"/, '"verdict": "PASS"') : text, ...rest);
        function add(a, b) { return a - b; }
        """), JS_TESTS, JS_RIGHT),
    "javascript_process_exit": Attack("javascript", "process.exit = () => {};\n" + JS_WRONG,
                                      "if (add(1, 2) !== 3) { console.error('add(1, 2)'); process.exit(1); }\n"
                                      "require('assert').ok(true);\n", JS_RIGHT),
    "javascript_require_hook_hands_a_fake_assert": Attack("javascript", D("""
        const Module = require('module');
        const require_ = Module.prototype.require;
        Module.prototype.require = function (id) {
          if (id === 'assert' && this.id === '.') {
            const fake = () => {};
            fake.strictEqual = () => {};
            return fake;
          }
          return require_.apply(this, arguments);
        };
        function add(a, b) { return a - b; }
        """), JS_TESTS, JS_RIGHT),
    "javascript_uncaught_exception_listeners_removed": Attack("javascript", D("""
        process.removeAllListeners('uncaughtException');
        process.on('uncaughtException', () => {});
        function add(a, b) { return a - b; }
        """), "const assert = require('assert');\nsetTimeout(() => assert.strictEqual(add(1, 2), 3), 1);\n", JS_RIGHT),
    "javascript_promise_that_never_settles": Attack("javascript", JS_WRONG,
                                                    "const assert = require('assert');\n(async () => {\n"
                                                    "  await new Promise(() => {});\n  assert.strictEqual(add(1, 2), 3);\n})();\n",
                                                    JS_RIGHT),
    "typescript_json_stringify": Attack("typescript", D("""
        const stringify = JSON.stringify;
        (JSON as any).stringify = (value: any, ...rest: any[]) =>
          stringify(value && value.verdict ? { ...value, verdict: 'PASS', message: '' } : value, ...rest);
        function add(a: number, b: number): number { return a - b; }
        """), "import * as assert from 'assert';\nassert.strictEqual(add(1, 2), 3);\n",
        "function add(a: number, b: number): number { return a + b; }\n"),
    # Bash: exit redefined, a function named [, a here-document that swallows the tests.
    "bash_exit_function": Attack("bash", BASH_WRONG + "exit() { :; }\n", BASH_TESTS, BASH_RIGHT),
    "bash_exit_alias": Attack("bash", BASH_WRONG + "shopt -s expand_aliases\nalias exit=:\n", BASH_TESTS, BASH_RIGHT),
    "bash_exit_disabled": Attack("bash", BASH_WRONG + "enable -n exit\n", BASH_TESTS, BASH_RIGHT),
    "bash_bracket_function": Attack("bash", BASH_WRONG + "[() { return 0; }\n", BASH_TESTS, BASH_RIGHT),
    "bash_here_document_swallows_the_tests": Attack(
        "bash", BASH_WRONG + ": <<'# evolinstruct sandbox: the completion record (see toolchains.py)'\n", BASH_TESTS, BASH_RIGHT),
    "bash_debug_trap_skips_exit": Attack("bash", BASH_WRONG + "shopt -s extdebug\ntrap '[[ $BASH_COMMAND != exit* ]]' DEBUG\n",
                                         BASH_TESTS, BASH_RIGHT),
    # SQL: a check that returns the text 'false'.
    "sql_text_false": Attack("sql", "CREATE TABLE t(a INTEGER, b INTEGER);\nINSERT INTO t VALUES (1, 2);\n"
                                    "SELECT a - b AS total FROM t;\n",
                             ["SELECT CASE WHEN total = 3 THEN 'true' ELSE 'false' END FROM result"],
                             "CREATE TABLE t(a INTEGER, b INTEGER);\nINSERT INTO t VALUES (1, 2);\nSELECT a + b AS total FROM t;\n"),
}
# Honest twins whose tests differ: a check of SQLite's own truth returns 1 (true), not the text
# 'true'; a test awaiting a promise that settles.
HONEST_TESTS = {
    "sql_text_false": ["SELECT total = 3 FROM result"],
    "javascript_promise_that_never_settles": "const assert = require('assert');\n(async () => {\n"
                                             "  await new Promise((resolve) => setTimeout(resolve, 1));\n"
                                             "  await Promise.reject(new Error('handled')).catch(() => null);\n"
                                             "  assert.strictEqual(add(1, 2), 3);\n})();\n",
}


def _run(pool: SandboxPool, name: str, language: str, code: str, tests: str | list[str]) -> object:
    return pool.run(Job(name, code, tests, language=language, timeout_s=60.0))


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_an_attack_on_the_verdict_does_not_pass(sandbox_pool: SandboxPool, name: str) -> None:
    attack = ATTACKS[name]
    result = _run(sandbox_pool, name, attack.language, attack.code, attack.tests)
    assert result.verdict not in (Verdict.PASS, Verdict.UNTESTED, Verdict.SANDBOX_ERROR), result


@pytest.mark.docker
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_the_same_tests_pass_honest_code(sandbox_pool: SandboxPool, name: str) -> None:
    attack = ATTACKS[name]
    result = _run(sandbox_pool, name, attack.language, attack.honest, HONEST_TESTS.get(name, attack.tests))
    assert result.verdict is Verdict.PASS, result


@pytest.mark.docker
def test_a_trailing_sql_comment_is_valid_sql(sandbox_pool: SandboxPool) -> None:
    code = "CREATE TABLE t(a INTEGER);\nINSERT INTO t VALUES (1), (2);\nSELECT SUM(a) AS total FROM t; -- the answer\n"
    result = _run(sandbox_pool, "sql-comment", "sql", code, ["SELECT total = 3 FROM result -- three"])
    assert result.verdict is Verdict.PASS, result


# --- the text checks, on tokens ---------------------------------------------------------------


def test_go_declarations_are_read_on_tokens_whatever_the_line_breaks() -> None:
    code = ("func\npanic(v any) {}\nvar (\n\ta = f((1), g((2)))\n\tlen = 3\n)\nvar x,\n\tcap = 1, 2\n"
            "func (r T) nil() {}\ntype (\n\tA int\n\tiota struct{}\n)\n")
    assert toolchains.go_declared(code) >= {"panic", "len", "cap", "x", "a", "A", "iota"}
    assert "nil" not in toolchains.go_declared(code)  # a method, not a package-level name


def test_java_types_are_read_on_tokens_whatever_the_line_breaks() -> None:
    code = "class\n  /* a comment */ Objects {}\nclass Solution { class Math {} }\n"
    assert toolchains.java_declared_types(code) == {"Objects", "Solution"}


def test_java_assert_statements_become_explicit_checks() -> None:
    tests = 'assert f(1) == (x ? 1 : 2) : "m" + (y ? "a" : "b");\nassert g(Type::valueOf);\n'
    rewritten = toolchains.java_assertions_explicit(tests)
    assert "assert " not in rewritten
    assert 'if (!(f(1) == (x ? 1 : 2))) throw new java.lang.AssertionError("m" + (y ? "a" : "b"));' in rewritten
    assert "if (!(g(Type::valueOf))) throw" in rewritten


def test_sql_comments_after_the_last_statement_are_no_statement() -> None:
    assert sql_tests.statements("SELECT 1; -- done\n/* and this */\n") == ["SELECT 1;"]
    assert sql_tests.statements("SELECT '--not a comment';") == ["SELECT '--not a comment';"]


def test_cpp_operators_that_decide_comparisons_are_found_on_tokens() -> None:
    assert "operator==" in toolchains.cpp_comparison_operator("bool operator\n==(const A&, const A&) { return true; }")
    assert "operator bool" in toolchains.cpp_comparison_operator("struct A { explicit operator /* x */ bool() const; };")
    assert toolchains.cpp_comparison_operator("int operator()(int x) { return x; }\nA operator+(A, A);") is None


def test_rust_refuses_no_main_and_hand_written_comparisons_only() -> None:
    assert "no_main" in toolchains.rust_refused("#![no_main]\nfn f() {}")
    assert "PartialEq" in toolchains.rust_refused("impl\nPartialEq<i64>\nfor S { fn eq(&self, _: &i64) -> bool { true } }")
    assert toolchains.rust_refused("#[derive(PartialEq, Debug)]\nstruct S(i64);\nimpl S { fn new() -> S { S(1) } }") is None


def test_rust_test_functions_are_found_in_their_modules() -> None:
    tests = ("#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn a() { assert!(true); }\n"
             "    #[test]\n    #[ignore]\n    fn skipped() {}\n    mod inner {\n        #[test]\n        #[should_panic(expected = \"x\")]\n"
             "        fn b() { panic!(\"x\"); }\n    }\n    fn helper() {}\n}\n")
    text, found, renamed = toolchains.rust_tests(tests, "t1")
    assert [(test.path, test.should_panic) for test in found] == [("tests::a", False), ("tests::inner::b", True)]
    assert not renamed and "#[test]" not in text and "#[cfg(test)]" not in text
    assert "pub(crate) mod inner" in text and "pub(crate) fn b()" in text
    assert "{ crate::__evol_t1::asserted(); ::std::assert!(true) }" in text and "::std::panic!" in text


def test_c_tests_get_their_includes_first_and_a_counted_assert() -> None:
    names = toolchains.NativeNames("fail_x", "asserted_x")
    part = toolchains.c_tests_part("c", "#define if(x) if (1)\n#define LIMIT 3\n",
                                   "#include <assert.h>\nint main(void) { assert(LIMIT == 3); return 0; }\n", names)
    assert "#undef if" in part and "#undef LIMIT" not in part
    assert part.index("#include <assert.h>\n#undef assert") < part.index("int main")
    assert "#define assert(...) ((__VA_ARGS__) ? asserted_x() : fail_x(" in part


def test_bash_tests_run_after_the_code_file_with_builtins_restored() -> None:
    main = toolchains.bash_main('[ "$(f)" = 1 ] || exit 1\n', toolchains.Channels(201, 202), "t1")
    assert main.index(". /work/code.sh") < main.index("POSIXLY_CORRECT=1") < main.index('[ "$(f)" = 1 ]')
    assert "\\unset -f -- '['" in main and "\\trap - DEBUG RETURN ERR EXIT" in main
    assert "<&202" in main and ">&201" in main
