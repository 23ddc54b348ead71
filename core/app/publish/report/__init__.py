"""``evol report``: a build folder read into a report model, drawn as one self-contained page.

- ``model.read_build(folder)`` reads the folder's files into a ``BuildReport``: counts per round,
  operation and filter, distributions, tokens, the curation summary, a sample of lineages;
- ``page.render_report(report, sections)`` draws it: the core's sections, then the domain
  plugins' ``ReportSection`` objects, then the lineage browser;
- ``command.report_command`` is ``evol report DIR``.
"""

from __future__ import annotations

from .charts import Chart, boxes_per_round, histogram_bars, stacked_bars
from .folder import BuildFolder, FolderError, RowKind
from .model import BuildReport, Prices, read_build
from .page import render_report, write_report
from .sections import ReportSection, SectionContent
from .stats import Distribution, Histogram, number_or_none

__all__ = [
    "BuildFolder",
    "BuildReport",
    "Chart",
    "Distribution",
    "FolderError",
    "Histogram",
    "Prices",
    "ReportSection",
    "RowKind",
    "SectionContent",
    "boxes_per_round",
    "histogram_bars",
    "number_or_none",
    "read_build",
    "render_report",
    "stacked_bars",
    "write_report",
]
