"""What ``evol curate`` left in ``DIR/curated/``, read defensively.

``curated/removed.jsonl`` (each removed row with ``removal.rule``) and ``curated/dataset.jsonl``
(the kept rows) are counted as they are, so the page's numbers come from the rows. ``curation.json``
is read for its own counts per rule and its settings; its layout is not fixed yet, so a counts
mapping is looked for under a few names and anything else is shown as it is. Where the file and
the rows disagree, both are shown with a note, and a file that cannot be read is named on the
page instead of stopping the report: the build's own report matters more than its curation.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ....runtime.output import CURATED, CURATED_DATASET, CURATED_REMOVED, CURATION_REPORT as CURATION, DATASET
from ...build.folder import file_digest

_COUNTS_KEYS = ("counts_per_rule", "removed_per_rule", "per_rule", "counts", "removed", "rules")


@dataclass(frozen=True)
class CurationSummary:
    kept: int | None
    """Rows in ``curated/dataset.jsonl`` (None: no such file)."""
    removed_per_rule: Mapping[str, int] | None
    """Rows of ``curated/removed.jsonl`` per ``removal.rule`` (None: no such file)."""
    declared_per_rule: Mapping[str, int] | None
    """The counts per rule ``curation.json`` states (None: none found)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Everything else ``curation.json`` holds, as it is."""
    problems: tuple[str, ...] = ()

    @property
    def per_rule(self) -> Mapping[str, int]:
        """The counts the page shows: the rows' when removed.jsonl exists, else the file's."""
        if self.removed_per_rule is not None:
            return self.removed_per_rule
        return self.declared_per_rule or {}

    @property
    def removed(self) -> int | None:
        if self.removed_per_rule is not None:
            return sum(self.removed_per_rule.values())
        return sum(self.declared_per_rule.values()) if self.declared_per_rule is not None else None


def read_curation(folder: Path) -> CurationSummary | None:
    curated = folder / CURATED
    if not curated.is_dir():
        return None
    problems: list[str] = []
    kept = _count_lines(curated / CURATED_DATASET)
    removed = _count_rules(curated / CURATED_REMOVED, problems)
    declared: dict[str, int] | None = None
    settings: dict[str, Any] = {}
    path = curated / CURATION
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{path}: could not be read ({error})")
            data = None
        if isinstance(data, dict):
            declared, used_key = _declared_counts(data)
            settings = {key: value for key, value in data.items() if key != used_key}
        elif data is not None:
            problems.append(f"{path}: expected a JSON object, got {type(data).__name__}")
    if declared is not None and removed is not None:
        for rule in sorted(set(declared) | set(removed)):
            if declared.get(rule, 0) != removed.get(rule, 0):
                problems.append(
                    f"{CURATION} says {declared.get(rule, 0)} rows removed by {rule!r}, "
                    f"removed.jsonl holds {removed.get(rule, 0)}; the page shows removed.jsonl's"
                )
    return CurationSummary(kept, removed, declared, settings, tuple(problems))


def _declared_counts(data: Mapping[str, Any]) -> tuple[dict[str, int] | None, str | None]:
    """A mapping rule -> count, or rule -> {count|removed|rows: n}, under one of a few names."""
    for key in _COUNTS_KEYS:
        value = data.get(key)
        if not isinstance(value, Mapping) or not value:
            continue
        counts: dict[str, int] = {}
        for rule, count in value.items():
            if isinstance(count, Mapping):
                count = next((count[name] for name in ("removed", "count", "rows") if name in count), None)
            if not isinstance(count, int) or isinstance(count, bool):
                break
            counts[str(rule)] = count
        else:
            return counts, key
    return None, None


def _count_lines(path: Path) -> int | None:
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if line.strip())


def _count_rules(path: Path, problems: list[str]) -> dict[str, int] | None:
    if not path.is_file():
        return None
    counts: Counter[str] = Counter()
    unreadable: list[int] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                removal = json.loads(line).get("removal")
                rule = removal.get("rule") if isinstance(removal, dict) else None
            except (json.JSONDecodeError, AttributeError):
                rule = None
            if not isinstance(rule, str):
                unreadable.append(number)
                rule = "unknown"
            counts[rule] += 1
    if unreadable:
        problems.append(
            f"{path}: {len(unreadable)} rows without a removal.rule (first at line {unreadable[0]}), "
            "counted as 'unknown'"
        )
    return dict(sorted(counts.items()))


def curated_is_current(folder: Path, dataset_sha256: str) -> bool:
    """Whether ``curated/`` was made from the current dataset.

    ``evol curate`` does not record the digest of the dataset it read (when its ``curation.json``
    holds a ``dataset_sha256``, that decides). Until then the sound test available is a
    conservative one: the curated rows must be written after the dataset last was (a rebuild
    rewrites dataset.jsonl, so anything curated before it is from the earlier dataset), and the
    rows curate says it read must be the dataset's. A resumed build that rewrites the same rows
    makes the curation look stale too: the card then says "run evol curate again", which is
    true-to-be-safe, never a wrong claim.
    """
    curated = folder / CURATED
    try:
        data = json.loads((curated / CURATION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    data = data if isinstance(data, dict) else {}
    recorded = data.get("dataset_sha256")
    if isinstance(recorded, str):
        return recorded == dataset_sha256
    try:
        written_after = (curated / CURATED_DATASET).stat().st_mtime_ns >= (folder / DATASET).stat().st_mtime_ns
    except OSError:
        return False
    rows = data.get("rows")
    if isinstance(rows, int) and not isinstance(rows, bool):
        with (folder / DATASET).open("rb") as handle:
            same_rows = rows == sum(1 for line in handle if line.strip())
    else:
        same_rows = True  # not said: the time alone decides
    return written_after and same_rows


def curation_is_stale(folder: Path) -> bool:
    """True when the folder has a ``curated/`` dataset that was not made from its current dataset."""
    if not (folder / CURATED / CURATED_DATASET).is_file() or not (folder / DATASET).is_file():
        return False
    return not curated_is_current(folder, file_digest(folder / DATASET))
