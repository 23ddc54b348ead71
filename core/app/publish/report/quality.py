"""The report's quality section: answer quality (``scores.quality``) against instruction
complexity (``scores.difficulty``) per round, for builds with ``--quality`` (and ``--difficulty``).

Deita chooses data by both numbers; this shows whether evolution that raised complexity kept the
answers good. Only kept rows count, and only the numbers a judge gave: a row without one of them
is left out of the scatter and counted apart, never drawn at a default. An offline build's numbers
are placeholders, so nothing is drawn for it.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import fmean

import plotly.graph_objects as go

from ....types.report import Chart, SectionContent
from .charts import PALETTE, _layout
from .folder import KEPT
from .markup import note, number, table
from .model import BuildReport

QUALITY = "quality"
COMPLEXITY = "difficulty"


def _value(score: object) -> float | None:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or score != score:
        return None
    return float(score)


def quality_content(report: BuildReport) -> SectionContent | None:
    quality: dict[int, list[float]] = defaultdict(list)
    complexity: dict[int, list[float]] = defaultdict(list)
    pairs: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for _, row in report.rows(KEPT):
        scores = row.get("scores") or {}
        if QUALITY not in scores:
            continue
        round_ = int(row.get("round") or 0)
        q, c = _value(scores.get(QUALITY)), _value(scores.get(COMPLEXITY))
        if q is not None:
            quality[round_].append(q)
        if c is not None:
            complexity[round_].append(c)
        if q is not None and c is not None:
            pairs[round_].append((c, q))
    if not quality and not complexity:
        return None
    if report.run.offline:
        return SectionContent(note(
            "Quality against complexity is not drawn: the ratings come from the bundled offline model, whose "
            "judge replies are placeholders, not ratings.", kind="warning"), ())
    rounds = sorted(set(quality) | set(complexity))
    rows = [[r, len(quality[r]), number(fmean(quality[r]) if quality[r] else None),
             len(complexity[r]), number(fmean(complexity[r]) if complexity[r] else None)] for r in rounds]
    parts = [table(["round", "rated for quality", "mean quality (1-6)", "rated for complexity",
                    "mean complexity (1-10)"], rows)]
    charts = []
    if pairs:
        figure = go.Figure()
        for index, round_ in enumerate(sorted(pairs)):
            xs, ys = zip(*pairs[round_])
            figure.add_trace(go.Scatter(x=list(xs), y=list(ys), mode="markers", name=f"round {round_}",
                                        marker={"color": PALETTE[index % len(PALETTE)], "opacity": 0.6}))
        _layout(figure, "Answer quality against instruction complexity", "complexity (scores.difficulty)",
                "quality (scores.quality)")
        shown = sum(len(points) for points in pairs.values())
        charts.append(Chart.of("quality-complexity", figure, f"{shown:,} kept samples carry both scores."))
    else:
        parts.append(note("No kept sample carries both scores.quality and scores.difficulty: build with "
                          "--quality --difficulty to draw one against the other."))
    return SectionContent("".join(parts), tuple(charts))
