"""Three small problems, solved and tested in every sandbox language: the jobs the sandbox
benchmarks run. Written for this project.

- add(a, b): two integers;
- is_palindrome(text): the same forwards and backwards, letters and digits only, any case;
- fib(n): the n-th Fibonacci number, iteratively (fib(0) = 0, fib(1) = 1).

Each (language, problem) is a canonical solution and its tests, in the shape the sandbox runs them
(plugins/wizardcoder/sandbox/harness/toolchains.py). Every job must PASS: the benchmark checks it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Program:
    language: str
    problem: str
    code: str
    tests: str | list[str]


PY = {
    "add": ("def add(a, b):\n    return a + b\n", ["assert add(2, 3) == 5", "assert add(-4, 4) == 0"]),
    "is_palindrome": (
        "def is_palindrome(text):\n    kept = [ch.lower() for ch in text if ch.isalnum()]\n    return kept == kept[::-1]\n",
        ["assert is_palindrome('A man, a plan, a canal: Panama')", "assert not is_palindrome('benchmark')"],
    ),
    "fib": (
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        ["assert fib(0) == 0", "assert fib(1) == 1", "assert fib(30) == 832040"],
    ),
}

JS_REQUIRE = "const assert = require('assert');\n"
JS = {
    "add": ("function add(a, b) {\n  return a + b;\n}\n", ["assert.strictEqual(add(2, 3), 5)", "assert.strictEqual(add(-4, 4), 0)"]),
    "is_palindrome": (
        "function isPalindrome(text) {\n  const kept = text.toLowerCase().replace(/[^a-z0-9]/g, '');\n"
        "  return kept === [...kept].reverse().join('');\n}\n",
        ["assert.strictEqual(isPalindrome('A man, a plan, a canal: Panama'), true)",
         "assert.strictEqual(isPalindrome('benchmark'), false)"],
    ),
    "fib": (
        "function fib(n) {\n  let [a, b] = [0, 1];\n  for (let i = 0; i < n; i++) {\n    [a, b] = [b, a + b];\n  }\n  return a;\n}\n",
        ["assert.strictEqual(fib(0), 0)", "assert.strictEqual(fib(1), 1)", "assert.strictEqual(fib(30), 832040)"],
    ),
}

TS_IMPORT = "import * as assert from 'assert';\n"
TS = {
    "add": ("function add(a: number, b: number): number {\n  return a + b;\n}\n", JS["add"][1]),
    "is_palindrome": (
        "function isPalindrome(text: string): boolean {\n  const kept = text.toLowerCase().replace(/[^a-z0-9]/g, '');\n"
        "  return kept === [...kept].reverse().join('');\n}\n",
        JS["is_palindrome"][1],
    ),
    "fib": (
        "function fib(n: number): number {\n  let a = 0;\n  let b = 1;\n  for (let i = 0; i < n; i++) {\n"
        "    [a, b] = [b, a + b];\n  }\n  return a;\n}\n",
        JS["fib"][1],
    ),
}

C = {
    "add": ("int add(int a, int b) { return a + b; }\n",
            "#include <assert.h>\nint main(void) { assert(add(2, 3) == 5); assert(add(-4, 4) == 0); return 0; }\n"),
    "is_palindrome": (
        "#include <ctype.h>\n#include <string.h>\n\nint is_palindrome(const char *text) {\n"
        "    size_t i = 0, j = strlen(text);\n    while (i < j) {\n"
        "        if (!isalnum((unsigned char) text[i])) { i++; continue; }\n"
        "        if (!isalnum((unsigned char) text[j - 1])) { j--; continue; }\n"
        "        if (tolower((unsigned char) text[i]) != tolower((unsigned char) text[j - 1])) return 0;\n"
        "        i++;\n        j--;\n    }\n    return 1;\n}\n",
        "#include <assert.h>\nint main(void) {\n    assert(is_palindrome(\"A man, a plan, a canal: Panama\"));\n"
        "    assert(!is_palindrome(\"benchmark\"));\n    return 0;\n}\n",
    ),
    "fib": (
        "long long fib(int n) {\n    long long a = 0, b = 1;\n    for (int i = 0; i < n; i++) { long long t = a + b; a = b; b = t; }\n"
        "    return a;\n}\n",
        "#include <assert.h>\nint main(void) { assert(fib(0) == 0); assert(fib(1) == 1); assert(fib(30) == 832040); return 0; }\n",
    ),
}

CPP = {
    "add": ("int add(int a, int b) { return a + b; }\n",
            "#include <cassert>\nint main() { assert(add(2, 3) == 5); assert(add(-4, 4) == 0); }\n"),
    "is_palindrome": (
        "#include <cctype>\n#include <string>\n\nbool is_palindrome(const std::string& text) {\n    std::string kept;\n"
        "    for (unsigned char ch : text) if (std::isalnum(ch)) kept += static_cast<char>(std::tolower(ch));\n"
        "    return std::string(kept.rbegin(), kept.rend()) == kept;\n}\n",
        "#include <cassert>\nint main() {\n    assert(is_palindrome(\"A man, a plan, a canal: Panama\"));\n"
        "    assert(!is_palindrome(\"benchmark\"));\n}\n",
    ),
    "fib": (
        "long long fib(int n) {\n    long long a = 0, b = 1;\n    for (int i = 0; i < n; ++i) { long long t = a + b; a = b; b = t; }\n"
        "    return a;\n}\n",
        "#include <cassert>\nint main() { assert(fib(0) == 0); assert(fib(1) == 1); assert(fib(30) == 832040); }\n",
    ),
}

GO_CHECK = "\tif {cond} {{\n\t\tpanic(\"assertion failed: {what}\")\n\t}}\n"


def _go_main(*checks: tuple[str, str]) -> str:
    return "func main() {\n" + "".join(GO_CHECK.format(cond=cond, what=what) for cond, what in checks) + "}\n"


GO = {
    "add": ("func add(a, b int) int {\n\treturn a + b\n}\n", _go_main(("add(2, 3) != 5", "add(2, 3)"), ("add(-4, 4) != 0", "add(-4, 4)"))),
    "is_palindrome": (
        "import (\n\t\"strings\"\n\t\"unicode\"\n)\n\nfunc isPalindrome(text string) bool {\n\tkept := []rune{}\n"
        "\tfor _, ch := range strings.ToLower(text) {\n\t\tif unicode.IsLetter(ch) || unicode.IsDigit(ch) {\n"
        "\t\t\tkept = append(kept, ch)\n\t\t}\n\t}\n\tfor i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {\n"
        "\t\tif kept[i] != kept[j] {\n\t\t\treturn false\n\t\t}\n\t}\n\treturn true\n}\n",
        _go_main(("!isPalindrome(\"A man, a plan, a canal: Panama\")", "panama"), ("isPalindrome(\"benchmark\")", "benchmark")),
    ),
    "fib": (
        "func fib(n int) int {\n\ta, b := 0, 1\n\tfor i := 0; i < n; i++ {\n\t\ta, b = b, a+b\n\t}\n\treturn a\n}\n",
        _go_main(("fib(0) != 0", "fib(0)"), ("fib(1) != 1", "fib(1)"), ("fib(30) != 832040", "fib(30)")),
    ),
}

RUST = {
    "add": ("fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n", "fn main() {\n    assert_eq!(add(2, 3), 5);\n    assert_eq!(add(-4, 4), 0);\n}\n"),
    "is_palindrome": (
        "fn is_palindrome(text: &str) -> bool {\n    let kept: Vec<char> = text.chars().filter(|c| c.is_alphanumeric())"
        ".map(|c| c.to_ascii_lowercase()).collect();\n    kept.iter().eq(kept.iter().rev())\n}\n",
        "fn main() {\n    assert!(is_palindrome(\"A man, a plan, a canal: Panama\"));\n    assert!(!is_palindrome(\"benchmark\"));\n}\n",
    ),
    "fib": (
        "fn fib(n: u32) -> u64 {\n    let (mut a, mut b) = (0u64, 1u64);\n    for _ in 0..n {\n        let t = a + b;\n        a = b;\n"
        "        b = t;\n    }\n    a\n}\n",
        "fn main() {\n    assert_eq!(fib(0), 0);\n    assert_eq!(fib(1), 1);\n    assert_eq!(fib(30), 832040);\n}\n",
    ),
}


def _java_main(*checks: str) -> str:
    body = "".join(f"        if (!({check})) throw new AssertionError(\"{check.replace(chr(34), chr(39))}\");\n" for check in checks)
    return f"public class Main {{\n    public static void main(String[] args) {{\n{body}    }}\n}}\n"


JAVA = {
    "add": ("class Solution {\n    static int add(int a, int b) { return a + b; }\n}\n",
            _java_main("Solution.add(2, 3) == 5", "Solution.add(-4, 4) == 0")),
    "is_palindrome": (
        "class Solution {\n    static boolean isPalindrome(String text) {\n"
        "        String kept = text.toLowerCase().replaceAll(\"[^a-z0-9]\", \"\");\n"
        "        return new StringBuilder(kept).reverse().toString().equals(kept);\n    }\n}\n",
        _java_main("Solution.isPalindrome(\"A man, a plan, a canal: Panama\")", "!Solution.isPalindrome(\"benchmark\")"),
    ),
    "fib": (
        "class Solution {\n    static long fib(int n) {\n        long a = 0, b = 1;\n"
        "        for (int i = 0; i < n; i++) { long t = a + b; a = b; b = t; }\n        return a;\n    }\n}\n",
        _java_main("Solution.fib(0) == 0", "Solution.fib(1) == 1", "Solution.fib(30) == 832040"),
    ),
}

BASH = {
    "add": ("add() { echo $(( $1 + $2 )); }\n", '[ "$(add 2 3)" = 5 ] || exit 1\n[ "$(add -4 4)" = 0 ] || exit 1\n'),
    "is_palindrome": (
        "is_palindrome() {\n    local kept reversed\n    kept=$(printf '%s' \"$1\" | tr -cd '[:alnum:]' | tr '[:upper:]' '[:lower:]')\n"
        "    reversed=$(printf '%s' \"$kept\" | rev)\n    [ \"$kept\" = \"$reversed\" ] && echo yes || echo no\n}\n",
        '[ "$(is_palindrome "A man, a plan, a canal: Panama")" = yes ] || exit 1\n[ "$(is_palindrome benchmark)" = no ] || exit 1\n',
    ),
    "fib": (
        "fib() {\n    local a=0 b=1 i t\n    for (( i = 0; i < $1; i++ )); do t=$(( a + b )); a=$b; b=$t; done\n    echo \"$a\"\n}\n",
        '[ "$(fib 0)" = 0 ] || exit 1\n[ "$(fib 1)" = 1 ] || exit 1\n[ "$(fib 30)" = 832040 ] || exit 1\n',
    ),
}

SQL = {
    "add": ("CREATE TABLE pairs (a INTEGER, b INTEGER);\nINSERT INTO pairs VALUES (2, 3), (-4, 4);\nSELECT a + b AS total FROM pairs;\n",
            ["SELECT COUNT(*) = 2 FROM result", "SELECT group_concat(total) = '5,0' FROM result"]),
    "is_palindrome": (
        "CREATE TABLE words (word TEXT);\nINSERT INTO words VALUES ('level'), ('benchmark'), ('Racecar');\n"
        "WITH RECURSIVE rev(word, rest, backwards) AS (\n  SELECT word, lower(word), '' FROM words\n"
        "  UNION ALL SELECT word, substr(rest, 2), substr(rest, 1, 1) || backwards FROM rev WHERE rest <> ''\n)\n"
        "SELECT word, lower(word) = backwards AS palindrome FROM rev WHERE rest = '' ORDER BY word;\n",
        ["SELECT COUNT(*) = 3 FROM result", "SELECT palindrome = 1 FROM result WHERE word = 'level'",
         "SELECT palindrome = 0 FROM result WHERE word = 'benchmark'"],
    ),
    "fib": (
        "WITH RECURSIVE f(n, a, b) AS (SELECT 0, 0, 1 UNION ALL SELECT n + 1, b, a + b FROM f WHERE n < 30)\n"
        "SELECT n, a AS value FROM f;\n",
        ["SELECT value = 832040 FROM result WHERE n = 30", "SELECT value = 0 FROM result WHERE n = 0"],
    ),
}


def programs() -> list[Program]:
    found = []
    for language, table in (("python", PY), ("javascript", JS), ("typescript", TS), ("c", C), ("cpp", CPP), ("go", GO),
                            ("rust", RUST), ("java", JAVA), ("bash", BASH), ("sql", SQL)):
        for problem, (code, tests) in table.items():
            if language == "javascript":
                code = JS_REQUIRE + code
            elif language == "typescript":
                code = TS_IMPORT + code
            found.append(Program(language, problem, code, tests))
    return found
