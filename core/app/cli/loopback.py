"""``evol loopback-llm``: the offline model served on loopback, for trying evol without an endpoint."""

from __future__ import annotations

from pathlib import Path

import click

from ...types.errors import UsageError


@click.command("loopback-llm")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on; 0 picks a free one (read it from the first output line).")
@click.option("--latency", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds added to every reply.")
@click.option("--script", "script", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON file with a list of rules (see docs/testing.md).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the probability rules.")
@click.option("--batch-hold", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds a Batch API batch stays in_progress before it is answered.")
def loopback_command(host: str, port: int, latency: float, script: Path | None, seed: int, batch_hold: float) -> None:
    """Serve an OpenAI-compatible endpoint on loopback with the bundled offline model.

    It answers with placeholder text, not a real model's. Stop it with Ctrl-C.
    """
    # Imported here: `evol --help` should not pay for aiohttp.
    from ...offline.script import RuleError, load_rules
    from ...offline.server import run_foreground

    try:
        rules = load_rules(script) if script is not None else ()
    except RuleError as exc:
        raise click.BadParameter(str(exc), param_hint="--script") from None
    try:
        run_foreground(host=host, port=port, latency=latency, rules=rules, seed=seed, batch_hold=batch_hold)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
