"""A build from start to end, as one object with three steps.

1. ``prepare()``: everything that can be wrong is found before a request is sent: the domain and
   its options, the schedule and weights, every seed record, the output folder (its lock, and
   whether this build may resume it), the endpoint. Resources are opened under one ExitStack.
2. ``run()``: the engine against the endpoint, with the plugins' resources (``evol_run_start``
   before the first request, ``evol_run_end`` whatever happens), writing the folder's files.
3. ``report()``: the summary on the terminal, computed from what was written.

``evol build`` and ``evolinstruct.build(...)`` both go through this class (``app/api.py``), so the
command line and the Python API run exactly the same build. What runs the engine is theirs to
choose (this process, or a Ray cluster: ``app/cluster``); the build itself knows only its
immutable ``BuildPlan`` and the cache factory it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from rich.console import Console

from ...runtime.batches import BatchLedger, BatchSettings, Batching, batch_numbers, batched_roles
from ...runtime.cache import Cache
from ...builtins.quality import answer_evolution
from ...runtime.engine import NOT_CHOSEN, Engine, Progress, operations_per_round
from ...runtime.failures import FailureWatch
from ...runtime.llm import LLM
from ...runtime.output import BATCHES, CACHE, MANIFEST, Output
from ...runtime.plugins import PluginHost, Registry
from ...runtime.seeds import SeedFile, Selection, refuse_output_file
from ...runtime.pricing import CostMeter, Price
from ...runtime.roles import ResolvedRole, domain_stages, resolve_roles
from ...offline.server import LoopbackLLM
from ...runtime.session import DEFAULT_ROLE, OFFLINE_API_KEY, EndpointConfig, Session
from ...runtime.tally import Tally
from ...types.errors import ExitCode, PluginError, UsageError
from ...types.records import Sample, Usage
from ...types.options import DomainOptions, rows_unchanged
from ...types.registrations import Domain, Filter, Registration, Scorer, applies_to
from .config import OFFLINE_ENDPOINT, BuildConfig, checked as checked_options, dataset_options
from .folder import FolderLock, check_domain, check_state, file_digest, prepare_folder, record_state
from .host import load_host
from .manifest import Manifest
from .outcome import BuildSummary, Status, ending
from .progress import BuildProgress, rounds_table

log = logging.getLogger("evolinstruct.build")

RESOLVED_STATE: Mapping[str, str] = {
    "seeds": "seeds_sha256",  # the file's content, wherever the file is now
    "base_url": "endpoint", "endpoint_id": "endpoint",  # the endpoint's identity
    "model": "model",  # the model asked, after $EVOL_MODEL (the offline model's when there is no endpoint)
    "role": "roles", "roles": "roles",  # each role's resolved model, endpoint and decoding
    "options": "options",  # the domain's options, less those marked as unable to change a row
}
"""The dataset options run.json records as the build resolved them, each under its key there: a
folder resumes when only their spelling changed (a moved seeds file, another URL with the same
--endpoint-id)."""

CacheFactory = Callable[[Path], Cache]
"""Opens the response cache at a path: the folder's own (``Cache``), or, for one shard of a
cluster build, the shard's file over the folder's."""


@dataclass(frozen=True)
class BuildPlan:
    """What a build will do, found by ``Build.check`` from the options, the plugins and the seeds
    before anything is opened or sent; it never changes after."""

    domain: Domain
    options: DomainOptions
    weights: Mapping[str, float]
    filters: tuple[Filter, ...]
    scorers: tuple[Scorer, ...]
    seed_file: SeedFile
    selection: Selection
    selected: int
    """Seeds this build evolves (after --limit and --shard)."""
    urls: tuple[str, ...]
    """The configured endpoints; empty for the bundled offline model."""
    model: str
    identity: str
    seeds_sha256: str
    """The seeds file's digest, read once: run.json and the manifest both record it."""
    stages: tuple[str, ...] = ()
    """Every stage this build may send requests for (what a role may name)."""
    roles: tuple[ResolvedRole, ...] = ()
    """The models of the stages that are not the build's model's (``--role``, ``[roles.NAME]``)."""
    batched: frozenset[str] = frozenset()
    """The roles (``default``: the build's model) whose requests go through the Batch API."""

    @property
    def offline(self) -> bool:
        return not self.urls


@dataclass(frozen=True)
class Opened:
    """What ``Build.prepare`` opened for the run, set once: the folder's state, the cache, the
    LLM client, the manifest and the tally the run's rows are counted in."""

    resumed: bool
    state: Mapping[str, Any]
    """The settings run.json records once the endpoint answers."""
    cache: Cache
    llm: LLM
    manifest: Manifest
    tally: Tally
    session: Session
    """Where ``cache`` and ``llm`` come from, and the run's context (``Session.run_context``)."""


class Build:
    """One ``evol build``. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        config: BuildConfig,
        *,
        host: PluginHost | None = None,
        environ: Mapping[str, str] | None = None,
        console: Console | None = None,
        open_cache: CacheFactory = Cache,
    ) -> None:
        self.config = config
        self.host = host
        self.environ = dict(os.environ if environ is None else environ)
        self.console = console or Console(stderr=True)
        self.open_cache = open_cache
        self.stack = contextlib.ExitStack()
        self.started = time.monotonic()
        self.plan: BuildPlan | None = None  # set once by check()
        self.spent_before: float | None = 0.0  # what earlier runs of the folder spent (None: unknown); prepare() reads it
        self.opened: Opened | None = None  # set once by prepare()

    def __enter__(self) -> Build:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.stack.close()

    # --- 1. prepare ----------------------------------------------------------------------------

    def check(self) -> Build:
        """Everything about the inputs that can be wrong, found without touching the output folder
        or the network: the domain and its options, the schedule, the seeds, the endpoint's
        settings. ``prepare`` starts with it; ``evol build --dry-run`` stops after it."""
        if self.plan is not None:
            return self
        config = self.config
        self.host = self.host or load_host(environ=self.environ)
        registry = self.host.registry
        domain = _domain(registry, config.domain)
        options = domain_options(domain, config.options)
        # An operation whose prompt depends on the options (a file one names) is bound to them once.
        domain = dataclasses.replace(domain, operations=tuple(op.for_build(options) for op in domain.operations))
        try:
            operations_per_round(domain.operations, config.rounds, config.schedule)
        except ValueError as error:
            raise UsageError(str(error)) from None
        switches = scorer_switches(config, options)
        if config.evolve_answers and not config.quality:
            raise UsageError("--evolve-answers needs --quality: the versions of an answer are ranked by the quality judge")
        if config.evolve_answers and not domain.answer_evolution:
            raise UsageError(f"--evolve-answers: the {domain.name} domain cannot check a rewritten answer against what "
                             "it verified in the original, so it does not rewrite answers")
        # Before anything reads the seeds or opens the folder: the build would empty its own files.
        refuse_output_file(config.seeds, config.out)
        if not config.restart:
            # Before the seeds are read with this domain's fields: a resumed math folder without
            # --domain math would otherwise be told its seeds lack the general domain's fields.
            check_domain(config.out, domain.name)
        seed_file = SeedFile(config.seeds, domain, config.skip_invalid).validate()
        selection = Selection(config.limit, config.shard)
        if seed_file.invalid:
            log.warning("skipped %d invalid seed records (listed in the manifest)", len(seed_file.invalid))
        urls = config.endpoint_urls(self.environ)
        if config.endpoint_id == OFFLINE_ENDPOINT and urls:
            raise UsageError("--endpoint-id offline names the bundled offline model; choose another name")
        model = config.resolved_model(self.environ, not urls)
        if not urls and config.model and config.model != model:
            log.warning("no endpoint is configured, so --model %s is not used: the offline model answers", config.model)
        filters = tuple(f for f in registry.filters.values() if applies_to(f, domain.name))
        scorers = tuple(
            s for s in registry.scorers.values()
            if applies_to(s, domain.name) and (s.enabled is None or s.enabled(switches))
        )
        stages = domain_stages(domain, filters, scorers, options, config.max_tokens,
                               evolve_answers=config.evolve_answers > 0)
        roles = resolve_roles(
            config.all_roles, stages, self.environ,
            build_urls=urls, build_identity=config.identity(urls), build_key=config.resolved_api_key(self.environ),
        )
        if roles and config.ray is not None:
            raise UsageError("--role (or a recipe's [roles]) does not run on a Ray cluster yet; build without --ray")
        batched = batched_roles(config.batch, {role.name: role.config.batch for role in roles}, DEFAULT_ROLE)
        if batched and config.ray is not None:
            raise UsageError("--batch does not run on a Ray cluster yet; build without --ray")
        if config.max_cost is not None:
            prices = config.all_prices
            unpriced = sorted({m for m in (model, *(m for role in roles for m in role.models)) if m not in prices})
            if unpriced:
                raise UsageError(f"--max-cost needs a price for every model asked; none for {', '.join(unpriced)}: "
                                 "give --price MODEL=IN/OUT (dollars per million tokens)")
            if config.ray is not None:
                raise UsageError("--max-cost does not run on a Ray cluster yet; build without --ray")
        self.plan = BuildPlan(
            domain=domain, options=options, weights=_operation_weights(domain, config),
            filters=filters, scorers=scorers, stages=stages, roles=roles, batched=batched,
            seed_file=seed_file, selection=selection,
            selected=sum(1 for index in range(seed_file.valid_count) if selection.keeps(index)),
            urls=urls, model=model, identity=config.identity(urls), seeds_sha256=file_digest(config.seeds),
        )
        return self

    # The plan's parts, as the build's own names (read-only).
    checked = property(lambda self: self.plan is not None)
    domain = property(lambda self: self._plan.domain)
    options = property(lambda self: self._plan.options)
    weights = property(lambda self: self._plan.weights)
    filters = property(lambda self: list(self._plan.filters))
    scorers = property(lambda self: list(self._plan.scorers))
    seed_file = property(lambda self: self._plan.seed_file)
    selection = property(lambda self: self._plan.selection)
    selected = property(lambda self: self._plan.selected)
    offline = property(lambda self: self._plan.offline)
    model = property(lambda self: self._plan.model)
    identity = property(lambda self: self._plan.identity)
    seeds_sha256 = property(lambda self: self._plan.seeds_sha256)

    # What prepare() opened, likewise.
    prepared = property(lambda self: self.opened is not None)
    resumed = property(lambda self: self._opened.resumed)
    cache = property(lambda self: self._opened.cache)
    llm = property(lambda self: self._opened.llm)
    manifest = property(lambda self: self._opened.manifest)
    tally = property(lambda self: self._opened.tally)

    @property
    def _opened(self) -> Opened:
        if self.opened is None:
            raise RuntimeError("the build is not prepared yet: call prepare() first")
        return self.opened

    @property
    def _plan(self) -> BuildPlan:
        if self.plan is None:
            raise RuntimeError("the build is not checked yet: call check() or prepare() first")
        return self.plan

    def prepare(self) -> Build:
        self.check()
        if self.opened is not None:
            return self
        config = self.config
        if not self.offline:
            # Before the folder is made: a mistyped or unreachable URL leaves nothing behind.
            self._reach_endpoint()
        out = prepare_folder(config.out)
        self.stack.enter_context(_released(FolderLock(out).acquire()))
        state = self._folder_state()
        resumed = check_state(out, state, restart=config.restart)

        if self.offline:
            log.warning(
                "no endpoint configured (--base-url, OPENAI_BASE_URL or OPENAI_API_KEY): using the bundled "
                "offline model. It writes placeholder text to exercise the whole pipeline; it is not a real "
                "model, and every row says so (provenance.endpoint = offline)."
            )
        cache = self.stack.enter_context(contextlib.closing(self.open_cache(out / CACHE)))
        # The endpoint, its client and the cache as one session, which starts the offline model.
        # A role of several models: one endpoint configuration (and client) per model.
        roles = {
            role.name: (tuple(dataclasses.replace(self._endpoint(), urls=role.urls, model=model, identity=role.identity,
                                                  api_key=role.api_key or self._endpoint().api_key,
                                                  concurrency=role.config.concurrency or config.concurrency)
                              for model in role.models), role.stages)
            for role in self._plan.roles
        }
        # The cap is on what the folder's builds spent in all: a resumed build starts from its last total.
        self.spent_before = _spent_before(out) if resumed else 0.0
        if self.spent_before is None and config.max_cost is not None:
            log.warning("what earlier runs of this folder spent is unknown (a model without a price): --max-cost "
                        "counts this run's spending only")
        session = self.stack.enter_context(Session.open(
            self._endpoint(), cache, roles=roles, offline_server=LoopbackLLM,
            prices=config.all_prices, meter=CostMeter(config.max_cost, spent=self.spent_before or 0.0),
            # Also when nothing is batched now: batches an earlier run left in flight are collected.
            batching=Batching(self._plan.batched, BatchSettings(config.batch_size, config.batch_window),
                              BatchLedger(out / BATCHES)),
        ))
        llm = session.llm
        manifest = Manifest(out, self._manifest_static(resumed))
        if resumed and manifest.previous.status == "interrupted":
            log.warning("resuming a build that was interrupted (%s)", manifest.previous.reason or "no reason recorded")
        tally = Tally(seeds=self.selected, rounds=config.rounds)
        manifest.write("running", reason=None, tally=tally, requests={}, endpoints=[], wall_time_s=0.0)
        self.opened = Opened(resumed=resumed, state=state, cache=cache, llm=llm, manifest=manifest, tally=tally,
                             session=session)
        return self

    def _endpoint(self) -> EndpointConfig:
        """The plan's endpoint with the run's limits, as the session opens it."""
        config = self.config
        return EndpointConfig(
            urls=self._plan.urls, model=self.model, identity=self.identity,
            api_key=OFFLINE_API_KEY if self.offline else config.resolved_api_key(self.environ),
            concurrency=config.concurrency, max_attempts=config.max_attempts, timeout=config.timeout,
            max_outage=config.max_outage,
        )

    def _reach_endpoint(self) -> None:
        """The session's own preflight, on a cache in memory (the folder's is not made yet):
        raises what stops the run (no endpoint can be reached, the key is refused). Its warnings
        are the run's preflight's to print."""

        async def probe() -> None:
            # With the build's batching, a build batched on a server without the Batch API stops here.
            batching = Batching(self._plan.batched, BatchSettings(), BatchLedger(None))
            with Session.open(self._endpoint(), Path(":memory:"), batching=batching) as session:
                try:
                    await session.preflight()
                finally:
                    await session.aclose()

        asyncio.run(probe())

    def record_settings(self) -> None:
        """The folder now belongs to these settings: called once the endpoint has answered."""
        record_state(self.config.out, dict(self._opened.state))

    # --- 2. run --------------------------------------------------------------------------------

    def run(self) -> BuildSummary:
        if not self.prepared:
            self.prepare()
        config = self.config
        assert self.host is not None
        run = self._opened.session.run_context(
            self.domain, seed=config.seed, options=self.options, out_dir=config.out, decoding=config.decoding,
            role_decoding={role.name: role.config.decoding(config.decoding) for role in self._plan.roles},
        )
        output = self.stack.enter_context(
            contextlib.closing(Output(config.out, self._provenance(), self.tally, self._provenance_entries()))
        )
        engine = Engine(
            run, self.domain,
            rounds=config.rounds, schedule=config.schedule, filters=self.filters, scorers=self.scorers,
            write=output.write_lineage, weights=self.weights,
            # Two lineages per request slot of every endpoint: most of a lineage's time is one request.
            # A batched build keeps enough lineages waiting to fill its batches.
            max_active=max(2 * config.concurrency * sum(len(c.endpoints.all) for c in self._opened.session.clients), 16,
                           config.batch_size if self._plan.batched else 0),
            label=self._label, watch=FailureWatch(), answers=answer_evolution(config.evolve_answers),
        )
        progress = Progress(seeds=self.selected, rounds=config.rounds)
        session = self._opened.session
        display = BuildProgress(
            progress, self.llm, live=config.progress, console=self.console,
            others=lambda: [client for client in session.clients if client is not self.llm], cost=self._spent_text,
        )
        seeds = (seed for seed in self.seed_file if self.selection.keeps(seed.index))
        hook = self.host.manager.hook

        async def main() -> None:
            try:
                for warning in await self._opened.session.preflight():
                    log.warning("%s", warning)
                self.record_settings()
                try:
                    hook.evol_run_start(run=run)
                    work = asyncio.ensure_future(engine.build(seeds, progress))
                    try:
                        await display.run(work)
                    finally:
                        # On Ctrl-C the engine is cancelled: let it unwind before its client closes,
                        # so that no request fails on a closed client and is taken for a failure.
                        work.cancel()
                        await asyncio.gather(work, return_exceptions=True)
                finally:
                    # Also when a plugin's run_start raised: the plugins started before it close
                    # what they opened.
                    hook.evol_run_end(run=run)
            finally:
                await self._opened.session.aclose()

        status: Status = "complete"
        reason: str | None = None
        exit_code = ExitCode.OK
        try:
            asyncio.run(_first_error(main()))
        except (Exception, KeyboardInterrupt) as error:
            status, reason, exit_code = ending(error)
        finally:
            output.close()
        clients = self._opened.session.clients
        requests = {
            "sent": sum(c.stats.sent for c in clients),
            "from_cache": sum(c.stats.cached for c in clients),
            "retries": sum(c.stats.retries for c in clients),
            "failed": sum(c.stats.failed for c in clients),
            "tokens_this_invocation": sum((c.stats.usage for c in clients), Usage()).as_dict(),
        }
        endpoints = [{"url": e.name, **e.stats.as_dict()} for c in clients for e in c.endpoints.all]
        # Per role only when there are roles: a build without them keeps the manifest it had.
        numbers = self._opened.session.role_numbers()
        costs = [n["cost_usd"] for n in numbers.values()]
        # What this invocation spent; None when a model asked has no price: unknown, never 0.
        now = round(sum(costs), 6) if None not in costs else None
        extra: dict[str, Any] = {"cost": {
            "usd_this_invocation": now,
            "usd_total": round(now + self.spent_before, 6) if now is not None and self.spent_before is not None else None,
            "unpriced_models": sorted({n["model"] for n in numbers.values() if n["cost_usd"] is None}),
            "max_cost": self.config.max_cost,
        }}
        batches = batch_numbers(numbers, self._opened.session.batching.ledger) if self._opened.session.batching else None
        if batches is not None:
            extra["cost"]["batch_discount_usd"] = batches["discount_usd"]
            extra["batches"] = batches
        if self._plan.roles:
            claimed = {stage for role in self._plan.roles for stage in role.stages}
            if DEFAULT_ROLE in numbers:
                numbers[DEFAULT_ROLE]["stages"] = [stage for stage in self._plan.stages if stage not in claimed]
            extra["roles"] = numbers
        return self.conclude(status, reason, exit_code, requests, endpoints, extra)

    def conclude(
        self, status: Status, reason: str | None, exit_code: ExitCode, requests: Mapping[str, Any],
        endpoints: list[Mapping[str, Any]], extra: Mapping[str, Any] | None = None,
    ) -> BuildSummary:
        """How the run ended, in the manifest and the card, from the rows written (``self.tally``);
        a run on a cluster ends here too."""
        assert self.host is not None
        if status == "complete" and (self.tally.failed or self.tally.lineages < self.selected):
            status, exit_code = "partial", ExitCode.PARTIAL
            reason = f"{self.tally.failed} samples failed (failed.jsonl); running the same command again retries them"
        manifest = self.manifest.write(
            status, reason=reason, tally=self.tally, requests=requests, endpoints=endpoints,
            wall_time_s=time.monotonic() - self.started, extra=extra,
        )
        from ..publish.card import refresh_card  # here: the card reads the folder with the report's model

        refresh_card(self.config.out, self.host.registry.exporters, self.host.registry.report_sections.values())
        return BuildSummary(status, reason, exit_code, self.config.out, self.tally.as_dict(), requests, manifest)

    # --- 3. report -----------------------------------------------------------------------------

    def report(self, summary: BuildSummary, console: Console | None = None) -> None:
        console = console or self.console
        console.print(rounds_table(self.tally, f"evol build: {summary.status}"))
        kinds = summary.counts.get("failures_per_kind", {})
        # Candidates a sibling of the same round beat are not failed evolutions: say how many.
        per_filter = summary.counts.get("eliminations_per_filter", {})
        not_chosen = sum(int(per_filter.get(name, 0)) for name in NOT_CHOSEN)
        ranked = f" ({not_chosen} of them not chosen among a round's candidates)" if not_chosen else ""
        line = (
            f"{summary.dataset}: {summary.kept} samples; {summary.eliminated} eliminated{ranked}; {summary.failed} failed"
            f" ({self.tally.lineages_finished} of {self.selected} seeds finished)"
        )
        advice = []
        if kinds.get("transient"):
            advice.append(f"{kinds['transient']} transient: running the same command again retries them")
        if kinds.get("rejected"):
            advice.append(f"{kinds['rejected']} rejected by the endpoint: retrying will not help (see failed.jsonl)")
        if kinds.get("error"):
            advice.append(f"{kinds['error']} raised an error in plugin or core code (see failed.jsonl)")
        console.print("evol: " + line + (f"; {'; '.join(advice)}" if advice else ""), soft_wrap=True, highlight=False)
        if self.offline:
            console.print(
                "evol: the bundled offline model wrote these rows: its answers, and the numbers its judges "
                "gave (scores, rankings), are placeholders, not judgements (provenance.endpoint = offline).",
                soft_wrap=True, highlight=False, markup=False,
            )
        cost = (summary.manifest or {}).get("cost") or {}
        if cost.get("usd_this_invocation") is not None:
            console.print(f"evol: cost this invocation: ${cost['usd_this_invocation']:.4f}", highlight=False, markup=False)
        elif cost.get("unpriced_models"):
            console.print("evol: cost unknown: no price for " + ", ".join(cost["unpriced_models"])
                          + " (--price MODEL=IN/OUT)", highlight=False, markup=False)
        if summary.status != "complete" and summary.reason:
            console.print(f"evol: {summary.status}: {summary.reason}", soft_wrap=True, highlight=False, markup=False)

    def dry_run(self) -> Any:
        """What the build would send at most (``evol build --dry-run``); sends nothing."""
        from .estimate import estimate

        self.check()
        if self.config.out.is_dir():
            # The folder check the build would make, reading only: a dry run of a command the
            # folder would refuse says so.
            check_state(self.config.out, self._folder_state(), restart=self.config.restart)
        return estimate(
            seed_file=self.seed_file, selection=self.selection, domain=self.domain, options=self.options,
            rounds=self.config.rounds, max_tokens=self.config.max_tokens, filters=self.filters,
            scorers=self.scorers, label=self._label, answers=answer_evolution(self.config.evolve_answers),
        )

    # --- helpers -------------------------------------------------------------------------------

    def _folder_state(self) -> dict[str, Any]:
        """What run.json records: the settings that decide the dataset (``dataset_options``), as
        given or, for those in ``RESOLVED_STATE``, as the build resolved them."""
        config = self.config
        state = {key: _recorded(getattr(config, key)) for key in sorted(dataset_options() - set(RESOLVED_STATE))}
        # A domain option that cannot change a row (the sandbox's workers) is not the folder's to
        # keep: a resumed build may change it.
        options = self.options.model_dump(mode="json", exclude=set(rows_unchanged(type(self.options))))
        state.update(
            model=self.model, options=_recorded(options), endpoint=self.identity,
            seeds_sha256=self.seeds_sha256,
        )
        if not config.difficulty:
            # Recorded only when asked for, so a folder built before the option existed resumes.
            del state["difficulty"]
        if not config.quality:  # likewise
            del state["quality"]
        if not config.evolve_answers:  # likewise
            del state["evolve_answers"]
        if self._plan.roles:  # likewise: a build without roles records none
            state["roles"] = {role.name: role.recorded() for role in self._plan.roles}
        return state

    def _spent_text(self) -> str:
        """The live display's cost: what the folder's runs spent so far, unknown once a model
        without a price has answered."""
        session = self._opened.session
        if self.spent_before is None or any(c.price is None and c.stats.usage.requests for c in session.clients):
            return " · cost unknown"
        cap = session.meter.cap if session.meter is not None else None
        return f" · ${session.meter.spent:.2f}" + (f" of ${cap:g}" if cap is not None else "") if session.meter else ""

    def stage_prices(self) -> dict[str, tuple[str, Price | None, tuple[str, ...]]]:
        """Each stage's model, as its role or the build asks it, that model's price (None:
        unknown) and the models without a price, for the dry run. A stage of several models is priced at the dearest of them per
        prompt and per completion token, so the dry run's cost stays a bound. A batched stage is
        priced at the Batch API's price."""
        prices = self.config.all_prices
        models = {stage: (self.model,) for stage in self._plan.stages}
        models.update({stage: role.models for role in self._plan.roles for stage in role.stages})
        owner = {stage: role.name for role in self._plan.roles for stage in role.stages}
        batched = {stage for stage in models if owner.get(stage, DEFAULT_ROLE) in self._plan.batched}
        return {stage: (", ".join(names) + (" (batch)" if stage in batched else ""),
                        price.batched() if price is not None and stage in batched else price,
                        tuple(name for name in names if name not in prices))
                for stage, names in models.items() for price in (_dearest([prices.get(name) for name in names]),)}

    def _provenance(self) -> dict[str, Any]:
        """What every row says made it: the build's endpoint and model, and with roles the model
        of each stage a role of one model serves (the other stages: ``model``; a stage of several
        models: the one that served the row's sample, which its row adds)."""
        provenance: dict[str, Any] = {"endpoint": self.identity, "model": self.model}
        if self._plan.roles:
            provenance["models"] = {stage: {"model": role.models[0], "endpoint": role.identity}
                                    for role in self._plan.roles if len(role.models) == 1 for stage in role.stages}
        return provenance

    def _provenance_entries(self) -> Callable[[Sample], dict[str, Any]] | None:
        """What the plugins' provenance entries add to a row (None: no entry applies to the domain).
        A value that is not JSON would be written as something else (or not at all): it stops the
        build, naming the plugin, rather than leave a row that says what the plugin did not."""
        assert self.host is not None
        entries = [entry for entry in self.host.registry.provenance.values() if applies_to(entry, self.domain.name)]
        if not entries:
            return None
        options = self.options

        def extra(sample: Sample) -> dict[str, Any]:
            found: dict[str, Any] = {}
            for entry in entries:
                try:
                    value = entry.value(sample, options)
                    json.dumps(value, allow_nan=False)
                except Exception as error:  # noqa: BLE001 - a plugin's bug, reported as one
                    raise PluginError(f"{self._label(entry)}: its value for {sample.id} failed: {error!r}") from error
                if value is not None:
                    found[entry.name] = value
            return found

        return extra

    def _label(self, registration: Registration) -> str:
        assert self.host is not None
        owner = self.host.registry.owner(registration.kind, registration.name)
        return f"{registration.kind} {registration.name!r}" + (f" of plugin {owner!r}" if owner else "")

    def _manifest_static(self, resumed: bool) -> dict[str, Any]:
        assert self.host is not None
        return {
            "command": list(self.config.command),
            **({"call": self.config.call} if self.config.call else {}),
            # The weights the draw used: the domain's defaults with the user's overrides.
            "config": {**self.config.recorded(), "options": _recorded(self.options.model_dump(mode="json")),
                       "operation_weights": dict(self.weights)},
            "endpoint": {"identity": self.identity, "offline": self.offline, "model": self.model},
            "resumed": resumed,
            "versions": {"evolinstruct": self.host.version, "plugins": self.host.active_versions()},
            "seeds": {
                "file": str(self.config.seeds),
                "sha256": self.seeds_sha256,
                "valid": self.seed_file.valid_count,
                "selected": self.selected,
                "invalid": [item.as_dict() for item in self.seed_file.invalid],
            },
        }


def _dearest(prices: Sequence[Price | None]) -> Price | None:
    """The most any of ``prices`` charges per prompt and per completion token; None (unknown)
    when one of them is."""
    if not prices or any(price is None for price in prices):
        return None
    return Price(max(p.prompt for p in prices if p), max(p.completion for p in prices if p))


def _spent_before(out: Path) -> float | None:
    """The dollars the folder's earlier runs spent, from its manifest (None: unknown)."""
    try:
        total = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["cost"]["usd_total"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a manifest from before costs were counted, or none
    return float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None


def domain_options(domain: Domain, given: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> DomainOptions:
    """The domain's options, checked by its model (the rest at their defaults); one the domain
    does not have is a usage error that lists the ones it has. ``sources`` says where each given
    option came from (the command line, a recipe), for the messages."""
    fields = domain.options.model_fields
    unknown = sorted(set(given) - set(fields))
    if unknown:
        names = ", ".join(f"--{name.replace('_', '-')}" for name in sorted(fields)) or "none"
        where = {name: f" (from {sources[name]})" if sources and name in sources else "" for name in unknown}
        raise UsageError(
            f"{', '.join('--' + name.replace('_', '-') + where[name] for name in unknown)}: not an option of domain "
            f"{domain.name!r} (its options: {names})"
        )
    return checked_options(domain.options, given, sources=sources)


def scorer_switches(config: BuildConfig, options: DomainOptions) -> dict[str, Any]:
    """What ``Scorer.enabled`` reads: the domain's options and the core options that switch
    scorers on (``difficulty``, ``quality``), by option name. A domain option cannot take a core option's
    name (``evol build`` would not show it), so the two never collide."""
    return {**options.model_dump(), "difficulty": config.difficulty, "quality": config.quality}


def _domain(registry: Registry, name: str) -> Domain:
    domain = registry.domains.get(name)
    if domain is None:
        active = ", ".join(sorted(registry.domains)) or "none"
        raise UsageError(f"--domain {name}: no such domain; active domains: {active} (see evol domains list)")
    return domain


def _operation_weights(domain: Domain, config: BuildConfig) -> dict[str, float]:
    names = {op.name for op in domain.operations}
    unknown = sorted(set(config.operation_weights) - names)
    if unknown:
        raise UsageError(
            f"--operation-weights: {', '.join(unknown)} is not an operation of domain {domain.name!r} "
            f"(its operations: {', '.join(sorted(names))})"
        )
    weights = {op.name: op.weight for op in domain.operations} | config.operation_weights
    for number, operations in enumerate(operations_per_round(domain.operations, config.rounds, config.schedule), start=1):
        if operations and not any(weights[op.name] > 0 for op in operations):
            raise UsageError(f"--operation-weights: every operation round {number} may draw has weight 0")
    return weights


def _recorded(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _recorded(item) for key, item in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_recorded(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@contextlib.contextmanager
def _released(lock: FolderLock):  # type: ignore[no-untyped-def]
    try:
        yield lock
    finally:
        lock.release()


async def _first_error(coroutine: Any) -> None:
    """Surface the first real error of the engine's task group instead of an ExceptionGroup."""
    try:
        await coroutine
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
