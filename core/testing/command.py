import click


@click.command("loopback-llm")
def serve_command() -> None:
    """Placeholder until the testing kit lands."""
    raise click.ClickException("not available yet")
