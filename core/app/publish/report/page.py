"""The report as one self-contained HTML file: styles, scripts (plotly.js and the page's own) and
data inlined, nothing fetched from a network, so the file can be mailed, archived and opened
offline in any browser.

Inlined text is made safe for its place: JSON data sits in ``<script type="application/json">``
with every ``<`` escaped (no value can close the element), and scripts are checked for a closing
tag they must not contain.
"""

from __future__ import annotations

import datetime as _dt
import json
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

from ....types.errors import EvolError

from ....types.registrations import ReportSection
from ....types.report import Chart, SectionContent
from .core_sections import CORE_SECTIONS
from .markup import escape, note
from .model import BuildReport


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script(code: str) -> str:
    if "</script" in code.lower():
        raise ValueError("an inlined script contains '</script' and would end its element early")
    return f"<script>{code}</script>"


def _json_block(element_id: str, value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False)
    text = text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _plotly() -> tuple[str, dict[str, Any]]:
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    template = pio.templates["plotly_white"].to_plotly_json()
    return get_plotlyjs(), template


def sections_for(report: BuildReport, extra: Iterable[ReportSection] = ()) -> list[ReportSection]:
    """The core's sections, then the plugins' that apply to this build's domain."""
    chosen = list(CORE_SECTIONS)
    names = {section.name for section in chosen}
    for section in extra:
        if section.name in names or section.name == "lineages":
            raise EvolError(f"two report sections are named {section.name!r}; section names must be unique")
        names.add(section.name)
        if section.applies_to(report.domain):
            chosen.append(section)
    return chosen


def render_report(
    report: BuildReport,
    sections: Sequence[ReportSection] = (),
    failures: list[tuple[ReportSection, BaseException]] | None = None,
) -> str:
    """The page for ``report``: the core's sections, then ``sections`` (a plugin's, from the
    ``evol_report_sections`` hook), then the lineage browser.

    A section whose ``render`` raises is a bug in its code: without ``failures`` that stops the
    page (``EvolError``); with it, the section shows what went wrong, the error is added to
    ``failures``, and the rest of the page is drawn."""
    rendered: list[tuple[ReportSection, SectionContent]] = []
    for section in sections_for(report, sections):
        try:
            content = section.render(report)
            for chart in content.charts if content is not None else ():
                if not isinstance(chart, Chart):
                    raise TypeError(f"its charts must be Chart objects, got {type(chart).__name__}")
        except Exception as error:
            if failures is None:
                raise EvolError(f"the report section {section.name!r} failed: {type(error).__name__}: {error}") from error
            failures.append((section, error))
            content = SectionContent(html=note(
                f"This section could not be drawn: its code raised {type(error).__name__}: {error}", kind="warning"))
        if content is not None:
            rendered.append((section, content))

    charts: list[dict[str, Any]] = []
    bodies = []
    for section, content in rendered:
        figures = []
        for chart in content.charts:
            chart_id = f"chart-{section.name}-{chart.name}"
            charts.append({"id": chart_id, "figure": chart.figure})
            figures.append(_figure(chart_id, chart))
        bodies.append(
            f'<section id="{escape(section.name)}"><h2>{escape(section.title)}</h2>'
            f"{content.html}{''.join(figures)}</section>"
        )
    bodies.append(_lineage_section(report))
    nav = "".join(
        f'<a href="#{escape(section.name)}">{escape(section.title)}</a>' for section, _ in rendered
    ) + '<a href="#lineages">Lineages</a>'
    notes = "".join(note(text, kind="warning") for text in report.notes)

    plotly_js, template = _plotly()
    lineages = {"seeds": report.seeds, "lineages": [lineage.as_json() for lineage in report.lineages]}
    run = report.run
    subtitle = " · ".join(
        part
        for part in (
            f"domain {report.domain or 'unknown'}",
            f"model {run.model or 'unknown'}",
            f"status {run.status or 'unknown'}",
            f"{report.kept:,} samples from {report.seeds:,} seeds",
            "written " + _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>evol report: {escape(report.path.name)}</title>"
        f"<style>{_asset('report.css')}</style>"
        "</head><body>"
        f"<header><h1>evol report: {escape(report.path.name)}</h1><p>{escape(subtitle)}</p></header>"
        f"<nav>{nav}</nav>"
        f"<main>{notes}{''.join(bodies)}</main>"
        + _json_block("evol-charts", {"template": template, "charts": charts})
        + _json_block("evol-lineages", lineages)
        # plotly.js looks for MathJax only when told to; "local" keeps it from asking a network.
        + _script("window.PlotlyConfig = {MathJaxConfig: 'local'};")
        + _script(plotly_js)
        + _script(_asset("report.js"))
        + "</body></html>\n"
    )


def _figure(chart_id: str, chart: Chart) -> str:
    caption = f"<figcaption>{escape(chart.caption)}</figcaption>" if chart.caption else ""
    return f'<figure><div class="chart" id="{escape(chart_id)}"></div>{caption}</figure>'


def _lineage_section(report: BuildReport) -> str:
    held = len(report.lineages)
    if held == report.seeds:
        scope = f"All {report.seeds:,} lineages."
    else:
        scope = (
            f"{held:,} of {report.seeds:,} lineages: a uniform sample of seeds (the same for the same "
            "folder); evol report --lineages N holds more or fewer. The charts above cover every row."
        )
    return (
        '<section id="lineages"><h2>Lineages</h2>'
        f'<p class="lineage-scope">{escape(scope)} Choose a seed to see its evolution tree: every '
        "candidate under the sample it was evolved from, kept, eliminated (with the filter and its "
        "reason) and failed, with the change from its parent's instruction highlighted.</p>"
        '<div class="browser"><div class="seed-panel">'
        '<input id="lineage-search" type="search" placeholder="Search seed ids and instructions" '
        'aria-label="Search seed ids and instructions">'
        '<label><input type="checkbox" id="lineage-eliminated-only"> only lineages with eliminations</label>'
        '<p id="lineage-matches" class="hint"></p><ul id="seed-list"></ul></div>'
        '<div id="lineage-tree"><p class="hint">Choose a seed on the left.</p></div></div></section>'
    )


def write_report(
    report: BuildReport,
    sections: Sequence[ReportSection] = (),
    output: Path | None = None,
    failures: list[tuple[ReportSection, BaseException]] | None = None,
) -> Path:
    """Write the page (to ``DIR/report.html`` by default) through a temporary file, so a reader
    never sees half a page. ``failures``: see ``render_report``."""
    from ....runtime.output import REPORT, write_text

    target = output or report.path / REPORT
    write_text(target, render_report(report, sections, failures))
    return target
