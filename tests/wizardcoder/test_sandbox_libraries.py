"""The libraries real answers import, in the image and offline: a job importing each one passes
(libraries.py lists them; build-libraries.sh compiles the Rust crates and Go packages once, into
the image, so no job builds or downloads anything).
"""

from __future__ import annotations

import pytest

from wizardcoder.sandbox import Job, SandboxPool, Verdict
from wizardcoder.sandbox.libraries import DEBIAN_PACKAGES, NPM_PACKAGES

pytestmark = pytest.mark.docker

JOBS = {
    "python_numpy": ("python", "import numpy as np\n\ndef total(xs):\n    return int(np.sum(np.array(xs)))\n",
                     ["assert total([1, 2, 3]) == 6"]),
    "python_pandas": ("python", "import pandas as pd\n\ndef mean(xs):\n    return float(pd.Series(xs).mean())\n",
                      ["assert mean([1, 2, 3]) == 2.0"]),
    "python_sympy": ("python", "import sympy\n\ndef roots(a):\n    x = sympy.symbols('x')\n"
                     "    return sorted(int(r) for r in sympy.solve(x**2 - a, x))\n", ["assert roots(4) == [-2, 2]"]),
    "python_regex": ("python", "import regex\n\ndef words(s):\n    return regex.findall(r'\\p{L}+', s)\n",
                     ["assert words('héllo, wörld') == ['héllo', 'wörld']"]),
    "python_sortedcontainers": ("python", "from sortedcontainers import SortedList\n\ndef ordered(xs):\n"
                                "    return list(SortedList(xs))\n", ["assert ordered([3, 1, 2]) == [1, 2, 3]"]),
    "cpp_boost": ("cpp", "#include <boost/any.hpp>\n#include <boost/algorithm/string.hpp>\n#include <string>\n\n"
                  "std::string upper(std::string s) { boost::any held = s; return boost::to_upper_copy(boost::any_cast<std::string>(held)); }\n",
                  "#include <cassert>\nint main() {\n    assert(upper(\"abc\") == \"ABC\");\n}\n"),
    "cpp_openssl_md5": ("cpp", "#include <openssl/md5.h>\n#include <cstdio>\n#include <string>\n\n"
                        "std::string md5(const std::string &s) {\n    unsigned char d[MD5_DIGEST_LENGTH];\n"
                        "    MD5(reinterpret_cast<const unsigned char *>(s.data()), s.size(), d);\n    char hex[33];\n"
                        "    for (int i = 0; i < 16; i++) std::snprintf(hex + 2 * i, 3, \"%02x\", d[i]);\n    return hex;\n}\n",
                        "#include <cassert>\nint main() {\n    assert(md5(\"hello\") == \"5d41402abc4b2a76b9719d911017c592\");\n}\n"),
    "c_openssl_sha256": ("c", "#include <openssl/sha.h>\n\nint first_byte(const char *s, unsigned long n) {\n"
                         "    unsigned char d[SHA256_DIGEST_LENGTH];\n    SHA256((const unsigned char *) s, n, d);\n    return d[0];\n}\n",
                         "#include <assert.h>\nint main(void) {\n    assert(first_byte(\"abc\", 3) == 0xba);\n    return 0;\n}\n"),
    "rust_crates": ("rust", "use itertools::Itertools;\nuse rand::Rng;\nuse regex::Regex;\nuse serde::{Deserialize, Serialize};\n\n"
                    "#[derive(Serialize, Deserialize, PartialEq, Debug)]\nstruct Point { x: i32, y: i32 }\n\n"
                    "fn digits(s: &str) -> Vec<String> { Regex::new(r\"\\d+\").unwrap().find_iter(s).map(|m| m.as_str().to_string()).collect() }\n"
                    "fn joined(v: &[i32]) -> String { v.iter().join(\"-\") }\n"
                    "fn roll() -> u8 { rand::thread_rng().gen_range(1..=6) }\n"
                    "fn hash(s: &str) -> String { format!(\"{:x}\", md5::compute(s)) }\n",
                    "fn main() {\n    assert_eq!(digits(\"a1b22\"), vec![\"1\", \"22\"]);\n    assert_eq!(joined(&[1, 2]), \"1-2\");\n"
                    "    assert!((1..=6).contains(&roll()));\n    assert_eq!(hash(\"hello\"), \"5d41402abc4b2a76b9719d911017c592\");\n"
                    "    let p: Point = serde_json::from_str(\"{\\\"x\\\": 1, \\\"y\\\": 2}\").unwrap();\n"
                    "    assert_eq!(p, Point { x: 1, y: 2 });\n}\n"),
    "go_testify": ("go", "package main\n\nfunc add(a, b int) int { return a + b }\n",
                   "package main\n\nimport (\n\t\"testing\"\n\n\t\"github.com/stretchr/testify/assert\"\n)\n\n"
                   "func TestAdd(t *testing.T) {\n\tassert := assert.New(t)\n\tassert.Equal(3, add(1, 2))\n\tassert.Equal(0, add(-1, 1))\n}\n"),
    "javascript_npm_packages": ("javascript", "const _ = require('lodash');\nconst u = require('underscore');\n"
                                "const md5 = require('js-md5');\nfunction chunks(xs) { return _.chunk(xs, 2); }\n"
                                "function biggest(xs) { return u.max(xs); }\n",
                                "const assert = require('assert');\nassert.deepStrictEqual(chunks([1, 2, 3]), [[1, 2], [3]]);\n"
                                "assert.strictEqual(biggest([1, 5, 2]), 5);\n"
                                "assert.strictEqual(md5('hello'), '5d41402abc4b2a76b9719d911017c592');\n"),
    "typescript_npm_packages": ("typescript", "import * as _ from 'lodash';\nimport md5 = require('js-md5');\n"
                                "function chunks(xs: number[]): number[][] { return _.chunk(xs, 2); }\n",
                                "import * as assert from 'assert';\nassert.deepStrictEqual(chunks([1, 2, 3]), [[1, 2], [3]]);\n"
                                "assert.strictEqual(md5('hello'), '5d41402abc4b2a76b9719d911017c592');\n"),
}


@pytest.mark.parametrize("name", sorted(JOBS))
def test_a_job_importing_a_shipped_library_passes(sandbox_pool: SandboxPool, name: str) -> None:
    language, code, tests = JOBS[name]
    result = sandbox_pool.run(Job(name, code, tests, language=language, timeout_s=90.0))
    assert result.verdict is Verdict.PASS, result


def test_every_shipped_library_has_a_job_importing_it() -> None:
    covered = " ".join(code for _, code, _ in JOBS.values()) + " ".join(str(tests) for _, _, tests in JOBS.values())
    names = {package.removeprefix("python3-") for package in DEBIAN_PACKAGES if package.startswith("python3-")}
    names |= {"boost", "openssl", "rand", "regex", "serde", "serde_json", "itertools", "md5", "testify"}
    names |= {name for name, _ in NPM_PACKAGES}
    assert {name for name in names if name not in covered} == set()
