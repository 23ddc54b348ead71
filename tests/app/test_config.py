"""Every build option is checked by the configuration itself, whatever type the value arrives
as (a TOML recipe or Python can give an int where a list belongs): a bad one is a UsageError
naming the option, never a TypeError or a value that breaks the run later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import evolinstruct
from evolinstruct import UsageError
from evolinstruct.app.build.config import make_config


def config(**values: Any):
    return make_config({"seeds": Path("seeds.jsonl"), "out": Path("out"), **values})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"base_url": 5}, "--base-url: must be http(s) URLs"),
        ({"base_url": ["http://a", 3]}, "--base-url: must be http(s) URLs"),
        ({"schedule": 5, "rounds": 1}, "--schedule: must be operation or tag names"),
        ({"schedule": [1, 2], "rounds": 2}, "--schedule: must be operation or tag names"),
        ({"ray": 5}, "--ray: must be a cluster address"),
        ({"shard": (5, 2)}, "--shard: must be I/N with 0 <= I < N"),
        ({"shard": ("0", 2)}, "--shard: must be I/N"),
        ({"operation_weights": "deepen=nan"}, "--operation-weights: Input should be a finite number"),
        ({"operation_weights": {"deepen": float("inf")}}, "--operation-weights: Input should be a finite number"),
        ({"operation_weights": "deepen=-1"}, "--operation-weights: weights must be finite numbers >= 0 (deepen)"),
        ({"timeout": float("inf")}, "--timeout: Input should be a finite number"),
        ({"timeout": 1e300}, "--timeout: Input should be less than or equal to"),
        ({"max_outage": float("nan")}, "--max-outage: Input should be a finite number"),
        ({"temperature": float("nan")}, "--temperature: Input should be a finite number"),
        ({"top_p": float("inf")}, "--top-p: Input should be a finite number"),
        ({"role": 5}, "--role: must be STAGE=MODEL[@URL] strings"),
        ({"role": ["respond=m", "respond"]}, "--role: must be STAGE=MODEL or STAGE=MODEL@URL, got 'respond'"),
        ({"price": 5}, "--price: must be MODEL=IN/OUT strings"),
        ({"price": ["gpt-4o=2.5"]}, "--price: must be MODEL=IN/OUT in dollars per million tokens"),
        ({"price": "m=-1/2"}, "--price: prices must be finite numbers >= 0"),
    ],
)
def test_a_bad_value_of_any_type_is_a_usage_error_naming_the_option(values: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        config(**values)
    assert message in str(caught.value)


def test_good_values_of_every_accepted_form_pass() -> None:
    made = config(
        base_url=["http://a:1/v1", "http://b:2/v1,http://c:3/v1"], schedule="deepen, in-breadth", rounds=2,
        shard=(1, 3), operation_weights="deepen=2,in-breadth=0", timeout=30.5, max_outage=3600,
    )
    assert made.base_url == ("http://a:1/v1", "http://b:2/v1", "http://c:3/v1")
    assert made.schedule == ("deepen", "in-breadth")
    assert made.shard == (1, 3)
    assert made.operation_weights == {"deepen": 2.0, "in-breadth": 0.0}
    assert config(shard="2/4").shard == (2, 4)


def test_the_python_api_raises_the_documented_usage_error(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"instruction": "hi"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match="--base-url"):
        evolinstruct.build(seeds=seeds, out=tmp_path / "out", base_url=5)
    assert not (tmp_path / "out").exists()


def test_a_schedule_as_a_string_or_a_list_is_one_value_and_says_how_many_rounds() -> None:
    as_text, as_list = config(schedule="down, up,up"), config(schedule=["down", "up", "up"])
    assert as_text == as_list and as_text.schedule == ("down", "up", "up") and as_text.rounds == 3
    with pytest.raises(UsageError, match="schedule has 2 entries but rounds is 5"):
        config(schedule="down,up", rounds=5)


def test_domain_options_are_typed_and_read_like_a_mapping() -> None:
    from evolinstruct.app.build.build import domain_options
    from wizardmath.domain import MATH

    options = domain_options(MATH, {"samples": "4", "step_judge": True})
    assert options.samples == 4 and options["samples"] == 4 and options.get("nope", "x") == "x"
    assert {**options}["step_labels"] == "answer" and "rollouts" in options
    with pytest.raises(UsageError, match="--step-labels: Input should be 'answer' or 'rollout'"):
        domain_options(MATH, {"step_labels": "guess"})
    with pytest.raises(UsageError, match="--speed: not an option of domain 'math' \\(its options: --irm-candidates"):
        domain_options(MATH, {"speed": 1})


def test_a_bad_domain_option_says_whether_it_came_from_the_recipe_or_the_command_line(tmp_path: Path) -> None:
    from tests.conftest import evol

    (tmp_path / "seeds.jsonl").write_text('{"instruction": "What is 1 + 1?", "output": "2"}\n')
    recipe = tmp_path / "recipe.toml"
    recipe.write_text('seeds = "seeds.jsonl"\nout = "o"\ndomain = "math"\n[options]\nsamples = -1\n')
    from_recipe = evol("build", "--config", str(recipe), "--dry-run")
    assert from_recipe.returncode == 2
    assert f"--samples (from {recipe} [options]): Input should be greater than or equal to 1" in from_recipe.stderr
    from_command_line = evol("build", "--config", str(recipe), "--samples", "0", "--dry-run")
    assert from_command_line.returncode == 2 and "--samples (from the command line)" in from_command_line.stderr
    recipe.write_text('seeds = "seeds.jsonl"\nout = "o"\ndomain = "math"\n[options]\nsample = 2\n')
    unknown = evol("build", "--config", str(recipe), "--dry-run")
    assert unknown.returncode == 2 and f"--sample (from {recipe} [options]): not an option of domain 'math'" in unknown.stderr
    assert "Traceback" not in from_recipe.stderr + from_command_line.stderr + unknown.stderr
    assert not (tmp_path / "o").exists()
