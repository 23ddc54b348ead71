"""The verdicts of a sandboxed run: each says what happened, nothing more."""

from __future__ import annotations

import enum


class Verdict(str, enum.Enum):
    PASS = "PASS"  # the program's completion record arrived and every test held
    UNTESTED = "UNTESTED"  # the program ran to its end, but no test ran, or none could fail
    FAIL = "FAIL"  # a test failed: a failed assertion, or a pass the program tried to fake
    COMPILE_ERROR = "COMPILE_ERROR"  # the compiler (or Python's parser) refused the program
    RUNTIME_ERROR = "RUNTIME_ERROR"  # any other exception, a crash, or an exit before the end
    TIMEOUT = "TIMEOUT"  # the wall-clock limit ran out (compiling counts)
    MEMORY_LIMIT = "MEMORY_LIMIT"  # out of memory: the runtime said so, or an OOM kill
    OUTPUT_LIMIT = "OUTPUT_LIMIT"  # more stdout/stderr than allowed
    # The sandbox failed, not the code: retried, and never counted against the solution.
    SANDBOX_ERROR = "SANDBOX_ERROR"
    # The job's line could not be read (not JSON, a field missing or wrong): nothing ran. A
    # mistake in the input, neither the code's nor the sandbox's; `evol sandbox exec` exits 2.
    INVALID_JOB = "INVALID_JOB"
