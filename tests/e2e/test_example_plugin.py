"""The example third-party plugin (examples/evol-haiku), installed as a real distribution."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from evolinstruct.testing import Rule
from tests.conftest import EXAMPLES, evol


@pytest.fixture(autouse=True)
def haiku_installed() -> None:
    try:
        metadata.distribution("evol-haiku")
    except metadata.PackageNotFoundError:
        pytest.fail("the example plugin is not installed: pip install ./examples/evol-haiku (the README's set-up does it)")


def test_the_example_plugin_is_listed_with_its_distribution_and_domain() -> None:
    plugins = json.loads(evol("plugins", "list", "--json").stdout)
    haiku = next(p for p in plugins if p["name"] == "haiku")
    assert (haiku["distribution"], haiku["version"], haiku["status"]) == ("evol-haiku", "0.1.0", "active")
    assert haiku["hooks"] == ["evol_domains", "evol_filters"]
    domains = json.loads(evol("domains", "list", "--json").stdout)
    entry = next(d for d in domains if d["name"] == "haiku")
    assert entry["plugin"] == "haiku"
    # Its own operations first; an installed plugin may add operations to every domain, at weight 0.
    assert [op["name"] for op in entry["operations"]][:2] == ["add-image", "add-season"]
    assert all(op["weight"] == 0.0 for op in entry["operations"][2:])
    disabled = json.loads(evol("-p", "no:haiku", "domains", "list", "--json").stdout)
    assert "haiku" not in {d["name"] for d in disabled}


def test_evol_build_runs_the_example_domain_and_its_filter(tmp_path, loopback_llm_factory) -> None:
    three = "Frost on the lettuce\nthe robin tests each furrow\nbreath hangs in the light"
    server = loopback_llm_factory(
        [
            Rule(contains="Not Equal", reply="Not Equal"),
            Rule(contains="#Original Instruction#", reply="Write a haiku about frost that names the robin."),
            Rule(contains="names the robin", reply="only one line"),
            Rule(reply=three),
        ]
    )
    out = tmp_path / "haiku"
    result = evol("build", "--domain", "haiku", "--seeds", str(EXAMPLES / "evol-haiku" / "seeds.jsonl"),
                  "--out", str(out), "--rounds", "1",
                  env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert result.returncode == 0, result.stderr
    kept = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    eliminated = [json.loads(line) for line in (out / "eliminated.jsonl").read_text().splitlines()]
    assert [row["id"] for row in kept] == ["h1", "h2", "h3"]
    assert all(row["response"] == three for row in kept)
    assert {row["elimination"]["filter"] for row in eliminated} == {"three-lines"}
    assert len(eliminated) == 3
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["versions"]["plugins"]["haiku"] == "0.1.0"
