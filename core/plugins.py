"""Finding, loading and disabling plugins, and collecting what they register.

Plugins are found through the ``evolinstruct`` entry point group and loaded one at a time, so a
plugin that fails to import is reported (and skipped) without taking the others down. The core's
own features are plugins too (``general``), registered here directly instead of through an entry
point, and can be disabled the same way.

Which plugins load:
- ``EVOL_PLUGINS=a,b`` loads only those entry-point plugins (empty: none but the core's);
- ``EVOL_DISABLE_PLUGINS=a,b`` and ``evol -p no:NAME`` disable plugins by name;
- ``EVOL_STRICT_PLUGINS=1`` makes a plugin that fails to load fatal.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Iterable

import pluggy

from . import hookspecs
from .records import Domain, Exporter, ExtraOperation, Filter, Operation, Scorer

ENTRY_POINT_GROUP = "evolinstruct"
CORE_PLUGINS = {"general": "evolinstruct.general"}


class PluginError(Exception):
    """A plugin could not be loaded in strict mode, or two plugins claim the same name."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    status: str  # "active", "disabled" or "error"
    error: str | None = None
    hooks: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "hooks": list(self.hooks),
        }


@dataclass
class Registry:
    """Everything the active plugins registered, with the plugin behind each name."""

    domains: dict[str, Domain] = field(default_factory=dict)
    domain_owner: dict[str, str] = field(default_factory=dict)
    filters: dict[str, Filter] = field(default_factory=dict)
    scorers: dict[str, Scorer] = field(default_factory=dict)
    commands: dict[str, Any] = field(default_factory=dict)
    exporters: dict[str, Exporter] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)

    def claim(self, kind: str, name: str, plugin: str) -> None:
        previous = self.owners.get((kind, name))
        if previous is not None:
            raise PluginError(
                f"{kind} {name!r} is registered twice: by plugin {previous!r} and by plugin "
                f"{plugin!r}; disable one of them (evol -p no:NAME)"
            )
        self.owners[(kind, name)] = plugin


def _split_names(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


class PluginHost:
    """The pluggy manager plus the bookkeeping behind ``evol plugins list``."""

    def __init__(self, disabled: Iterable[str] = ()) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        self.disabled = set(disabled) | _split_names(os.environ.get("EVOL_DISABLE_PLUGINS"))
        self.only = (
            _split_names(os.environ["EVOL_PLUGINS"]) if "EVOL_PLUGINS" in os.environ else None
        )
        self.strict = os.environ.get("EVOL_STRICT_PLUGINS", "") not in ("", "0", "false", "no")
        self._registry: Registry | None = None
        self._failed: set[str] = set()
        self.version = _version_of("evolinstruct")

    # --- loading -------------------------------------------------------------------------------

    def load(self) -> PluginHost:
        for name, module_name in CORE_PLUGINS.items():
            self._load_one(name, "evolinstruct", self.version, lambda m=module_name: importlib.import_module(m))
        seen: set[str] = set()
        for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if entry_point.name in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(entry_point.name)
            dist = entry_point.dist.name if entry_point.dist else "?"
            version = entry_point.dist.version if entry_point.dist else "?"
            if self.only is not None and entry_point.name not in self.only:
                self.infos.append(PluginInfo(entry_point.name, dist, version, "disabled"))
                continue
            self._load_one(entry_point.name, dist, version, entry_point.load)
        return self

    def _load_one(self, name: str, dist: str, version: str, importer: Any) -> None:
        if name in self.disabled:
            self.infos.append(PluginInfo(name, dist, version, "disabled"))
            return
        try:
            module: ModuleType = importer()
            self.manager.register(module, name=name)
        except Exception as error:  # a broken plugin must not take the others down
            if self.strict:
                raise PluginError(f"plugin {name!r} ({dist}) failed to load: {error!r}") from error
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
            print(f"evol: plugin {name!r} ({dist}) failed to load and is skipped: {message}", file=sys.stderr)
            self.infos.append(PluginInfo(name, dist, version, "error", message))
            return
        hooks = tuple(
            sorted(
                caller.name
                for caller in self.manager.get_hookcallers(module) or ()
            )
        )
        self.infos.append(PluginInfo(name, dist, version, "active", None, hooks))

    def active_versions(self) -> dict[str, str]:
        return {info.name: info.version for info in self.infos if info.status == "active"}

    # --- collecting registrations --------------------------------------------------------------

    def _each(self, hook_name: str) -> Iterable[tuple[str, Any]]:
        """(plugin name, registered object) for every object every plugin yields from a hook.

        Called per implementation rather than through pluggy's combined call so that a duplicate
        name or a failing hook can be blamed on the plugin it came from.
        """
        caller = getattr(self.manager.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order: the core first, then plugins by name
            if impl.plugin_name in self._failed:
                continue
            try:
                items = list(impl.function() or ())
            except Exception as error:
                self._fail(impl.plugin_name, f"{hook_name} raised {error!r}", error)
                continue
            for item in items:
                yield impl.plugin_name, item

    def _fail(self, plugin: str, message: str, error: Exception) -> None:
        """A plugin that breaks while registering is reported and skipped, like one that fails
        to import (fatal under EVOL_STRICT_PLUGINS)."""
        if self.strict:
            raise PluginError(f"plugin {plugin!r}: {message}") from error
        print(f"evol: plugin {plugin!r} is skipped: {message}", file=sys.stderr)
        self._failed.add(plugin)
        self.infos = [
            PluginInfo(info.name, info.distribution, info.version, "error", message, info.hooks)
            if info.name == plugin
            else info
            for info in self.infos
        ]

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._collect()
        return self._registry

    def _collect(self) -> Registry:
        registry = Registry()
        for plugin, domain in self._each("evol_domains"):
            _expect(domain, Domain, plugin, "evol_domains")
            registry.claim("domain", domain.name, plugin)
            for operation in domain.operations:
                registry.claim("operation", f"{domain.name}/{operation.name}", plugin)
            registry.domains[domain.name] = domain
            registry.domain_owner[domain.name] = plugin
        for plugin, extra in self._each("evol_operations"):
            _expect(extra, ExtraOperation, plugin, "evol_operations")
            base = registry.domains.get(extra.domain)
            if base is None:
                raise PluginError(
                    f"plugin {plugin!r} adds operation {extra.operation.name!r} to domain "
                    f"{extra.domain!r}, which no active plugin provides"
                )
            registry.claim("operation", f"{extra.domain}/{extra.operation.name}", plugin)
            registry.domains[extra.domain] = _with_operation(base, extra.operation)
        for plugin, filter_ in self._each("evol_filters"):
            _expect(filter_, Filter, plugin, "evol_filters")
            registry.claim("filter", filter_.name, plugin)
            registry.filters[filter_.name] = filter_
        for plugin, scorer in self._each("evol_scorers"):
            _expect(scorer, Scorer, plugin, "evol_scorers")
            registry.claim("scorer", scorer.name, plugin)
            registry.scorers[scorer.name] = scorer
        for plugin, exporter in self._each("evol_exporters"):
            _expect(exporter, Exporter, plugin, "evol_exporters")
            registry.claim("export format", exporter.name, plugin)
            registry.exporters[exporter.name] = exporter
        for plugin, command in self._each("evol_commands"):
            registry.claim("command", command.name, plugin)
            registry.commands[command.name] = command
        build_options: dict[str, str] = {}
        for name, domain in registry.domains.items():
            for option in domain.options:
                owner = build_options.get(option.name)
                if owner is not None:
                    raise PluginError(
                        f"build option --{option.name} is declared by domain {owner!r} and by "
                        f"domain {name!r}"
                    )
                build_options[option.name] = name
        return registry


def _with_operation(domain: Domain, operation: Operation) -> Domain:
    from dataclasses import replace

    return replace(domain, operations=domain.operations + (operation,))


def _expect(item: object, kind: type, plugin: str, hook: str) -> None:
    if not isinstance(item, kind):
        raise PluginError(
            f"plugin {plugin!r}: {hook} must yield {kind.__name__} objects, got {item!r}"
        )


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0+unknown"
