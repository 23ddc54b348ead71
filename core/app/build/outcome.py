"""How a build ended: its status, the reason, the exit code, and the summary it returns.

One place maps what stopped a run to how it ended, for a build in one process and on a cluster
alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

from ...runtime.output import DATASET
from ...types.errors import CostCapReached, EndpointOutage, EvolError, ExitCode

log = logging.getLogger("evolinstruct.build")

Status = Literal["complete", "partial", "interrupted", "refused", "aborted"]
"""Each with its exit code (README, Exit codes): complete 0, partial 3, refused 2 (the
configuration or the endpoint refused the run), aborted 4 (a bug), interrupted 130."""


@dataclass(frozen=True)
class BuildSummary:
    """How a build ended, with the counts of what its files hold."""

    status: Status
    reason: str | None
    exit_code: ExitCode
    out: Path
    counts: Mapping[str, Any]
    requests: Mapping[str, Any]
    manifest: Mapping[str, Any] = field(repr=False)

    @property
    def dataset(self) -> Path:
        return self.out / DATASET

    @property
    def kept(self) -> int:
        return int(self.counts["kept"])

    @property
    def eliminated(self) -> int:
        return int(self.counts["eliminated"])

    @property
    def failed(self) -> int:
        return int(self.counts["failed"])


def ending(error: BaseException) -> tuple[Status, str, ExitCode]:
    """The status, reason and exit code of a run that ``error`` stopped."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", "interrupted by the user (Ctrl-C)", ExitCode.INTERRUPTED
    if isinstance(error, (EndpointOutage, CostCapReached)):
        return "partial", str(error), error.exit_code
    if isinstance(error, EvolError):  # a systematic failure, the endpoint refused the run...
        # The status says what the exit code says: 2 is a refusal, never an abort (a bug's 4).
        return ("refused" if error.exit_code == ExitCode.USAGE else "aborted"), str(error), error.exit_code
    # A bug of our own: say so, with its traceback.
    log.error("internal error", exc_info=error)
    return "aborted", f"internal error: {type(error).__name__}: {error}", ExitCode.ABORTED
