"""A plugin's part of the dataset card (``ReportSection(card=...)``): a small distribution on
PYTHONPATH, the real ``evol build`` (offline model) and ``evol export``, which refresh the card."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import evol
from tests.core.test_plugins import build_with_plugin

SECTION_PLUGIN = """
    from evolinstruct import ReportSection, hookimpl

    def render(report):
        return None  # nothing on the report page: the card part is what is tested

    def card(report):
        evolved = sum(1 for kind, row in report.rows("kept") if row["round"] > 0)
        {BODY}

    @hookimpl
    def evol_report_sections():
        yield ReportSection("tally", "Evolved rows (tally plugin)", render, card=card, domains={DOMAINS})
"""


def build(tmp_path: Path, body: str, domains: str = "None") -> tuple[Path, str]:
    source = SECTION_PLUGIN.replace("{BODY}", body).replace("{DOMAINS}", domains)
    result, out, root = build_with_plugin(tmp_path, "tally-dist", "tally_plugin", source, rounds=1)
    assert result.returncode == 0, result.stderr
    return out, str(root)


def test_the_card_holds_the_plugins_part_under_its_title(tmp_path) -> None:
    out, root = build(tmp_path, 'return f"{evolved} rows were evolved."')
    card = (out / "README.md").read_text()
    kept = sum(1 for line in (out / "dataset.jsonl").read_text().splitlines() if json.loads(line)["round"] > 0)
    assert f"## Evolved rows (tally plugin)\n\n{kept} rows were evolved.\n" in card
    assert card.index("## Evolved rows (tally plugin)") < card.index("## License")
    # Refreshed by evol export with the same part; without the plugin the part is gone.
    assert evol("export", str(out), "--format", "chat", env={"PYTHONPATH": root}).returncode == 0
    assert f"{kept} rows were evolved." in (out / "README.md").read_text()
    assert evol("export", str(out), "--format", "chat").returncode == 0
    assert "tally plugin" not in (out / "README.md").read_text()


def test_a_part_for_other_domains_or_none_is_left_out(tmp_path) -> None:
    out, _ = build(tmp_path, 'return f"{evolved} rows"', domains='("math",)')
    assert "tally plugin" not in (out / "README.md").read_text()
    other = tmp_path / "other"
    other.mkdir()
    out, _ = build(other, "return None")
    assert "tally plugin" not in (out / "README.md").read_text()


def test_a_part_that_raises_is_named_and_the_card_stands(tmp_path) -> None:
    out, _ = build(tmp_path, 'raise ValueError("no tally today")')
    card = (out / "README.md").read_text()
    assert "## Evolved rows (tally plugin)" in card
    assert "This part could not be written: its code raised ValueError: no tally today" in card
    assert "## License" in card
