"""A warm pool of sandbox containers that runs jobs, thread-safe and asyncio-friendly."""

from __future__ import annotations

import asyncio
import itertools
import os
import queue
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

import docker
import docker.errors

from . import lifecycle
from .container import WarmContainer
from .engine import LABEL, OWNER_LABEL, POOL_LABEL, SandboxUnavailable, connect, default_image, owner_tag, remove_orphans, require_image
from .job import Job, Result, sandbox_error
from .limits import DEFAULT_LIMITS, Limits
from .protocol import ChannelClosed, ChannelTimeout
from .verdict import Verdict

SPAWN_ATTEMPTS = 3
ISOLATIONS = ("process", "in-process")


class SandboxPool:
    """Warm containers, each running one job at a time.

    Use as a context manager, or call start() and close(). run() blocks; run_async() runs it in
    the pool's own threads, so the event loop never waits, and at most `size` jobs run at once.
    """

    def __init__(
        self,
        size: int | None = None,
        image: str | None = None,
        *,
        max_jobs_per_container: int | None = None,
        limits: Limits | None = None,
        memory_mb: int | None = None,
        retries: int = 2,
        start_timeout_s: float = 60.0,
        python_isolation: str = "process",
    ) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.image = image or default_image()
        self.limits = limits or DEFAULT_LIMITS
        self.max_jobs_per_container = max(1, max_jobs_per_container or self.limits.max_jobs_per_container)
        # Containers start at this memory limit; a job that asks for another resizes its container.
        self.memory_mb = memory_mb or self.limits.memory_mb
        self.retries = max(0, retries)
        self.start_timeout_s = start_timeout_s
        if python_isolation not in ISOLATIONS:
            raise ValueError(f"python_isolation must be one of {', '.join(ISOLATIONS)}, got {python_isolation!r}")
        # "in-process" judges Python tests in the answer's own process, as before the boundary
        # existed: for measuring what the boundary costs (benchmarks/sandbox_isolation.py).
        self.python_isolation = python_isolation
        self.pool_id = secrets.token_hex(5)
        self.containers_started = 0  # how many were made, replacements included (for tests, stats)
        self._client: docker.DockerClient | None = None
        self._idle: queue.SimpleQueue[WarmContainer | None] = queue.SimpleQueue()
        self._live: set[WarmContainer] = set()
        self._capacity = 0
        self._lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._started = False
        self._closed = False
        self._last_error = ""
        self._numbers = itertools.count()
        self._jobs = ThreadPoolExecutor(self.size, thread_name_prefix=f"sandbox-{self.pool_id}")
        self._spawner = ThreadPoolExecutor(self.size, thread_name_prefix=f"sandbox-spawn-{self.pool_id}")

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> SandboxPool:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Warm `size` containers. SandboxUnavailable, saying what to run, if that cannot be done."""
        with self._start_lock:
            if self._started:
                return
            if self._closed:
                raise SandboxUnavailable("this sandbox pool is closed")
            client = connect()
            require_image(client, self.image)
            self._client = client
            try:
                remove_orphans(client)
            except docker.errors.DockerException:
                pass  # leftovers of others are no reason not to start
            lifecycle.register(self)
            futures = [self._spawner.submit(self._spawn) for _ in range(self.size)]
            made, errors = [], []
            try:
                for future in futures:
                    try:
                        made.append(future.result())
                    except Exception as error:  # noqa: BLE001 - reported below, in one message
                        errors.append(error)
            except BaseException:
                # Ctrl-C while warming up: what was made so far goes too.
                for future in futures:
                    future.add_done_callback(lambda done: done.exception() or _quietly_destroy(done.result()))
                self.close()
                raise
            with self._lock:
                self._live.update(made)
                self._capacity = len(made)
            for container in made:
                self._idle.put(container)
            self._started = True
            if errors:
                self.close()
                raise SandboxUnavailable(
                    f"cannot start sandbox containers from {self.image}: {errors[0]}. "
                    "Fix: run: evol sandbox doctor"
                ) from errors[0]

    def close(self) -> None:
        """Remove every container of the pool. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            doomed = list(self._live)
            self._live.clear()
            self._capacity = 0
        for _ in range(self.size):
            self._idle.put(None)  # wake whoever waits for a container
        with ThreadPoolExecutor(max(1, len(doomed))) as removers:
            list(removers.map(_quietly_destroy, doomed))
        # Replacements being made see the pool closed and remove what they made.
        self._spawner.shutdown(wait=True)
        self._jobs.shutdown(wait=False)
        lifecycle.unregister(self)

    @property
    def live(self) -> int:
        with self._lock:
            return len(self._live)

    def container_ids(self) -> list[str]:
        """The engine ids of the pool's containers right now (for checks and tests)."""
        with self._lock:
            return [c.container_id for c in self._live if c.container_id]

    # ------------------------------------------------------------------ running jobs

    def run(self, job: Job) -> Result:
        """Run one job; SANDBOX_ERROR (after retries on fresh containers) only if the sandbox failed."""
        self.start()
        result = sandbox_error(job.id, "no attempt was made")
        for _ in range(1 + self.retries):
            container = self._acquire()
            if container is None:
                return sandbox_error(job.id, f"no sandbox container available: {self._last_error or 'the pool is closed'}")
            result, healthy = self._run_on(container, job)
            if healthy:
                self._idle.put(container)
            else:
                self._recycle(container)
            if result.verdict is not Verdict.SANDBOX_ERROR:
                return result
        return result

    async def run_async(self, job: Job) -> Result:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._jobs, self.run, job)

    def _run_on(self, container: WarmContainer, job: Job) -> tuple[Result, bool]:
        result, healthy = run_on(container, job, self.limits, self.python_isolation)
        return result, healthy and container.jobs_run < self.max_jobs_per_container

    # ------------------------------------------------------------------ containers

    def _spawn(self) -> WarmContainer:
        assert self._client is not None
        container = WarmContainer(
            self._client,
            self.image,
            name=f"evolsbx-{self.pool_id}-{next(self._numbers)}",
            labels={LABEL: "1", POOL_LABEL: self.pool_id, OWNER_LABEL: owner_tag()},
            limits=self.limits,
            memory_mb=self.memory_mb,
        )
        try:
            container.start(self.start_timeout_s)
        except BaseException:
            _quietly_destroy(container)
            raise
        with self._lock:
            self.containers_started += 1
        return container

    def _acquire(self) -> WarmContainer | None:
        while True:
            with self._lock:
                if self._closed or self._capacity <= 0:
                    return None
            try:
                container = self._idle.get(timeout=0.5)
            except queue.Empty:
                continue
            if container is not None:
                return container

    def _recycle(self, old: WarmContainer) -> None:
        with self._lock:
            self._live.discard(old)
            closed = self._closed
        if closed:
            _quietly_destroy(old)
            return
        try:
            self._spawner.submit(self._replace, old)
        except RuntimeError:  # the pool closed in between
            _quietly_destroy(old)

    def _replace(self, old: WarmContainer) -> None:
        _quietly_destroy(old)
        for attempt in range(SPAWN_ATTEMPTS):
            if self._closed:
                return
            try:
                new = self._spawn()
            except Exception as error:  # noqa: BLE001 - kept for the callers' message
                self._last_error = str(error)
                time.sleep(0.5 * (attempt + 1))
                continue
            with self._lock:
                if not self._closed:
                    self._live.add(new)
                    self._idle.put(new)
                    return
            _quietly_destroy(new)
            return
        with self._lock:
            self._capacity -= 1
        self._idle.put(None)


def job_request(job: Job, limits: Limits, python_isolation: str = "process") -> dict[str, Any]:
    """The supervisor's request for one job (harness/supervisor.py reads it)."""
    return {
        "op": "job",
        "language": job.language,
        "code": job.code,
        "tests": list(job.tests) if isinstance(job.tests, tuple) else job.tests,
        "timeout_s": job.timeout_s,
        "compile_timeout_s": job.compile_timeout_s,
        "memory_mb": job.memory_mb,
        "output_cap": limits.output_cap,
        "return_cap": limits.keep_bytes,
        "isolation": python_isolation,
    }


def run_on(container: WarmContainer, job: Job, limits: Limits, python_isolation: str = "process") -> tuple[Result, bool]:
    """Run one job on a started container: the result, and whether the container may serve another."""
    started = time.monotonic()
    try:
        if job.memory_mb != container.memory_mb:
            container.set_memory(job.memory_mb)
        reply = container.request(job_request(job, limits, python_isolation), deadline=started + job.wall_s + limits.grace_s)
    except ChannelTimeout:
        # The supervisor itself did not answer: stop everything from outside.
        container.kill()
        message = f"no answer within {job.wall_s}s; the sandbox container was killed"
        return Result(job.id, Verdict.TIMEOUT, time.monotonic() - started, "", "", None, None, message), False
    except (ChannelClosed, docker.errors.DockerException, OSError, ValueError) as error:
        return sandbox_error(job.id, f"the sandbox container failed: {error}", time.monotonic() - started), False
    container.jobs_run += 1
    try:
        verdict = Verdict(reply.get("verdict"))
    except ValueError:
        return sandbox_error(job.id, f"unreadable reply from the sandbox: {reply!r:.300}"), False
    result = Result(
        id=job.id,
        verdict=verdict,
        duration_s=float(reply.get("duration_s") or 0.0),
        stdout=_text(reply.get("stdout")),
        stderr=_text(reply.get("stderr")),
        tests_passed=reply.get("passed"),
        tests_total=reply.get("total"),
        message=_text(reply.get("message")),
        compile_s=reply.get("compile_s"),
        isolation=reply.get("isolation") if reply.get("isolation") in ("process", "in-process") else None,
    )
    healthy = not reply.get("killed") and not reply.get("dirty") and verdict is not Verdict.SANDBOX_ERROR
    return result, healthy


def _text(value: Any) -> str:
    # A job's exception message may carry lone surrogates, which no UTF-8 writer accepts.
    return str(value or "").encode("utf-8", "replace").decode("utf-8")


def _quietly_destroy(container: WarmContainer) -> None:
    try:
        container.destroy()
    except Exception:  # noqa: BLE001 - removal is best effort; leftovers are swept by doctor/build
        pass
