"""The build knows its immutable plan and the cache factory it is given; what runs its engine
(this process, or a Ray cluster's shards) is chosen by the command line or the API."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from evolinstruct.app.api import runner_for
from evolinstruct.app.build.build import Build, BuildPlan
from evolinstruct.app.build.config import make_config
from evolinstruct.runtime.cache import Cache
from tests.conftest import numbered_seeds


def test_the_runner_is_chosen_from_the_options_outside_the_build(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 1, "Name a colour {i}.")
    assert runner_for(make_config({"seeds": seeds, "out": tmp_path / "out"})) is Build.run
    pytest.importorskip("ray")
    from evolinstruct.app.cluster.ray_build import run_on_ray

    assert runner_for(make_config({"seeds": seeds, "out": tmp_path / "out", "ray": ""})) is run_on_ray
    assert not hasattr(Build, "open_cache")  # no method for a subclass to override: a factory is given


def test_the_plan_is_found_once_and_never_changes(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Name a colour {i}.")
    config = make_config({"seeds": seeds, "out": tmp_path / "out", "limit": 2})
    with Build(config, environ={}) as build:
        assert build.plan is None
        plan = build.check().plan
        assert isinstance(plan, BuildPlan) and (plan.selected, plan.offline, plan.domain.name) == (2, True, "general")
        with pytest.raises(dataclasses.FrozenInstanceError):
            plan.selected = 3  # type: ignore[misc]
        assert build.check().plan is plan  # checked once
        assert build.selected == 2 and build.domain is plan.domain


def test_the_build_opens_its_cache_with_the_factory_it_is_given(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 1, "Name a colour {i}.")
    opened: list[Path] = []

    def factory(path: Path) -> Cache:
        opened.append(path)
        return Cache(path)

    config = make_config({"seeds": seeds, "out": tmp_path / "out"})
    with Build(config, environ={}, open_cache=factory) as build:
        build.prepare()
        assert opened == [tmp_path / "out" / "cache.sqlite"] and build.cache.path == opened[0]
        assert build.opened is not None and build.opened.tally is build.tally
        with pytest.raises(dataclasses.FrozenInstanceError):
            build.opened.cache = None  # type: ignore[misc]
        # Every attribute a build has is made in __init__; check() and prepare() each set one.
        assert set(vars(build)) == {"config", "host", "environ", "console", "open_cache", "stack", "started",
                                    "plan", "opened", "spent_before"}
