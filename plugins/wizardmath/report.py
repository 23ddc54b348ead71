"""The math domain's section of ``evol report``: how the rewards are distributed.

One histogram per reward (``reward`` = r_I x r_A, ``instruction_reward``, ``answer_reward``,
``process_reward``) over every kept and eliminated row, kept and eliminated stacked. A scored row
whose score is null (a process reward needs at least one checked step) is counted as missing and
named in the caption, never drawn as 0; a row eliminated before it was scored (its rewrite leaked
the template, say, so it was never answered) carries no reward at all and is counted as not scored,
not as missing; a value outside [0, 1] is counted apart too.
"""

from __future__ import annotations

import html
from typing import Any

from evolinstruct.report import BuildReport, Chart, Histogram, ReportSection, SectionContent, histogram_bars, number_or_none

from .domain import DOMAIN

REWARDS = (
    ("reward", "Reward (instruction reward x answer reward)"),
    ("instruction_reward", "Instruction reward"),
    ("answer_reward", "Answer reward"),
    ("process_reward", "Process reward (the lowest step score)"),
)
BINS = 20
OFFLINE = (
    "The bundled offline model wrote this build: its instruction judge's scores, and so the "
    "instruction reward and the reward, are placeholders, not judgements; the answer and process "
    "rewards were computed by sympy on placeholder solutions."
)
COLORS = {"kept": "#2e7d32", "eliminated": "#c62828"}


def render(report: BuildReport) -> SectionContent | None:
    values: dict[str, dict[str, list[float | None]]] = {name: {"kept": [], "eliminated": []} for name, _ in REWARDS}
    not_scored = dict.fromkeys((name for name, _ in REWARDS), 0)
    for kind, row in report.rows("kept", "eliminated"):
        scores: dict[str, Any] = row.get("scores") or {}
        for name, _ in REWARDS:
            if name in scores:  # null included: scored, and the score could not be computed
                values[name][kind].append(number_or_none(scores[name]))
            else:
                not_scored[name] += 1
    if not any(value is not None for per_kind in values.values() for kind in per_kind.values() for value in kind):
        return SectionContent('<p class="note">No row carries a math reward: no sample was scored.</p>')

    charts = []
    rows = []
    for name, title in REWARDS:
        histograms = {kind: Histogram.of(found, 0.0, 1.0, BINS) for kind, found in values[name].items() if found}
        present = sum(histogram.present for histogram in histograms.values())
        missing = sum(histogram.missing for histogram in histograms.values())
        outside = sum(histogram.below + histogram.above for histogram in histograms.values())
        rows.append((name, present, missing, not_scored[name], outside))
        if not present:
            continue
        caption = f"{present:,} rows scored; {missing:,} scored without a {name} value (not drawn)"
        if not_scored[name]:
            caption += f"; {not_scored[name]:,} eliminated before they were scored"
        if outside:
            caption += f"; {outside:,} outside [0, 1] (not drawn)"
        charts.append(Chart.of(name, histogram_bars(title, histograms, x_title=name, colors=COLORS), caption + "."))
    cells = "".join(
        f"<tr><td>{html.escape(name)}</td><td class=\"num\">{present:,}</td><td class=\"num\">{missing:,}</td>"
        f"<td class=\"num\">{unscored:,}</td><td class=\"num\">{outside:,}</td></tr>"
        for name, present, missing, unscored, outside in rows
    )
    table = (
        "<table><thead><tr><th>score</th><th>rows scored</th><th>missing</th><th>not scored</th>"
        "<th>outside [0, 1]</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )
    explain = (
        "<p>Rewards of every kept and eliminated row, in 20 bins over [0, 1]. A scored row whose "
        "score could not be computed is counted as missing, never as 0; a row eliminated before it "
        "was scored (before answering) is counted as not scored.</p>"
    )
    if report.run.offline:
        explain = f'<p class="note warning">{html.escape(OFFLINE)}</p>' + explain
    return SectionContent(explain + table, tuple(charts))


SECTION = ReportSection(
    "math-rewards",
    "Math rewards",
    render,
    domains=(DOMAIN,),
    description="math: histograms of the instruction, answer, process and overall rewards",
)
