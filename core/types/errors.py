"""One hierarchy of errors, and the exit code each kind means.

Two questions decide what happens to an error:

- Can trying again help? A ``TransientError`` (the endpoint kept failing, a sandbox container
  died) fails one sample, which goes to failed.jsonl while the run goes on; running the build
  again retries it. Any other exception raised by plugin or core code is treated as a possible
  bug: isolated, it fails its sample too, but the same one again and again stops the run
  (``RunAborted``), because repeating it cannot help.
- Can the user fix it? Every ``EvolError`` is printed as one plain line naming what is wrong
  (a file and line, an option, a plugin), never as a traceback, and exits with its code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    USAGE = 2
    """A usage or configuration error: nothing was sent, or the run stopped before it began."""
    PARTIAL = 3
    """The run finished, or stopped on an endpoint outage, with some samples failed or missing."""
    ABORTED = 4
    """A systematic failure (a bug in plugin or core code) stopped the run early."""
    INTERRUPTED = 130


class EvolError(Exception):
    """Base of every error a user can act on; the CLI prints its message and exits with its code."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(EvolError):
    """An option, a configuration file or an output folder that cannot be used as given."""


class SeedError(UsageError):
    """A seed record that cannot be used: names the file, the line (or row) and the field."""

    def __init__(self, message: str, *, source: str = "", field: str | None = None) -> None:
        self.source = source
        self.field = field
        self.detail = message
        where = source or "seeds"
        what = f"field {field!r}: " if field else ""
        super().__init__(f"{where}: {what}{message}")


class PluginError(UsageError):
    """A plugin that cannot be used: it failed to load (strict mode), or two plugins claim a name."""


class EndpointError(UsageError):
    """The endpoint cannot serve this run: unreachable, refused (key, model), or it rejects our
    requests as invalid. Nothing more is sent."""


class TransientError(EvolError):
    """A fault outside the sample's own content that may succeed on a retry: the endpoint kept
    failing, a sandbox container died. Plugins raise subclasses for their own such faults."""

    exit_code = ExitCode.PARTIAL


class LLMFailure(TransientError):
    """The endpoint kept failing for one request after every allowed attempt."""

    def __init__(self, message: str, *, attempts: int, status: int | None = None) -> None:
        self.attempts = attempts
        self.status = status
        super().__init__(message)


class EndpointOutage(EvolError):
    """Every endpoint stayed unreachable for longer than ``--max-outage``: the run stops, keeping
    everything received; running it again resumes."""

    exit_code = ExitCode.PARTIAL


class EndpointFailing(EndpointOutage):
    """The endpoint answered usably earlier in the run, then failed every attempt of request after
    request (timeouts, unreadable bodies): an endpoint fault, not a plugin's, and it ends the run as
    an outage does (exit 3); running again resumes."""


class CostCapReached(EvolError):
    """The next request could pass ``--max-cost``: the run stops once the requests in flight are
    done, keeping everything received; running again with a higher cap resumes."""

    exit_code = ExitCode.PARTIAL


class RunAborted(EvolError):
    """A failure that repeats cannot be fixed by retrying: the run stops early."""

    exit_code = ExitCode.ABORTED
