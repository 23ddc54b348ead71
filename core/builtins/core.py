"""The essential ``core`` plugin: the paper's four elimination rules, the export formats, the
difficulty judge that ``evol build --difficulty`` switches on, and ``evol curate``'s rules.

Written as a plugin like any other, but it cannot be disabled (``evol -p no:core`` is refused):
a build without the elimination rules would silently stop doing what Evol-Instruct says, and the
export formats are how its output reaches a trainer.
"""

from __future__ import annotations

from typing import Iterable

from ..types.curation import CurationRule
from ..types.hookspecs import hookimpl
from ..types.registrations import Exporter, Filter, Scorer
from .curation.difficulty import SCORER as DIFFICULTY
from .curation.registered import BUILTIN_CURATION_RULES
from .quality import SCORER as QUALITY
from .exporters import EXPORTERS
from .rules import PAPER_RULES


@hookimpl
def evol_filters() -> Iterable[Filter]:
    yield from PAPER_RULES


@hookimpl
def evol_exporters() -> Iterable[Exporter]:
    yield from EXPORTERS


@hookimpl
def evol_scorers() -> Iterable[Scorer]:
    yield DIFFICULTY  # runs only in builds with --difficulty (Scorer.enabled)
    yield QUALITY  # runs only in builds with --quality


@hookimpl
def evol_curation_rules() -> Iterable[CurationRule]:
    yield from BUILTIN_CURATION_RULES  # after every plugin's rules (see app/curate)
