"""Charts: plotly figures built from summaries (never from a sample of rows), inlined as JSON.

Plotly is imported by the functions that draw, not by the module: the report's contract
(``evolinstruct.report``) and a plugin's section module can be imported by every build.

Plotly draws them in the page from the figure JSON with plotly.js, which ships inside the
``plotly`` wheel and is inlined into the page, so the page opens offline. The shared look (fonts,
grid, colours) is one template applied in the page, not repeated in every figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ....types.report import Chart
from ....types.stats import Distribution, Histogram

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

STATUS_COLORS = {
    "kept": "#2e7d32",
    "eliminated": "#c62828",
    "failed": "#ef6c00",
    "not reached": "#9e9e9e",
}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _layout(figure: go.Figure, title: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "title": {"text": title},
        "legend": {"orientation": "h", "y": -0.2, "traceorder": "normal"},
        "showlegend": True,  # also for one series: its name says what the bars count
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "height": 380,
        **extra,
    }
    figure.update_layout(**settings)
    figure.update_xaxes(title_text=x_title)
    figure.update_yaxes(title_text=y_title)
    return figure


def stacked_bars(
    title: str,
    categories: Sequence[Any],
    series: Mapping[str, Sequence[int]],
    *,
    category_title: str = "",
    value_title: str = "",
    colors: Mapping[str, str] | None = None,
    horizontal: bool = False,
) -> go.Figure:
    """One bar per category, stacked by series (``{"kept": [...], "eliminated": [...]}``);
    ``horizontal`` suits many or long category names."""
    import plotly.graph_objects as go  # here: a build reads this module without drawing

    figure = go.Figure()
    labels = [str(category) for category in categories]
    for index, (name, values) in enumerate(series.items()):
        color = (colors or {}).get(name, PALETTE[index % len(PALETTE)])
        if horizontal:
            figure.add_trace(go.Bar(name=name, y=labels, x=list(values), orientation="h", marker_color=color))
        else:
            figure.add_trace(go.Bar(name=name, x=labels, y=list(values), marker_color=color))
    if horizontal:
        return _layout(
            figure,
            title,
            value_title,
            category_title,
            barmode="stack",
            yaxis={"type": "category", "autorange": "reversed", "automargin": True},
            height=max(300, 130 + 28 * len(labels)),
        )
    return _layout(figure, title, category_title, value_title, barmode="stack", xaxis={"type": "category"})


def boxes_per_round(
    title: str,
    series: Mapping[Any, Mapping[int, Distribution]],
    *,
    y_title: str,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """Boxes drawn from precomputed quartiles: whiskers at min and max, a dashed line at the mean."""
    import plotly.graph_objects as go  # here: a build reads this module without drawing

    figure = go.Figure()
    # A categorical axis lists categories in the order the traces first show them: a round that
    # kept nothing would come after the later rounds the first trace has. The axis gets every
    # round, in order, from all the series.
    every_round = sorted({number for per_round in series.values() for number in per_round})
    for index, (name, per_round) in enumerate(series.items()):
        rounds = sorted(per_round)
        summaries = [per_round[number] for number in rounds]
        figure.add_trace(
            go.Box(
                name=name,
                x=[f"round {number}" for number in rounds],
                q1=[summary.q1 for summary in summaries],
                median=[summary.median for summary in summaries],
                q3=[summary.q3 for summary in summaries],
                lowerfence=[summary.minimum for summary in summaries],
                upperfence=[summary.maximum for summary in summaries],
                mean=[summary.mean for summary in summaries],
                boxmean=True,
                marker_color=(colors or {}).get(name, PALETTE[index % len(PALETTE)]),
                hovertext=[f"n = {summary.count}" for summary in summaries],
            )
        )
    return _layout(figure, title, "", y_title, boxmode="group",
                   xaxis={"type": "category", "categoryorder": "array",
                          "categoryarray": [f"round {number}" for number in every_round]})


def histogram_bars(
    title: str,
    histograms: Mapping[str, Histogram],
    *,
    x_title: str,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """Precomputed histograms (same bins), stacked: each series' bars at the bins' centres."""
    import plotly.graph_objects as go  # here: a build reads this module without drawing

    figure = go.Figure()
    for index, (name, histogram) in enumerate(histograms.items()):
        figure.add_trace(
            go.Bar(
                name=name,
                x=histogram.centers,
                y=list(histogram.counts),
                width=[histogram.width] * len(histogram.counts),
                marker_color=(colors or {}).get(name, PALETTE[index % len(PALETTE)]),
            )
        )
    return _layout(figure, title, x_title, "samples", barmode="stack", bargap=0.02)
