"""An operation a plugin adds to every domain (``ExtraOperation(None, operation)``): small
distributions on PYTHONPATH and the real ``evol`` command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import evol
from tests.core.test_plugins import DOMAIN_PLUGIN, make_distribution

EVERYWHERE_PLUGIN = """
    from evolinstruct import ExtraOperation, Operation, hookimpl

    def _prompt(sample, rng):
        return ({"role": "user", "content": "Say it again: " + sample.instruction},)

    @hookimpl
    def evol_operations():
        yield ExtraOperation(None, Operation("{name}", _prompt, weight=0.0))
"""


def test_the_operation_joins_every_domain_a_third_partys_too(tmp_path: Path) -> None:
    make_distribution(tmp_path, "poetry-dist", "poetry_plugin", DOMAIN_PLUGIN.replace("{domain}", "poetry"))
    make_distribution(tmp_path, "again-dist", "again_plugin", EVERYWHERE_PLUGIN.replace("{name}", "say-again"))
    result = evol("domains", "list", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    domains = {d["name"]: d for d in json.loads(result.stdout)}
    for name in ("general", "code", "math", "poetry"):
        added = [op for op in domains[name]["operations"] if op["name"] == "say-again"]
        assert [op["weight"] for op in added] == [0.0], name
    assert [op["name"] for op in domains["poetry"]["operations"]][0] == "twist"


def test_a_domain_with_an_operation_of_that_name_stops_evol_naming_both(tmp_path: Path) -> None:
    # the general domain's own "deepen" and the plugin's
    make_distribution(tmp_path, "again-dist", "again_plugin", EVERYWHERE_PLUGIN.replace("{name}", "deepen"))
    result = evol("domains", "list", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0
    assert "domain operation 'general/deepen' is registered twice: by plugin 'general' and by plugin 'again_plugin'" \
        in result.stderr, result.stderr
