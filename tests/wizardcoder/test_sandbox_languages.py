"""Every language on the real engine: right answers pass, wrong ones fail, a syntax error is a
COMPILE_ERROR, an endless loop a TIMEOUT, an allocation loop a MEMORY_LIMIT (or a RUNTIME_ERROR
where the runtime itself gives up first), a network call fails, and an exit with status 0 in the
middle of the tests is a FAIL, never a pass.

Each program is the language's idea of `add(a, b)` with tests in the shape the sandbox runs
(toolchains.py): a list of statements where the language allows it, else a script holding main.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from wizardcoder.sandbox import Job, SandboxPool, Verdict

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class Programs:
    right: str
    wrong: str
    tests: str | list[str]
    syntax_error: str
    endless: str
    allocating: str
    network: tuple[str, str | list[str]] | None  # (code, tests that hold only when no connection is made)
    early_exit: str | None  # `add` that exits with status 0 before the tests are done


# A list of test statements runs after the code, so the code brings what they use.
TS_ASSERT = "import * as assert from 'assert';\n"

PROGRAMS: dict[str, Programs] = {
    "python": Programs(
        right="def add(a, b):\n    return a + b\n",
        wrong="def add(a, b):\n    return a - b\n",
        tests=["assert add(1, 2) == 3", "assert add(-1, 1) == 0"],
        syntax_error="def add(a, b) return a + b\n",
        endless="def add(a, b):\n    while True:\n        pass\n",
        allocating="def add(a, b):\n    keep = []\n    while True:\n        keep.append(bytearray(1 << 20))\n",
        network=("import socket\n\ndef reach():\n    try:\n        socket.create_connection(('1.1.1.1', 53), timeout=2).close()\n"
                 "        return True\n    except OSError:\n        return False\n", ["assert reach() is False"]),
        early_exit="import sys\n\ndef add(a, b):\n    sys.exit(0)\n",
    ),
    "javascript": Programs(
        right="function add(a, b) { return a + b; }\n",
        wrong="function add(a, b) { return a - b; }\n",
        tests="const assert = require('assert');\nassert.strictEqual(add(1, 2), 3);\nassert.strictEqual(add(-1, 1), 0);\n",
        syntax_error="function add(a, b) { return a + ; }\n",
        endless="function add(a, b) { while (true) {} }\n",
        allocating="function add(a, b) { const keep = []; while (true) { keep.push(new Array(1 << 20).fill(1)); } }\n",
        network=("const net = require('net');\nfunction reach() {\n  return new Promise((resolve) => {\n"
                 "    const socket = net.connect({ host: '1.1.1.1', port: 53 });\n"
                 "    socket.on('connect', () => { socket.destroy(); resolve(true); });\n"
                 "    socket.on('error', () => resolve(false));\n"
                 "    setTimeout(() => { socket.destroy(); resolve(false); }, 2000);\n  });\n}\n",
                 "const assert = require('assert');\nreach().then((reached) => assert.strictEqual(reached, false));\n"),
        early_exit="function add(a, b) { process.exit(0); }\n",
    ),
    "typescript": Programs(
        right=TS_ASSERT + "function add(a: number, b: number): number { return a + b; }\n",
        wrong=TS_ASSERT + "function add(a: number, b: number): number { return a - b; }\n",
        tests=["assert.strictEqual(add(1, 2), 3)", "assert.strictEqual(add(-1, 1), 0)"],
        syntax_error=TS_ASSERT + "function add(a: number, b: number): number { return a + ; }\n",
        endless=TS_ASSERT + "function add(a: number, b: number): number { while (true) {} }\n",
        allocating=TS_ASSERT + "function add(a: number, b: number): number {\n  const keep: number[][] = [];\n"
                   "  while (true) { keep.push(new Array(1 << 20).fill(1)); }\n}\n",
        network=("const net = require('net');\nfunction reach(): Promise<boolean> {\n  return new Promise((resolve) => {\n"
                 "    const socket = net.connect({ host: '1.1.1.1', port: 53 });\n"
                 "    socket.on('connect', () => { socket.destroy(); resolve(true); });\n"
                 "    socket.on('error', () => resolve(false));\n  });\n}\n",
                 "import * as assert from 'assert';\nreach().then((reached: boolean) => assert.strictEqual(reached, false));\n"),
        early_exit=TS_ASSERT + "function add(a: number, b: number): number { process.exit(0); return 0; }\n",
    ),
    "c": Programs(
        right="#include <assert.h>\n\nint add(int a, int b) { return a + b; }\n",
        wrong="#include <assert.h>\n\nint add(int a, int b) { return a - b; }\n",
        tests="int main(void) {\n    assert(add(1, 2) == 3);\n    assert(add(-1, 1) == 0);\n    return 0;\n}\n",
        syntax_error="int add(int a, int b) { return a + ; }\n",
        endless="#include <assert.h>\n\nint add(int a, int b) { volatile int spin = 0; for (;;) { spin++; } return spin; }\n",
        allocating="#include <assert.h>\n#include <stdlib.h>\n#include <string.h>\n\nint add(int a, int b) {\n"
                   "    for (;;) {\n        char *block = malloc(1 << 20);\n        if (!block) abort();\n"
                   "        memset(block, 1, 1 << 20);\n    }\n}\n",
        network=("#include <assert.h>\n#include <arpa/inet.h>\n#include <sys/socket.h>\n#include <unistd.h>\n\n"
                 "int reach(void) {\n    struct sockaddr_in address = {0};\n    int s = socket(AF_INET, SOCK_STREAM, 0);\n"
                 "    address.sin_family = AF_INET;\n    address.sin_port = htons(53);\n"
                 "    inet_pton(AF_INET, \"1.1.1.1\", &address.sin_addr);\n"
                 "    int connected = connect(s, (struct sockaddr *) &address, sizeof address) == 0;\n"
                 "    close(s);\n    return connected;\n}\n",
                 "int main(void) {\n    assert(!reach());\n    return 0;\n}\n"),
        early_exit="#include <assert.h>\n#include <stdlib.h>\n\nint add(int a, int b) { exit(0); }\n",
    ),
    "cpp": Programs(
        right="#include <cassert>\n#include <vector>\n\nint add(int a, int b) { return a + b; }\n",
        wrong="#include <cassert>\n\nint add(int a, int b) { return a - b; }\n",
        tests="int main() {\n    assert(add(1, 2) == 3);\n    assert(add(-1, 1) == 0);\n}\n",
        syntax_error="int add(int a, int b) { return a + ; }\n",
        endless="#include <cassert>\n\nint add(int a, int b) { volatile int spin = 0; for (;;) { spin++; } }\n",
        allocating="#include <cassert>\n#include <vector>\n\nint add(int a, int b) {\n"
                   "    std::vector<std::vector<char>> keep;\n    for (;;) { keep.emplace_back(1 << 20, 1); }\n}\n",
        network=("#include <cassert>\n#include <arpa/inet.h>\n#include <sys/socket.h>\n#include <unistd.h>\n\n"
                 "bool reach() {\n    sockaddr_in address{};\n    int s = socket(AF_INET, SOCK_STREAM, 0);\n"
                 "    address.sin_family = AF_INET;\n    address.sin_port = htons(53);\n"
                 "    inet_pton(AF_INET, \"1.1.1.1\", &address.sin_addr);\n"
                 "    bool connected = connect(s, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;\n"
                 "    close(s);\n    return connected;\n}\n",
                 "int main() {\n    assert(!reach());\n}\n"),
        early_exit="#include <cassert>\n#include <cstdlib>\n\nint add(int a, int b) { std::exit(0); }\n",
    ),
    "go": Programs(
        right="func add(a, b int) int { return a + b }\n",
        wrong="func add(a, b int) int { return a - b }\n",
        tests="import \"fmt\"\n\nfunc main() {\n\tif got := add(1, 2); got != 3 {\n"
              "\t\tpanic(fmt.Sprintf(\"assertion failed: add(1, 2) = %v, want 3\", got))\n\t}\n"
              "\tif got := add(-1, 1); got != 0 {\n\t\tpanic(fmt.Sprintf(\"assertion failed: add(-1, 1) = %v, want 0\", got))\n\t}\n}\n",
        syntax_error="func add(a, b int) int { return a + }\n",
        endless="func add(a, b int) int {\n\tfor {\n\t}\n}\n",
        allocating="var keep [][]byte\n\nfunc add(a, b int) int {\n\tfor {\n\t\tblock := make([]byte, 1<<20)\n"
                   "\t\tfor i := range block {\n\t\t\tblock[i] = 1\n\t\t}\n\t\tkeep = append(keep, block)\n\t}\n}\n",
        network=("import (\n\t\"net\"\n\t\"time\"\n)\n\nfunc reach() bool {\n"
                 "\tconnection, err := net.DialTimeout(\"tcp\", \"1.1.1.1:53\", 2*time.Second)\n"
                 "\tif err != nil {\n\t\treturn false\n\t}\n\tconnection.Close()\n\treturn true\n}\n",
                 "func main() {\n\tif reach() {\n\t\tpanic(\"assertion failed: the network was reached\")\n\t}\n}\n"),
        early_exit="import \"os\"\n\nfunc add(a, b int) int {\n\tos.Exit(0)\n\treturn 0\n}\n",
    ),
    "rust": Programs(
        right="fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n",
        wrong="fn add(a: i64, b: i64) -> i64 {\n    a - b\n}\n",
        tests="fn main() {\n    assert_eq!(add(1, 2), 3);\n    assert_eq!(add(-1, 1), 0);\n}\n",
        syntax_error="fn add(a: i64, b: i64) -> i64 {\n    a +\n}\n",
        endless="fn add(a: i64, b: i64) -> i64 {\n    loop {}\n}\n",
        allocating="fn add(a: i64, b: i64) -> i64 {\n    let mut keep: Vec<Vec<u8>> = Vec::new();\n"
                   "    loop {\n        keep.push(vec![1u8; 1 << 20]);\n    }\n}\n",
        network=("use std::net::TcpStream;\n\nfn reach() -> bool {\n    TcpStream::connect(\"1.1.1.1:53\").is_ok()\n}\n",
                 "fn main() {\n    assert!(!reach());\n}\n"),
        early_exit="fn add(a: i64, b: i64) -> i64 {\n    std::process::exit(0)\n}\n",
    ),
    "java": Programs(
        right="class Solution {\n    static int add(int a, int b) { return a + b; }\n}\n",
        wrong="class Solution {\n    static int add(int a, int b) { return a - b; }\n}\n",
        tests="public class Main {\n    public static void main(String[] args) {\n"
              "        if (Solution.add(1, 2) != 3) throw new AssertionError(\"add(1, 2)\");\n"
              "        assert Solution.add(-1, 1) == 0 : \"add(-1, 1)\";\n    }\n}\n",
        syntax_error="class Solution {\n    static int add(int a, int b) { return a + ; }\n}\n",
        endless="class Solution {\n    static int add(int a, int b) { while (true) { } }\n}\n",
        allocating="import java.util.*;\n\nclass Solution {\n    static int add(int a, int b) {\n"
                   "        List<long[]> keep = new ArrayList<>();\n        while (true) keep.add(new long[1 << 17]);\n    }\n}\n",
        network=("import java.net.*;\n\nclass Solution {\n    static boolean reach() {\n"
                 "        try (Socket socket = new Socket()) {\n"
                 "            socket.connect(new InetSocketAddress(\"1.1.1.1\", 53), 2000);\n            return true;\n"
                 "        } catch (Exception e) {\n            return false;\n        }\n    }\n}\n",
                 "public class Main {\n    public static void main(String[] args) {\n"
                 "        if (Solution.reach()) throw new AssertionError(\"the network was reached\");\n    }\n}\n"),
        early_exit="class Solution {\n    static int add(int a, int b) { System.exit(0); return 0; }\n}\n",
    ),
    "bash": Programs(
        right="add() { echo $(( $1 + $2 )); }\n",
        wrong="add() { echo $(( $1 - $2 )); }\n",
        tests='[ "$(add 1 2)" = 3 ] || exit 1\n[ "$(add -1 1)" = 0 ] || exit 1\n',
        syntax_error="add() { echo $(( $1 + $2 ));\n",
        endless="add() { while :; do :; done; }\n",
        allocating='add() { local s=x; while :; do s="$s$s"; done; }\n',
        network=("reach() { if (exec 3<>/dev/tcp/1.1.1.1/53) 2>/dev/null; then echo yes; else echo no; fi; }\n",
                 '[ "$(reach)" = no ] || exit 1\n'),
        early_exit='add() { echo $(( $1 + $2 )); }\nexit 0\n',
    ),
    "sql": Programs(
        right="CREATE TABLE t(a INTEGER, b INTEGER);\nINSERT INTO t VALUES (1, 2), (-1, 1);\nSELECT a + b AS total FROM t;\n",
        wrong="CREATE TABLE t(a INTEGER, b INTEGER);\nINSERT INTO t VALUES (1, 2), (-1, 1);\nSELECT a - b AS total FROM t;\n",
        tests=["SELECT COUNT(*) = 2 FROM result", "SELECT SUM(total) = 3 FROM result"],
        syntax_error="CREATE TABLE t(a INTEGER, b INTEGER);\nSELEC a + b AS total FROM t;\n",
        endless="WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT COUNT(*) AS total FROM n;\n",
        allocating="WITH RECURSIVE n(x, s) AS (SELECT 1, 'x' UNION ALL SELECT x + 1, s || s FROM n WHERE x < 64)\n"
                   "SELECT MAX(LENGTH(s)) AS total FROM n;\n",
        network=None,  # SQLite has no way to reach a network
        early_exit=None,  # nor to end the process
    ),
}
SLOW = {"timeout_s": 60.0}  # a loaded machine compiles slowly; these cases are about verdicts, not speed


def run(pool: SandboxPool, language: str, code: str, tests: str | list[str] | None, **limits: float) -> object:
    return pool.run(Job(f"{language}-case", code, tests, language=language, **{**SLOW, **limits}))


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_a_right_answer_passes(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    result = run(sandbox_pool, language, programs.right, programs.tests)
    assert result.verdict is Verdict.PASS, result
    if isinstance(programs.tests, list):
        assert (result.tests_passed, result.tests_total) == (len(programs.tests), len(programs.tests))
    compiled = language in ("typescript", "c", "cpp", "go", "rust", "java", "bash")
    assert (result.compile_s is not None) is compiled


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_a_wrong_answer_fails(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    result = run(sandbox_pool, language, programs.wrong, programs.tests)
    assert result.verdict is Verdict.FAIL, result
    assert result.message


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_a_syntax_error_is_a_compile_error_with_the_compilers_message(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    result = run(sandbox_pool, language, programs.syntax_error, programs.tests)
    assert result.verdict is Verdict.COMPILE_ERROR, result
    assert result.message and len(result.message) <= 2000
    assert any(word in result.message.lower() for word in ("error", "expected", "unexpected", "syntax")), result.message


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_an_endless_loop_is_a_timeout(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    # Compiling gets its own limit here, so that the 2 s are the program's.
    result = run(sandbox_pool, language, programs.endless, programs.tests, timeout_s=2, compile_timeout_s=60)
    assert result.verdict is Verdict.TIMEOUT, result
    assert result.duration_s - (result.compile_s or 0.0) < 4


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_an_allocation_loop_runs_out_of_memory(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    result = sandbox_pool.run(Job(f"{language}-memory", programs.allocating, programs.tests, timeout_s=60,
                                  memory_mb=192, language=language))
    assert result.verdict in (Verdict.MEMORY_LIMIT, Verdict.RUNTIME_ERROR), result


@pytest.mark.parametrize("language", sorted(name for name, programs in PROGRAMS.items() if programs.network))
def test_a_network_call_fails(sandbox_pool: SandboxPool, language: str) -> None:
    code, tests = PROGRAMS[language].network  # type: ignore[misc]
    result = run(sandbox_pool, language, code, tests)
    assert result.verdict is Verdict.PASS, result  # the tests hold only when the connection failed


@pytest.mark.parametrize("language", sorted(name for name, programs in PROGRAMS.items() if programs.early_exit))
def test_an_exit_with_status_0_in_the_middle_of_the_tests_is_a_fail(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    result = run(sandbox_pool, language, programs.early_exit, programs.tests)  # type: ignore[arg-type]
    assert result.verdict is Verdict.FAIL, result
    assert "exited with status 0" in result.message


@pytest.mark.parametrize("language", sorted(PROGRAMS))
def test_code_without_tests_is_untested_once_it_compiles(sandbox_pool: SandboxPool, language: str) -> None:
    programs = PROGRAMS[language]
    result = run(sandbox_pool, language, programs.right, None)
    assert result.verdict is Verdict.UNTESTED, result
    broken = run(sandbox_pool, language, programs.syntax_error, None)
    assert broken.verdict is Verdict.COMPILE_ERROR, broken


def test_compiling_counts_against_the_time_limit(sandbox_pool: SandboxPool) -> None:
    # A C++ program whose compile alone takes longer than the whole limit.
    heavy = "#include <bits/stdc++.h>\n#include <regex>\nint f() { std::regex r(\"a+\"); return std::regex_match(\"aa\", r); }\n"
    result = sandbox_pool.run(Job("slow-compile", heavy, "int main() { return f() ? 0 : 1; }", timeout_s=0.3, language="cpp"))
    assert result.verdict is Verdict.TIMEOUT, result
    assert "did not finish" in result.message


def test_sql_tests_that_check_nothing_are_untested(sandbox_pool: SandboxPool) -> None:
    result = run(sandbox_pool, "sql", PROGRAMS["sql"].right, ["INSERT INTO t VALUES (5, 5)"])
    assert result.verdict is Verdict.UNTESTED and (result.tests_passed, result.tests_total) == (0, 0), result
