"""The environment sandbox tests pass on to the `evol` subprocesses they start."""

from __future__ import annotations

import os


def sandbox_env() -> dict[str, str]:
    """The sandbox image this test run uses, for subprocesses started through `evol()` (which
    drops EVOL_* variables): without it they would look for the default image."""
    return {key: os.environ[key] for key in ("EVOL_SANDBOX_IMAGE",) if os.environ.get(key)}
