"""`evol sandbox`: build the sandbox image, check it, and run jobs in it.

Errors a user can act on (no engine, no image, a build already running) are EvolErrors: the
`evol` command prints them as one line and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click

from evolinstruct import EvolError

from .engine import connect, default_image
from .harness.toolchains import LANGUAGES
from .limits import DEFAULT_LIMITS
from .verdict import Verdict


def _say(message: str) -> None:
    click.echo(message, err=True)


@click.group("sandbox")
def sandbox_group() -> None:
    """The Docker sandbox that runs code answers (wizardcoder), in Python, JavaScript,
    TypeScript, C, C++, Go, Rust, Java, Bash and SQL (SQLite).

    Every job runs in a warm container with no network, as a non-root user with no capabilities,
    under memory, process, CPU and wall-clock limits (compilers included), on a read-only root
    with a small tmpfs work directory. First time: `evol sandbox build`, then `evol sandbox doctor`.
    """


@sandbox_group.command("build")
@click.option("--tag", default=None, help="Image tag [default: $EVOL_SANDBOX_IMAGE or evolinstruct-sandbox:<version>].")
@click.option(
    "--offline/--pull",
    "offline",
    default=None,
    help="--offline: build from a debootstrap Debian root filesystem, with no registry. "
    "--pull: build from the Dockerfile on python:3.11-slim, pulling it if needed. "
    "Neither: pull when possible, else offline.",
)
@click.option("--force", is_flag=True, help="Rebuild even when the image is already current.")
@click.option("--mirror", default=None, metavar="URL", help="Debian mirror for --offline [default: from this machine's apt sources].")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the offline root filesystem is cached [default: $EVOL_SANDBOX_CACHE, or "
              "/var/cache/evolinstruct/sandbox as root].")
def build_command(tag: str | None, offline: bool | None, force: bool, mirror: str | None, cache_dir: Path | None) -> None:
    """Build the sandbox image with every language's toolchain (a few minutes the first time,
    seconds after).

    Skipped when the image exists and was built from the current harness. Says which path it took:
    the Dockerfile (a base image could be pulled) or offline (debootstrap from the Debian mirror
    apt already uses, then `docker import`). The offline path needs root. One build at a time
    per cache directory: a second one exits at once (status 2).
    """
    from . import rootfs
    from .build_lock import build_lock
    from .engine import remove_orphans
    from .image import build_image

    image = tag or default_image()
    cache = cache_dir or rootfs.default_cache_dir()
    with build_lock(cache):
        client = connect()
        remove_orphans(client)
        try:
            report = build_image(
                client, image, method="auto" if offline is None else ("offline" if offline else "pull"),
                force=force, cache_dir=cache, mirror=mirror, log=lambda line: _say(f"  {line}"),
            )
        except (RuntimeError, LookupError) as error:
            raise EvolError(f"cannot build {image}: {error}") from error
    if report.path == "current":
        click.echo(f"{image} is up to date (built from this harness); nothing to do. --force rebuilds it.")
    else:
        click.echo(f"built {image} via the {report.path} path in {report.seconds:.0f}s ({report.detail})")


@sandbox_group.command("doctor")
@click.option("--image", default=None, help="Image to check [default: the one `evol sandbox build` makes].")
def doctor_command(image: str | None) -> None:
    """Check the engine, the image and the limits; say what is wrong and how to fix it.

    Runs a few tiny jobs (a probe of the limits, an endless loop, a memory bomb, a program in
    each language). Exits non-zero when anything is wrong.
    """
    from .doctor import run_checks

    failed = False
    for check in run_checks(image or default_image()):
        click.echo(f"{'ok' if check.ok else 'FAIL':5} {check.name:10} {check.detail}")
        if not check.ok:
            failed = True
            if check.fix:
                click.echo(f"{'':16} fix: {check.fix}")
    if failed:
        sys.exit(1)
    click.echo("the sandbox is ready")


@sandbox_group.command("exec")
@click.argument("source", type=click.File("r", encoding="utf-8", errors="replace"), default="-", metavar="[FILE|-]")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_LIMITS.timeout_s,
              show_default=True, help="Wall-clock seconds per job, compiling included, for jobs without their own timeout_s.")
@click.option("--memory", "memory_mb", type=click.IntRange(16), default=DEFAULT_LIMITS.memory_mb, show_default=True,
              help="Memory in MB per job (compilers included), for jobs without their own memory_mb.")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="Warm containers, i.e. jobs at once [default: CPU count].")
@click.option("--image", default=None, help="Sandbox image [default: the one `evol sandbox build` makes].")
@click.option("--max-jobs-per-container", type=click.IntRange(1), default=DEFAULT_LIMITS.max_jobs_per_container,
              show_default=True, help="Replace a container after this many jobs (it is also replaced after any kill).")
def exec_command(source, timeout_s: float, memory_mb: int, concurrency: int | None, image: str | None,
                 max_jobs_per_container: int) -> None:
    """Run JSONL jobs and write one JSONL result per job to stdout, in input order.

    \b
    Job:    {"id": "1", "language": "python", "code": "...", "tests": "..." | ["...", ...],
             "timeout_s": 5, "compile_timeout_s": 20, "memory_mb": 256}
    Result: {"id", "verdict", "duration_s", "stdout", "stderr"} plus compile_s for compiled
            languages, tests_passed/tests_total when counted, and a message when there is
            something to say.

    \b
    language (default python): LANGUAGES.
    The program is `code` followed by `tests`, as one compilation unit: for c, cpp, go and rust
    the tests hold main; for java the code defines its classes and the tests hold
    `public class Main`; javascript tests may require('assert'); for python, javascript,
    typescript and sql, tests may be a list of statements, each counted. Compiling counts
    against timeout_s unless the job gives compile_timeout_s. A test fails (FAIL) with
    AssertionError in python, javascript, typescript and java, assert() in c and cpp, assert!
    in rust, a panic("assertion failed...") in go, `exit 1` in bash; in sql the code's last
    query is kept in the table `result` and every query of the tests must return true.

    \b
    Verdicts: PASS, UNTESTED (it ran, but had no tests, or none that could fail), FAIL (a
    failed assertion, or a faked pass), COMPILE_ERROR, RUNTIME_ERROR, TIMEOUT, MEMORY_LIMIT,
    OUTPUT_LIMIT, SANDBOX_ERROR (the sandbox failed, not the code). A line that is not a job gets an INVALID_JOB result naming the
    line and what is wrong; the rest still run, and the command then exits with status 2.
    Output is truncated to a few KB per stream.
    """
    from .jsonl_jobs import run_jsonl
    from .pool import SandboxPool

    limits = dataclasses.replace(DEFAULT_LIMITS, timeout_s=timeout_s, memory_mb=memory_mb,
                                 max_jobs_per_container=max_jobs_per_container)
    pool = SandboxPool(concurrency or os.cpu_count(), image, limits=limits)
    with pool:
        if sys.stderr.isatty():
            counts = _run_with_progress(source, pool, limits)
        else:
            counts = run_jsonl(source, pool, sys.stdout, defaults=limits)
    summary = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
    if sys.stderr.isatty():
        _say(f"done: {summary or 'no jobs'}")
    invalid = counts.get(Verdict.INVALID_JOB.value, 0)
    if invalid:
        raise EvolError(f"{invalid} line(s) of the input are not valid jobs: see their INVALID_JOB results")


exec_command.help = (exec_command.help or "").replace("LANGUAGES", ", ".join(LANGUAGES))


def _run_with_progress(source, pool, limits) -> dict[str, int]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .jsonl_jobs import run_jsonl

    total = None
    name = getattr(source, "name", "-")
    if name not in ("-", "<stdin>") and os.path.isfile(name):
        with open(name, encoding="utf-8") as handle:
            total = sum(1 for line in handle if line.strip())
    columns = (TextColumn("sandbox"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[verdicts]}"))
    # Results go to the real stdout; rich would otherwise capture them and print them on stderr.
    with Progress(*columns, console=Console(stderr=True), redirect_stdout=False, redirect_stderr=False) as progress:
        task = progress.add_task("jobs", total=total, verdicts="")
        seen: dict[str, int] = {}

        def advance(result) -> None:
            seen[result.verdict.value] = seen.get(result.verdict.value, 0) + 1
            progress.update(task, advance=1, verdicts=" ".join(f"{k}:{v}" for k, v in sorted(seen.items())))

        return run_jsonl(source, pool, sys.stdout, defaults=limits, on_result=advance)
