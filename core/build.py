"""Everything around the evolution loop: checking the seeds before any request is sent, choosing
the endpoint, opening the cache, calling the plugins' lifecycle hooks, and the manifest."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from rich.console import Console

from .cache import Cache
from .context import RunContext
from .engine import Engine, operations_per_round
from .errors import EvolError
from .llm import LLM, Decoding, EndpointRefused
from .output import CACHE, MANIFEST, Output
from .plugins import PluginHost
from .progress import BuildProgress, rounds_table
from .records import applies_to
from .seeds import SeedFile, Selection
from .tally import Tally

DEFAULT_MODEL = "gpt-4o-mini"
OFFLINE_MODEL = "offline-placeholder"
EXIT_OK = 0
EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class BuildConfig:
    domain: str
    seeds_path: Path
    out_dir: Path
    rounds: int = 4
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 32
    run_seed: int = 0
    limit: int | None = None
    shard: tuple[int, int] | None = None
    decoding: Decoding = Decoding()
    schedule: tuple[str, ...] | None = None
    max_attempts: int = 6
    request_timeout: float = 600.0
    skip_invalid: bool = False
    progress: bool | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()

    @property
    def offline(self) -> bool:
        return self.base_url is None

    @classmethod
    def from_cli(
        cls,
        params: Mapping[str, Any],
        options: Mapping[str, Any],
        *,
        argv: Sequence[str],
        environ: Mapping[str, str],
        rounds_given: bool = True,
    ) -> BuildConfig:
        base_url = params.get("base_url") or environ.get("OPENAI_BASE_URL") or None
        api_key = params.get("api_key") or environ.get("OPENAI_API_KEY") or None
        model = params.get("model") or environ.get("EVOL_MODEL") or (DEFAULT_MODEL if base_url else OFFLINE_MODEL)
        schedule = tuple(s.strip() for s in params["schedule"].split(",") if s.strip()) if params.get("schedule") else None
        rounds = params["rounds"]
        if schedule is not None:
            if not rounds_given:
                rounds = len(schedule)
            elif len(schedule) != rounds:
                raise EvolError(f"--schedule has {len(schedule)} entries but --rounds is {rounds}")
        shard = None
        if params.get("shard"):
            try:
                part, parts = (int(x) for x in params["shard"].split("/"))
                if not 0 <= part < parts:
                    raise ValueError
            except ValueError:
                raise EvolError(f"--shard must be I/N with 0 <= I < N, got {params['shard']!r}") from None
            shard = (part, parts)
        return cls(
            domain=params["domain"],
            seeds_path=Path(params["seeds_path"]),
            out_dir=Path(params["out_dir"]),
            rounds=rounds,
            model=model,
            base_url=base_url,
            api_key=api_key,
            concurrency=params["concurrency"],
            run_seed=params["run_seed"],
            limit=params.get("limit"),
            shard=shard,
            decoding=Decoding(params["temperature"], params["top_p"], params["max_tokens"]),
            schedule=schedule,
            max_attempts=params["max_attempts"],
            request_timeout=params["request_timeout"],
            skip_invalid=params["skip_invalid"],
            progress=params.get("progress"),
            options=dict(options),
            argv=tuple(_mask_secrets(argv)),
        )

    def as_manifest(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("api_key")
        data["seeds_path"] = str(self.seeds_path)
        data["out_dir"] = str(self.out_dir)
        data["offline"] = self.offline
        data.pop("argv")
        data["options"] = {key: _jsonable(value) for key, value in self.options.items()}
        return data


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def _mask_secrets(argv: Sequence[str]) -> list[str]:
    masked, hide_next = [], False
    for arg in argv:
        if hide_next:
            masked.append("***")
            hide_next = False
        elif arg == "--api-key":
            masked.append(arg)
            hide_next = True
        elif arg.startswith("--api-key="):
            masked.append("--api-key=***")
        else:
            masked.append(arg)
    return masked


def run_build(config: BuildConfig, host: PluginHost) -> int:
    registry = host.registry
    domain = registry.domains[config.domain]
    console = Console(stderr=True)

    # Everything that can be wrong with the input is found before the first request is sent.
    seed_file = SeedFile(config.seeds_path, domain, config.skip_invalid).validate()
    selection = Selection(config.limit, config.shard)
    selected = sum(1 for index in range(seed_file.valid_count) if selection.keeps(index))
    try:
        operations_per_round(domain.operations, config.rounds, config.schedule)
    except ValueError as error:
        raise EvolError(str(error)) from None
    if seed_file.invalid:
        console.print(f"evol: skipped {len(seed_file.invalid)} invalid seed records (listed in the manifest)", soft_wrap=True)

    config.out_dir.mkdir(parents=True, exist_ok=True)
    offline_server = None
    base_url = config.base_url
    if config.offline:
        from .testing.server import LoopbackLLM

        offline_server = LoopbackLLM().start()
        base_url = offline_server.base_url
        console.print(
            "[bold yellow]evol: no endpoint configured (--base-url or OPENAI_BASE_URL): using the "
            "bundled offline model.[/] It writes placeholder text to exercise the whole pipeline; "
            "it is not a real model.",
            soft_wrap=True,
        )

    cache = Cache(config.out_dir / CACHE)
    llm = LLM(
        model=config.model,
        base_url=base_url,
        api_key=config.api_key or ("offline" if config.offline else None),
        cache=cache,
        concurrency=config.concurrency,
        max_attempts=config.max_attempts,
        timeout=config.request_timeout,
    )
    run = RunContext(
        domain=domain,
        options=config.options,
        seed=config.run_seed,
        out_dir=config.out_dir,
        llm=llm,
        cache=cache,
        decoding=config.decoding,
    )
    tally = Tally(seeds=selected, rounds=config.rounds)
    manifest = Manifest(config, host, seed_file)
    manifest.write("running", tally, llm, 0.0)
    started = time.monotonic()
    status = "running"
    output = Output(config.out_dir)
    try:
        host.manager.hook.evol_run_start(run=run)
        engine = Engine(
            run,
            rounds=config.rounds,
            schedule=config.schedule,
            filters=[f for f in registry.filters.values() if applies_to(f, domain.name)],
            scorers=[s for s in registry.scorers.values() if applies_to(s, domain.name)],
            output=output,
            tally=tally,
            max_active=max(2 * config.concurrency, 16),
        )
        seeds = (seed for seed in seed_file if selection.keeps(seed.index))
        progress = BuildProgress(tally, llm, live=config.progress)

        async def main() -> None:
            try:
                work = asyncio.ensure_future(engine.build(seeds))
                await progress.run(work)
            finally:
                await llm.aclose()

        asyncio.run(_unwrap_group(main()))
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
    except EndpointRefused:
        status = "refused"
        raise
    except BaseException:
        status = "crashed"
        raise
    finally:
        output.close()
        try:
            host.manager.hook.evol_run_end(run=run)
        finally:
            manifest.write(status, tally, llm, time.monotonic() - started)
            cache.close()
            if offline_server is not None:
                offline_server.stop()
    Console().print(rounds_table(tally, None, f"evol build: {status}"))
    failed = sum(counts.failed for counts in tally.per_round.values())
    print(
        f"evol: {config.out_dir / 'dataset.jsonl'}: {sum(c.kept for c in tally.per_round.values())} samples; "
        f"{sum(c.eliminated for c in tally.per_round.values())} eliminated; {failed} failed"
        + (" (run the same command again to retry them)" if failed else ""),
        file=sys.stderr,
    )
    if status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_SOME_FAILED if failed else EXIT_OK


async def _unwrap_group(coroutine: Any) -> None:
    """Surface the first real error of the engine's task group instead of an ExceptionGroup."""
    try:
        await coroutine
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


class Manifest:
    def __init__(self, config: BuildConfig, host: PluginHost, seed_file: SeedFile) -> None:
        self.config = config
        self.host = host
        self.seed_file = seed_file

    def write(self, status: str, tally: Tally, llm: LLM, wall_time: float) -> None:
        stats = llm.stats
        data = {
            "status": status,
            "command": list(self.config.argv),
            "config": self.config.as_manifest(),
            "versions": {
                "evolinstruct": self.host.version,
                "python": platform.python_version(),
                "plugins": self.host.active_versions(),
            },
            "seeds": {
                "file": str(self.config.seeds_path),
                "valid": self.seed_file.valid_count,
                "selected": tally.seeds,
                "invalid": [item.as_dict() for item in self.seed_file.invalid],
            },
            "counts": tally.as_dict(),
            "requests": {
                "sent": stats.sent,
                "from_cache": stats.cached,
                "retries": stats.retries,
                "failed": stats.failed,
                "tokens_this_invocation": stats.usage.as_dict(),
            },
            "wall_time_s": round(wall_time, 3),
        }
        path = self.config.out_dir / MANIFEST
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, path)
