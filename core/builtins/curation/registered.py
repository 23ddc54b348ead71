"""The built-in curation rules as the ``core`` plugin registers them (``evol_curation_rules``).

They are registrations like a plugin's, applied after the plugins' rules in this order:
contamination, exact-duplicate, near-duplicate, budget. Those that depend on ``evol curate``'s
options are made per run from them (``CurationRule.configure``).
"""

from __future__ import annotations

from ...types.curation import CurationRule, CurationRun
from .contamination import NAME as CONTAMINATION, ContaminationIndex, contamination_rule
from .exact import exact_duplicate_rule
from .near import NAME as NEAR_DUPLICATE, near_duplicate_rule
from .selection import NAME as BUDGET, budget_rule


def _contamination(run: CurationRun) -> CurationRule | None:
    if not run.benchmarks:
        return None
    return contamination_rule(ContaminationIndex(run.benchmarks, run.options["containment"]))


def _near_duplicate(run: CurationRun) -> CurationRule:
    return near_duplicate_rule(run.options["near_dup_threshold"])


def _budget(run: CurationRun) -> CurationRule | None:
    options = run.options
    if options.get("budget") is None:
        return None
    return budget_rule(
        options["budget"], options["by"], run.score_of, options["budget_similarity"], run.budget_tally,
        diversity=options.get("diversity"), embed=run.embed,
    )


BUILTIN_CURATION_RULES: tuple[CurationRule, ...] = (
    CurationRule(CONTAMINATION, "Rows that contain a benchmark item (--against, --containment).",
                 ("instruction", "input", "response"), configure=_contamination),
    exact_duplicate_rule(),
    CurationRule(NEAR_DUPLICATE, "Rows whose instruction is a near duplicate of a kept row's (--near-dup-threshold).",
                 ("instruction", "input"), configure=_near_duplicate),
    CurationRule(BUDGET, "Keeps the --budget best rows by --by, skipping near-alike ones (Deita).",
                 ("instruction", "input", "scores"), configure=_budget),
)
