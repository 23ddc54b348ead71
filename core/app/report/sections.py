"""A section of the report: what the core draws and what a domain plugin adds.

A section is a registration, like a ``Filter`` or a ``Scorer``: a name, a title, and a function
from the build's ``BuildReport`` to its content (HTML and charts), or None when it has nothing to
show for this build. Plugins yield them from the ``evol_report_sections`` hook; the core's own
sections are the same objects, so a plugin section is drawn exactly like the core's.

A section's function must cover every row of the build (read them with ``report.rows()``), not the
lineage sample the page's browser holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .charts import Chart

if TYPE_CHECKING:  # pragma: no cover
    from .model import BuildReport


@dataclass(frozen=True)
class SectionContent:
    """What a section shows: an HTML fragment (escape every value taken from the data, e.g. with
    ``html.escape``) followed by its charts."""

    html: str = ""
    charts: tuple[Chart, ...] = ()


@dataclass(frozen=True)
class ReportSection:
    """One section of ``evol report``'s page.

    ``name`` is unique across plugins and becomes the section's anchor (``report.html#NAME``);
    ``render`` returns None to leave the section out (a math section on a code build).
    ``domains`` limits the section to builds of those domains (None: every build).
    """

    name: str
    title: str
    render: Callable[[BuildReport], SectionContent | None]
    domains: tuple[str, ...] | None = None
    description: str = ""

    def applies_to(self, domain: str | None) -> bool:
        return self.domains is None or (domain is not None and domain in self.domains)
