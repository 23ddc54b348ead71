"""What goes into the sandbox (a Job) and what comes out (a Result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .verdict import Verdict


@dataclass(frozen=True)
class Job:
    """A Python program: `code` followed by `tests`, run as one script.

    `tests` may be a script (run after the code, in the same namespace) or a list of statements,
    each run on its own after the code so that passed/total can be counted.
    """

    id: str
    code: str
    tests: str | list[str] | None = None
    timeout_s: float = 10.0
    memory_mb: int = 256

    def __post_init__(self) -> None:
        if not isinstance(self.code, str):
            raise TypeError(f"job {self.id}: code must be a string")
        tests_ok = self.tests is None or isinstance(self.tests, str) or (
            isinstance(self.tests, (list, tuple)) and all(isinstance(t, str) for t in self.tests)
        )
        if not tests_ok:
            raise TypeError(f"job {self.id}: tests must be a string, a list of strings, or None")
        if not 0 < float(self.timeout_s) <= 3600:
            raise ValueError(f"job {self.id}: timeout_s must be in (0, 3600], got {self.timeout_s}")
        if not 16 <= int(self.memory_mb) <= 65536:
            raise ValueError(f"job {self.id}: memory_mb must be in [16, 65536], got {self.memory_mb}")


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

    def as_dict(self) -> dict[str, Any]:
        """The JSON record of `evol sandbox exec`: test counts only when known, message when set."""
        record: dict[str, Any] = {
            "id": self.id,
            "verdict": self.verdict.value,
            "duration_s": round(self.duration_s, 4),
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if self.tests_total is not None:
            record["tests_passed"] = self.tests_passed
            record["tests_total"] = self.tests_total
        if self.message:
            record["message"] = self.message
        return record


def sandbox_error(job_id: str, message: str, duration_s: float = 0.0) -> Result:
    return Result(job_id, Verdict.SANDBOX_ERROR, duration_s, "", "", None, None, message)
