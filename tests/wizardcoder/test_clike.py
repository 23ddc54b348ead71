"""Reading brace-language code without a parser: functions, their bodies, main, trivial stand-ins."""

from __future__ import annotations

from wizardcoder.clike import blank, defined_names, functions, js_trivial_variants, trivial_variants, without_main

CPP = """#include <bits/stdc++.h>
#include <string>
using namespace std;
// a comment with a { brace and a "quote
struct Point {
    int x, y;
    Point(int a, int b) : x(a), y(b) {}
    int sum() const { return x + y; }
};
vector<int> twice(const vector<int>& xs) {
    vector<int> out;
    for (int x : xs) { out.push_back(2 * x); }
    return out;
}
static inline long add(long a, long b) { if (a) { return a + b; } return b; }
string braces() { return "}{"; }
char open_paren() { return '('; }
void noop() {}
int main() { cout << add(1, 2); }
"""


def test_blanking_keeps_positions_and_hides_strings_and_comments() -> None:
    blanked = blank(CPP, "cpp")
    assert len(blanked) == len(CPP) and blanked.count("\n") == CPP.count("\n")
    assert '"}{"' not in blanked and "'('" not in blanked and "a { brace" not in blanked


def test_functions_are_found_with_their_declarations() -> None:
    found = {f.name: f for f in functions(CPP, "cpp")}
    assert set(found) == {"Point", "sum", "twice", "add", "braces", "open_paren", "noop", "main"}
    assert found["Point"].constructor and not found["sum"].constructor
    assert found["twice"].returns == "vector<int>" and found["twice"].header == "vector<int> twice(const vector<int>& xs)"
    assert CPP[found["add"].body_open] == "{" and CPP[found["add"].body_close] == "}"
    assert {"Point", "twice", "main"} <= defined_names(CPP, "cpp")


def test_main_is_left_to_the_tests() -> None:
    assert "int main" not in without_main(CPP, "cpp") and "void noop() {}" in without_main(CPP, "cpp")
    assert "func main" not in without_main('import "fmt"\nfunc f() {}\nfunc main() { fmt.Println(1) }\n', "go")
    assert "fn main" not in without_main("fn f() -> i32 { 1 }\nfn main() { println!(\"{}\", f()); }\n", "rust")
    java = "class Solution { static int f() { return 1; } }\npublic class Main { public static void main(String[] a) {} }\n"
    assert "class Main" not in without_main(java, "java") and "class Solution" in without_main(java, "java")
    js = "function f() { return 1; }\nif (require.main === module) {\n  console.log(f());\n}\n"
    assert "require.main" not in without_main(js, "javascript")


def test_trivial_variants_keep_declarations_and_replace_bodies() -> None:
    variants = trivial_variants(without_main(CPP, "cpp"), "cpp")
    assert len(variants) == 2
    first = variants[0]
    assert "vector<int> twice(const vector<int>& xs) { return {}; }" in first
    assert "Point(int a, int b) : x(a), y(b) {}" in first  # constructors keep their bodies
    assert "void noop() {}" in first and "out.push_back" not in first
    go = trivial_variants('import (\n\t"strings"\n)\nfunc up(s string) string { return strings.ToUpper(s) }\n'
                          'func pair() (int, error) { return 1, nil }\n', "go")[0]
    assert "return *new(string)" in go and "return *new(int), *new(error)" in go and '_ "strings"' in go
    rust = trivial_variants("impl S { fn new() -> Self { S {} } }\nfn f(x: u8) -> Vec<u8> { vec![x] }\n", "rust")[0]
    assert "fn new() -> Self { S {} }" in rust and "fn f(x: u8) -> Vec<u8> { Default::default() }" in rust
    java = trivial_variants("class Solution { static boolean ok(int n) { return n > 0; } static String s() { return \"x\"; } }", "java")
    assert "return false;" in java[0] and "return null;" in java[0] and "return true;" in java[1] and 'return "";' in java[1]


def test_javascript_stand_ins_define_the_same_names() -> None:
    code = "const assert = require('assert');\nfunction add(a, b) { return a + b; }\nconst twice = (x) => 2 * x;\nclass Stack {}\n"
    variants = js_trivial_variants(code, "javascript")
    assert len(variants) == 6
    assert "const assert = require('assert');" in variants[0]
    assert "function add(...args) { return undefined; }" in variants[0] and "function twice(...args) { return 0; }" in variants[1]
    assert "class Stack" in variants[0] and "Proxy" in variants[0]
