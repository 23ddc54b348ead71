"""A plugin's per-build resources, opened and closed in one way.

A resource that lives exactly as long as a build (a pool of sandbox containers, of checker
processes) is a context manager a plugin declares once::

    @contextmanager
    def sandbox_pool(run: RunContext) -> Iterator[SandboxPool]:
        pool = SandboxPool(size=run.options.sandbox_workers).start()
        try:
            yield pool
        finally:
            pool.close()

    evol_run_start, evol_run_end = build_resources(BuildResource("sandbox", sandbox_pool, domains=("code",)))

``build_resources`` gives the plugin its two lifecycle hooks: the first opens each resource
(for builds of its domains) before the first request and keeps it in ``run.resources[key]``,
where filters, scorers and responders find it as ``ctx.resources[key]``; the second closes what
was opened, in reverse order, whether the build finished, failed or was interrupted, also when
an opening raised. Nothing is left to ``atexit`` or to a module-level global.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, ContextManager

from .context import RunContext
from .hookspecs import hookimpl

log = logging.getLogger("evolinstruct.resources")


@dataclass(frozen=True)
class BuildResource:
    """One resource of a build: where it is kept, how it is opened (a context manager made from
    the build's ``RunContext``; leaving it closes the resource), and for which domains."""

    key: str
    """Its key in ``run.resources``."""
    open: Callable[[RunContext], ContextManager[Any]]
    domains: tuple[str, ...] | None = None
    """Open it only for builds of these domains (None: every build)."""

    def applies_to(self, run: RunContext) -> bool:
        return self.domains is None or run.domain.name in self.domains


def build_resources(*resources: BuildResource) -> tuple[Callable[[RunContext], None], Callable[[RunContext], None]]:
    """The ``evol_run_start`` and ``evol_run_end`` hooks that open and close ``resources``."""
    open_stacks: dict[int, contextlib.ExitStack] = {}  # per build in flight (a process may run several)

    @hookimpl
    def evol_run_start(run: RunContext) -> None:
        stack = open_stacks.setdefault(id(run), contextlib.ExitStack())
        for resource in resources:
            if resource.applies_to(run):
                # Raising here stops the build before its first request; evol_run_end still runs
                # and closes the resources opened before this one.
                run.resources[resource.key] = stack.enter_context(resource.open(run))

    @hookimpl
    def evol_run_end(run: RunContext) -> None:
        stack = open_stacks.pop(id(run), None)
        for resource in resources:
            run.resources.pop(resource.key, None)
        if stack is None:
            return
        try:
            stack.close()
        except Exception as error:  # the build's own outcome matters more than a failed cleanup
            log.warning("closing a resource of the build failed: %s", error)

    return evol_run_start, evol_run_end
