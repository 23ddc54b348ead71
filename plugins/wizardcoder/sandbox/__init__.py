"""The Docker sandbox that runs code answers, in any of its languages.

    from wizardcoder.sandbox import Job, SandboxPool, Verdict

    with SandboxPool() as pool:
        result = pool.run(Job("1", "def f(): return 1", ["assert f() == 1"]))
        assert result.verdict is Verdict.PASS
        result = pool.run(Job("2", "int f() { return 1; }", "int main() { return f() == 1 ? 0 : 1; }", language="cpp"))

Build the image first with `evol sandbox build`; `evol sandbox doctor` says what is missing.
Names are imported when first used, so that reading the defaults (``Limits``) does not load the
Docker SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Job": ".job",
    "Result": ".job",
    "Limits": ".limits",
    "DEFAULT_LIMITS": ".limits",
    "SandboxPool": ".pool",
    "SandboxUnavailable": ".engine",
    "default_image": ".engine",
    "Verdict": ".verdict",
    "LANGUAGES": ".harness.toolchains",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
