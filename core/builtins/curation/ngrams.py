"""Stable 64-bit hashes of tokens and of word n-grams, computed for many texts at once.

A token's hash is the first 8 bytes of its BLAKE2b digest (little-endian), so it is the same on
every machine and Python version: fingerprint files built once and shipped with the package are
compared with hashes computed at curation time. An n-gram's hash is a polynomial in its tokens'
hashes modulo 2**64; numpy computes it for a whole batch of texts in a handful of vectorised
passes, which is what makes a 100k-row dataset take seconds
instead of minutes.
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

# An odd 64-bit multiplier (splitmix64's increment): odd, so invertible modulo 2**64, which is
# what lets every window's hash come from one prefix sum (see ``TokenStream``).
_BASE = 0x9E3779B97F4A7C15
_MASK = 2**64 - 1
HASH_DESCRIPTION = (
    "token: the first 8 bytes (little-endian) of the BLAKE2b digest of its UTF-8; window of "
    "tokens t0..t(L-1): sum of hash(tj) * 0x9E3779B97F4A7C15**(L-1-j), modulo 2**64"
)


def token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


class TokenHasher:
    """Token hashes with a memo: a dataset repeats its vocabulary, BLAKE2b is paid once a word."""

    def __init__(self) -> None:
        self._memo: dict[str, int] = {}

    def hashes(self, tokens: Sequence[str]) -> list[int]:
        memo = self._memo
        out = list(map(memo.get, tokens))  # the common case, known words, at C speed
        if None in out:
            for index, value in enumerate(out):
                if value is None:
                    token = tokens[index]
                    out[index] = memo[token] = memo.get(token) or token_hash(token)
        return out


def _powers(base: int, count: int) -> np.ndarray:
    """base**0 .. base**(count-1) modulo 2**64."""
    out = np.empty(count, np.uint64)
    if count:
        out[0] = 1
        with np.errstate(over="ignore"):
            out[1:] = np.uint64(base)
            np.cumprod(out, out=out)
    return out


class TokenStream:
    """The token hashes of a batch of texts, ready to hash windows of any length.

    With P[k] = sum_{j<k} w[j] * B**(k-1-j), the window of length L starting at i hashes to
    P[i+L] - P[i] * B**L (mod 2**64); and P itself is B**(k-1) times a cumulative sum of
    w[j] * B**-j, B being odd and so invertible. So each window length costs two vector
    operations over the batch, however long the windows are.
    """

    def __init__(self, token_hashes: np.ndarray, lengths: np.ndarray) -> None:
        self.total = int(token_hashes.shape[0])
        self.lengths = lengths
        self.ends = np.cumsum(lengths)
        self.owner = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        inverse = pow(_BASE, -1, 2**64)
        with np.errstate(over="ignore"):
            scaled = np.cumsum(token_hashes * _powers(inverse, self.total), dtype=np.uint64)
            prefix = np.empty(self.total + 1, np.uint64)
            prefix[0] = 0
            prefix[1:] = scaled * _powers(_BASE, self.total + 1)[: self.total]
        self.prefix = prefix

    def windows(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``(hashes, owners)`` of every window of ``n`` tokens inside one text (windows that
        would straddle two texts are left out; a text shorter than ``n`` has none)."""
        hashes, owners, _ = self.windows_at(n)
        return hashes, owners

    def windows_at(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``windows(n)`` plus each window's start position in the batch."""
        if n < 1 or self.total < n:
            return np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64)
        count = self.total - n + 1
        starts = np.arange(count)
        owners = self.owner[:count]
        valid = starts + n <= self.ends[owners]
        starts = starts[valid]
        return self.hash_at(starts, n), owners[valid], starts

    def hash_at(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Hashes of the windows of ``n`` tokens beginning at ``starts`` (all inside the batch)."""
        with np.errstate(over="ignore"):
            return self.prefix[starts + n] - self.prefix[starts] * np.uint64(pow(_BASE, n, 2**64))

    def hash_spans(self, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Hashes of windows of varying lengths (``lengths[i]`` tokens from ``starts[i]``, all
        inside the batch)."""
        if len(lengths) == 0:
            return np.empty(0, np.uint64)
        powers = _powers(_BASE, int(lengths.max()) + 1)[lengths]
        with np.errstate(over="ignore"):
            return self.prefix[starts + lengths] - self.prefix[starts] * powers


def window_hashes(token_hashes: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``TokenStream(token_hashes, lengths).windows(n)``, for a single window length."""
    return TokenStream(token_hashes, lengths).windows(n)


def sequence_hash(token_hashes: Sequence[int]) -> int:
    """The hash of a window that is exactly this token sequence."""
    value = 0
    for token in token_hashes:
        value = (value * _BASE + token) & _MASK
    return value


class NgramHasher:
    """Word n-gram hashes of many texts at once, from their token lists."""

    def __init__(self) -> None:
        self.tokens = TokenHasher()

    def batch(self, token_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """``(concatenated token hashes, lengths)`` of a batch of token lists."""
        flat: list[int] = []
        lengths = np.empty(len(token_lists), np.int64)
        for index, tokens in enumerate(token_lists):
            flat.extend(self.tokens.hashes(tokens))
            lengths[index] = len(tokens)
        return np.array(flat, dtype=np.uint64), lengths
