"""Every hook a plugin can implement.

Hooks are for discovery: each registration hook yields typed objects from ``evolinstruct``
(``Domain``, ``ExtraOperation``, ``ExtraOptions``, ``Filter``, ``Scorer``, ``Exporter``,
``ProvenanceEntry``, ``click.Command``...) and those
objects do the work; one collector in the plugin host turns them into the run's registry. Names must be unique across plugins; two plugins registering the same name stop the
program with an error naming both. The two lifecycle hooks let a plugin own a resource (such as a
pool of sandbox containers) for exactly the duration of a build.

The plugin guide (docs/plugins.md) documents each hook; a test keeps the two in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click

    from .context import RunContext
    from .curation import CurationRule
    from .registrations import (
        Domain, Exporter, ExtraOperation, ExtraOptions, Filter, ProvenanceEntry, ReportSection, Scorer,
    )

PROJECT = "evolinstruct"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def evol_domains() -> Iterable[Domain]:
    """Yield the domains this plugin provides (``Domain`` objects).

    A domain names its evolution operations, how its instructions are answered, how its seed
    records map onto the common seed form, and any extra ``evol build`` options it needs.
    """


@hookspec
def evol_operations() -> Iterable[ExtraOperation]:
    """Yield ``ExtraOperation(domain, operation)`` to add operations to another plugin's domain.

    The operation joins the domain's uniform draw and can be named in ``--schedule``.
    """


@hookspec
def evol_build_options() -> Iterable[ExtraOptions]:
    """Yield ``ExtraOptions(name, options, domains=None)`` to add build options to domains.

    ``options`` is a ``DomainOptions`` subclass; its fields become ``evol build`` options of the
    domains named (None: every domain), and the run's ``ctx.options`` holds them with the domain's.
    """


@hookspec
def evol_filters() -> Iterable[Filter]:
    """Yield elimination rules (``Filter``): each returns a reason to drop a candidate, or None.

    A filter runs at one stage (``instruction``, ``response`` or ``verdict``) for the domains it
    names (all when ``domains`` is None). The candidate it drops is kept in ``eliminated.jsonl``
    with the filter's name and reason, and its parent goes on to the next round.
    """


@hookspec
def evol_scorers() -> Iterable[Scorer]:
    """Yield verifiers and reward models (``Scorer``) run on every answered sample.

    A scorer returns a ``Score`` whose ``checks`` and ``scores`` are merged into the sample;
    a ``verdict``-stage filter can then eliminate on them.
    """


@hookspec
def evol_provenance() -> Iterable[ProvenanceEntry]:
    """Yield ``ProvenanceEntry(name, value, domains=None)``: entries of the rows' ``provenance``.

    ``value(sample, options)`` gives ``provenance[name]`` of the row written for ``sample`` in a
    build with these options (None: not in that row). The core's entries cannot be taken.
    """


@hookspec
def evol_commands() -> Iterable[click.Command]:
    """Yield click commands or groups to add under ``evol`` (``evol sandbox``, ``evol math``)."""


@hookspec
def evol_exporters() -> Iterable[Exporter]:
    """Yield ``Exporter`` objects: formats for ``evol export DIR --format NAME``.

    An exporter receives the dataset's rows (dicts, as in dataset.jsonl) and a path to write.
    """


@hookspec
def evol_curation_rules() -> Iterable[CurationRule]:
    """Yield ``CurationRule`` objects that ``evol curate`` applies before the built-in rules
    (which the core plugin registers through this hook too).

    A rule decides row by row (``check_rows``, or ``row_rule(...)`` around a one-row function)
    or over the whole dataset (``check_dataset``); what it removes goes to
    ``curated/removed.jsonl`` with the rule's name and reason.
    """


@hookspec
def evol_report_sections() -> Iterable[ReportSection]:
    """Yield ``ReportSection`` objects: sections ``evol report`` adds to its page after the core's.

    What a section reads and returns is the contract in ``evolinstruct.report``; it loads no
    charting library until a drawing helper runs, so a section's module costs a build nothing.
    """


@hookspec
def evol_run_start(run: RunContext) -> None:
    """Called once before a build sends its first request.

    Open resources here and keep them in ``run.resources`` (a dict shared with filters and
    scorers through ``SampleContext.resources``). ``run.domain.name`` tells which domain runs.
    ``build_resources(BuildResource(...))`` writes this hook and ``evol_run_end`` for resources
    declared as context managers.
    """


@hookspec
def evol_run_end(run: RunContext) -> None:
    """Called once when a build ends, whether it finished, failed or was interrupted.

    Release what ``evol_run_start`` opened. Must not raise for a resource that was never opened.
    """
