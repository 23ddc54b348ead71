"""The options of ``evol export`` and ``evol report``, declared once: their command lines (help,
defaults, forms) are generated from these models (``cli/options.py``), as ``evol build``'s are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ...types.options import Cli
from .report.lineages import DEFAULT_LINEAGES

_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)


class ExportOptions(BaseModel):
    """Everything ``evol export DIR`` accepts besides the folder, validated."""

    model_config = _CONFIG

    format: str = "parquet"
    """Export format."""
    output: Annotated[Path | None, Cli(default_text="a file in DIR named by the format")] = None
    """Where to write; its folder is created."""
    system: str | None = None
    """A system prompt added to every conversation (chat, sharegpt, alpaca)."""
    min_round: Annotated[int | None, Field(ge=0)] = None
    """Keep rows of this round and later (0: seeds)."""
    domain_verdict: Annotated[str | None, Cli(metavar="VERDICT")] = None
    """Keep rows with a check of this verdict (e.g. PASS: code that passed its tests)."""
    min_score: Annotated[dict[str, float], Cli(repeat=True, metavar="NAME=X")] = Field(default_factory=dict)
    """Keep rows whose score NAME is at least X (a missing score fails); repeatable."""

    @field_validator("min_score", mode="before")
    @classmethod
    def _name_equals_number(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            scores: dict[str, Any] = {}
            for item in value:
                name, sep, least = str(item).partition("=")
                if not sep or not name.strip():
                    raise ValueError(f"expected NAME=NUMBER, got {item!r}")
                scores[name.strip()] = least.strip()
            return scores
        return value


class ReportOptions(BaseModel):
    """Everything ``evol report DIR`` accepts besides the folder, validated."""

    model_config = _CONFIG

    price_in: Annotated[float | None, Field(ge=0)] = None
    """Price per million prompt tokens, to show the run's cost."""
    price_out: Annotated[float | None, Field(ge=0)] = None
    """Price per million completion tokens, to show the run's cost."""
    lineages: Annotated[int, Field(ge=0)] = DEFAULT_LINEAGES
    """Lineages the page's browser holds (a uniform sample of seeds); the charts always cover every row."""
    output: Annotated[Path | None, Cli(default_text="DIR/report.html")] = None
    """Where to write the page (its folder is created); never one of the build's own files."""
    card: bool = True
    """Also refresh the dataset card DIR/README.md."""

    @model_validator(mode="after")
    def _both_prices_or_neither(self) -> ReportOptions:
        if (self.price_in is None) != (self.price_out is None):
            raise ValueError("give both --price-in and --price-out, or neither")
        return self
