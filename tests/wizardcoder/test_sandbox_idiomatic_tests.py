"""Tests written the way their ecosystem writes them, run as it runs them: Rust's `#[cfg(test)] mod
tests` (beside a `fn main` or without one), Go's `func TestX(t *testing.T)` (with testify too),
node:test and describe/it in JavaScript and TypeScript. Right code passes with the tests counted,
wrong code fails; before, nothing called these tests, so wrong code passed (or right code was a
COMPILE_ERROR). A program whose tests executed no assertion is UNTESTED, in every language.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from wizardcoder.sandbox import Job, SandboxPool, Verdict

pytestmark = pytest.mark.docker

SLOW = 60.0  # a loaded machine compiles slowly; these cases are about verdicts, not speed


@dataclass(frozen=True)
class Idiom:
    language: str
    right: str
    wrong: str
    tests: str
    count: int  # the tests the runner must count


RUST_MOD_TESTS = """
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_small_numbers() {
        assert_eq!(add(1, 2), 3);
    }

    #[test]
    fn adds_negatives() -> Result<(), String> {
        if add(-1, 1) == 0 { Ok(()) } else { Err("add(-1, 1) != 0".to_string()) }
    }

    #[test]
    #[should_panic]
    fn overflows_loudly() {
        assert!(add(1, 2) == 4, "add is not off by one");
    }
}
"""

GO_TESTS = """
package main

import "testing"

func TestAddSmall(t *testing.T) {
	if got := add(1, 2); got != 3 {
		t.Errorf("add(1, 2) = %d, want 3", got)
	}
}

func TestAddTable(t *testing.T) {
	for _, c := range []struct{ a, b, want int }{{-1, 1, 0}, {2, 2, 4}} {
		t.Run("case", func(t *testing.T) {
			if got := add(c.a, c.b); got != c.want {
				t.Fatalf("add(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
			}
		})
	}
}
"""

NODE_TEST = """
const test = require('node:test');
const assert = require('node:assert');

test('adds small numbers', () => {
  assert.strictEqual(add(1, 2), 3);
});

test('adds later', async () => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.strictEqual(add(-1, 1), 0);
});
"""

DESCRIBE_IT = """
const assert = require('assert');

describe('add', () => {
  beforeEach(() => {});
  it('adds small numbers', () => {
    assert.strictEqual(add(1, 2), 3);
  });
  describe('with negatives', () => {
    it('cancels out', (done) => {
      setTimeout(() => {
        try {
          assert.strictEqual(add(-1, 1), 0);
          done();
        } catch (error) {
          done(error);
        }
      }, 5);
    });
  });
});
"""

TS_NODE_TEST = """
import { describe, it } from 'node:test';
import * as assert from 'assert';

describe('add', () => {
  it('adds', () => {
    assert.strictEqual(add(1, 2), 3);
  });
  it('cancels', () => {
    assert.strictEqual(add(-1, 1), 0);
  });
});
"""

IDIOMS = {
    "rust_mod_tests_beside_a_main": Idiom(
        "rust", "fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\nfn main() {}\n",
        "fn add(a: i64, b: i64) -> i64 {\n    a - b\n}\n\nfn main() {}\n", RUST_MOD_TESTS, 3),
    "rust_mod_tests_without_a_main": Idiom(
        "rust", "pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n",
        "pub fn add(a: i64, b: i64) -> i64 {\n    a * b\n}\n", RUST_MOD_TESTS, 3),
    "go_test_functions": Idiom(
        "go", "package main\n\nfunc add(a, b int) int { return a + b }\n",
        "package main\n\nfunc add(a, b int) int { return a - b }\n", GO_TESTS, 2),
    "javascript_node_test": Idiom(
        "javascript", "function add(a, b) { return a + b; }\n", "function add(a, b) { return a - b; }\n", NODE_TEST, 2),
    "javascript_describe_it": Idiom(
        "javascript", "function add(a, b) { return a + b; }\n", "function add(a, b) { return a - b; }\n", DESCRIBE_IT, 2),
    "typescript_node_test": Idiom(
        "typescript", "function add(a: number, b: number): number { return a + b; }\n",
        "function add(a: number, b: number): number { return a - b; }\n", TS_NODE_TEST, 2),
}


def run(pool: SandboxPool, language: str, code: str, tests: str | list[str] | None) -> object:
    return pool.run(Job(f"{language}-idiom", code, tests, language=language, timeout_s=SLOW))


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_right_code_passes_its_idiomatic_tests_each_counted(sandbox_pool: SandboxPool, name: str) -> None:
    idiom = IDIOMS[name]
    result = run(sandbox_pool, idiom.language, idiom.right, idiom.tests)
    assert result.verdict is Verdict.PASS, result
    assert (result.tests_passed, result.tests_total) == (idiom.count, idiom.count), result


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_wrong_code_fails_its_idiomatic_tests(sandbox_pool: SandboxPool, name: str) -> None:
    idiom = IDIOMS[name]
    result = run(sandbox_pool, idiom.language, idiom.wrong, idiom.tests)
    assert result.verdict is Verdict.FAIL, result


# Tests that run and reach no assertion: each checked nothing, whatever the code does.
NO_ASSERTION = {
    "c_assert_never_reached": ("c", "int add(int a, int b) { return a - b; }\n",
                               "#include <assert.h>\nint main(void) {\n    if (0) assert(add(1, 2) == 3);\n    return 0;\n}\n"),
    "cpp_assert_never_reached": ("cpp", "int add(int a, int b) { return a - b; }\n",
                                 "#include <cassert>\nint main() {\n    for (int i = 0; i < 0; i++) assert(add(1, 2) == 3);\n}\n"),
    "rust_assert_never_reached": ("rust", "fn add(a: i64, b: i64) -> i64 { a - b }\n",
                                  "fn main() {\n    if false {\n        assert_eq!(add(1, 2), 3);\n    }\n}\n"),
    "rust_mod_tests_without_a_test": ("rust", "fn add(a: i64, b: i64) -> i64 { a - b }\n",
                                      "#[cfg(test)]\nmod tests {\n    use super::*;\n    fn helper() { assert_eq!(add(1, 2), 3); }\n}\n"),
    "go_tests_all_skipped": ("go", "func add(a, b int) int { return a - b }\n",
                             "import \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tt.Skip(\"later\")\n"
                             "\tif add(1, 2) != 3 {\n\t\tt.Fatal(\"add\")\n\t}\n}\n"),
    "javascript_statements_that_assert_nothing": ("javascript", "function add(a, b) { return a - b; }\n",
                                                  ["add(1, 2) === 3", "add(-1, 1) === 0"]),
    "javascript_describe_without_an_assertion": ("javascript", "function add(a, b) { return a - b; }\n",
                                                 "describe('add', () => {\n  it('adds', () => {\n    add(1, 2);\n  });\n});\n"),
}


@pytest.mark.parametrize("name", sorted(NO_ASSERTION))
def test_tests_that_executed_no_assertion_are_untested(sandbox_pool: SandboxPool, name: str) -> None:
    language, code, tests = NO_ASSERTION[name]
    result = run(sandbox_pool, language, code, tests)
    assert result.verdict is Verdict.UNTESTED, result
