"""Which answer a math sample is judged against.

A seed carries its reference final answer in the field ``answer``. An evolved problem is a new
problem, so the reference its lineage inherits no longer applies: the domain moves it to
``seed_answer`` when the candidate is made (lineage information, never a key), and an evolved
sample is judged by the consensus of its sampled solutions instead.
"""

from __future__ import annotations

from evolinstruct import Sample

REFERENCE = "answer"
"""The field holding a seed's reference final answer."""
INHERITED_REFERENCE = "seed_answer"
"""Where an evolved sample keeps its seed's reference answer."""


def reference_answer(sample: Sample) -> str | None:
    """The reference final answer, which only a seed has."""
    if sample.parent_id is not None:
        return None
    value = sample.fields.get(REFERENCE)
    return value if isinstance(value, str) and value.strip() else None
