r"""How curation reads text: one normal form for duplicates, one token stream for benchmarks.

Three readings, on purpose:

- Duplicates compare *instructions* (with their Alpaca ``input``). The normal form ignores case,
  runs of whitespace and the punctuation that ends or wraps a word (``Hello, "world".`` reads as
  ``hello world``), but keeps punctuation inside a token: ``3.5`` is not ``35``, ``f(1,2)`` is not
  ``f(12)`` and ``3*4`` is not ``3/4``. A stricter form would call different math or code tasks
  duplicates, which is a wrong removal nobody would notice.
- Near duplicates read the task words (``near_tokens``): the normal form without articles and
  ``to``, each plain word reduced to its stem, so "Write a Java code to find a largest number in
  an array" and "... the largest numbers in an array." read alike. Every token that holds a digit
  or a symbol is kept as it is.
- Contamination looks for a benchmark item inside a row, numbers changed or not, so its tokens
  are words and numbers with every number read as ``0`` and every punctuation mark dropped. A
  benchmark item of a few words is matched only as a whole row, by ``literal_tokens``: the same
  words with the numbers as written (``Simplify $\sqrt{242}$.`` is not ``Simplify $\sqrt{50}$.``).
"""

from __future__ import annotations

import re
import unicodedata

import snowballstemmer

# Characters that end sentences, quote or separate; stripped only from the ends of tokens.
EDGE_PUNCTUATION = ".,;:!?\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u00bf\u00a1"

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")
_LITERAL = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d]+")

FUNCTION_WORDS = frozenset(("a", "an", "the", "to"))
"""Words dropped before near-duplicate shingles: the articles and the ``to`` of "write a function
to ...", which change how a task is worded, never which task it is. A longer stop-word list was
measured (benchmarks/near_duplicates.py): it makes every other word a larger share of a long
instruction, so one changed word weighs more, and it would drop words such as ``not``,
``without``, ``or``, ``from`` or ``before``, whose change makes a different task."""
_STEMMER = snowballstemmer.stemmer("english")


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


def near_tokens(text: str, stems: dict[str, str] | None = None) -> list[str]:
    """``normal_tokens`` without ``FUNCTION_WORDS``, each plain word reduced to its stem (the
    Snowball English stemmer): the reading near duplicates are judged on.

    ``stems`` is a memo of what each token becomes ("" for a function word) that a caller
    reading many texts keeps between calls: a dataset repeats its vocabulary, and the stemmer
    is then paid once a word."""
    # Keyed by the whitespace-split, case-folded piece, edge punctuation and all: the memo then
    # replaces normal_tokens' loop over the tokens as well as the stemmer.
    pieces = unicodedata.normalize("NFKC", text).casefold().split()
    memo = stems if stems is not None else {}
    try:  # the common case, every piece known, at C speed
        return list(filter(None, map(memo.__getitem__, pieces)))
    except KeyError:
        for piece in pieces:
            if piece not in memo:
                memo[piece] = _task_word(piece.strip(EDGE_PUNCTUATION))
        return list(filter(None, map(memo.__getitem__, pieces)))


def _task_word(token: str) -> str:
    if not token or token in FUNCTION_WORDS:
        return ""
    # Only plain words are stemmed: "3.5", "f(x)" or "log_2" are kept as they are.
    return _STEMMER.stemWord(token) if token.isalpha() else token


def literal_tokens(text: str) -> list[str]:
    """Lower-case words and numbers, numbers as written (``1,000`` and ``3.5`` one token each)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _LITERAL.findall(folded)
