"""Errors a user can act on. Each names where the problem is."""

from __future__ import annotations


class EvolError(Exception):
    """Base of the errors the CLI reports as one plain line (exit code 2) instead of a traceback."""


class SeedError(EvolError):
    """A seed record that cannot be used: names the file, the line (or row) and the field."""

    def __init__(self, message: str, *, source: str = "", field: str | None = None) -> None:
        self.source = source
        self.field = field
        self.detail = message
        where = source or "seeds"
        what = f"field {field!r}: " if field else ""
        super().__init__(f"{where}: {what}{message}")


class LLMFailure(EvolError):
    """The endpoint kept failing for one request after every allowed attempt."""

    def __init__(self, message: str, *, attempts: int, status: int | None = None) -> None:
        self.attempts = attempts
        self.status = status
        super().__init__(message)
