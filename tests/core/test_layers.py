"""The import graph: no cycles in core/ and plugins/, and every layer of the core imports only
the layers below it. Counted from the source, every import included (inside functions and under
TYPE_CHECKING too), since a cycle there is still two modules that cannot be read apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

PACKAGES = {"evolinstruct": REPO / "core", "wizardcoder": REPO / "plugins" / "wizardcoder",
            "wizardmath": REPO / "plugins" / "wizardmath",
            # a separate distribution, built as a third party would build it
            "evol_autoevol": REPO / "plugins" / "autoevol" / "evol_autoevol"}

# Each layer may import itself and those listed after it.
LAYERS = {
    "evolinstruct.app": ("evolinstruct.builtins", "evolinstruct.runtime", "evolinstruct.offline", "evolinstruct.types"),
    "evolinstruct.builtins": ("evolinstruct.runtime", "evolinstruct.types"),
    "evolinstruct.runtime": ("evolinstruct.types",),
    "evolinstruct.offline": ("evolinstruct.types",),
    "evolinstruct.types": (),
}


def module_name(package: str, root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            found[module_name(package, root, path)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base[: len(base) - node.level + 1]
                module = ".".join(prefix + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # each name: a submodule of `module`, or else something `module` itself defines
            candidates = [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in candidates:
            # the longest known module the import names (a submodule, else its package)
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def test_every_name_of_one_import_is_an_edge() -> None:
    found = modules()
    edges = imports_of("wizardcoder.sandbox.harness.supervisor", found["wizardcoder.sandbox.harness.supervisor"], set(found))
    source = found["wizardcoder.sandbox.harness.supervisor"].read_text(encoding="utf-8")
    named = {f"wizardcoder.sandbox.harness.{m}" for m in ("python_tests", "sql_tests", "toolchains") if m in source}
    assert named and named <= edges, (named, edges)


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> str | None:
    return next((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), None)


def test_there_is_no_import_cycle_in_core_and_plugins() -> None:
    edges = graph()
    assert len(edges) > 60  # the walk found the packages
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_core_layer_imports_only_the_layers_below_it() -> None:
    wrong = []
    for module, targets in graph().items():
        layer = layer_of(module)
        if layer is None:
            continue
        allowed = (layer, *LAYERS[layer])
        for target in targets:
            target_layer = layer_of(target)
            if target.startswith("evolinstruct") and target != "evolinstruct" and target_layer not in allowed:
                wrong.append(f"{module} -> {target}")
            if target == "evolinstruct":
                wrong.append(f"{module} -> evolinstruct (the public API, which sits above every layer)")
    assert wrong == []


def test_plugins_import_only_the_public_api_of_the_core() -> None:
    reaching_in = [
        f"{module} -> {target}"
        for module, targets in graph().items()
        if module.startswith(("wizardcoder", "wizardmath", "evol_autoevol"))
        for target in targets
        # the public API: evolinstruct itself, and the report contract for report sections
        if target.startswith("evolinstruct.") and target != "evolinstruct.report"
    ]
    assert reaching_in == []


# Inside the application, each job's package imports only the jobs it builds on: a build knows
# nothing of the cluster that may run it, nor of the command line or the API that start it.
APP_JOBS = {
    "evolinstruct.app.build": ("evolinstruct.app.publish",),  # the card, written when a build ends
    "evolinstruct.app.publish": ("evolinstruct.app.build",),  # the folder's digests and settings
    "evolinstruct.app.curate": ("evolinstruct.app.build", "evolinstruct.app.publish"),
    "evolinstruct.app.cluster": ("evolinstruct.app.build",),
    "evolinstruct.app.api": ("evolinstruct.app.build", "evolinstruct.app.cluster"),
    "evolinstruct.app.cli": ("evolinstruct.app.api", "evolinstruct.app.build", "evolinstruct.app.curate",
                             "evolinstruct.app.publish"),
}


def test_each_application_package_imports_only_the_jobs_it_builds_on() -> None:
    edges = graph()
    assert {layer for layer in APP_JOBS if any(m == layer or m.startswith(layer + ".") for m in edges)} == set(APP_JOBS)
    wrong = []
    for module, targets in edges.items():
        job = next((job for job in APP_JOBS if module == job or module.startswith(job + ".")), None)
        if job is None:
            continue
        for target in targets:
            other = next((other for other in APP_JOBS if target == other or target.startswith(other + ".")), None)
            if other is not None and other != job and other not in APP_JOBS[job]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_click_below_the_command_line() -> None:
    """Options are models: the types, the runtime (but for the hook that yields click commands)
    and the build read no click."""
    edges = graph()
    # evol_commands yields click.Command objects: its spec and the host that checks them
    allowed = {"evolinstruct.types.hookspecs", "evolinstruct.runtime.plugins"}
    users = sorted(module for module, path in modules().items()
                   if module.startswith(("evolinstruct.types", "evolinstruct.runtime", "evolinstruct.app.build"))
                   and module not in allowed and re.search(r"^\s*(import click|from click)", path.read_text(encoding="utf-8"), re.M))
    assert users == [] and edges  # the walk found the modules
