"""The report's section on the evolving method: which method the rows were evolved with, its
history (the dev failure rate per optimization step) and its text."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from evolinstruct.report import BuildReport, ReportSection, SectionContent

from .method import INITIAL_METHOD, digest


def _history(name: str, recorded: str) -> str:
    path = Path(name)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return "<p>The method file cannot be read here; the rows record its digest only.</p>"
    text = document.get("method") if isinstance(document, dict) else None
    if not isinstance(text, str) or digest(text) != recorded:
        return "<p>The method file has changed since these rows were evolved (its digest differs); its history is not shown.</p>"
    rows = "".join(
        f"<tr><td>{int(entry.get('step', 0))}</td><td>{html.escape(str(entry.get('method')))}</td>"
        f"<td>{html.escape(_rate(entry.get('dev_failure_rate')))}</td>"
        f"<td>{sum(1 for c in entry.get('candidates', ()) if not c.get('valid'))}</td></tr>"
        for entry in document.get("history") or ()
    )
    table = ("<table><thead><tr><th>step</th><th>method kept</th><th>dev failure rate</th>"
             f"<th>candidates rejected</th></tr></thead><tbody>{rows}</tbody></table>") if rows else ""
    return f"{table}<pre>{html.escape(text)}</pre>"


def _rate(value: Any) -> str:
    return "unknown" if value is None else f"{float(value):.1%}"


def render(report: BuildReport) -> SectionContent | None:
    methods: dict[tuple[str, str], int] = {}
    for _, row in report.rows("kept", "eliminated"):
        named = (row.get("provenance") or {}).get("method")
        if isinstance(named, dict):
            key = (str(named.get("name")), str(named.get("digest")))
            methods[key] = methods.get(key, 0) + 1
    if not methods:
        return None
    parts = [
        f"<h3>{html.escape(name)}</h3><p>{count} evolved rows, digest <code>{html.escape(recorded)}</code></p>"
        + ("<pre>" + html.escape(INITIAL_METHOD) + "</pre>" if name == "initial" else _history(name, recorded))
        for (name, recorded), count in sorted(methods.items())
    ]
    return SectionContent(html="".join(parts), charts=())


SECTION = ReportSection("auto-method", "Evolving method (autoevol)", render)
