"""The report's contract with plugins: what a section reads and what it gives back.

A report section (``ReportSection``, a registration) is a function from the build's
``BuildReport`` to its ``SectionContent`` (an HTML fragment and ``Chart`` objects), or None to be
left out of this build. Everything here is plain data with no charting library behind it, so a
plugin's module can import it freely; the helpers that draw a figure with plotly
(``histogram_bars``, ``stacked_bars``) are in ``evolinstruct.report``, to import inside the
``evol_report_sections`` hook.

A section must cover every row of the build (``report.rows()``), not the lineage sample the
page's browser holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Literal, Mapping, Protocol

RowKind = Literal["kept", "eliminated", "failed"]
"""Which file a row of the build comes from: dataset.jsonl, eliminated.jsonl or failed.jsonl."""


class FigureJSON(Protocol):
    """What a plotly ``Figure`` offers (the contract does not import plotly)."""

    def to_plotly_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Chart:
    """One chart of a section: its name (unique in the page), a caption under it, and the figure."""

    name: str
    figure: Mapping[str, Any]
    """A plotly figure as JSON (``{"data": [...], "layout": {...}}``); ``Chart.of`` makes one from
    a ``plotly.graph_objects.Figure``."""
    caption: str = ""

    def __post_init__(self) -> None:
        # A plotly Figure is taken as it is (what a plugin author naturally passes); anything
        # else that is not a figure's JSON is refused here rather than drawn as nothing.
        if hasattr(self.figure, "to_plotly_json"):
            object.__setattr__(self, "figure", _figure_json(self.figure))  # type: ignore[arg-type]
        elif not isinstance(self.figure, Mapping) or "data" not in self.figure:
            raise TypeError(f"chart {self.name!r}: the figure must be a plotly Figure or its JSON "
                            f"({{'data': [...], 'layout': {{...}}}}), got {type(self.figure).__name__}")

    @classmethod
    def of(cls, name: str, figure: FigureJSON, caption: str = "") -> Chart:
        return cls(name, _figure_json(figure), caption)


def _figure_json(figure: FigureJSON) -> dict[str, Any]:
    data = figure.to_plotly_json()
    data["layout"].pop("template", None)  # the page applies one template to every chart
    return {"data": data["data"], "layout": data["layout"]}


@dataclass(frozen=True)
class SectionContent:
    """What a section shows: an HTML fragment (escape every value taken from the data, e.g. with
    ``html.escape``) followed by its charts."""

    html: str = ""
    charts: tuple[Chart, ...] = ()


class RunFacts(Protocol):
    """What the build's manifest says about the run; None where it does not say."""

    @property
    def status(self) -> str | None: ...
    @property
    def command(self) -> tuple[str, ...] | None: ...
    @property
    def domain(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def offline(self) -> bool | None:
        """True when the bundled offline model wrote the rows: their text and judges' numbers are placeholders."""
    @property
    def rounds(self) -> int | None: ...
    @property
    def config(self) -> Mapping[str, Any]:
        """The build's resolved options, as manifest.json records them."""


class BuildReport(Protocol):
    """A build folder as a report section reads it."""

    @property
    def run(self) -> RunFacts: ...
    @property
    def domain(self) -> str | None: ...
    @property
    def seeds(self) -> int: ...
    @property
    def kept(self) -> int: ...
    @property
    def eliminated(self) -> int: ...
    @property
    def failed(self) -> int: ...

    def rows(self, *kinds: RowKind) -> Iterator[tuple[RowKind, dict[str, Any]]]:
        """Every row of the build's files of these kinds (all three when none is named), in file order."""
