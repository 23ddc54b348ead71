"""A build on a Ray cluster (``evol build --ray``): the driver's side.

After ``Build.prepare()`` (options, seeds, folder, endpoints: all checked on the driver, before
anything is sent) the driver

1. connects to the cluster (``--ray ADDRESS``, else ``RAY_ADDRESS``, else a new local cluster,
   which listens on loopback only);
2. splits the selected seeds into one shard per CPU of the cluster (at most ``--concurrency``):
   the seed at position p of the selection goes to shard p mod S, which is ``--shard`` nested in
   ``--shard``, so the user's own ``--shard I/N`` still holds. Each shard gets an equal share of
   ``--concurrency``, so the requests in flight to an endpoint stay within it, and runs as a Ray
   task (ray_shard.py): a complete build of its seeds on the node Ray places it on, where its
   sandbox and sympy checks run too;
3. watches: one progress display for the whole cluster from the shards' reports, their
   warnings on the driver's log, and Ctrl-C (or a shard that stops the run, as one process would
   stop) asks every shard to write what it has and return. A shard whose worker dies (SIGKILL,
   a lost node) is run again by Ray, up to ``SHARD_RETRIES`` times; its responses were cached in
   its own file on the shared output folder as they arrived, so it sends none of them again;
4. writes the folder's row files from the shards' (shard_folders.py): the same bytes a
   one-process run of the same command writes, counts added up from the shards' (the same
   counts), absorbs the shards' caches into ``cache.sqlite``, and writes the manifest with a
   ``ray`` section: per node, the shards, attempts, rows and requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from pydantic import SecretStr
from rich.live import Live
from rich.table import Table

from ...runtime.endpoints import EndpointStats
from ...runtime.llm import LLM, LLMStats
from ...runtime.tally import Tally
from ...types.errors import EvolError, ExitCode
from ...types.records import Usage
from ..build.build import Build
from ..build.config import OFFLINE_ENDPOINT
from ..build.outcome import BuildSummary, Status, ending
from .ray_auth import prepare_driver
from .ray_shard import Attempt, Board, ShardReport, ShardResult, ShardSpec, run_shard
from .shard_folders import absorb_shard_caches, merge_rows, shard_folder

log = logging.getLogger("evolinstruct.ray")

LOCAL = "local"
SHARD_RETRIES = 3
CONNECT_TIMEOUT_S = 5.0  # to find out whether anything listens at a cluster address
WAIT_S = 0.25
LOG_EVERY_S = 10.0
REPEAT_WARNINGS_AFTER_S = 60.0
PLUGIN_VARIABLES = ("EVOL_PLUGINS", "EVOL_DISABLE_PLUGINS", "EVOL_STRICT_PLUGINS")
STOPPING: frozenset[Status] = frozenset({"refused", "aborted"})
"""A shard's endings that stop the run whatever it had written: the run was refused (exit 2),
or the same failure came again and again (exit 4)."""


def run_on_ray(build: Build) -> BuildSummary:
    """The Ray runner: a prepared build's engine on a Ray cluster, one build per shard; returns
    its summary as ``Build.run``, the local runner, does."""
    return _ClusterRun(build).run()


def connect(address: str | None, environ: dict[str, str]) -> tuple[Any, str]:
    """Ray, connected to the cluster the options name; and the cluster's address."""
    address = address or environ.get("RAY_ADDRESS") or LOCAL
    if address == LOCAL and "ray" not in sys.modules:
        # A cluster started for one build serves that build alone: it listens on loopback only.
        # Ray's switch for that is this variable (meant for laptops), read when ray is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    unreachable = _unreachable(address)
    if unreachable is not None:
        # Ray itself waits many minutes for a cluster that is not there, deaf to Ctrl-C.
        raise EvolError(f"--ray: cannot reach the Ray cluster at {address}: {unreachable}")
    if _host_and_port(address) is not None:
        # Joining a cluster someone started: its token, and why it refuses us, before ray.init.
        refused = prepare_driver(address)
        if refused is not None:
            raise EvolError(f"--ray: {refused}")
    import ray

    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    except Exception as error:  # noqa: BLE001 - whatever Ray says, it is about the cluster the user named
        shown = "a new local cluster" if address == LOCAL else address
        raise EvolError(f"--ray: cannot start or reach the Ray cluster ({shown}): {error}") from None
    return ray, ray.get_runtime_context().gcs_address


def _host_and_port(address: str) -> tuple[str, int] | None:
    """The host and port of a cluster's ``HOST:PORT`` address; None for any other (``local``,
    ``auto``: Ray's own; ``ray://``: Ray Client's)."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in host:
        return None
    return host or "127.0.0.1", int(port)


def _unreachable(address: str) -> str | None:
    """Why nothing answers at a ``HOST:PORT`` (or ``ray://HOST:PORT``) address, or None when
    something does, or when the address is not of that form (``local``, ``auto``: Ray's own)."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return None
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        return error.strerror or str(error) or type(error).__name__
    return None


def share(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` whole shares that add up to it, the larger ones first."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def shard_of(user_shard: tuple[int, int] | None, index: int, count: int) -> tuple[int, int]:
    """Shard ``index`` of ``count`` of the seeds ``--shard I/N`` selects, as one ``--shard``.

    A seed of ``I/N`` has index I + N*k, k its position in that selection; position k going to
    shard k mod S makes the seed's index I + N*j modulo N*S.
    """
    part, parts = user_shard or (0, 1)
    return (part + parts * index, parts * count)


@dataclass
class _Node:
    host: str
    ip: str
    shards: set[int] = field(default_factory=set)
    attempts: int = 0
    attempts_lost: int = 0
    rows: Tally = field(default_factory=Tally)
    """The rows of the shards that finished here, counted as the build's own are."""
    stats: LLMStats = field(default_factory=LLMStats)
    cpu_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "ip": self.ip, "shards": [index + 1 for index in sorted(self.shards)],
            "attempts": self.attempts, "attempts_lost": self.attempts_lost,
            "lineages": self.rows.lineages, "kept": self.rows.kept, "eliminated": self.rows.eliminated,
            "failed": self.rows.failed, "requests": _requests(self.stats), "cpu_s": round(self.cpu_s, 2),
        }


class _ClusterRun:
    def __init__(self, build: Build) -> None:
        self.build = build
        self.config = build.config
        self.specs: list[ShardSpec] = []
        self.results: dict[int, ShardResult] = {}
        self.lost: dict[int, str] = {}
        self.reports: dict[tuple[int, Attempt], ShardReport] = {}
        self.messages_seen = 0
        self.warned: dict[str, float] = {}
        self.stopper: ShardResult | None = None
        self.interrupted = False
        self.address = ""

    # --- the run -----------------------------------------------------------------------------

    def run(self) -> BuildSummary:
        build = self.build
        status: Status = "complete"
        reason: str | None = None
        exit_code = ExitCode.OK
        ray: Any = None
        try:
            for warning in asyncio.run(_preflight(build.llm)):
                log.warning("%s", warning)
            build.record_settings()
            ray, self.address = connect(self.config.ray, build.environ)
            self.specs = self.plan(ray)
            build.cache.checkpoint()  # the shards read it read-only: all of it must be in the file
            self.watch(ray)
        except KeyboardInterrupt:
            self.interrupted = True
        except Exception as error:  # the endpoint refused the run, the cluster cannot be reached...
            status, reason, exit_code = ending(error)
        finally:
            if ray is not None:
                ray.shutdown()
        try:
            self.collect()
        except Exception as error:
            status, reason, exit_code = ending(error)
        if status == "complete":
            status, reason, exit_code = self.outcome()
        return self.finish(status, reason, exit_code)

    def plan(self, ray: Any) -> list[ShardSpec]:
        build, config = self.build, self.config
        assert build.host is not None
        slots = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, min(slots, config.concurrency, build.selected))
        out = config.out.resolve()
        urls = config.endpoint_urls(build.environ)
        key = config.resolved_api_key(build.environ)
        expected = {
            "seeds_sha256": build.manifest.static["seeds"]["sha256"],
            "versions": {"evolinstruct": build.host.version, **build.host.active_versions()},
        }
        specs = []
        for index, concurrency in enumerate(share(config.concurrency, count)):
            shard_config = config.model_copy(update={
                "out": shard_folder(out, index, count), "seeds": config.seeds.resolve(),
                "shard": shard_of(config.shard, index, count), "concurrency": concurrency,
                "ray": None, "progress": False, "restart": True,
                # What the driver resolved from its environment, so that every node uses the same.
                "base_url": urls, "api_key": SecretStr(key) if key else None,
                "model": None if build.identity == OFFLINE_ENDPOINT else build.model,
            })
            specs.append(ShardSpec(
                index=index, count=count, config=shard_config, main_cache=build.cache.path.resolve(),
                plugin_environ={name: build.environ[name] for name in PLUGIN_VARIABLES if name in build.environ},
                disabled=frozenset(build.host.disabled),
                expected={**expected, "selected": len(range(index, build.selected, count))},
            ))
        log.info("%d shards on the Ray cluster at %s (%d CPUs), %s requests in flight per endpoint",
                 count, self.address, slots, "+".join(str(spec.config.concurrency) for spec in specs))
        return specs

    def watch(self, ray: Any) -> None:
        board = ray.remote(num_cpus=0)(Board).remote()
        task = ray.remote(run_shard).options(
            num_cpus=1, max_retries=SHARD_RETRIES, retry_exceptions=False, scheduling_strategy="SPREAD",
        )
        refs = {task.remote(spec, board): spec for spec in self.specs}
        pending = list(refs)
        view = _ClusterView(self)
        live = sys.stderr.isatty() if self.config.progress is None else self.config.progress
        display = Live(view, console=self.build.console, refresh_per_second=4, transient=True) if live else None
        next_log = time.monotonic() + LOG_EVERY_S
        with display or contextlib.nullcontext():
            while pending:
                try:
                    ready, pending = ray.wait(pending, num_returns=len(pending), timeout=WAIT_S)
                    for ref in ready:
                        self.received(ray, refs[ref], ref, board)
                    self.poll(ray, board)
                    if display is None and time.monotonic() >= next_log:
                        log.info("%s", view.line())
                        next_log = time.monotonic() + LOG_EVERY_S
                except KeyboardInterrupt:
                    if self.interrupted:  # a second Ctrl-C: stop now, keeping what the shards cached
                        for ref in pending:
                            ray.cancel(ref, force=True)
                        raise
                    self.interrupted = True
                    log.warning("interrupted: the shards write what they have (Ctrl-C again to stop at once)")
                    board.stop.remote()
        with contextlib.suppress(Exception):
            self.poll(ray, board)  # the last reports: what attempts that died had done

    def received(self, ray: Any, spec: ShardSpec, ref: Any, board: Any) -> None:
        try:
            result: ShardResult = ray.get(ref)
        except ray.exceptions.RayError as error:
            # Its worker died more often than Ray retries, or its node is gone for good.
            self.lost[spec.index] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            log.warning("%s could not finish: %s", spec.label, self.lost[spec.index])
            return
        self.results[spec.index] = result
        stops = result.status in STOPPING or (result.status in ("partial", "interrupted") and not result.finished_all)
        if stops and self.stopper is None and not self.interrupted:
            # As in one process: what stops one shard (an outage, a systematic failure, an
            # endpoint refusing the run, a node refusing the run's start) stops the run.
            self.stopper = result
            board.stop.remote()

    def poll(self, ray: Any, board: Any) -> None:
        try:
            reports, messages = ray.get(board.read.remote(self.messages_seen), timeout=30)
        except ray.exceptions.RayError as error:  # the display misses a beat; the shards go on
            log.debug("the shards' board could not be read: %s", error)
            return
        self.messages_seen += len(messages)
        for report in reports:
            key = (report.shard, report.attempt)
            if key not in self.reports:
                self.started(report)
            self.reports[key] = report
        now = time.monotonic()
        for shard, attempt, text in messages:
            # Every shard meets the same endpoint outage: one line, not one per shard.
            if now - self.warned.get(text, -REPEAT_WARNINGS_AFTER_S) >= REPEAT_WARNINGS_AFTER_S:
                self.warned[text] = now
                log.warning("%s on %s: %s", self.specs[shard].label, attempt.host, text)

    def started(self, report: ShardReport) -> None:
        label = self.specs[report.shard].label
        earlier = [attempt for shard, attempt in self.reports if shard == report.shard]
        if earlier:
            last = max(earlier, key=lambda attempt: attempt.started)
            log.warning("%s runs again on %s: its worker on %s ended without finishing", label, report.attempt.where, last.where)
        else:
            log.info("%s started on %s", label, report.attempt.where)

    # --- the result --------------------------------------------------------------------------

    def collect(self) -> None:
        """The folder's files from the finished shards, and their counts."""
        build = self.build
        out = self.config.out
        finished = {index: shard_folder(out, index, len(self.specs)) for index, result in self.results.items()
                    if result.tally is not None}
        # Written whatever happened (empty when no shard ran), so that they describe this pass
        # and agree with the counts, as a one-process run's do.
        seed_ids = (seed.id for seed in build.seed_file if build.selection.keeps(seed.index))
        lineages = merge_rows(out, finished, max(1, len(self.specs)), seed_ids)
        for index in finished:
            tally = self.results[index].tally
            assert tally is not None
            build.tally.absorb(tally)
        if lineages != build.tally.lineages:
            raise RuntimeError(f"the shards counted {build.tally.lineages} lineages but their files hold {lineages}")
        absorb_shard_caches(out, build.cache)

    def outcome(self) -> tuple[Status, str | None, ExitCode]:
        if self.interrupted:
            return "interrupted", "interrupted by the user (Ctrl-C)", ExitCode.INTERRUPTED
        if self.stopper is not None:
            # The shard's own ending, which is one process's for the same fault.
            result = self.stopper
            return result.status, f"{self.specs[result.shard].label} on {result.attempt.host}: {result.reason}", ExitCode(result.exit_code)
        if self.lost:
            lost = "; ".join(f"{self.specs[index].label}: {why}" for index, why in sorted(self.lost.items()))
            return "partial", (f"{len(self.lost)} of {len(self.specs)} shards could not finish ({lost}); running the "
                               "same command again resumes them from what they had received"), ExitCode.PARTIAL
        return "complete", None, ExitCode.OK

    def finish(self, status: Status, reason: str | None, exit_code: ExitCode) -> BuildSummary:
        nodes, total, endpoints = self.accounts()
        return self.build.conclude(status, reason, exit_code, _requests(total), endpoints, extra={"ray": {
            "address": self.address, "shards": len(self.specs), "shard_retries": SHARD_RETRIES,
            "nodes": [node.as_dict() for node in nodes],
            "per_shard": [self.shard_entry(spec) for spec in self.specs],
        }})

    def attempts(self) -> Iterator[tuple[int, Attempt, ShardResult | ShardReport, bool]]:
        """Every attempt of every shard with its numbers: its result's, or for an attempt that
        died (or was stopped at once), its last report's."""
        finals = {(result.shard, result.attempt): result for result in self.results.values()}
        for (shard, attempt), report in self.reports.items():
            result = finals.pop((shard, attempt), None)
            yield shard, attempt, result or report, result is None
        for result in finals.values():  # finished before its first report reached the board
            yield result.shard, result.attempt, result, False

    def accounts(self) -> tuple[list[_Node], LLMStats, list[dict[str, Any]]]:
        nodes: dict[str, _Node] = {}
        total = LLMStats()
        per_endpoint: dict[str, EndpointStats] = {}
        for shard, attempt, numbers_of, lost in self.attempts():
            node = nodes.setdefault(attempt.node_id, _Node(attempt.host, attempt.ip))
            node.shards.add(shard)
            node.attempts += 1
            node.attempts_lost += lost
            node.stats = _add(node.stats, numbers_of.stats)
            node.cpu_s += numbers_of.cpu_s
            total = _add(total, numbers_of.stats)
            for name, _up, numbers in numbers_of.endpoints:
                mine = per_endpoint.setdefault(name, EndpointStats())
                mine.requests += numbers.requests
                mine.failures += numbers.failures
                mine.latency_s += numbers.latency_s
                mine.outages += numbers.outages
        for result in self.results.values():
            if result.tally is not None:
                node = nodes.setdefault(result.attempt.node_id, _Node(result.attempt.host, result.attempt.ip))
                node.rows.absorb(result.tally)
        # In the order they were given; with the offline model, each shard's own loopback server.
        order = [endpoint.name for endpoint in self.build.llm.endpoints.all]
        order += sorted(set(per_endpoint) - set(order))
        endpoints = [{"url": name, **per_endpoint[name].as_dict()} for name in order if name in per_endpoint]
        return sorted(nodes.values(), key=lambda node: (node.host, node.ip)), total, endpoints

    def shard_entry(self, spec: ShardSpec) -> dict[str, Any]:
        attempts = sorted((attempt for shard, attempt in self.reports if shard == spec.index), key=lambda a: a.started)
        result = self.results.get(spec.index)
        return {
            "shard": spec.index + 1, "seeds": spec.expected["selected"], "concurrency": spec.config.concurrency,
            "attempts": [{"host": attempt.host, "ip": attempt.ip, "pid": attempt.pid} for attempt in attempts],
            "status": result.status if result is not None else "lost",
            "lineages": result.tally.lineages if result is not None and result.tally is not None else 0,
        }


class _ClusterView:
    """The live table: rows written per round over every shard, and the cluster's requests."""

    def __init__(self, run: _ClusterRun) -> None:
        self.run = run

    def latest(self) -> list[ShardReport]:
        newest: dict[int, ShardReport] = {}
        for (shard, attempt), report in self.run.reports.items():
            if shard not in newest or attempt.started > newest[shard].attempt.started:
                newest[shard] = report
        return list(newest.values())

    def numbers(self) -> tuple[dict[int, list[int]], int, LLMStats, int, str]:
        reports = self.latest()
        per_round: dict[int, list[int]] = {}
        for report in reports:
            for number, counts in report.per_round.items():
                row = per_round.setdefault(number, [0, 0, 0])
                for position, value in enumerate(counts):
                    row[position] += value
        stats = LLMStats()
        for report in reports:
            stats = _add(stats, report.stats)
        lineages = sum(report.lineages for report in reports)
        in_flight = sum(report.in_flight for report in reports)
        down = sorted({name for report in reports if report.phase == "running" for name, up, _ in report.endpoints if not up})
        running = sum(1 for report in reports if report.phase == "running")
        nodes = len({report.attempt.node_id for report in reports})
        status = f"shards {running} running of {len(self.run.specs)} on {nodes} node{'s' * (nodes != 1)}"
        if down:
            status += f" · endpoints down: {', '.join(down)}"
        return per_round, lineages, stats, in_flight, status

    def line(self) -> str:
        per_round, lineages, stats, in_flight, status = self.numbers()
        rounds = "; ".join(f"r{number} kept {row[0]}, elim {row[1]}, failed {row[2]}" for number, row in sorted(per_round.items()))
        return (f"lineages {lineages}/{self.run.build.selected}; {rounds or 'starting'}; in flight {in_flight}; "
                f"sent {stats.sent}; cached {stats.cached}; {status}")

    def __rich__(self) -> Table:
        per_round, lineages, stats, in_flight, status = self.numbers()
        table = Table(title="evol build (ray)", title_justify="left")
        for column in ("round", "kept", "eliminated", "failed"):
            table.add_column(column, justify="left" if column == "round" else "right")
        for number in range(self.run.config.rounds + 1):
            row = per_round.get(number, [0, 0, 0])
            table.add_row("0 (seeds)" if number == 0 else str(number), *(str(value) for value in row))
        table.caption = (
            f"lineages {lineages}/{self.run.build.selected} · in flight {in_flight} · sent {stats.sent} · "
            f"from cache {stats.cached} · retries {stats.retries} · {status}"
        )
        table.caption_justify = "left"
        return table


async def _preflight(llm: LLM) -> list[str]:
    try:
        return await llm.preflight()
    finally:
        await llm.aclose()


def _add(one: LLMStats, other: LLMStats) -> LLMStats:
    return LLMStats(
        sent=one.sent + other.sent, cached=one.cached + other.cached, retries=one.retries + other.retries,
        failed=one.failed + other.failed, usage=one.usage + other.usage,
    )


def _requests(stats: LLMStats) -> dict[str, Any]:
    return {
        "sent": stats.sent, "from_cache": stats.cached, "retries": stats.retries, "failed": stats.failed,
        "tokens_this_invocation": (stats.usage or Usage()).as_dict(),
    }
