"""What runs on a Ray worker: one shard of a cluster build, and the board shards report to.

A shard is a complete ``Build`` (the same prepare and run as ``evol build``, every option and
plugin hook included) of a slice of the seeds, into its own folder under the output folder (see
shard_folders.py), on the node Ray placed it: the engine, its requests and the CPU-bound checks
(the code sandbox, sympy) all run there. Two things differ from a build of its own:

- its response cache is its own file, read over the folder's main cache (the cache factory the
  shard's ``Build`` is given), so a shard that Ray runs again after its worker died finds every
  response it had received;
- it reports to a ``Board`` actor every half second (its counts, requests, endpoints, and the
  warnings it logged), which is how the driver shows one progress display for the whole cluster,
  and how the driver asks it to stop (as Ctrl-C would: it writes what it has and returns).

Nothing here imports Ray at module level; the task and the actor are made remote by ray_build.
"""

from __future__ import annotations

import _thread
import logging
import os
import resource
import socket
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ...runtime.cache import Cache
from ...runtime.endpoints import EndpointStats
from ...runtime.llm import LLMStats
from ...runtime.tally import Tally
from ...types.errors import EvolError, ExitCode, UsageError
from ..build.build import Build
from ..build.config import BuildConfig
from ..build.host import load_host
from ..build.outcome import Status, ending

REPORT_EVERY_S = 0.5


@dataclass(frozen=True)
class ShardSpec:
    """Everything a shard needs, resolved by the driver: the shard's own configuration (its
    slice of the seeds, its share of the concurrency, its folder), and what it must agree on."""

    index: int
    count: int
    config: BuildConfig
    main_cache: Path
    plugin_environ: Mapping[str, str]
    """How the driver chose its plugins (EVOL_PLUGINS, EVOL_DISABLE_PLUGINS...), for the same choice here."""
    disabled: frozenset[str]
    expected: Mapping[str, Any]
    """What the driver found, which this node must find too: seeds digest, seeds, versions."""

    @property
    def label(self) -> str:
        return f"shard {self.index + 1} of {self.count}"

    def open_cache(self, path: Path) -> Cache:
        """The shard's cache factory: its own file, over the folder's main cache read-only."""
        return Cache(path, base=self.main_cache, exclusive=True)


@dataclass(frozen=True)
class Attempt:
    """One run of a shard by one worker; Ray runs a shard again when its worker dies."""

    node_id: str
    host: str
    ip: str
    pid: int
    started: float

    @property
    def where(self) -> str:
        return f"{self.host} ({self.ip}), pid {self.pid}"


@dataclass(frozen=True)
class ShardReport:
    """A shard's numbers at one moment."""

    shard: int
    attempt: Attempt
    phase: str  # "preparing", "running", "done"
    lineages: int = 0
    per_round: Mapping[int, tuple[int, int, int]] = field(default_factory=dict)
    """Round: (kept, eliminated, failed) rows written so far."""
    stats: LLMStats = field(default_factory=LLMStats)
    in_flight: int = 0
    endpoints: tuple[tuple[str, bool, EndpointStats], ...] = ()
    """Per endpoint: name, whether it is up, its numbers."""
    messages: tuple[str, ...] = ()
    cpu_s: float = 0.0
    """CPU time this attempt's process has spent on the shard so far."""


@dataclass(frozen=True)
class ShardResult:
    """How a shard ended: its summary's status, and its numbers for the driver to add up."""

    shard: int
    attempt: Attempt
    status: Status
    reason: str | None
    exit_code: int
    tally: Tally | None = None
    stats: LLMStats = field(default_factory=LLMStats)
    endpoints: tuple[tuple[str, bool, EndpointStats], ...] = ()
    selected: int = 0
    cpu_s: float = 0.0

    @property
    def finished_all(self) -> bool:
        return self.tally is not None and self.tally.lineages >= self.selected


class Board:
    """The shards' reports, read by the driver; an actor (ray_build makes it remote)."""

    def __init__(self) -> None:
        self.reports: dict[tuple[int, Attempt], ShardReport] = {}
        self.messages: list[tuple[int, Attempt, str]] = []
        self.stopping = False

    def report(self, report: ShardReport) -> bool:
        """Keep a report; True when the shards are asked to stop."""
        self.reports[(report.shard, report.attempt)] = report
        self.messages.extend((report.shard, report.attempt, message) for message in report.messages)
        return self.stopping

    def read(self, seen_messages: int) -> tuple[list[ShardReport], list[tuple[int, Attempt, str]]]:
        return list(self.reports.values()), self.messages[seen_messages:]

    def stop(self) -> None:
        self.stopping = True


class _Forward(logging.Handler):
    """Keeps the shard's warnings for its next report (the driver logs them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.kept: deque[str] = deque(maxlen=200)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self.kept.append(text)
        except Exception:  # noqa: BLE001 - logging must never break the build
            pass

    def take(self) -> tuple[str, ...]:
        taken = []
        while self.kept:
            taken.append(self.kept.popleft())
        return tuple(taken)


class _Reporter(threading.Thread):
    """Reports the shard's numbers to the board; stops the build when the board says so."""

    def __init__(self, board: Any, spec: ShardSpec, attempt: Attempt, forward: _Forward) -> None:
        super().__init__(name=f"evol-{spec.label}-reporter", daemon=True)
        self.board = board
        self.spec = spec
        self.attempt = attempt
        self.forward = forward
        self.build: Any = None  # the shard's Build, once it is prepared
        self.running = False  # while True, a stop request interrupts the build like Ctrl-C
        self.interrupted = False
        self.cpu_at_start = process_cpu_s()  # a worker process may have run other tasks before
        self._done = threading.Event()

    def run(self) -> None:
        import ray

        finished = False
        while True:  # the first report at once: the driver learns where the shard runs
            try:
                stop = ray.get(self.board.report.remote(self.snapshot("done" if finished else None)), timeout=30)
            except Exception:  # noqa: BLE001 - the display misses one report; the build goes on
                stop = False
            if finished:
                return
            if stop and self.running and not self.interrupted:
                self.interrupted = True
                _thread.interrupt_main()  # the build's Ctrl-C path: it writes what it has and returns
            finished = self._done.wait(REPORT_EVERY_S)

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=35)

    def snapshot(self, phase: str | None = None) -> ShardReport:
        build = self.build
        messages = self.forward.take()
        cpu_s = process_cpu_s() - self.cpu_at_start
        if build is None or not getattr(build, "prepared", False):
            return ShardReport(self.spec.index, self.attempt, phase or "preparing", messages=messages, cpu_s=cpu_s)
        # Read while the build's event loop runs: copies made in one step each, for a display.
        per_round = {number: (counts.kept, counts.eliminated, counts.failed)
                     for number, counts in list(build.tally.per_round.items())}
        return ShardReport(
            self.spec.index, self.attempt, phase or "running",
            lineages=build.tally.lineages, per_round=per_round, stats=_copy_stats(build.llm.stats),
            in_flight=build.llm.endpoints.in_flight, endpoints=_endpoints(build), messages=messages, cpu_s=cpu_s,
        )


def run_shard(spec: ShardSpec, board: Any) -> ShardResult:
    """The Ray task: build one shard, report while it runs, and say how it ended."""
    import ray

    attempt = Attempt(
        node_id=ray.get_runtime_context().get_node_id(), host=socket.gethostname(),
        ip=ray.util.get_node_ip_address(), pid=os.getpid(), started=time.time(),
    )
    forward = _Forward()
    logger = logging.getLogger("evolinstruct")
    logger.addHandler(forward)
    reporter = _Reporter(board, spec, attempt, forward)
    reporter.start()
    result: ShardResult | None = None
    try:
        try:
            result = _build(spec, attempt, reporter)
        except KeyboardInterrupt:  # asked to stop before its build ran, or just after
            if result is None:
                result = ShardResult(spec.index, attempt, "interrupted", "asked to stop", int(ExitCode.INTERRUPTED))
    finally:
        reporter.finish()
        logger.removeHandler(forward)
    return result


def _build(spec: ShardSpec, attempt: Attempt, reporter: _Reporter) -> ShardResult:
    def ended(status: Status, reason: str, code: ExitCode) -> ShardResult:
        return ShardResult(spec.index, attempt, status, reason, int(code))

    try:
        host = load_host(spec.disabled, environ=spec.plugin_environ)
        with Build(spec.config, host=host, environ={}, open_cache=spec.open_cache) as build:
            build.prepare()
            problem = _disagreement(spec, build)
            if problem:
                return ended(*ending(UsageError(problem)))
            reporter.build = build
            reporter.running = True
            try:
                summary = build.run()
            finally:
                reporter.running = False
            return ShardResult(
                spec.index, attempt, summary.status, summary.reason, int(summary.exit_code), tally=build.tally,
                stats=_copy_stats(build.llm.stats), endpoints=_endpoints(build), selected=build.selected,
                cpu_s=process_cpu_s() - reporter.cpu_at_start,
            )
    except EvolError as error:  # the seeds or a plugin cannot be read here, the folder is refused...
        # Ended as one process ends on the same error: a usage error (exit 2) is a refusal.
        return ended(*ending(error))
    except Exception as error:  # a bug of ours: say so, with where it happened
        text = "".join(traceback.format_exception(error)).rstrip()
        return ended("aborted", f"internal error: {type(error).__name__}: {error}\n{text}", ExitCode.ABORTED)


def _disagreement(spec: ShardSpec, build: Any) -> str | None:
    """What this node sees differently from the driver, which would make another dataset."""
    assert build.host is not None
    expected = spec.expected
    digest = build.manifest.static["seeds"]["sha256"]
    if digest != expected["seeds_sha256"]:
        return (f"the seeds file {spec.config.seeds} on this node is not the driver's (sha256 {digest[:12]}..., "
                f"the driver's {expected['seeds_sha256'][:12]}...): every node must read the same file")
    if build.selected != expected["selected"]:
        return f"this node selects {build.selected} seeds for the shard, the driver {expected['selected']}"
    versions = {"evolinstruct": build.host.version, **build.host.active_versions()}
    if versions != expected["versions"]:
        differing = sorted(name for name in set(versions) | set(expected["versions"])
                           if versions.get(name) != expected["versions"].get(name))
        shown = ", ".join(f"{name} {versions.get(name, 'missing')} here, {expected['versions'].get(name, 'missing')} "
                          "on the driver" for name in differing)
        return f"this node has other versions of evolinstruct or its plugins ({shown}): install the same everywhere"
    return None


def process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _copy_stats(stats: LLMStats) -> LLMStats:
    return LLMStats(sent=stats.sent, cached=stats.cached, retries=stats.retries, failed=stats.failed, usage=stats.usage)


def _endpoints(build: Any) -> tuple[tuple[str, bool, EndpointStats], ...]:
    return tuple(
        (endpoint.name, endpoint.up, EndpointStats(**vars(endpoint.stats))) for endpoint in build.llm.endpoints.all
    )
