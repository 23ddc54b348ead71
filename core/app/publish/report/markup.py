"""Small HTML builders for the report's tables and notes; every value is escaped here."""

from __future__ import annotations

import html
import json
from typing import Any, Iterable, Mapping, Sequence

UNKNOWN = "unknown"


def escape(value: Any) -> str:
    return html.escape(UNKNOWN if value is None else str(value))


def number(value: float | int | None, digits: int = 2) -> str:
    """Thousands separators for integers, ``digits`` decimals for the rest; None is unknown."""
    if value is None:
        return UNKNOWN
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, css: str = "") -> str:
    """Cells are escaped unless they are ``Raw``; numeric columns are right-aligned."""
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in rows)
    return f'<table class="{escape(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Raw(str):
    """HTML that is already safe (built by these helpers)."""


def _cell(cell: Any) -> str:
    if isinstance(cell, Raw):
        return f"<td>{cell}</td>"
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return f'<td class="num">{number(cell)}</td>'
    return f"<td>{escape(cell)}</td>"


def key_values(pairs: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """A two-column table; nested values are shown as compact JSON."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    rows = []
    for key, value in items:
        if isinstance(value, (dict, list, tuple)):
            value = Raw(f"<code>{escape(json.dumps(value, ensure_ascii=False, default=str))}</code>")
        rows.append((key, value))
    return table(("", ""), rows, css="kv")


def note(text: str, *, kind: str = "info") -> str:
    return f'<p class="note {escape(kind)}">{escape(text)}</p>'


def paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"
