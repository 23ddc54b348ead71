"""The offline model's embeddings: hashed character n-grams, normalised.

Deterministic on every machine and Python version (BLAKE2b of each n-gram, never Python's
``hash``), so the same text always gets the same vector; texts that share most of their
character n-grams get vectors with a high cosine similarity, which is what a test of a
diversity selection needs from an embedding model. Signed feature hashing (each n-gram adds +1
or -1 to one coordinate) keeps unrelated texts near orthogonal. It is no model of meaning: a
paraphrase in other words is far from the original.
"""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np

DEFAULT_DIMENSIONS = 256
NGRAM = 3
"""Characters per n-gram: words of three letters and more share n-grams with their inflections."""


class HashedEmbedder:
    """Vectors of ``dimensions`` floats (unit length; a text without a character is all zeros),
    with a memo of each n-gram's coordinate and sign: a corpus repeats its n-grams."""

    def __init__(self, dimensions: int = DEFAULT_DIMENSIONS) -> None:
        if dimensions < 1:
            raise ValueError(f"embeddings need at least one dimension, got {dimensions}")
        self.dimensions = dimensions
        self._memo: dict[str, int] = {}  # n-gram -> coordinate * 2 + (1 if its sign is negative)

    def _slot(self, gram: str) -> int:
        slot = self._memo.get(gram)
        if slot is None:
            value = int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "little")
            slot = self._memo[gram] = (value >> 1) % self.dimensions * 2 + (value & 1)
        return slot

    def embed(self, text: str) -> np.ndarray:
        # Case, width and runs of whitespace do not change a text's vector; the spaces at both
        # ends mark where words begin and end.
        folded = " " + " ".join(unicodedata.normalize("NFKC", text).casefold().split()) + " "
        vector = np.zeros(self.dimensions, np.float64)
        if len(folded) > 2:
            slots = np.array([self._slot(folded[i : i + NGRAM]) for i in range(max(1, len(folded) - NGRAM + 1))])
            signs = np.where(slots & 1, -1.0, 1.0)
            np.add.at(vector, slots >> 1, signs)
            norm = np.linalg.norm(vector)
            if norm > 0:
                vector /= norm
        return vector

    def embed_many(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), np.float64)
        for row, text in enumerate(texts):
            out[row] = self.embed(text)
        return out
