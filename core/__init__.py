"""evolinstruct: Evol-Instruct datasets with elimination, resumable LLM runs and checked answers.

This module is the public API. Plugins (the built-in ``wizardcoder`` and ``wizardmath`` as well
as third-party ones) import only what is exported here: the records that flow, the registration
types, the sample context, the errors and ``hookimpl``. Scripts and notebooks run a build with
``evolinstruct.build(...)``, which runs exactly what ``evol build`` runs.

The package is layered, each layer importing only those below it:
``types`` (records, registrations, contexts, errors, hooks) < ``runtime`` (LLM client, cache,
seeds, plugin host, the evolution loop, output) < ``builtins`` (the core's own plugins) <
``app`` (the build object, the Python API, the command line); ``offline`` (the bundled model and
the loopback server) needs only ``types``, and ``testing`` re-exports it for plugin tests.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from .types.context import RunContext, SampleContext, stable_int
from .types.curation import Candidate, CurationRule, Removal, row_rule
from .types.errors import (
    EndpointError,
    EvolError,
    ExitCode,
    LLMFailure,
    PluginError,
    RunAborted,
    SeedError,
    TransientError,
    UsageError,
)
from .types.hookspecs import hookimpl
from .types.options import Cli, DomainOptions
from .types.report import BuildReport, Chart, SectionContent
from .types.resources import BuildResource, build_resources
from .types.records import Completion, Decoding, Elimination, Message, Sample, Score, Seed, Usage
from .types.registrations import (
    CORE_PROVENANCE,
    AnswerRule,
    Candidates,
    Domain,
    Exporter,
    ExtraOperation,
    ExtraOptions,
    Filter,
    Operation,
    ProvenanceEntry,
    Registration,
    ReportSection,
    Scorer,
)
from .types.stats import Histogram, number_or_none
from .types.rewrite import CREATED_LABEL, GIVEN_LABEL, REWRITTEN_LABEL, clean_rewrite, leaks_template
from .types.structured import enum_property, json_schema_format, read_json_object

if TYPE_CHECKING:  # pragma: no cover
    from .app.api import build
    from .app.build.build import Build
    from .app.build.outcome import BuildSummary
    from .app.build.config import BuildConfig

try:  # one source of truth: the version in pyproject.toml, as installed
    __version__ = _metadata.version("evolinstruct")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from an uninstalled tree
    __version__ = "0+unknown"

# The Python API lives in the application layer; it is imported on first use so that a plugin
# importing this module does not pay for the command line, the engine and rich.
_APPLICATION = {
    "build": ".app.api",
    "Build": ".app.build.build",
    "BuildSummary": ".app.build.outcome",
    "BuildConfig": ".app.build.config",
}


def __getattr__(name: str) -> Any:
    module = _APPLICATION.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "CORE_PROVENANCE",
    "CREATED_LABEL",
    "GIVEN_LABEL",
    "REWRITTEN_LABEL",
    "AnswerRule",
    "Build",
    "BuildConfig",
    "BuildReport",
    "BuildResource",
    "BuildSummary",
    "Candidate",
    "Cli",
    "Candidates",
    "Chart",
    "Completion",
    "CurationRule",
    "Decoding",
    "Domain",
    "DomainOptions",
    "Elimination",
    "EndpointError",
    "EvolError",
    "ExitCode",
    "Exporter",
    "ExtraOperation",
    "ExtraOptions",
    "Filter",
    "Histogram",
    "LLMFailure",
    "Message",
    "Operation",
    "PluginError",
    "ProvenanceEntry",
    "Registration",
    "Removal",
    "ReportSection",
    "RunAborted",
    "RunContext",
    "Sample",
    "SampleContext",
    "Score",
    "Scorer",
    "SectionContent",
    "Seed",
    "SeedError",
    "TransientError",
    "Usage",
    "UsageError",
    "build",
    "build_resources",
    "clean_rewrite",
    "enum_property",
    "hookimpl",
    "json_schema_format",
    "leaks_template",
    "number_or_none",
    "read_json_object",
    "row_rule",
    "stable_int",
]
