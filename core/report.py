"""The public report contract for plugins: ``evol report``'s sections and what they draw with.

A plugin's ``evol_report_sections`` hook yields ``ReportSection(name, title, render)``;
``render(report: BuildReport) -> SectionContent | None`` reads the build (``report.rows()``,
``report.run``) and returns HTML and ``Chart`` objects. ``Histogram`` and ``number_or_none``
summarise values without counting a missing one as 0; ``histogram_bars`` and ``stacked_bars``
draw a summary as a plotly figure for ``Chart.of``.

Importing this module loads plotly: import it inside the hook (or in the module the hook imports
there), never at the top of a plugin's main module, so that a build does not pay for it.
"""

from __future__ import annotations

from .app.publish.report.charts import histogram_bars, stacked_bars
from .types.registrations import ReportSection
from .types.report import BuildReport, Chart, RowKind, RunFacts, SectionContent
from .types.stats import Distribution, Histogram, number_or_none

__all__ = [
    "BuildReport",
    "Chart",
    "Distribution",
    "Histogram",
    "ReportSection",
    "RowKind",
    "RunFacts",
    "SectionContent",
    "histogram_bars",
    "number_or_none",
    "stacked_bars",
]
