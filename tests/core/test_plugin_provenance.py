"""Provenance entries a plugin adds to the rows (``evol_provenance``, ``ProvenanceEntry``): a
small distribution on PYTHONPATH and the real ``evol build`` against the bundled offline model."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.test_plugins import build_with_plugin

STAMP_PLUGIN = """
    from evolinstruct import ProvenanceEntry, hookimpl

    def stamp(sample, options):
        if sample.round == 0:
            return None  # a seed was not stamped
        return {VALUE}

    @hookimpl
    def evol_provenance():
        yield ProvenanceEntry("{NAME}", stamp, description="the round the row was evolved in")
"""


def build(tmp_path: Path, name: str = "stamp", value: str = '{"round": sample.round, "op": sample.operation}'):
    source = STAMP_PLUGIN.replace("{NAME}", name).replace("{VALUE}", value)
    result, out, _ = build_with_plugin(tmp_path, "stamp-dist", "stamp_plugin", source, rounds=2)
    return result, out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_every_evolved_row_carries_the_plugins_entry_beside_the_cores(tmp_path) -> None:
    result, out = build(tmp_path)
    assert result.returncode == 0, result.stderr
    written = rows(out / "dataset.jsonl") + rows(out / "eliminated.jsonl")
    evolved = [row for row in written if row["round"] > 0]
    assert evolved and len(written) > len(evolved)
    assert all(row["provenance"]["stamp"] == {"round": row["round"], "op": row["operation"]} for row in evolved)
    assert all("stamp" not in row["provenance"] for row in written if row["round"] == 0)
    assert all(row["provenance"]["endpoint"] == "offline" and "response" in row["provenance"] for row in written)


def test_a_plugin_cannot_take_a_core_entry(tmp_path) -> None:
    result, out = build(tmp_path, name="model")
    assert result.returncode == 2, result.stderr
    assert "plugin 'stamp_plugin': provenance entry 'model' is one of the core's own" in result.stderr
    assert not out.exists()


def test_a_value_that_is_not_json_stops_the_build_naming_the_plugin(tmp_path) -> None:
    result, out = build(tmp_path, value="{1, 2}")  # a set: json cannot write it
    assert result.returncode != 0
    assert "provenance entry 'stamp' of plugin 'stamp_plugin'" in result.stderr, result.stderr
    assert not any("stamp" in row["provenance"] for row in rows(out / "dataset.jsonl"))
