"""Exact duplicates: rows whose instruction (with its input) is the same after normalisation.

Of each group the row kept is the one of the lowest round, then the first in the file; the others
are removed as its duplicates. The normal form is ``text.normalise`` (case, whitespace and the
punctuation around words; see there why not more).
"""

from __future__ import annotations

import hashlib
from typing import Iterator, Sequence

from ...types.curation import Candidate, CurationRule, Progress, Removal
from .text import dedup_text, normalise

NAME = "exact-duplicate"


def _key(candidate: Candidate) -> bytes:
    text = dedup_text(candidate.values.get("instruction") or "", candidate.values.get("input"))
    return hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=16).digest()


def exact_duplicates(candidates: Sequence[Candidate], progress: Progress) -> Iterator[tuple[int, Removal]]:
    kept: dict[bytes, Candidate] = {}
    ordered = sorted(candidates, key=lambda c: c.keep_order)
    for candidate in progress(ordered, total=len(ordered), description="exact duplicates"):
        key = _key(candidate)
        twin = kept.get(key)
        if twin is None:
            kept[key] = candidate
        else:
            yield candidate.position, Removal(
                f"same instruction as {twin.id} (round {twin.round}) once case, whitespace and "
                "punctuation around words are ignored",
                of=twin.id,
            )


def exact_duplicate_rule() -> CurationRule:
    return CurationRule(
        NAME,
        "Rows whose instruction (with its input) equals another's after normalising case, "
        "whitespace and punctuation around words; the lowest round, then the first in the file, is kept.",
        ("instruction", "input"),
        check_dataset=exact_duplicates,
    )
