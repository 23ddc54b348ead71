"""``evol curate``'s options, declared once: the command line (help, defaults, forms) is generated
from this model (``cli/options.py``), as ``evol build``'s is from ``BuildConfig``.

The judge's endpoint is a build's endpoint: its fields (model, URLs, key, endpoint name,
concurrency, run seed, progress) are ``BuildConfig``'s own fields, taken as they are declared
there, so the two commands accept the same values and resolve the same endpoint (and a build's
cached judgements serve curation).
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic.fields import FieldInfo

from ...builtins.curation import difficulty as judge
from ...builtins.curation.near import DEFAULT_THRESHOLD as NEAR_DUP_THRESHOLD, SHINGLE
from ...builtins.curation.selection import DEFAULT_SIMILARITY
from ...runtime.session import parse_base_urls
from ...types.options import Cli
from ..build.config import BuildConfig
from .curate import DEFAULT_EMBEDDING_MODEL

Similarity = Annotated[float, Field(gt=0.0, le=1.0)]


def _build_option(name: str) -> Any:
    """``evol build``'s declaration of the option ``name`` (type, checks, help, default)."""
    field: FieldInfo = BuildConfig.model_fields[name]
    return copy.deepcopy(field)  # a copy: this model's field must not share the build's object


class CurateOptions(BaseModel):
    """Everything ``evol curate DIR`` accepts besides the folder, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)

    against: Annotated[tuple[str, ...], Cli(repeat=True, metavar="NAME|FILE", default_text="all built-in")] = ()
    """Benchmark to decontaminate against (repeatable): humaneval, mbpp, gsm8k, math500, or a JSONL/Parquet file
    of yours (text in prompt/question/problem/text/instruction)."""
    near_dup_threshold: Similarity = NEAR_DUP_THRESHOLD
    budget: Annotated[int | None, Field(ge=0), Cli(metavar="N")] = None
    """Keep at most N rows: the best by --by, skipping rows too similar to ones chosen (Deita)."""
    by: Annotated[str, Cli(metavar="SCORE")] = judge.SCORE
    """Score the budget ranks by: difficulty, or any numeric scores.NAME (e.g. reward), or a product of them
    (complexity*quality)."""
    budget_similarity: Similarity = DEFAULT_SIMILARITY
    """With --budget: Jaccard similarity from which a row is too close to one already chosen."""
    diversity: Annotated[float | None, Field(gt=0.0, le=1.0), Cli(metavar="COSINE")] = None
    """With --budget: skip a row whose instruction embedding has a cosine similarity above this with a row already
    chosen (Deita), instead of --budget-similarity; embeddings from the endpoint's /embeddings, cached in
    DIR/cache.sqlite."""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    """Embedding model for --diversity."""
    difficulty: bool = False
    """Rate each instruction's difficulty 1-10 with an LLM judge (rows that have scores.difficulty keep theirs);
    cached in DIR/cache.sqlite."""
    skip: Annotated[tuple[str, ...], Cli(repeat=True, metavar="RULE")] = ()
    """Do not apply this rule (repeatable): contamination, exact-duplicate, near-duplicate, or a plugin's."""
    # The judge's endpoint, as evol build declares it.
    model: str | None = _build_option("model")
    base_url: tuple[str, ...] = _build_option("base_url")
    api_key: SecretStr | None = _build_option("api_key")
    endpoint_id: str | None = _build_option("endpoint_id")
    concurrency: int = _build_option("concurrency")
    seed: int = _build_option("seed")
    progress: bool | None = _build_option("progress")

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> Any:
        return parse_base_urls(value)


# A docstring cannot hold an f-string: this one's help names the shingle size it is about.
CurateOptions.model_fields["near_dup_threshold"].description = (
    f"Jaccard similarity of word {SHINGLE}-shingles from which two instructions are near duplicates.")
CurateOptions.model_rebuild(force=True)
