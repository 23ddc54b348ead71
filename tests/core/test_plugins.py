"""Plugin discovery through real entry points: small distributions written into a temporary
folder on PYTHONPATH, and the real ``evol`` command reading them."""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from typing import Any
from pathlib import Path

import pytest

from evolinstruct.types import hookspecs
from tests.conftest import REPO, evol


def make_distribution(root: Path, name: str, module: str, source: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{name}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[evolinstruct]\n{module} = {module}\n", encoding="utf-8")



def build_with_plugin(tmp_path: Path, name: str, module: str, source: str, rounds: int) -> tuple[Any, Path, Path]:
    """``evol build`` of three seeds, ``rounds`` rounds, with a plugin distribution made from
    ``source`` on the path; the finished command, the output folder and the plugin's folder."""
    root = tmp_path / "plugin"
    root.mkdir()
    make_distribution(root, name, module, source)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Describe item {n} in detail."}) + "\n" for n in range(3)))
    out = tmp_path / "out"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", str(rounds), env={"PYTHONPATH": str(root)})
    return result, out, root

DOMAIN_PLUGIN = """
    from evolinstruct import Domain, Operation, hookimpl

    def _prompt(sample, rng):
        return ({"role": "user", "content": sample.instruction},)

    @hookimpl
    def evol_domains():
        yield Domain("{domain}", "test domain", (Operation("twist", _prompt),))
"""


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    return tmp_path


def run(plugin_dir: Path, *args: str, **env: str):
    return evol(*args, env={"PYTHONPATH": str(plugin_dir), **env})


def test_a_plugin_that_fails_to_import_is_reported_and_skipped(plugin_dir: Path) -> None:
    make_distribution(plugin_dir, "broken-plugin", "broken_plugin", "raise ImportError('needs libfoo')\n")
    result = run(plugin_dir, "plugins", "list", "--json")
    assert result.returncode == 0
    assert "plugin 'broken_plugin' (broken-plugin) failed to load and is skipped: ImportError: needs libfoo" in result.stderr
    broken = next(p for p in json.loads(result.stdout) if p["name"] == "broken_plugin")
    assert broken["status"] == "error" and "needs libfoo" in broken["error"]
    assert {p["name"]: p["status"] for p in json.loads(result.stdout)}["general"] == "active"

    strict = run(plugin_dir, "plugins", "list", EVOL_STRICT_PLUGINS="1")
    assert strict.returncode == 2
    assert "plugin 'broken_plugin' (broken-plugin) failed to load" in strict.stderr


def test_two_plugins_claiming_one_domain_fail_naming_both(plugin_dir: Path) -> None:
    make_distribution(plugin_dir, "first-dist", "first_plugin", DOMAIN_PLUGIN.replace("{domain}", "poetry"))
    make_distribution(plugin_dir, "second-dist", "second_plugin", DOMAIN_PLUGIN.replace("{domain}", "poetry"))
    result = run(plugin_dir, "domains", "list")
    assert result.returncode != 0
    assert re.search(r"domain 'poetry' is registered twice: by plugin '(first|second)_plugin' and by plugin '(first|second)_plugin'", result.stderr)
    alone = run(plugin_dir, "-p", "no:second_plugin", "domains", "list", "--json")
    assert alone.returncode == 0, alone.stderr
    assert {d["name"]: d["plugin"] for d in json.loads(alone.stdout)}["poetry"] == "first_plugin"


def test_a_plugin_cannot_take_over_a_core_domain(plugin_dir: Path) -> None:
    make_distribution(plugin_dir, "squatter", "squatter", DOMAIN_PLUGIN.replace("{domain}", "general"))
    result = run(plugin_dir, "domains", "list")
    assert "domain 'general' is registered twice: by plugin 'general' and by plugin 'squatter'" in result.stderr


def test_evol_plugins_and_disable_plugins_choose_what_loads(plugin_dir: Path) -> None:
    make_distribution(plugin_dir, "poetry-dist", "poetry_plugin", DOMAIN_PLUGIN.replace("{domain}", "poetry"))
    statuses = lambda result: {p["name"]: p["status"] for p in json.loads(result.stdout)}  # noqa: E731
    only = run(plugin_dir, "plugins", "list", "--json", EVOL_PLUGINS="poetry_plugin")
    assert statuses(only)["poetry_plugin"] == "active"
    assert statuses(only)["wizardcoder"] == "disabled" and statuses(only)["general"] == "active"
    none = run(plugin_dir, "plugins", "list", "--json", EVOL_PLUGINS="")
    assert {name for name, status in statuses(none).items() if status == "active"} == {"core", "general"}
    off = run(plugin_dir, "plugins", "list", "--json", EVOL_DISABLE_PLUGINS="poetry_plugin,wizardmath")
    assert statuses(off)["poetry_plugin"] == "disabled" and statuses(off)["wizardmath"] == "disabled"
    listed = json.loads(run(plugin_dir, "plugins", "list", "--json").stdout)
    poetry = next(p for p in listed if p["name"] == "poetry_plugin")
    assert (poetry["distribution"], poetry["version"], poetry["hooks"]) == ("poetry-dist", "1.2.3", ["evol_domains"])


def test_a_malformed_disable_option_is_a_usage_error() -> None:
    result = evol("-p", "haiku", "plugins", "list")
    assert result.returncode == 2 and "expected no:NAME" in result.stderr


def documented_calls(guide: str) -> dict[str, str]:
    """The hooks the guide's table lists, by name: ``evol_run_start(run)`` as written there."""
    return {match.group(1): match.group(0) for match in re.finditer(r"^\| `(evol_\w+)\(([^)]*)\)`", guide, re.M)}


def test_every_hook_is_documented_in_the_plugin_guide_with_its_arguments() -> None:
    guide = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    hooks = {name: getattr(hookspecs, name) for name in dir(hookspecs) if name.startswith("evol_")}
    assert len(hooks) >= 10
    table = documented_calls(guide)
    # Each hook once in the table, called with exactly the arguments pluggy passes it by name.
    expected = {name: f"| `{name}({', '.join(inspect.signature(spec).parameters)})`" for name, spec in hooks.items()}
    assert table == expected
    for name in hooks:
        assert f"### `{name}`" in guide or f"`{name}` and" in guide or f"and `{name}`" in guide, name


def test_the_hook_table_check_sees_a_wrong_argument() -> None:
    wrong = "| `evol_run_start(context)` | nothing | ... |\n| `evol_domains()` | `Domain` | ... |"
    assert documented_calls(wrong) == {"evol_run_start": "| `evol_run_start(context)`", "evol_domains": "| `evol_domains()`"}


def test_the_essential_core_plugin_cannot_be_disabled() -> None:
    result = evol("-p", "no:core", "domains", "list")
    assert result.returncode == 2
    assert "plugin 'core' is essential and cannot be disabled" in result.stderr
    from_env = evol("plugins", "list", env={"EVOL_DISABLE_PLUGINS": "core"})
    assert from_env.returncode == 2 and "essential" in from_env.stderr
    listed = {p["name"]: p for p in json.loads(evol("plugins", "list", "--json").stdout)}
    assert listed["core"]["essential"] is True and listed["general"]["essential"] is False
    assert {"evol_filters", "evol_exporters"} <= set(listed["core"]["hooks"])


def test_disabling_a_name_no_plugin_has_warns_with_the_known_names() -> None:
    result = evol("-p", "no:wizardcodr", "plugins", "list", "--json")
    assert result.returncode == 0
    assert "names no installed plugin: wizardcodr" in result.stderr
    assert "wizardcoder" in result.stderr.split("installed:")[1]
    only = evol("plugins", "list", "--json", env={"EVOL_PLUGINS": "haikuu"})
    assert "EVOL_PLUGINS names no installed plugin: haikuu" in only.stderr


def test_a_plugin_broken_in_a_later_hook_is_skipped_whole(plugin_dir: Path) -> None:
    make_distribution(plugin_dir, "half-dist", "half_plugin", DOMAIN_PLUGIN.replace("{domain}", "half") + """
    @hookimpl
    def evol_scorers():
        raise RuntimeError("scorers are broken")
""")
    result = run(plugin_dir, "domains", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert "plugin 'half_plugin' is skipped: evol_scorers raised RuntimeError('scorers are broken')" in result.stderr
    assert "half" not in {d["name"] for d in json.loads(result.stdout)}


def test_a_plugin_whose_hook_yields_the_wrong_type_is_skipped_whole(plugin_dir: Path) -> None:
    make_distribution(plugin_dir, "typo-dist", "typo_plugin", DOMAIN_PLUGIN.replace("{domain}", "typo") + """
    @hookimpl
    def evol_filters():
        yield "not a Filter"
""")
    result = run(plugin_dir, "domains", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert "plugin 'typo_plugin' is skipped: evol_filters must yield Filter objects, got 'not a Filter'" in result.stderr
    assert "typo" not in {d["name"] for d in json.loads(result.stdout)}
    strict = run(plugin_dir, "domains", "list", EVOL_STRICT_PLUGINS="1")
    assert strict.returncode == 2 and "evol_filters must yield Filter objects" in strict.stderr


RULE_PLUGIN = """
    from evolinstruct import hookimpl, row_rule

    @hookimpl
    def evol_curation_rules():
        yield row_rule("exact-duplicate", "a rule taking a built-in rule's name", ("instruction",), lambda row: None)
"""


def test_the_built_in_curation_rules_are_registered_by_the_core_plugin(plugin_dir: Path) -> None:
    from evolinstruct.app.build.host import load_host

    registry = load_host().registry
    builtin = ["contamination", "exact-duplicate", "near-duplicate", "budget"]
    assert [name for name in registry.curation_rules if name in builtin] == builtin
    assert {registry.owner("curation rule", name) for name in builtin} == {"core"}
    # So a plugin cannot take a built-in rule's name: the host refuses it as for any registration.
    make_distribution(plugin_dir, "rule-squatter", "rule_squatter", textwrap.dedent(RULE_PLUGIN))
    result = run(plugin_dir, "plugins", "list")
    assert "curation rule 'exact-duplicate' is registered twice: by plugin 'core' and by plugin 'rule_squatter'" in result.stderr


def test_a_domain_whose_options_are_not_a_model_is_refused(plugin_dir: Path) -> None:
    source = DOMAIN_PLUGIN.replace('"test domain", (Operation("twist", _prompt),))',
                                   '"test domain", (Operation("twist", _prompt),), options=("--speed",))')
    make_distribution(plugin_dir, "old-options", "old_options", textwrap.dedent(source.replace("{domain}", "poetry")))
    result = run(plugin_dir, "domains", "list")
    assert result.returncode == 2
    assert "domain 'poetry': options must be a DomainOptions subclass" in result.stderr
