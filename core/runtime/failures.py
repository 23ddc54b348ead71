"""Telling an isolated failure from a systematic one.

A sample fails when something raises while it is worked on. Some failures are the world's fault
and may pass on a retry (``TransientError``: the endpoint kept failing, a sandbox container died);
some are the request's own (the endpoint rejected it as invalid); anything else is a possible bug
in plugin or core code. One failure is recorded and the run goes on. But a failure that repeats
cannot be fixed by running on: the same failure (kind, stage, registration, exception type)
several samples in a row, or most of the recent samples failing, stops the run (``RunAborted``)
with the first failure's message and the traceback of the code that raised it.

When the failures that stop the run are the endpoint's (every attempt of a request timed out or
came back unreadable), no plugin is to blame: the run stops as an endpoint fault, exit 3 like an
outage when the endpoint did answer usably earlier in the run (running again resumes), exit 2
when it never did (a wrong URL, a server that is not an LLM endpoint, a model that never answers).
"""

from __future__ import annotations

import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

from ..types.errors import EndpointError, EndpointFailing, EvolError, LLMFailure, RunAborted, TransientError
from ..types.records import Usage

FailureKind = Literal["transient", "rejected", "error"]

SAME_IN_A_ROW = 5
WINDOW = 20
MOST = 0.5

_RUNTIME_DIR = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class Failure:
    """A sample whose work could not be finished, and why."""

    sample_id: str
    seed_id: str
    parent_id: str | None
    round: int
    operation: str
    stage: str
    kind: FailureKind
    error: str
    where: str | None = None
    """The registration whose code raised ("scorer 'execution' of plugin 'wizardcoder'")."""
    traceback: str | None = None
    """For a possible bug: the frames of the code that raised, below the engine's own."""
    instruction: str | None = None
    usage: dict[str, Usage] = field(default_factory=dict)
    endpoint_fault: bool = False
    """The endpoint failed every attempt of a request (``LLMFailure``): not the plugin's doing."""

    @property
    def signature(self) -> tuple[str, str, str | None, str]:
        if self.endpoint_fault:
            # One endpoint failing, whichever stage or operation sent the request.
            return (self.kind, "endpoint", None, "")
        return (self.kind, self.stage, self.where, self.error.split(":", 1)[0])


def classify(error: BaseException) -> FailureKind:
    if isinstance(error, TransientError):
        return "transient"
    if type(error).__name__ == "RequestRejected":  # runtime.llm's, named to keep this module light
        return "rejected"
    return "error"


def describe(error: BaseException) -> str:
    """One line for failed.jsonl and the summary."""
    if isinstance(error, LLMFailure):
        return f"{error} (after {error.attempts} attempts)"
    return "".join(traceback.format_exception_only(type(error), error)).strip()


def code_traceback(tb: TracebackType | None) -> str | None:
    """The traceback from the first frame outside the runtime: the plugin's (or core's) own code."""
    frames = traceback.extract_tb(tb)
    while frames and frames[0].filename.startswith(_RUNTIME_DIR):
        frames.pop(0)
    if not frames:
        return None
    return "".join(traceback.format_list(frames)).rstrip()


class FailureWatch:
    """Watches sample outcomes in the order they happen and stops the run on a repeating failure."""

    def __init__(self, same_in_a_row: int = SAME_IN_A_ROW, window: int = WINDOW) -> None:
        self.same_in_a_row = same_in_a_row
        self.window = window
        self._recent: deque[Failure | None] = deque(maxlen=window)  # None: a sample that succeeded
        self._streak: list[Failure] = []
        self._last: Failure | None = None

    def succeeded(self) -> None:
        self._recent.append(None)
        self._streak.clear()

    def failed(self, failure: Failure) -> bool:
        """Record a failure; True when failures have become systematic (``abort()`` says why)."""
        self._recent.append(failure)
        if self._streak and self._streak[-1].signature != failure.signature:
            self._streak.clear()
        self._streak.append(failure)
        self._last = failure
        return self._systematic() is not None

    def _systematic(self) -> str | None:
        if len(self._streak) >= self.same_in_a_row:
            return f"on {len(self._streak)} samples in a row"
        failed = sum(1 for outcome in self._recent if outcome is not None)
        if len(self._recent) == self.window and failed > self.window * MOST:
            return f"and {failed} of the last {self.window} samples failed"
        return None

    def abort(self, endpoint_answered: bool = True) -> EvolError:
        """The error that stops the run, counting the failures seen until now.

        ``endpoint_answered``: whether any request of the run got a usable answer (fresh or from
        the cache); it decides between an endpoint that failed mid-run and one that never worked.
        """
        how_often = self._systematic() or "again and again"
        in_a_row = len(self._streak) >= self.same_in_a_row
        first = self._streak[0] if in_a_row else self._last
        deciding = self._streak if in_a_row else [outcome for outcome in self._recent if outcome is not None]
        if first is not None and deciding and all(failure.endpoint_fault for failure in deciding):
            return self._endpoint_fault(first, how_often, endpoint_answered)
        return RunAborted(self._message(first, how_often))

    @staticmethod
    def _endpoint_fault(first: Failure, how_often: str, endpoint_answered: bool) -> EvolError:
        detail = f"first failure ({first.sample_id}, stage {first.stage}): {first.error}"
        if not endpoint_answered:
            return EndpointError(
                f"the endpoint never gave a usable answer: every attempt of its requests timed out or came back "
                f"unreadable, {how_often}. {detail}. Check --base-url (an OpenAI-compatible URL usually ends in /v1), "
                "--model and --timeout"
            )
        return EndpointFailing(
            f"stopped: the endpoint kept failing {how_often} (every attempt of a request timed out or came back "
            f"unreadable), a fault of the endpoint, not of plugin code. {detail}. Everything received is kept: "
            "fix the endpoint and run the same command again to resume"
        )

    @staticmethod
    def _message(first: Failure | None, how_often: str) -> str:
        if first is None:
            return f"stopped: samples failed {how_often}"
        where = first.where or f"the {first.stage} stage"
        lines = [
            f"stopped: {where} failed {how_often}, which running on cannot fix.",
            f"first failure ({first.sample_id}, stage {first.stage}): {first.error}",
        ]
        if first.traceback:
            lines.append("traceback of the code that raised:\n" + first.traceback)
        if first.kind == "transient":
            lines.append("these are faults outside the samples (endpoint, sandbox): fix them and run the same command again")
        return "\n".join(lines)
