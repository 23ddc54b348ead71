"""How curation reads text: one normal form for duplicates, one token stream for benchmarks.

Two different readings, on purpose:

- Duplicates compare *instructions* (with their Alpaca ``input``). The normal form ignores case,
  runs of whitespace and the punctuation that ends or wraps a word (``Hello, "world".`` reads as
  ``hello world``), but keeps punctuation inside a token: ``3.5`` is not ``35``, ``f(1,2)`` is not
  ``f(12)`` and ``3*4`` is not ``3/4``. A stricter form would call different math or code tasks
  duplicates, which is a wrong removal nobody would notice.
- Contamination looks for a benchmark item inside a row, numbers changed or not, so its tokens
  are words and numbers with every number read as ``0`` and every punctuation mark dropped.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that end sentences, quote or separate; stripped only from the ends of tokens.
EDGE_PUNCTUATION = ".,;:!?\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u00bf\u00a1"

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")


def dedup_text(instruction: str, input_text: str | None = None) -> str:
    """The text duplicates are judged on: the instruction, then its input when it has one."""
    if input_text:
        return f"{instruction}\n{input_text}"
    return instruction


def normal_tokens(text: str) -> list[str]:
    """Case-folded, whitespace-split tokens with edge punctuation stripped (empty ones dropped)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    tokens = []
    for raw in folded.split():
        token = raw.strip(EDGE_PUNCTUATION)
        if token:
            tokens.append(token)
    return tokens


def normalise(text: str) -> str:
    """The normal form two exact duplicates share (see the module docstring)."""
    return " ".join(normal_tokens(text))


def benchmark_tokens(text: str) -> list[str]:
    """Lower-case word tokens with every number (``16``, ``3.5``, ``1,000``) read as ``0``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(_NUMBER.sub("0", folded))
