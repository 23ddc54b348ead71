"""The plugin host of the application: the core's own plugins, then whatever is installed."""

from __future__ import annotations

from typing import Iterable, Mapping

from ...runtime.plugins import BuiltinPlugin, PluginHost

BUILTINS = (
    BuiltinPlugin("core", "evolinstruct.builtins.core", essential=True),
    BuiltinPlugin("general", "evolinstruct.builtins.general"),
)


def load_host(disabled: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> PluginHost:
    """The built-in plugins and every installed one, loaded (minus the disabled ones)."""
    return PluginHost(BUILTINS, disabled, environ).load()
