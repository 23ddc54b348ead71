"""What a section of the report shows (``SectionContent``).

A section is a registration (``ReportSection``, with the other registrations in
``evolinstruct.types``): a name, a title, and a function from the build's ``BuildReport`` to its
content, or None when it has nothing to show for this build. Plugins yield them from the
``evol_report_sections`` hook; the core's own sections are the same objects, so a plugin
section is drawn exactly like the core's.

A section's function must cover every row of the build (read them with ``report.rows()``), not the
lineage sample the page's browser holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ....types.registrations import ReportSection
from .charts import Chart

__all__ = ["ReportSection", "SectionContent"]


@dataclass(frozen=True)
class SectionContent:
    """What a section shows: an HTML fragment (escape every value taken from the data, e.g. with
    ``html.escape``) followed by its charts."""

    html: str = ""
    charts: tuple[Chart, ...] = ()
