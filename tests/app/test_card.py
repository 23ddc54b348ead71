"""The dataset card ``DIR/README.md``: front matter the Hub reads, and numbers that are the files'."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from evolinstruct.app.publish.card import MARKER, write_card
from tests.app.conftest import SEEDS, json_block, read_rows
from tests.conftest import evol


@pytest.fixture
def build(general_build: Path, tmp_path: Path) -> Path:
    """A copy of the module's build, so each test may add files to it."""
    folder = tmp_path / "build"
    shutil.copytree(general_build, folder, ignore=shutil.ignore_patterns("report.html", "README.md"))
    return folder


def front_matter(card: str) -> dict:
    found = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert found, "the card does not start with YAML front matter"
    return yaml.safe_load(found.group(1))


def markdown_table(card: str, heading: str) -> list[dict[str, str]]:
    """The first table under ``## heading``, as rows of {column: cell}."""
    section = card.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(headers, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]


def integer(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_the_card_has_the_front_matter_the_hub_reads(build: Path) -> None:
    assert evol("report", str(build)).returncode == 0
    card = (build / "README.md").read_text(encoding="utf-8")
    meta = front_matter(card)
    assert meta["license"] == "unknown"
    assert re.search(r"^license: unknown\s+# FILL IN", card, re.M)  # a placeholder the user must fill
    assert meta["task_categories"] == ["text-generation"]
    assert meta["size_categories"] == ["n<1K"]
    assert "evol-instruct" in meta["tags"]
    configs = {config["config_name"]: config["data_files"] for config in meta["configs"]}
    assert configs == {
        "default": [{"split": "train", "path": "dataset.jsonl"}],
        "eliminated": [{"split": "train", "path": "eliminated.jsonl"}],
    }
    for files in configs.values():
        assert (build / files[0]["path"]).is_file()


def test_the_build_writes_the_card_and_an_export_adds_its_config(general_build: Path, build: Path) -> None:
    assert MARKER in (general_build / "README.md").read_text()  # written at the end of the build
    card = build / "README.md"
    assert evol("report", str(build)).returncode == 0
    configs = lambda: {c["config_name"]: c["data_files"][0]["path"] for c in front_matter(card.read_text())["configs"]}  # noqa: E731
    assert "parquet" not in configs()
    before = card.read_text()
    assert evol("report", str(build), "--no-card").returncode == 0
    assert card.read_text() == before
    assert evol("export", str(build), "--format", "parquet").returncode == 0  # refreshes the card
    assert configs()["parquet"] == "dataset.parquet"


def test_every_number_in_the_card_is_the_files(build: Path) -> None:
    assert evol("report", str(build)).returncode == 0
    card = (build / "README.md").read_text(encoding="utf-8")
    kept, eliminated, failed = (read_rows(build, name) for name in ("dataset.jsonl", "eliminated.jsonl", "failed.jsonl"))

    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    assert f"| run seed | {manifest['config']['seed']} |" in card
    assert f"on Python {manifest['python']}" in card

    rounds = {integer(row["round"]): row for row in markdown_table(card, "Rounds")}
    for kind, rows in (("kept", kept), ("eliminated", eliminated), ("failed", failed)):
        counted = Counter(row["round"] for row in rows)
        assert {number: integer(row[kind]) for number, row in rounds.items() if integer(row[kind])} == dict(counted), kind

    operations = {row["operation"]: row for row in markdown_table(card, "Operations")}
    for kind, rows in (("kept", kept), ("eliminated", eliminated), ("failed", failed)):
        counted = Counter(row["operation"] for row in rows if row["round"] > 0)
        assert {name: integer(row[kind]) for name, row in operations.items() if integer(row[kind])} == dict(counted), kind

    filters = {row["filter"]: integer(row["eliminated"]) for row in markdown_table(card, "Elimination")}
    assert filters == dict(Counter(row["elimination"]["filter"] for row in eliminated))

    seeds = {row["seed_id"] for row in (*kept, *eliminated, *failed)}
    evolved = sum(1 for row in kept if row["round"] > 0)
    assert f"{len(kept):,} instruction-response pairs in `dataset.jsonl`: {len(seeds):,} seeds" in card
    assert f"and {evolved:,} instructions evolved from them over 4 rounds" in card
    assert f"{len(eliminated):,} evolved candidates were eliminated" in card
    assert f"and {len(failed):,} could not be finished" in card

    usage: dict[str, Counter] = {}
    for row in (*kept, *eliminated, *failed):
        for stage, used in row["usage"].items():
            usage.setdefault(stage, Counter()).update(used)
    tokens_table = card.split("completion tokens:\n\n", 1)[1]
    table_lines = tokens_table.split("\n\n", 1)[0].splitlines()[2:]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table_lines]
    listed = {row[0]: [integer(cell) for cell in row[1:]] for row in cells}
    assert listed == {
        stage: [used["requests"], used["prompt_tokens"], used["completion_tokens"]] for stage, used in usage.items()
    }
    assert "| model | loopback-model |" in card
    assert "| temperature | 1 |" in card and "| top_p | 0.9 |" in card and "| max_tokens | 2,048 |" in card
    assert "## Checks\n\nNo check or score ran" in card
    assert card.count("Seed instructions were rewritten") == 1
    assert "arXiv:2304.12244" in card and "arXiv:2306.08568" in card and "arXiv:2308.09583" in card
    command = json.loads((build / "manifest.json").read_text())["command"]
    assert " ".join(command) in card


def test_a_license_the_user_filled_in_is_kept_and_a_foreign_readme_is_left_alone(build: Path) -> None:
    assert evol("report", str(build)).returncode == 0
    card = build / "README.md"
    card.write_text(card.read_text().replace("license: unknown", "license: cc-by-4.0 #"), encoding="utf-8")
    assert evol("report", str(build)).returncode == 0
    assert front_matter(card.read_text())["license"] == "cc-by-4.0"
    assert MARKER in card.read_text()

    card.write_text("# My own notes\n", encoding="utf-8")
    result = evol("report", str(build))
    assert result.returncode == 0
    assert "was not written by evol; left as it is" in result.stderr
    assert card.read_text() == "# My own notes\n"
    assert write_card(build) is None


def test_the_curation_summary_comes_from_the_curated_files(build: Path) -> None:
    kept = read_rows(build, "dataset.jsonl")
    curated = build / "curated"
    curated.mkdir()
    rules = ["exact-duplicate", "exact-duplicate", "near-duplicate", "contamination", "exact-duplicate"]
    removed = [{**row, "removal": {"rule": rule, "reason": "planted", "of": kept[0]["id"]}} for row, rule in zip(kept[1:], rules)]
    (curated / "dataset.jsonl").write_text("".join(json.dumps(row) + "\n" for row in kept[len(rules) + 1:] + kept[:1]))
    (curated / "removed.jsonl").write_text("".join(json.dumps(row) + "\n" for row in removed))
    # The file's own counts disagree on one rule: the rows win, and the page says so.
    (curated / "curation.json").write_text(
        json.dumps({"counts": {"exact-duplicate": 3, "near-duplicate": 1, "contamination": 2}, "threshold": 0.8})
    )
    result = evol("report", str(build))
    assert result.returncode == 0, result.stderr

    card = (build / "README.md").read_text()
    assert {row["rule"]: integer(row["removed"]) for row in markdown_table(card, "Curation")} == {
        "contamination": 1, "exact-duplicate": 3, "near-duplicate": 1,
    }
    assert f"kept {len(kept) - len(rules):,} rows" in card and f"removed {len(rules)}" in card
    configs = {c["config_name"]: c["data_files"][0]["path"] for c in front_matter(card)["configs"]}
    assert configs["curated"] == "curated/dataset.jsonl"

    page = (build / "report.html").read_text()
    assert '<section id="curation">' in page
    assert "curation.json says 2 rows removed by &#x27;contamination&#x27;, removed.jsonl holds 1" in page
    charts = {chart["id"]: chart["figure"] for chart in json_block(page, "evol-charts")["charts"]}
    per_rule = charts["chart-curation-curation-per-rule"]["data"][0]
    assert dict(zip(per_rule["y"], per_rule["x"])) == {"contamination": 1, "exact-duplicate": 3, "near-duplicate": 1}


def configs_of(card: Path) -> dict[str, str]:
    return {c["config_name"]: c["data_files"][0]["path"] for c in front_matter(card.read_text())["configs"]}


def files_of(card: Path) -> dict[str, str]:
    return {row["file"]: row["what"] for row in markdown_table(card.read_text(), "Files")}


def test_files_made_from_an_earlier_dataset_are_named_stale_not_listed(build: Path) -> None:
    card = build / "README.md"
    kept = read_rows(build, "dataset.jsonl")
    assert evol("export", str(build), "--format", "chat").returncode == 0
    curated = build / "curated"
    curated.mkdir()
    (curated / "dataset.jsonl").write_text("".join(json.dumps(row) + "\n" for row in kept[1:]))
    (curated / "removed.jsonl").write_text(json.dumps({**kept[0], "removal": {"rule": "exact-duplicate"}}) + "\n")
    (curated / "curation.json").write_text(json.dumps({"rows": len(kept), "kept": len(kept) - 1}))
    assert evol("report", str(build)).returncode == 0
    assert configs_of(card)["chat"] == "chat.jsonl" and configs_of(card)["curated"] == "curated/dataset.jsonl"
    assert f"`evol curate` kept {len(kept) - 1:,} rows" in card.read_text()

    # Rebuilt over with other settings: chat.jsonl and curated/ stay, made from the old dataset.
    rebuilt = evol("build", "--seeds", str(SEEDS), "--out", str(build), "--rounds", "1", "--limit", "3",
                   "--restart", "--no-progress")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert read_rows(build, "dataset.jsonl") != kept
    text = card.read_text()
    assert set(configs_of(card)) <= {"default", "eliminated"}
    assert "stale: made from an earlier build" in files_of(card)["chat.jsonl"]
    assert "evol export DIR --format chat" in files_of(card)["chat.jsonl"]
    assert "run `evol curate` again" in files_of(card)["curated/dataset.jsonl"]
    assert "`evol curate` kept" not in text and "from an earlier build of this folder" in text
    assert evol("report", str(build)).returncode == 0
    page = (build / "report.html").read_text()
    assert "evol curate kept" not in page and "made by evol curate from an earlier build of this folder" in page

    # Exported again from the new dataset: listed again, while curated/ stays stale.
    assert evol("export", str(build), "--format", "chat").returncode == 0
    assert configs_of(card)["chat"] == "chat.jsonl" and "curated" not in configs_of(card)
    # A file that no export recorded (copied in, or edited since) is of unknown origin.
    shutil.copy(build / "chat.jsonl", build / "sharegpt.jsonl")
    (build / "chat.jsonl").write_text((build / "chat.jsonl").read_text() + "\n")
    assert evol("report", str(build)).returncode == 0
    assert not {"chat", "sharegpt"} & set(configs_of(card))
    assert "stale" in files_of(card)["sharegpt.jsonl"] and "stale" in files_of(card)["chat.jsonl"]


def test_an_export_stays_listed_when_the_build_is_resumed_with_the_same_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = ("build", "--seeds", str(SEEDS), "--out", str(out), "--rounds", "1", "--limit", "2", "--no-progress")
    assert evol(*command).returncode == 0
    assert evol("export", str(out), "--format", "alpaca").returncode == 0
    assert evol("curate", str(out), "--no-progress").returncode == 0
    before = (out / "dataset.jsonl").read_bytes()
    assert evol(*command).returncode == 0  # resumed: the same rows, the files written again
    assert (out / "dataset.jsonl").read_bytes() == before
    configs = configs_of(out / "README.md")
    assert configs["alpaca"] == "alpaca.json"
    # curate recorded the digest of the dataset it read: the same dataset, so still current.
    assert "curated" in configs, configs


def test_the_card_states_the_selection_that_made_the_curated_set(general_build: Path, build: Path) -> None:
    from evolinstruct.builtins.curation.difficulty import JUDGE_PROMPT
    from evolinstruct.testing import LoopbackLLM, Rule

    shutil.copy(general_build / "README.md", build / "README.md")  # the card the build wrote
    assert "### Selection" not in (build / "README.md").read_text()
    rows = read_rows(build, "dataset.jsonl")
    judge = JUDGE_PROMPT.split(",")[0]
    rules = [Rule(contains=judge, pattern=re.escape(row["instruction"][:40]), reply=f"Difficulty: {1 + n % 9}")
             for n, row in enumerate(rows)]
    budget = 3
    with LoopbackLLM(rules=rules) as server:
        curated = evol("curate", str(build), "--difficulty", "--budget", str(budget), "--by", "difficulty",
                       "--diversity", "0.95", "--embedding-model", "offline-embed", "--no-progress",
                       env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"})
    assert curated.returncode == 0, curated.stderr
    report = json.loads((build / "curated" / "curation.json").read_text())
    kept = read_rows(build, "curated/dataset.jsonl")
    assert len(kept) == budget  # the planted ratings leave enough distinct rows for the budget

    # `evol curate` refreshed the card: it names the budget, the --by expression, the diversity
    # threshold and the embedding model, and its counts are curation.json's and the files'.
    card = (build / "README.md").read_text()
    selection = card.split("### Selection\n", 1)[1].split("\n## ", 1)[0]
    assert "a budget of 3 rows (`--budget 3`)" in selection
    assert "best first by `scores.difficulty` (`--by difficulty`" in selection
    assert "above 0.95 (`--diversity 0.95`)" in selection and "`offline-embed`" in selection
    counts = dict(line.strip("|").split(" | ") for line in selection.splitlines() if line.startswith("| ")
                  and not line.startswith("| rows |"))
    counts = {name.strip(): count.strip() for name, count in counts.items()}
    tally = report["budget"]
    considered = tally["chosen"] + tally["too_similar"] + tally["over_budget"]
    assert integer(counts["in the dataset"]) == len(rows) == report["rows"]
    assert integer(counts["considered by the selection (left by the rules before it)"]) == considered
    assert considered == len(rows) - sum(n for rule, n in report["removed_per_rule"].items() if rule != "budget")
    assert integer(counts["chosen"]) == tally["chosen"] == budget
    assert integer(counts["skipped as too close to a chosen row"]) == tally["too_similar"]
    assert integer(counts["beyond the budget"]) == tally["over_budget"]
    assert integer(counts["kept in `curated/dataset.jsonl`"]) == len(kept) == report["kept"]


def test_a_selection_by_shingles_and_a_product_names_both(build: Path) -> None:
    curated = build / "curated"
    curated.mkdir()
    rows = read_rows(build, "dataset.jsonl")
    (curated / "dataset.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows[:2]))
    (curated / "removed.jsonl").write_text("".join(
        json.dumps({**row, "removal": {"rule": "budget", "reason": "planted"}}) + "\n" for row in rows[2:]))
    (curated / "curation.json").write_text(json.dumps({
        "rows": len(rows), "kept": 2, "removed_per_rule": {"budget": len(rows) - 2},
        "settings": {"budget": 2, "by": "complexity*quality", "budget_similarity": 0.7, "diversity": None},
        # a tally without its over-budget count: the total it would give is unknown, not guessed
        "budget": {"chosen": 2, "chosen_without_score": 1, "too_similar": 1},
    }))
    assert evol("report", str(build)).returncode == 0
    selection = (build / "README.md").read_text().split("### Selection\n", 1)[1].split("\n## ", 1)[0]
    assert "the product of `scores.complexity` and `scores.quality` (`--by complexity*quality`" in selection
    assert "task-word shingles of at least 0.7 (`--budget-similarity 0.7`)" in selection
    assert "embedding" not in selection
    assert "| chosen | 2 (1 without a score) |" in selection
    assert "| considered by the selection (left by the rules before it) | unknown |" in selection
    assert "| beyond the budget | unknown |" in selection
