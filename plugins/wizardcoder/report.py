"""The code domain's section of ``evol report``: what the sandbox said about the answers, per round.

Every kept and eliminated row is counted by ``checks.execution.verdict``, as the sandbox gave it.
A verdict reached without verified tests (``tested`` false: the code only ran) is shown apart from
one reached against tests, because "ran without an error" is not "passed its tests"; a row whose
answer had no code has no verdict, and a candidate eliminated before its code was run has none to
show either. Each of those is its own category, never folded into PASS or FAIL.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from typing import Any, Mapping

from evolinstruct.report import BuildReport, Chart, ReportSection, SectionContent, stacked_bars

from .domain import NAME

NOT_RUN = "not run"
NO_VERDICT = "no verdict"
VERDICT_COLORS = {
    "PASS": "#2e7d32",
    "PASS (untested)": "#a5d6a7",
    "FAIL": "#c62828",
    "RUNTIME_ERROR": "#ef6c00",
    "COMPILE_ERROR": "#8d6e63",
    "TIMEOUT": "#6a1b9a",
    "MEMORY_LIMIT": "#1565c0",
    "OUTPUT_LIMIT": "#00838f",
    NO_VERDICT: "#bdbdbd",
    NOT_RUN: "#e0e0e0",
}


def verdict_of(row: Mapping[str, Any]) -> str:
    """The category a row is counted in: the sandbox's verdict, marked when no tests were run."""
    execution = (row.get("checks") or {}).get("execution")
    if not isinstance(execution, Mapping):
        return NOT_RUN
    verdict = execution.get("verdict")
    if not isinstance(verdict, str):
        return NO_VERDICT
    return verdict if execution.get("tested", True) else f"{verdict} (untested)"


def _order(verdicts: set[str]) -> list[str]:
    known = [name for name in VERDICT_COLORS if name in verdicts]
    others = sorted(verdicts - set(VERDICT_COLORS))
    return [*[name for name in known if name not in (NO_VERDICT, NOT_RUN)], *others,
            *[name for name in (NO_VERDICT, NOT_RUN) if name in verdicts]]


def render(report: BuildReport) -> SectionContent | None:
    counts: dict[str, dict[int, Counter[str]]] = {"kept": defaultdict(Counter), "eliminated": defaultdict(Counter)}
    for kind, row in report.rows("kept", "eliminated"):
        counts[kind][row["round"]][verdict_of(row)] += 1
    if not any(per_round for per_round in counts.values()):
        return None
    run_at_all = any(
        verdict != NOT_RUN for per_round in counts.values() for tally in per_round.values() for verdict in tally
    )
    if not run_at_all:
        return SectionContent('<p class="note">No row carries checks.execution: no code was run.</p>')

    charts = []
    rows_html = []
    for kind, title in (("kept", "Code verdicts per round: kept samples"), ("eliminated", "Code verdicts per round: eliminated candidates")):
        per_round = counts[kind]
        if not per_round:
            continue
        rounds = sorted(per_round)
        verdicts = _order({verdict for tally in per_round.values() for verdict in tally})
        series = {verdict: [per_round[number][verdict] for number in rounds] for verdict in verdicts}
        figure = stacked_bars(
            title, [f"round {number}" for number in rounds], series, value_title="samples", colors=VERDICT_COLORS
        )
        charts.append(Chart.of(f"verdicts-{kind}", figure))
        total: Counter[str] = Counter()
        for tally in per_round.values():
            total.update(tally)
        cells = "".join(
            f"<tr><td>{html.escape(verdict)}</td><td class=\"num\">{total[verdict]:,}</td></tr>" for verdict in verdicts
        )
        rows_html.append(
            f"<h3>{html.escape(kind)}</h3><table><thead><tr><th>verdict</th><th>rows</th></tr></thead>"
            f"<tbody>{cells}</tbody></table>"
        )
    explain = (
        "<p>From <code>checks.execution.verdict</code> of every kept and eliminated row. "
        "<em>(untested)</em>: the code ran with no verified tests, so the verdict says only that "
        "it ran; <em>no verdict</em>: the answer had no code; <em>not run</em>: the candidate was "
        "eliminated before its code was run.</p>"
    )
    return SectionContent(explain + "".join(rows_html), tuple(charts))


SECTION = ReportSection(
    "code-verdicts",
    "Code execution",
    render,
    domains=(NAME,),
    description="code: the sandbox's verdicts per round, for kept and eliminated rows",
)
