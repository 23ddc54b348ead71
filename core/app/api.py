"""The Python API, and the one place a build's runner is chosen.

``evolinstruct.build(...)`` and ``evol build`` both call ``run_build``: it prepares a ``Build``
and hands it to its runner, the engine in this process or the shards of a Ray cluster
(``--ray`` / ``ray=...``). Keyword arguments are the options of ``evol build`` (the same names
with underscores, the same values: ``schedule="down,up"`` or ``["down", "up"]``), checked by the
same models; the manifest records the resolved options, the call, and the ``evol build``
command that builds the same dataset.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from rich.console import Console

from ..runtime.plugins import PluginHost
from .build.build import Build
from .build.config import BuildConfig, make_config, option_name
from .build.outcome import BuildSummary

Runner = Callable[[Build], BuildSummary]
"""Runs a prepared build's engine and returns how it ended (``Build.run`` is the local one)."""


def runner_for(config: BuildConfig) -> Runner:
    """The engine in this process, or a Ray cluster's shards when the options ask for one."""
    if config.ray is None:
        return Build.run
    from .cluster.ray_build import run_on_ray

    return run_on_ray


def run_build(
    config: BuildConfig, *, host: PluginHost | None = None, environ: Mapping[str, str] | None = None,
    console: Console | None = None, report: bool = False,
) -> BuildSummary:
    """Prepare a build, run it with the runner its options choose, and (``report``) print its summary."""
    from .cluster.shard_folders import folder_cache

    with Build(config, host=host, environ=environ, console=console, open_cache=folder_cache) as build:
        build.prepare()
        summary = runner_for(config)(build)
        if report:
            build.report(summary)
    return summary


def build(config: BuildConfig | None = None, *, progress: bool = False, **settings: Any) -> BuildSummary:
    """Run a build from Python exactly as ``evol build`` does; returns its summary.

    ``build(seeds="seeds.jsonl", out="out/run1", domain="math", rounds=5, samples=4)``: keyword
    arguments are the options of ``evol build`` (underscores for dashes) and the domain's own
    options, taking the same values as the command line. Raises ``UsageError`` for a bad option,
    seed or folder before any request is sent; how the run itself ended is in the summary
    (``status``, ``reason``).
    """
    if config is None:
        config = make_config(api_values(settings, progress=progress))
    return run_build(config)


def api_values(settings: Mapping[str, Any], *, progress: bool = False) -> dict[str, Any]:
    """The configuration's values for keyword arguments of ``build``: the core's options by name,
    the others the domain's; with the call, and its ``evol build`` equivalent, as the invocation."""
    fields = set(BuildConfig.model_fields)
    values = {key: value for key, value in settings.items() if key in fields}
    extra = {key: value for key, value in settings.items() if key not in fields}
    values["options"] = {**values.get("options", {}), **extra}
    values.setdefault("progress", progress)
    shown = {key: ("***" if key == "api_key" else value) for key, value in settings.items()}
    values["call"] = "evolinstruct.build(" + ", ".join(f"{key}={value!r}" for key, value in shown.items()) + ")"
    values["command"] = equivalent_command({key: value for key, value in shown.items() if key != "options"}
                                           | dict(shown.get("options") or {}))
    return values


def equivalent_command(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """``evol build`` with these options: what the manifest and the card give to reproduce a
    build started from Python."""
    words = ["evol", "build"]
    for key, value in settings.items():
        if value is None or key in ("progress",):
            continue
        flag = option_name(key)
        if key == "ray":  # an option that may come without a value
            words += [flag] if value is True or value == "" else [flag, str(value)] if value else []
        elif isinstance(value, bool):
            words.append(flag if value else f"--no-{flag[2:]}")
        elif key == "shard" and isinstance(value, (list, tuple)):
            words += [flag, "/".join(str(item) for item in value)]
        elif key == "base_url" and isinstance(value, (list, tuple)):
            for item in value:
                words += [flag, str(item)]
        elif isinstance(value, (list, tuple)):
            words += [flag, ",".join(str(item) for item in value)]
        elif isinstance(value, Mapping):
            words += [flag, ",".join(f"{name}={weight}" for name, weight in value.items())]
        else:
            words += [flag, str(value)]
    return tuple(words)
