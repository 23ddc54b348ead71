"""A recipe's prices are tables, one per model (``[prices."gpt-4o"] input = 2.5, output = 10``),
over the built-in table and under ``--price``; anything else in a recipe is refused naming the file
and the key. Through the real CLI's dry run, which prices each stage at its model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import evol, numbered_seeds

# The dry run never reaches the endpoint; a URL makes the named models the ones asked.
ENDPOINT = ("--base-url", "http://127.0.0.1:9/v1", "--model", "cheap-model", "--role", "respond=gpt-4o")


def dry_run(tmp_path: Path, recipe: str, *extra: str):
    seeds = numbered_seeds(tmp_path, 1, "Name harbour number {i}.")
    path = tmp_path / "run.toml"
    path.write_text(recipe, encoding="utf-8")
    return evol("build", "--config", str(path), "--seeds", str(seeds), "--out", str(tmp_path / "out"),
                "--dry-run", *ENDPOINT, *extra), path


def cost_line(stdout: str, stage: str) -> str:
    return next(line.strip() for line in stdout.splitlines() if line.strip().startswith(f"cost at most, {stage} "))


TABLES = '[prices."gpt-4o"]\ninput = 1.5\noutput = 3\n[prices."cheap-model"]\ninput = 0.1\noutput = 0.2\n'


def test_a_recipe_table_prices_its_models_over_the_built_in_table(tmp_path: Path) -> None:
    result, _ = dry_run(tmp_path, TABLES)
    assert result.returncode == 0, result.stderr
    # respond: at most 5 requests of 2,048 prompt and 2,048 completion tokens (one seed, four rounds).
    assert "respond            5           10,240             10,240" in result.stdout
    # 10,240 * 1.5 / 1e6 + 10,240 * 3 / 1e6 = $0.046; the built-in 2.5/10 would be $0.128.
    assert cost_line(result.stdout, "respond") == "cost at most, respond (gpt-4o): $0.05"
    assert "cost unknown" not in result.stdout and "(cheap-model): $0.00" in result.stdout


def test_the_command_lines_price_wins_over_the_recipes(tmp_path: Path) -> None:
    result, _ = dry_run(tmp_path, TABLES, "--price", "gpt-4o=2.5/10")
    assert result.returncode == 0, result.stderr
    assert cost_line(result.stdout, "respond") == "cost at most, respond (gpt-4o): $0.13"


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ('price = ["gpt-4o=2.5/10"]\n', 'price: a recipe gives prices as tables, one per model: [prices."gpt-4o"]'),
        ('prices = ["gpt-4o=2.5/10"]\n', 'prices must be a table of models: [prices."gpt-4o"]'),
        ('[prices."gpt-4o"]\ninput = "cheap"\noutput = 10\n', '[prices."gpt-4o"] input (from {path}): Input should '
                                                              "be a valid number"),
        ('[prices."gpt-4o"]\ninput = -1\noutput = 10\n', '[prices."gpt-4o"] input (from {path}): Input should be '
                                                         "greater than or equal to 0"),
        ('[prices."gpt-4o"]\nin = 2.5\noutput = 10\n', '[prices."gpt-4o"] in (from {path}): is not an option'),
        ('[prices."gpt-4o"]\noutput = 10\n', '[prices."gpt-4o"] input (from {path}): Field required'),
        ('[prices]\n"gpt-4o" = 2.5\n', '[prices."gpt-4o"] (from {path}): Input should be a valid dictionary'),
    ],
)
def test_a_bad_entry_is_refused_naming_the_file_and_key(tmp_path: Path, recipe: str, message: str) -> None:
    result, path = dry_run(tmp_path, recipe)
    assert result.returncode == 2, result.stdout
    assert message.format(path=path) in result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr
