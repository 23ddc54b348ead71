"""Pieces of the sandbox that need no engine: apt sources, framing, output capture, job lines,
the languages' compilation units, the guards against faked passes, the build lock."""

from __future__ import annotations

import json
import re
import socket
import struct
import time
from pathlib import Path

import pytest

from wizardcoder.sandbox import Verdict
from wizardcoder.sandbox.apt_sources import apt_sources, debian_mirror, os_codename
from wizardcoder.sandbox.image import harness_hash
from wizardcoder.sandbox.harness.supervisor import Capture, Inbox
from wizardcoder.sandbox.jsonl_jobs import parse_job
from wizardcoder.sandbox.job import Job, Result
from wizardcoder.sandbox.limits import DEFAULT_LIMITS, Limits
from wizardcoder.sandbox.protocol import Channel, ChannelClosed, ChannelTimeout, encode

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
"""


def test_the_mirror_comes_from_the_machines_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian_mirror("bookworm", str(tmp_path)) == "http://mirror.example/debian"


def test_the_mirror_comes_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian trixie main non-free\n"
    )
    assert [s.uri for s in apt_sources(str(tmp_path))] == ["http://one.example/debian"]
    assert debian_mirror("trixie", str(tmp_path)) == "http://one.example/debian"
    with pytest.raises(LookupError, match="--mirror"):
        debian_mirror("bookworm", str(tmp_path))


def test_the_suite_is_the_os_codename(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n')
    assert os_codename(str(release)) == "bookworm"
    release.write_text("NAME=Other\n")
    with pytest.raises(LookupError):
        os_codename(str(release))


def _engine_frames(payload: bytes, cut: int) -> list[bytes]:
    """The engine's stdout framing, split into two frames at `cut`."""
    parts = [payload[:cut], payload[cut:]]
    return [struct.pack(">BxxxI", 1, len(p)) + p for p in parts if p]


def test_the_channel_reassembles_messages_split_across_engine_frames() -> None:
    host, container = socket.socketpair()
    channel = Channel(host)
    data = encode({"op": "job", "token": "t1"}) + encode({"op": "job", "token": "t2"})
    for frame in _engine_frames(data, 7):
        # one stderr frame in between, which the channel must ignore
        container.sendall(frame + struct.pack(">BxxxI", 2, 3) + b"err")
    deadline = time.monotonic() + 2
    assert channel.receive(deadline)["token"] == "t1"
    assert channel.receive(deadline)["token"] == "t2"
    with pytest.raises(ChannelTimeout):
        channel.receive(time.monotonic() + 0.05)
    container.close()
    with pytest.raises(ChannelClosed):
        channel.receive(time.monotonic() + 1)


def test_the_supervisor_inbox_reads_frames_and_notices_end_of_file() -> None:
    ours, theirs = socket.socketpair()
    ours.sendall(encode({"n": 1})[:3])
    inbox = Inbox(theirs.fileno())
    assert inbox.fill() and inbox.message() is None
    ours.sendall(encode({"n": 1})[3:] + encode({"n": 2}))
    assert inbox.receive() == {"n": 1}
    assert inbox.receive() == {"n": 2}
    ours.close()
    assert inbox.receive() is None


def test_capture_keeps_head_and_tail_and_counts_everything() -> None:
    capture = Capture(keep=4)
    for chunk in (b"abc", b"defgh", b"ijklmnop"):
        capture.add(chunk)
    assert capture.total == 16
    assert capture.text() == "abcd\n...[8 bytes truncated]...\nmnop"
    short = Capture(keep=4)
    short.add(b"abcdef")
    assert short.text() == "abcdef"


def test_job_lines_are_parsed_or_rejected_with_the_line_number() -> None:
    defaults = Limits(timeout_s=3, memory_mb=128)
    job = parse_job(json.dumps({"id": 5, "code": "pass", "tests": ["assert 1"]}), 1, defaults)
    assert job == Job("5", "pass", ["assert 1"], 3.0, 128)
    cpp = parse_job(json.dumps({"id": "c", "language": "C++", "code": "int f();", "tests": "int main() {}",
                                "compile_timeout_s": 20}), 2, defaults)
    assert (cpp.language, cpp.compile_timeout_s, cpp.wall_s) == ("cpp", 20.0, 23.0)
    for line, expected in [
        ("[1, 2]", "line 9: expected a JSON object"),
        ('{"id": true, "code": ""}', 'line 9: missing or invalid "id"'),
        ('{"id": "a", "code": 3}', 'line 9: missing or invalid "code"'),
        ('{"id": "a", "code": "", "tests": 3}', "line 9: job a: tests must be"),
        ('{"id": "a", "code": "", "memory_mb": "lots"}', "line 9:"),
        ('{"id": "a", "code": "", "language": "cobol"}', "line 9: job a: language must be one of python"),
        ('{"id": "a", "code": "", "language": "go", "tests": ["x"]}', "line 9: job a: tests for go must be one program"),
        ('{"id": "a", "code": "", "language": 3}', 'line 9: invalid "language"'),
    ]:
        result = parse_job(line, 9, defaults)
        assert isinstance(result, Result) and result.verdict is Verdict.INVALID_JOB
        assert result.message.startswith(expected), result.message


def test_containers_get_no_host_path_no_network_and_no_environment() -> None:
    settings = Limits().container_settings(256)
    assert settings["environment"] == {}
    assert settings["network_mode"] == "none"
    assert settings["cap_drop"] == ["ALL"] and settings["security_opt"] == ["no-new-privileges"]
    assert settings["read_only"] is True and settings["mem_limit"] == settings["memswap_limit"]
    assert not {"volumes", "mounts", "devices", "privileged_mode"} & set(settings)
    assert settings["privileged"] is False


def test_the_harness_hash_is_stable() -> None:
    assert harness_hash() == harness_hash() and len(harness_hash()) == 16


def test_every_default_lives_in_one_limits_object() -> None:
    from wizardcoder.domain import CodeOptions
    from wizardcoder.sandbox.cli import exec_command
    from wizardcoder.sandbox.pool import SandboxPool

    job = Job("x", "pass")
    assert (job.timeout_s, job.memory_mb) == (DEFAULT_LIMITS.timeout_s, DEFAULT_LIMITS.memory_mb)
    options = {name: field.default for name, field in CodeOptions.model_fields.items()}
    assert (options["exec_timeout"], options["exec_memory"]) == (DEFAULT_LIMITS.timeout_s, DEFAULT_LIMITS.memory_mb)
    cli = {param.name: param.default for param in exec_command.params}
    assert (cli["timeout_s"], cli["memory_mb"]) == (DEFAULT_LIMITS.timeout_s, DEFAULT_LIMITS.memory_mb)
    assert cli["max_jobs_per_container"] == DEFAULT_LIMITS.max_jobs_per_container
    pool = SandboxPool(1)
    try:
        assert (pool.memory_mb, pool.max_jobs_per_container) == (DEFAULT_LIMITS.memory_mb, DEFAULT_LIMITS.max_jobs_per_container)
    finally:
        pool.close()


def test_the_work_directories_are_bounded_in_size_and_in_files() -> None:
    tmpfs = Limits(work_mb=32, work_inodes=500).container_settings(128)["tmpfs"]
    assert "size=32m" in tmpfs["/work"] and "nr_inodes=500" in tmpfs["/work"] and ",exec," in tmpfs["/work"]
    assert "nr_inodes=500" in tmpfs["/tmp"] and "noexec" in tmpfs["/tmp"]
    assert "nr_inodes" in tmpfs["/dev/shm"]


# --- the languages' compilation units --------------------------------------------------------

from wizardcoder.sandbox.harness import toolchains  # noqa: E402


def _unit(language: str, code: str, tests: str | list[str] | None) -> str:
    plan = toolchains.toolchain(language).plan(code, tests, toolchains.Channels(217, 231), 256)
    (text,) = plan.files.values()
    return text


def test_go_units_have_one_package_one_import_block_and_our_main() -> None:
    code = 'package solution\n\nimport "strings"\n\nfunc Upper(s string) string { return strings.ToUpper(s) }\n'
    tests = 'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc main() {\n\tfmt.Println(Upper("a"), strings.Repeat("b", 2))\n}\n'
    unit = _unit("go", code, tests)
    assert unit.startswith("package main\n") and unit.count("package ") == 1
    assert unit.count("import (") == 1 and unit.count('"strings"') == 1 and 'evolos "os"' in unit
    assert re.search(r"func evolUserMain_\w+\(\) \{", unit) and re.search(r"func main\(\) \{\n\tevolUserMain_\w+\(\)", unit)
    assert "Read(231," in unit and "Write(217," in unit


def test_java_units_keep_main_public_and_imports_first() -> None:
    code = "import java.util.*;\npublic class Solution {\n    public static int f() { return 1; }\n}\n"
    tests = "import java.util.List;\nimport java.util.*;\npublic class Main {\n    public static void main(String[] a) {}\n}\n"
    unit = _unit("java", code, tests)
    assert unit.index("import java.util.List;") < unit.index("class Solution")
    assert unit.count("import java.util.*;") == 1
    assert "\nclass Solution" in unit and "public class Main" in unit and "public static int f()" in unit


def test_javascript_units_merge_what_both_parts_require() -> None:
    unit = _unit("javascript", "const assert = require('assert');\nfunction f() { return 1; }",
                 ["assert.strictEqual(f(), 1)", "assert.strictEqual(f(), 2)"])
    assert "const assert" not in unit and unit.count("var assert = require('assert')") == 1
    assert unit.count("() => {") == 2 and "globalThis.__evolTests" in unit
    typed = _unit("typescript", "import * as assert from 'assert';\nfunction f(): number { return 1; }",
                  "import * as assert from 'assert';\nassert.strictEqual(f(), 1);")
    assert typed.count("import * as assert from 'assert';") == 1 and typed.startswith("import")


def test_native_units_get_an_empty_main_only_without_tests() -> None:
    assert "int main() { return 0; }" in _unit("cpp", "int f() { return 1; }", None)
    assert "int main() { return 0; }" not in _unit("cpp", "int f() { return 1; }", "int main() { return f() - 1; }")
    # Rust: the harness's own main always; the code's or tests' main is renamed and called by it.
    assert "fn main() {" in _unit("rust", "fn f() -> i32 { 1 }", None)
    assert re.search(r"fn __evol_tests_main_\w+\(\) \{\}", _unit("rust", "fn f() -> i32 { 1 }", "fn main() {}"))


def test_every_language_the_domain_runs_has_a_toolchain() -> None:
    from wizardcoder.languages import LANGUAGES

    runnable = {language.name for language in LANGUAGES if language.runnable}
    assert runnable == set(toolchains.LANGUAGES)


# --- guards against faked passes (the harness's own functions, run here) ----------------------

from wizardcoder.sandbox.harness import python_tests  # noqa: E402


class AlwaysEqual:
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False


def test_a_comparison_the_value_under_test_decides_is_refused() -> None:
    compare = python_tests.compare
    with pytest.raises(python_tests.DefeatedComparison, match="AlwaysEqual.__eq__ is the program's own"):
        compare(AlwaysEqual(), "==", 5)
    with pytest.raises(python_tests.DefeatedComparison):
        compare([1, AlwaysEqual()], "==", [1, 2])  # hidden inside a list
    with pytest.raises(python_tests.DefeatedComparison):
        compare(AlwaysEqual(), "in", [1, 2])
    assert compare(AlwaysEqual(), "!=", 5) is False  # fails on its own: nothing to refuse

    class NeverEqual:
        def __ne__(self, other: object) -> bool:
            return True

    with pytest.raises(python_tests.DefeatedComparison, match="NeverEqual.__ne__"):
        compare(NeverEqual(), "!=", 5)
    # Honest comparisons, failing or passing, are what Python says.
    assert compare(3, "==", 3) is True and compare(3, "==", 4) is False
    assert compare((1, 2), "==", (1, 2)) and compare({"a": [1]}, "==", {"a": [1]}) and compare(2, "in", [1, 2])
    from fractions import Fraction

    assert compare(Fraction(1, 2), "==", 0.5)  # the standard library's own equality is honest
    assert compare(AlwaysEqual(), "==", AlwaysEqual())  # both the program's: nothing to judge by


def test_a_truth_the_program_wrote_is_refused() -> None:
    class Yes:
        def __bool__(self) -> bool:
            return True

    with pytest.raises(python_tests.DefeatedComparison, match="Yes.__bool__"):
        python_tests.truth(Yes())
    assert python_tests.truth([1]) == [1] and python_tests.truth(True) is True


def test_asserts_are_routed_through_the_guards() -> None:
    import ast

    source = "\n".join([
        "assert f(1) == 2",
        "assert not g()",
        "assert x < y() <= z",
        "assert (lambda: a == b)()",
        "ok = f(2) == 3",
        "assert ok and not done",
        "def check(got, want):",
        "    return got == want or got is want",
        "if a == b:",
        "    pass",
    ])
    text = ast.unparse(python_tests.guarded(ast.parse(source)))
    assert "__evol_compare__(f(1), '==', 2)" in text
    assert "not __evol_truth__(g())" in text
    # A chain: each operand once, in order, the last only when the first comparison holds.
    assert "__evol_compare__(x, '<', (__evol_chain_0__ := y())) and __evol_compare__(__evol_chain_0__, '<=', z)" in text
    assert "lambda: a == b" in text
    assert "ok = __evol_compare__(f(2), '==', 3)" in text
    assert "__evol_truth__(ok) and (not __evol_truth__(done))" in text
    assert "return __evol_compare__(got, '==', want) or got is want" in text
    assert "if a == b:" in text  # control flow decides nothing alone


def test_a_guarded_chain_decides_as_python_does() -> None:
    import ast

    calls: list[int] = []

    def value(v: int) -> int:
        calls.append(v)
        return v

    for source, expected, evaluated in [
        ("result = value(1) < value(2) < value(3)", True, [1, 2, 3]),
        ("result = value(1) < value(0) < value(3)", False, [1, 0]),  # the last never evaluated
        ("result = value(3) > value(2) == value(2)", True, [3, 2, 2]),
    ]:
        calls.clear()
        scope = {"value": value, python_tests.COMPARE: python_tests.compare}
        exec(compile(python_tests.guarded(ast.parse(source)), "t", "exec"), scope)
        assert scope["result"] is expected and calls == evaluated, source

    class Anything:
        def __lt__(self, other: object) -> bool:
            return True

        def __gt__(self, other: object) -> bool:
            return True

    scope = {"solve": Anything, python_tests.COMPARE: python_tests.compare}
    with pytest.raises(python_tests.DefeatedComparison, match="Anything.__lt__ is the program.s own"):
        exec(compile(python_tests.guarded(ast.parse("assert 0 < solve() < 10")), "t", "exec"), scope)


def test_a_chain_where_an_assignment_expression_is_not_allowed_is_left_as_it_is() -> None:
    source = "class T:\n    assert [x for x in range(3) if 0 < x < 2]\n"
    code = python_tests._compile_tests(source, "t.py")
    exec(code, {python_tests.COMPARE: python_tests.compare, python_tests.TRUTH: python_tests.truth,
                python_tests.COUNT: python_tests.count})


# --- the build lock ---------------------------------------------------------------------------


def test_a_second_build_on_the_same_cache_is_refused_and_a_dead_holder_is_not(tmp_path: Path) -> None:
    from wizardcoder.sandbox.build_lock import BuildLocked, build_lock

    with build_lock(tmp_path):
        with pytest.raises(BuildLocked, match=f"pid {__import__('os').getpid()}"):
            with build_lock(tmp_path):
                pass
    (tmp_path / "build.lock").write_text("pid 999999999")  # left by a process that is gone
    with build_lock(tmp_path) as path:
        assert path.read_text() == f"pid {__import__('os').getpid()}"
