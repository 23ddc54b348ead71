"""What goes into the sandbox (a Job) and what comes out (a Result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .harness.toolchains import ALIASES, LANGUAGES, toolchain
from .limits import DEFAULT_LIMITS, MAX_MEMORY_MB, MAX_TIMEOUT_S, MIN_MEMORY_MB
from .verdict import Verdict


@dataclass(frozen=True)
class Job:
    """A program in one language: `code` followed by `tests`, as one compilation unit.

    `tests` is a script (for C, C++, Go, Rust and Java it holds `main`) or, for Python,
    JavaScript, TypeScript and SQL, may be a list of statements, each run on its own after the
    code so that passed/total can be counted. The job's time limit covers compiling too, unless
    `compile_timeout_s` gives compiling its own.
    """

    id: str
    code: str
    tests: str | list[str] | None = None
    timeout_s: float = DEFAULT_LIMITS.timeout_s
    memory_mb: int = DEFAULT_LIMITS.memory_mb
    language: str = "python"
    compile_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str):
            raise TypeError(f"job {self.id}: code must be a string")
        if not isinstance(self.language, str) or self.language.strip().lower() not in ALIASES:
            raise ValueError(f"job {self.id}: language must be one of {', '.join(LANGUAGES)}, got {self.language!r}")
        # One spelling per language from here on: the record, the memo keys, the supervisor.
        object.__setattr__(self, "language", ALIASES[self.language.strip().lower()])
        is_list = isinstance(self.tests, (list, tuple))
        tests_ok = self.tests is None or isinstance(self.tests, str) or (is_list and all(isinstance(t, str) for t in self.tests))
        if not tests_ok:
            raise TypeError(f"job {self.id}: tests must be a string, a list of strings, or None")
        if is_list and not toolchain(self.language).list_tests:
            raise TypeError(f"job {self.id}: tests for {self.language} must be one program (a string); "
                            "a list of statements is for python, javascript, typescript and sql")
        if not 0 < float(self.timeout_s) <= MAX_TIMEOUT_S:
            raise ValueError(f"job {self.id}: timeout_s must be in (0, {MAX_TIMEOUT_S:g}], got {self.timeout_s}")
        if self.compile_timeout_s is not None and not 0 < float(self.compile_timeout_s) <= MAX_TIMEOUT_S:
            raise ValueError(
                f"job {self.id}: compile_timeout_s must be in (0, {MAX_TIMEOUT_S:g}], got {self.compile_timeout_s}"
            )
        if not MIN_MEMORY_MB <= int(self.memory_mb) <= MAX_MEMORY_MB:
            raise ValueError(
                f"job {self.id}: memory_mb must be in [{MIN_MEMORY_MB}, {MAX_MEMORY_MB}], got {self.memory_mb}"
            )

    @property
    def wall_s(self) -> float:
        """The longest the job may take, compiling included."""
        return float(self.timeout_s) + float(self.compile_timeout_s or 0.0)


@dataclass(frozen=True)
class Result:
    id: str
    verdict: Verdict
    duration_s: float
    stdout: str
    stderr: str
    tests_passed: int | None
    tests_total: int | None
    message: str = ""
    compile_s: float | None = None  # time spent compiling, for languages that compile
    # Python: where the tests were judged. "process": in a process the answer never ran in, its
    # names reached across a plain-data boundary; "in-process": in the answer's own process (tests
    # that need what the boundary cannot carry). None for the other languages.
    isolation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON record of `evol sandbox exec`: test counts only when known, message when set."""
        record: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict.value,
            "duration_s": round(self.duration_s, 4),
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if self.compile_s is not None:
            record["compile_s"] = round(self.compile_s, 4)
        if self.tests_total is not None:
            record["tests_passed"] = self.tests_passed
            record["tests_total"] = self.tests_total
        if self.message:
            record["message"] = self.message
        if self.isolation is not None:
            record["isolation"] = self.isolation
        return record


def sandbox_error(job_id: str, message: str, duration_s: float = 0.0) -> Result:
    return Result(job_id, Verdict.SANDBOX_ERROR, duration_s, "", "", None, None, message)


def invalid_job(job_id: str, message: str) -> Result:
    return Result(job_id, Verdict.INVALID_JOB, 0.0, "", "", None, None, message)
