"""The testing kit: a scripted OpenAI-compatible server on loopback and its pytest fixtures.

The server and the offline model live in ``evolinstruct.offline`` (a build with no endpoint uses
them too); this package re-exports them next to the fixtures and ``SampleContexts``.

Plugin authors test their domains the way the built-ins are tested: run the real pipeline against
``LoopbackLLM`` and script what the "model" does with ``Rule``, and unit-test their filters,
scorers and responders on a real ``SampleContext`` from ``SampleContexts`` (see docs/testing.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..offline.model import ANSWER_MARKER, offline_reply
    from ..offline.script import Rule, RuleError, load_rules, rules_from_data
    from ..offline.requests import ChatRequest, RecordedRequest, Responder
    from ..offline.server import LoopbackLLM
    from .sample_context import UNIT_TEST_DOMAIN, SampleContexts

# Exports resolve on first use: pytest loads this package through the plugin entry point in every
# session, and importing aiohttp there would slow down test runs that never start a server.
_EXPORTS = {
    "ANSWER_MARKER": "..offline.model",
    "offline_reply": "..offline.model",
    "SampleContexts": ".sample_context",
    "UNIT_TEST_DOMAIN": ".sample_context",
    "Rule": "..offline.script",
    "RuleError": "..offline.script",
    "load_rules": "..offline.script",
    "rules_from_data": "..offline.script",
    "ChatRequest": "..offline.requests",
    "LoopbackLLM": "..offline.server",
    "RecordedRequest": "..offline.requests",
    "Responder": "..offline.requests",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
