"""Importing this module builds pint's unit registry (about a second).

The bounded pool's forkserver imports it once, so that every worker forks with the registry
built: the first answer with a unit in a fresh worker would otherwise spend that second inside
its own time limit.
"""

from __future__ import annotations

from .units import _registry

_registry()
