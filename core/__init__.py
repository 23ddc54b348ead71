"""evolinstruct: Evol-Instruct datasets with elimination, resumable LLM runs and checked answers.

This module is the public API. Plugins (the built-in ``wizardcoder`` and ``wizardmath`` as well
as third-party ones) import only what is exported here.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from .context import RunContext, SampleContext, stable_int
from .errors import EvolError, LLMFailure, SeedError
from .hookspecs import hookimpl
from .records import (
    Domain,
    Elimination,
    Exporter,
    ExtraOperation,
    Filter,
    Message,
    Operation,
    Sample,
    Score,
    Scorer,
    Seed,
    Usage,
)
from .rewrite import CREATED_LABEL, GIVEN_LABEL, REWRITTEN_LABEL, clean_rewrite

try:  # one source of truth: the version in pyproject.toml, as installed
    __version__ = _metadata.version("evolinstruct")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"

__all__ = [
    "CREATED_LABEL",
    "GIVEN_LABEL",
    "REWRITTEN_LABEL",
    "Domain",
    "Elimination",
    "EvolError",
    "Exporter",
    "ExtraOperation",
    "Filter",
    "LLMFailure",
    "Message",
    "Operation",
    "RunContext",
    "Sample",
    "SampleContext",
    "Score",
    "Scorer",
    "Seed",
    "SeedError",
    "Usage",
    "clean_rewrite",
    "hookimpl",
    "stable_int",
]
