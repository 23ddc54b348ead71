"""Finding, loading and disabling plugins, and collecting what they register.

Plugins are found through the ``evolinstruct`` entry point group and loaded one at a time, so a
plugin that fails to import is reported (and skipped) without taking the others down. The core's
own features are plugins too, handed to the host by the application (``builtins``): ``general``
(the general domain) can be disabled like any plugin; an essential one (``core``: the paper's
elimination rules and the export formats) cannot, because a build without them would silently
stop doing what the method says.

Which plugins load:
- ``EVOL_PLUGINS=a,b`` loads only those entry-point plugins (empty: none but the built-in ones);
- ``EVOL_DISABLE_PLUGINS=a,b`` and ``evol -p no:NAME`` disable plugins by name;
- ``EVOL_STRICT_PLUGINS=1`` makes a plugin that fails to load fatal.

Every registration hook is read by one collector, driven by the table ``REGISTRATION_HOOKS``: it
calls each plugin's implementation on its own (so a failure is blamed on the right plugin),
checks the type of what it yields, and refuses a name claimed twice, naming both plugins.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import traceback
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Callable, Iterable, Mapping, Sequence

import click
import pluggy
from pydantic import create_model

from ..types import hookspecs
from ..types.curation import CurationRule
from ..types.errors import PluginError
from ..types.options import DomainOptions
from ..types.registrations import (
    CORE_PROVENANCE, Domain, Exporter, ExtraOperation, ExtraOptions, Filter, ProvenanceEntry, ReportSection, Scorer,
)

log = logging.getLogger("evolinstruct.plugins")

ENTRY_POINT_GROUP = "evolinstruct"


@dataclass(frozen=True)
class BuiltinPlugin:
    """A plugin that ships with the core, registered by module name instead of an entry point."""

    name: str
    module: str
    essential: bool = False
    """Cannot be disabled: it carries part of the method every build relies on."""


@dataclass(frozen=True)
class HookTable:
    """One registration hook: what it must yield, and the kind its names are unique within."""

    hook: str
    type: type
    kind: str


REGISTRATION_HOOKS: tuple[HookTable, ...] = (
    HookTable("evol_domains", Domain, Domain.kind),
    HookTable("evol_operations", ExtraOperation, ExtraOperation.kind),
    HookTable("evol_build_options", ExtraOptions, ExtraOptions.kind),
    HookTable("evol_filters", Filter, Filter.kind),
    HookTable("evol_scorers", Scorer, Scorer.kind),
    HookTable("evol_exporters", Exporter, Exporter.kind),
    HookTable("evol_provenance", ProvenanceEntry, ProvenanceEntry.kind),
    HookTable("evol_commands", click.Command, "command"),
    HookTable("evol_curation_rules", CurationRule, CurationRule.kind),
    HookTable("evol_report_sections", ReportSection, ReportSection.kind),
)


@dataclass(frozen=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    status: str  # "active", "disabled" or "error"
    error: str | None = None
    hooks: tuple[str, ...] = ()
    essential: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "error": self.error,
            "hooks": list(self.hooks),
            "essential": self.essential,
        }


@dataclass
class Registry:
    """Everything the active plugins registered, by hook, with the plugin behind each name."""

    items: dict[str, dict[str, Any]] = field(default_factory=lambda: {t.hook: {} for t in REGISTRATION_HOOKS})
    owners: dict[tuple[str, str], str] = field(default_factory=dict)

    def claim(self, kind: str, name: str, plugin: str) -> None:
        previous = self.owners.get((kind, name))
        if previous is not None:
            raise PluginError(
                f"{kind} {name!r} is registered twice: by plugin {previous!r} and by plugin "
                f"{plugin!r}; disable one of them (evol -p no:NAME)"
            )
        self.owners[(kind, name)] = plugin

    def owner(self, kind: str, name: str) -> str | None:
        return self.owners.get((kind, name))

    @property
    def domains(self) -> dict[str, Domain]:
        return self.items["evol_domains"]

    @property
    def build_options(self) -> dict[str, ExtraOptions]:
        return self.items["evol_build_options"]

    @property
    def provenance(self) -> dict[str, ProvenanceEntry]:
        return self.items["evol_provenance"]

    @property
    def filters(self) -> dict[str, Filter]:
        return self.items["evol_filters"]

    @property
    def scorers(self) -> dict[str, Scorer]:
        return self.items["evol_scorers"]

    @property
    def exporters(self) -> dict[str, Exporter]:
        return self.items["evol_exporters"]

    @property
    def commands(self) -> dict[str, click.Command]:
        return self.items["evol_commands"]

    @property
    def curation_rules(self) -> dict[str, CurationRule]:
        return self.items["evol_curation_rules"]

    @property
    def report_sections(self) -> dict[str, ReportSection]:
        return self.items["evol_report_sections"]


def _split_names(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


class PluginHost:
    """The pluggy manager plus the bookkeeping behind ``evol plugins list``."""

    def __init__(
        self,
        builtins: Sequence[BuiltinPlugin] = (),
        disabled: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.builtins = tuple(builtins)
        self.infos: list[PluginInfo] = []
        self.disabled = set(disabled) | _split_names(environ.get("EVOL_DISABLE_PLUGINS"))
        self.only = _split_names(environ["EVOL_PLUGINS"]) if "EVOL_PLUGINS" in environ else None
        self.strict = environ.get("EVOL_STRICT_PLUGINS", "") not in ("", "0", "false", "no")
        self._registry: Registry | None = None
        self._failed: set[str] = set()
        self.version = _version_of("evolinstruct")

    # --- loading -------------------------------------------------------------------------------

    def load(self) -> PluginHost:
        essential = sorted(plugin.name for plugin in self.builtins if plugin.essential)
        refused = sorted(self.disabled & set(essential))
        if refused:
            raise PluginError(
                f"plugin {', '.join(map(repr, refused))} is essential and cannot be disabled: it carries the "
                "paper's elimination rules and the export formats every build relies on"
            )
        for plugin in self.builtins:
            self._load_one(
                plugin.name, "evolinstruct", self.version,
                lambda module=plugin.module: importlib.import_module(module), essential=plugin.essential,
            )
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
        self._warn_unknown_names()
        return self

    def _warn_unknown_names(self) -> None:
        known = {info.name for info in self.infos}
        for source, names in (("-p no:/EVOL_DISABLE_PLUGINS", self.disabled), ("EVOL_PLUGINS", self.only or set())):
            unknown = sorted(names - known)
            if unknown:
                log.warning(
                    "%s names no installed plugin: %s (installed: %s)",
                    source, ", ".join(unknown), ", ".join(sorted(known)),
                )

    def _load_one(
        self, name: str, dist: str, version: str, importer: Callable[[], ModuleType], *, essential: bool = False
    ) -> None:
        if name in self.disabled:
            self.infos.append(PluginInfo(name, dist, version, "disabled"))
            return
        try:
            module = importer()
            self.manager.register(module, name=name)
        except Exception as error:  # a broken plugin must not take the others down
            if self.strict or essential:
                raise PluginError(f"plugin {name!r} ({dist}) failed to load: {error!r}") from error
            message = "".join(traceback.format_exception_only(type(error), error)).strip()
            log.warning("plugin %r (%s) failed to load and is skipped: %s", name, dist, message)
            self.infos.append(PluginInfo(name, dist, version, "error", message))
            return
        hooks = tuple(sorted(caller.name for caller in self.manager.get_hookcallers(module) or ()))
        self.infos.append(PluginInfo(name, dist, version, "active", None, hooks, essential))

    def active_versions(self) -> dict[str, str]:
        return {info.name: info.version for info in self.infos if info.status == "active"}

    # --- collecting registrations --------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._collect()
        return self._registry

    def hook_results(self, table: HookTable) -> Iterable[tuple[str, Any]]:
        """(plugin name, registered object) for every object every plugin yields from a hook.

        Called per implementation rather than through pluggy's combined call so that a failing
        hook or a wrong type can be blamed on the plugin it came from.
        """
        caller = getattr(self.manager.hook, table.hook)
        for impl in caller.get_hookimpls():  # registration order: built-ins first, then plugins by name
            if impl.plugin_name in self._failed:
                continue
            try:
                items = list(impl.function() or ())
            except Exception as error:
                self._fail(impl.plugin_name, f"{table.hook} raised {error!r}", error)
                continue
            wrong = next((item for item in items if not isinstance(item, table.type)), None)
            if wrong is not None:
                message = f"{table.hook} must yield {table.type.__name__} objects, got {wrong!r}"
                self._fail(impl.plugin_name, message, TypeError(message))
                continue
            for item in items:
                yield impl.plugin_name, item

    def _fail(self, plugin: str, message: str, error: Exception) -> None:
        """A plugin that breaks while registering is reported and skipped, like one that fails
        to import (fatal under EVOL_STRICT_PLUGINS, and for an essential plugin)."""
        essential = any(info.essential for info in self.infos if info.name == plugin)
        if self.strict or essential:
            raise PluginError(f"plugin {plugin!r}: {message}") from error
        log.warning("plugin %r is skipped: %s", plugin, message)
        self._failed.add(plugin)
        self.infos = [
            dataclasses.replace(info, status="error", error=message) if info.name == plugin else info
            for info in self.infos
        ]

    def _collect(self) -> Registry:
        registry = Registry()
        for table in REGISTRATION_HOOKS:
            for plugin, item in self.hook_results(table):
                registry.claim(table.kind, item.name, plugin)
                registry.items[table.hook][item.name] = item
        # A plugin that broke in a later hook is skipped whole, not half registered.
        for (kind, name), plugin in list(registry.owners.items()):
            if plugin in self._failed:
                del registry.owners[(kind, name)]
                for table in REGISTRATION_HOOKS:
                    if table.kind == kind:
                        registry.items[table.hook].pop(name, None)
        for name, domain in registry.domains.items():
            for operation in domain.operations:
                registry.claim(Domain.kind + " operation", f"{name}/{operation.name}", registry.owner(Domain.kind, name) or "?")
        for extra in registry.items.pop("evol_operations").values():
            self._add_operation(registry, extra)
        registry.items["evol_operations"] = {}
        self._check_build_options(registry)
        self._add_build_options(registry)
        for name in sorted(set(registry.provenance) & CORE_PROVENANCE):
            raise PluginError(f"plugin {registry.owner(ProvenanceEntry.kind, name)!r}: provenance entry {name!r} is "
                              f"one of the core's own ({', '.join(sorted(CORE_PROVENANCE))}); choose another name")
        return registry

    def _add_operation(self, registry: Registry, extra: ExtraOperation) -> None:
        plugin = registry.owner(ExtraOperation.kind, extra.name) or "?"
        if extra.domain is None:  # every domain: one operation, claimed in each like a named one
            for name, domain in list(registry.domains.items()):
                registry.claim(Domain.kind + " operation", f"{name}/{extra.operation.name}", plugin)
                registry.domains[name] = dataclasses.replace(domain, operations=domain.operations + (extra.operation,))
            return
        base = registry.domains.get(extra.domain)
        if base is None and self.disabled:
            # The user turned plugins off (-p no:NAME): an operation for a domain that went with
            # them has nothing to extend, and must not stop the plugins that remain.
            log.info("plugin %r adds operation %r to domain %r, which is not active: left out",
                     plugin, extra.operation.name, extra.domain)
            return
        if base is None:
            raise PluginError(
                f"plugin {plugin!r} adds operation {extra.operation.name!r} to domain {extra.domain!r}, "
                "which no active plugin provides"
            )
        registry.claim(Domain.kind + " operation", extra.name, plugin)
        registry.domains[extra.domain] = dataclasses.replace(base, operations=base.operations + (extra.operation,))

    def _add_build_options(self, registry: Registry) -> None:
        """Each domain's options model, extended with the fields of the plugins' ``ExtraOptions``
        that apply to it: one model, so the command line, recipes, the API, the run's
        ``ctx.options`` and the folder's record treat them as the domain's own."""
        extras = list(registry.items["evol_build_options"].values())
        owners: dict[str, str] = {}
        for extra in extras:
            plugin = registry.owner(ExtraOptions.kind, extra.name) or "?"
            if not (isinstance(extra.options, type) and issubclass(extra.options, DomainOptions)):
                raise PluginError(f"plugin {plugin!r}: build options {extra.name!r} must be a DomainOptions subclass, "
                                  f"got {extra.options!r}")
            missing = sorted(set(extra.domains or ()) - set(registry.domains))
            if missing and not self.disabled:
                raise PluginError(f"plugin {plugin!r} adds build options to domain {', '.join(map(repr, missing))}, "
                                  "which no active plugin provides")
            for option in extra.options.model_fields:
                taken = owners.get(option) or next(
                    (f"domain {name!r}" for name, domain in registry.domains.items() if option in domain.options.model_fields),
                    None)
                if taken is not None:
                    raise PluginError(f"build option --{option.replace('_', '-')} is declared by {taken} and by plugin {plugin!r}")
                owners[option] = f"plugin {plugin!r}"
        for name, domain in list(registry.domains.items()):
            models = tuple(extra.options for extra in extras if extra.domains is None or name in extra.domains)
            if models:
                # The domain's own model last: its fields come first in help and listings. A base
                # another one extends (a domain without options of its own: DomainOptions) would
                # make the order of the bases inconsistent.
                bases = tuple(b for b in (*models, domain.options) if not any(o is not b and issubclass(o, b) for o in models))
                merged = create_model(domain.options.__name__, __base__=bases)
                registry.domains[name] = dataclasses.replace(domain, options=merged)

    @staticmethod
    def _check_build_options(registry: Registry) -> None:
        owners: dict[str, str] = {}
        for name, domain in registry.domains.items():
            if not (isinstance(domain.options, type) and issubclass(domain.options, DomainOptions)):
                raise PluginError(f"domain {name!r}: options must be a DomainOptions subclass, got {domain.options!r}")
            for option in domain.options.model_fields:
                owner = owners.get(option)
                if owner is not None:
                    raise PluginError(
                        f"build option --{option.replace('_', '-')} is declared by domain {owner!r} and by domain {name!r}"
                    )
                owners[option] = name


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0+unknown"
