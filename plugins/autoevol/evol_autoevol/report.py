"""The report's section on the evolving method, and its part of the dataset card: which method the
rows were evolved with, its history (per optimization step, the dev failure rate of the candidate
chosen) and its text."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from evolinstruct.report import BuildReport, ReportSection, SectionContent

from .method import INITIAL_METHOD, digest


@dataclass(frozen=True)
class UsedMethod:
    """A method named in the rows' ``provenance.method``, with its file's history when the file
    still holds the text the rows were evolved with."""

    name: str
    digest: str
    rows: int
    text: str | None
    history: Sequence[Mapping[str, Any]]
    initial_rate: float | None
    problem: str | None
    """Why the history is not shown (the file cannot be read, or it was edited since)."""


def used_methods(report: BuildReport) -> list[UsedMethod]:
    counts: dict[tuple[str, str], int] = {}
    for _, row in report.rows("kept", "eliminated"):
        named = (row.get("provenance") or {}).get("method")
        if isinstance(named, dict):
            key = (str(named.get("name")), str(named.get("digest")))
            counts[key] = counts.get(key, 0) + 1
    return [_read(name, recorded, count) for (name, recorded), count in sorted(counts.items())]


def _read(name: str, recorded: str, rows: int) -> UsedMethod:
    if name == "initial":
        return UsedMethod(name, recorded, rows, INITIAL_METHOD, (), None, None)
    try:
        document = json.loads(Path(name).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return UsedMethod(name, recorded, rows, None, (), None,
                          "The method file cannot be read here; the rows record its digest only.")
    text = document.get("method") if isinstance(document, dict) else None
    if not isinstance(text, str) or digest(text) != recorded:
        return UsedMethod(name, recorded, rows, None, (), None,
                          "The method file has changed since these rows were evolved (its digest differs); "
                          "its history is not shown.")
    initial = (document.get("initial") or {}).get("dev") or {}
    return UsedMethod(name, recorded, rows, text, tuple(document.get("history") or ()),
                      initial.get("failure_rate") if isinstance(initial, dict) else None, None)


def _rows(count: int) -> str:
    return f"{count} evolved row" + ("" if count == 1 else "s")


def _rate(value: Any) -> str:
    return "unknown" if value is None else f"{float(value):.1%}"


def _chosen(entry: Mapping[str, Any]) -> str:
    number = entry.get("chosen")
    return f"candidate {int(number)}" if number else f"none (kept {entry.get('method')})"


def _rejected(entry: Mapping[str, Any]) -> int:
    return sum(1 for candidate in entry.get("candidates", ()) if not candidate.get("valid"))


def render(report: BuildReport) -> SectionContent | None:
    methods = used_methods(report)
    if not methods:
        return None
    parts = []
    for method in methods:
        part = (f"<h3>{html.escape(method.name)}</h3><p>{_rows(method.rows)}, digest "
                f"<code>{html.escape(method.digest)}</code></p>")
        if method.problem is not None:
            parts.append(part + f"<p>{html.escape(method.problem)}</p>")
            continue
        rows = "".join(
            f"<tr><td>{int(entry.get('step', 0))}</td><td>{html.escape(str(entry.get('method')))}</td>"
            f"<td>{html.escape(_rate(entry.get('dev_failure_rate')))}</td><td>{_rejected(entry)}</td></tr>"
            for entry in method.history
        )
        table = ("<table><thead><tr><th>step</th><th>method kept</th><th>dev failure rate</th>"
                 f"<th>candidates rejected</th></tr></thead><tbody>{rows}</tbody></table>") if rows else ""
        parts.append(part + table + f"<pre>{html.escape(method.text or '')}</pre>")
    return SectionContent(html="".join(parts), charts=())


def card(report: BuildReport) -> str | None:
    """The card's part: each method's name, digest and rows, its optimization history (per step,
    the candidate chosen and its dev failure rate) and its text."""
    methods = used_methods(report)
    if not methods:
        return None
    lines = ["Rows of the operation `auto` were evolved with an evolving method: one prompt that rewrites an "
             "instruction, which `evol method optimize` lets an optimizer model improve from the failures it "
             "observes (Auto Evol-Instruct, Zeng et al. 2024, [arXiv:2406.00770](https://arxiv.org/abs/2406.00770)). "
             "Each such row names its method in `provenance.method`. A failure rate is the share of the dev set's "
             "evolutions the elimination rules removed.", ""]
    for method in methods:
        lines += [f"### `{method.name}`", "", f"{_rows(method.rows)}; digest `{method.digest}`.", ""]
        if method.name == "initial":
            lines += ["The universal initial method, not optimized (the build was given no `--method`).", ""]
        elif method.problem is None and not method.history:
            lines += ["The method file records no optimization history (written or edited by hand).", ""]
        if method.problem is not None:
            lines += [method.problem, ""]
            continue
        if method.history:
            lines += [f"Initial method's dev failure rate: {_rate(method.initial_rate)}.", "",
                      "| step | candidates | rejected | chosen | dev failure rate of the method kept |",
                      "|---|---|---|---|---|"]
            lines += [f"| {int(entry.get('step', 0))} | {len(entry.get('candidates', ()))} | {_rejected(entry)} | "
                      f"{_chosen(entry)} | {_rate(entry.get('dev_failure_rate'))} |" for entry in method.history]
            lines.append("")
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", method.text or "")), default=0))
        lines += ["The method's text:", "", fence, (method.text or "").rstrip("\n"), fence, ""]
    return "\n".join(lines)


SECTION = ReportSection("auto-method", "Evolving method (autoevol)", render, card=card)
