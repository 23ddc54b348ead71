"""Build options are declared once, in the configuration models: the ``evol build`` command line,
its help and defaults, the recipe keys and ``evolinstruct.build`` all come from them, so the
command line and the Python API accept the same values and write the same manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

import evolinstruct
from evolinstruct.app.build.config import BuildConfig, InvocationOptions
from evolinstruct.app.cli import cli
from evolinstruct.app.cli.build import build_command
from evolinstruct.app.cli.options import cli_options
from evolinstruct.app.build.host import load_host
from tests.conftest import evol, numbered_seeds


def build_params(ctx: click.Context) -> list[click.Parameter]:
    return [param for param in build_command.get_params(ctx) if param.name != "help"]


def signature(param: click.Parameter) -> tuple[Any, ...]:
    assert isinstance(param, click.Option)
    return (param.name, tuple(param.opts), tuple(param.secondary_opts), param.help, param.multiple, param.metavar)


def test_every_option_of_evol_build_is_generated_from_an_option_model() -> None:
    ctx = click.Context(build_command, parent=click.Context(cli))
    domains = load_host().registry.domains.values()
    expected = [*cli_options(InvocationOptions), *cli_options(BuildConfig)]
    # A domain's options, each once: a plugin's option added to several domains (autoevol's
    # --method) is one option of the command.
    seen = {option.name for option in expected}
    for domain in domains:
        for option in cli_options(domain.options):
            if option.name not in seen:
                seen.add(option.name)
                expected.append(option)
    # An option declared by hand (a decorator, or a click.Option added to the command) is a
    # parameter no model field gave, and shows up here.
    assert sorted(map(signature, build_params(ctx))) == sorted(map(signature, expected))
    # Every documented field is an option: the core's are all there, whatever fields are added.
    assert {"seeds", "out", "schedule", "temperature", "ray", "dry_run", "config"} <= {param.name for param in expected}


def test_help_and_defaults_come_from_the_fields() -> None:
    ctx = click.Context(build_command, parent=click.Context(cli))
    by_name = {param.name: param for param in build_params(ctx)}
    temperature = by_name["temperature"]
    assert isinstance(temperature, click.Option)
    assert temperature.help == "Sampling temperature, 0 to 2.  [default: 1.0]"
    assert "[default: 4, or the schedule's length]" in (by_name["rounds"].help or "")  # type: ignore[union-attr]
    assert by_name["base_url"].multiple and not by_name["schedule"].multiple  # type: ignore[union-attr]
    samples = by_name["samples"]  # a domain's option, from its DomainOptions model
    assert isinstance(samples, click.Option) and samples.help is not None
    assert samples.help.startswith("math: solutions sampled per problem") and samples.help.endswith("[default: 1]")
    assert by_name["require_pass"].secondary_opts == ["--no-require-pass"]  # type: ignore[union-attr]


def test_a_bad_domain_option_is_refused_alike_from_the_command_line_and_python(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 1, "Solve x + {i} = 5.")
    done = evol("build", "--domain", "math", "--seeds", str(seeds), "--out", str(tmp_path / "cli"), "--samples", "0")
    assert done.returncode == 2, done.stderr
    with pytest.raises(evolinstruct.UsageError) as caught:
        evolinstruct.build(domain="math", seeds=seeds, out=tmp_path / "api", samples=0)
    message = "Input should be greater than or equal to 1"
    # The command line says where the value came from, as for the core's options.
    assert f"--samples (from the command line): {message}" in done.stderr and f"--samples: {message}" in str(caught.value)
    assert not (tmp_path / "cli").exists() and not (tmp_path / "api").exists()


# What differs between two builds of the same options by design: the invocation (and the process
# that ran it), and when and how fast it ran (the offline model's loopback server listens on a new
# port each time).
INVOCATION = {"command", "call", "process"}
MOMENT = {"started_at", "updated_at", "wall_time_s", "endpoints"}


@pytest.mark.parametrize("schedule", ["deepen,in-breadth", ["deepen", "in-breadth"]])
def test_the_api_and_the_cli_write_the_same_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     schedule: Any) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Explain topic {i} in detail.")
    (tmp_path / "cli").mkdir()
    (tmp_path / "api").mkdir()
    done = evol("build", "--seeds", str(seeds), "--out", "out", "--schedule", "deepen,in-breadth",
                "--temperature", "0.5", "--operation-weights", "deepen=2", "--seed", "7", cwd=tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    for name in [key for key in os.environ if key.startswith(("OPENAI_", "EVOL_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path / "api")
    summary = evolinstruct.build(seeds=seeds, out=Path("out"), schedule=schedule, temperature=0.5,
                                 operation_weights={"deepen": 2}, seed=7)
    assert summary.status == "complete"
    from_cli = json.loads((tmp_path / "cli" / "out" / "manifest.json").read_text(encoding="utf-8"))
    from_api = json.loads((tmp_path / "api" / "out" / "manifest.json").read_text(encoding="utf-8"))
    ignored = INVOCATION | MOMENT
    assert {k: v for k, v in from_api.items() if k not in ignored} == {k: v for k, v in from_cli.items() if k not in ignored}
    # The API build records the call, and the command that builds the same dataset: the card
    # shows it instead of saying the command is unknown.
    assert from_api["call"].startswith("evolinstruct.build(seeds=") and "schedule=" in from_api["call"]
    assert from_api["command"][:2] == ["evol", "build"] and "--schedule" in from_api["command"]
    card = (tmp_path / "api" / "out" / "README.md").read_text(encoding="utf-8")
    assert "command is unknown" not in card and "evol build --seeds" in card
    assert (tmp_path / "api" / "out" / "dataset.jsonl").read_bytes() == (tmp_path / "cli" / "out" / "dataset.jsonl").read_bytes()


def test_evol_build_loads_no_plotting_library(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Describe place {i}.")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OPENAI_", "EVOL_"))}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "evolinstruct", "build", "--seeds", str(seeds),
         "--out", str(tmp_path / "out"), "--rounds", "1"],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert "evolinstruct.app.build.build" in loaded and "evolinstruct.app.publish.card" in loaded  # the walk saw the build
    assert [module for module in loaded if module.split(".")[0] in ("plotly", "_plotly_utils", "matplotlib")] == []
    assert (tmp_path / "out" / "README.md").is_file()  # the card was written without it


def test_every_option_of_evol_curate_is_generated_from_its_model_and_the_endpoint_is_the_build_s() -> None:
    from evolinstruct.app.cli.curate import curate_command
    from evolinstruct.app.curate.options import CurateOptions

    ctx = click.Context(curate_command, parent=click.Context(cli))
    options = [param for param in curate_command.get_params(ctx) if isinstance(param, click.Option) and param.name != "help"]
    assert sorted(map(signature, options)) == sorted(map(signature, cli_options(CurateOptions)))
    # The judge's endpoint options are evol build's, help and default included.
    build = {param.name: param for param in cli_options(BuildConfig)}
    for name in ("model", "base_url", "api_key", "endpoint_id", "concurrency", "seed", "progress"):
        assert signature(next(o for o in options if o.name == name)) == signature(build[name])


def test_a_bad_curate_option_names_itself_and_exits_2(tmp_path: Path) -> None:
    done = evol("curate", str(tmp_path), "--budget", "-1", "--base-url", "ftp://x")
    assert done.returncode == 2
    assert "--budget (from the command line)" in done.stderr and "'ftp://x' is not an http(s) URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_evol_export_and_evol_report_take_their_options_from_their_models() -> None:
    from evolinstruct.app.cli.export import export_command
    from evolinstruct.app.cli.report import report_command
    from evolinstruct.app.publish.options import ExportOptions, ReportOptions

    for command, model in ((export_command, ExportOptions), (report_command, ReportOptions)):
        ctx = click.Context(command, parent=click.Context(cli))
        options = [param for param in command.get_params(ctx) if isinstance(param, click.Option) and param.name != "help"]
        names = [param.name for param in options]
        assert names == [param.name for param in cli_options(model)], command.name
        # Help and default come from the field (export's --format adds the installed formats).
        for param in options:
            field = model.model_fields[param.name]
            assert param.help is not None and " ".join((field.description or "").split()) in param.help
