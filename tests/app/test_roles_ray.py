"""The Ray runner builds each shard with the build's model only and without a spending cap, so a
build that asks for roles or a cap on Ray is refused before anything starts: exit 2, one line
saying which option, no folder. Through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import evol, numbered_seeds

pytest.importorskip("ray")

ENDPOINT = ("--base-url", "http://127.0.0.1:9/v1")  # never reached: the refusal comes first


@pytest.mark.parametrize(
    ("options", "recipe", "refusal"),
    [
        (("--role", "respond=answer-model"), "", "--role (or a recipe's [roles]) does not run on a Ray cluster yet"),
        ((), '[roles.respond]\nmodel = "answer-model"\n', "--role (or a recipe's [roles]) does not run on a Ray "
                                                          "cluster yet"),
        (("--max-cost", "5"), "", "--max-cost does not run on a Ray cluster yet"),
    ],
)
def test_roles_or_a_cap_with_ray_are_refused_in_one_line(tmp_path: Path, options: tuple[str, ...], recipe: str,
                                                           refusal: str) -> None:
    seeds = numbered_seeds(tmp_path, 2, "Name harbour number {i}.")
    path = tmp_path / "run.toml"
    path.write_text(recipe, encoding="utf-8")
    out = tmp_path / "out"
    result = evol("build", "--config", str(path), "--seeds", str(seeds), "--out", str(out), "--ray", "local",
                  *ENDPOINT, *options)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [f"evol: error: {refusal}; build without --ray"]
    assert not out.exists()
