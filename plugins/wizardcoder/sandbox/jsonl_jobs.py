"""JSONL jobs in, JSONL results out, in input order: the engine of `evol sandbox exec`."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TextIO

from .job import Job, Result, invalid_job
from .limits import DEFAULT_LIMITS, Limits
from .pool import SandboxPool

JOB_FIELDS = {"id", "language", "code", "tests", "timeout_s", "compile_timeout_s", "memory_mb"}


def parse_job(line: str, number: int, defaults: Limits = DEFAULT_LIMITS) -> Job | Result:
    """The job on this line, or an INVALID_JOB result naming the line and what is wrong."""
    fallback_id = f"line-{number}"
    try:
        record: Any = json.loads(line)
    except ValueError as error:
        return invalid_job(fallback_id, f"line {number}: not JSON ({error})")
    if not isinstance(record, dict):
        return invalid_job(fallback_id, f"line {number}: expected a JSON object")
    job_id = record.get("id")
    if isinstance(job_id, (str, int)) and not isinstance(job_id, bool):
        job_id = str(job_id)
    else:
        return invalid_job(fallback_id, f"line {number}: missing or invalid \"id\" (a string)")
    if not isinstance(record.get("code"), str):
        return invalid_job(job_id, f"line {number}: missing or invalid \"code\" (a string)")
    unknown = sorted(set(record) - JOB_FIELDS)
    if unknown:
        return invalid_job(job_id, f"line {number}: unknown field(s) {', '.join(unknown)}")
    language = record.get("language", "python")
    if not isinstance(language, str):
        return invalid_job(job_id, f"line {number}: invalid \"language\" (a string)")
    compile_timeout = record.get("compile_timeout_s")
    try:
        return Job(
            id=job_id,
            code=record["code"],
            tests=record.get("tests"),
            timeout_s=float(record.get("timeout_s", defaults.timeout_s)),
            memory_mb=int(record.get("memory_mb", defaults.memory_mb)),
            language=language,
            compile_timeout_s=None if compile_timeout is None else float(compile_timeout),
        )
    except (TypeError, ValueError) as error:
        return invalid_job(job_id, f"line {number}: {error}")


def _done(result: Result) -> Future[Result]:
    future: Future[Result] = Future()
    future.set_result(result)
    return future


def run_jsonl(
    lines: Iterable[str],
    pool: SandboxPool,
    out: TextIO,
    *,
    defaults: Limits = DEFAULT_LIMITS,
    on_result: Callable[[Result], None] = lambda _: None,
) -> dict[str, int]:
    """Run every job, writing each result as soon as all results before it are written.

    At most a few jobs per container are read ahead, so an endless stdin works too. Returns the
    count of each verdict.
    """
    counts: dict[str, int] = {}
    window: deque[Future[Result]] = deque()
    ahead = pool.size * 4

    def flush(until: int) -> None:
        while len(window) > until:
            result = window.popleft().result()
            out.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
            out.flush()
            counts[result.verdict.value] = counts.get(result.verdict.value, 0) + 1
            on_result(result)

    workers = ThreadPoolExecutor(pool.size, thread_name_prefix="sandbox-exec")
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            parsed = parse_job(line, number, defaults)
            window.append(workers.submit(pool.run, parsed) if isinstance(parsed, Job) else _done(parsed))
            flush(ahead)
        flush(0)
    finally:
        # On Ctrl-C, do not wait for running jobs: closing the pool (the caller's job) ends them.
        workers.shutdown(wait=False, cancel_futures=True)
    return counts
