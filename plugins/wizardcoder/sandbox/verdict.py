"""The verdicts of a sandboxed run."""

from __future__ import annotations

import enum


class Verdict(str, enum.Enum):
    PASS = "PASS"  # the harness's completion record arrived and every test held
    FAIL = "FAIL"  # an assertion of the tests failed
    RUNTIME_ERROR = "RUNTIME_ERROR"  # any other exception, a crash, or an exit before the end
    TIMEOUT = "TIMEOUT"  # the wall-clock limit ran out
    MEMORY_LIMIT = "MEMORY_LIMIT"  # MemoryError or an OOM kill
    OUTPUT_LIMIT = "OUTPUT_LIMIT"  # more stdout/stderr than allowed
    # The sandbox failed, not the code: retried, and never counted against the solution.
    SANDBOX_ERROR = "SANDBOX_ERROR"
