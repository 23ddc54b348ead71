"""Finding benchmark items inside rows: containment of an item's n-grams in a row's text.

A row is contaminated by an item when at least ``threshold`` of the item's distinct word n-grams
appear in the row's instruction or response (numbers read as ``0``). Measuring the item inside the
row, not the row against the item, is what finds an item embedded in a longer instruction; with
numbers normalised a changed number changes nothing; and a light edit breaks only the n-grams
that span it, so most of a long item's n-grams still match. An item shorter than the n-gram size
is matched whole: its complete token sequence must appear in the row.

The index is built once from the fingerprints; rows are matched in batches with numpy, so a row
that shares no n-gram with any benchmark (almost every row) costs a binary search per n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .benchmarks import Fingerprints
from .ngrams import NgramHasher, TokenStream
from .rule import CurationRule, Removal, Row
from .text import benchmark_tokens, dedup_text

DEFAULT_THRESHOLD = 0.4
"""Share of an item's n-grams that must appear in a row; see benchmarks/README.md (Curation)."""


@dataclass(frozen=True)
class Match:
    """The benchmark item a row contains, and how much of it."""

    benchmark: str
    item_id: str
    found: int
    total: int
    whole: bool

    @property
    def containment(self) -> float:
        return self.found / self.total

    @property
    def of(self) -> str:
        return f"{self.benchmark}:{self.item_id}"

    def reason(self, ngram: int) -> str:
        if self.whole:
            return f"contains the whole of {self.benchmark} item {self.item_id} (a short item)"
        return (
            f"contains {self.found} of the {self.total} word {ngram}-grams "
            f"({self.containment:.0%}) of {self.benchmark} item {self.item_id}"
        )


class ContaminationIndex:
    """Every benchmark item's n-grams in one sorted array, for batch look-ups."""

    def __init__(self, benchmarks: Sequence[Fingerprints], threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"the containment threshold must be in (0, 1], got {threshold}")
        ngrams = {fp.ngram for fp in benchmarks}
        if len(ngrams) > 1:
            raise ValueError(f"the benchmarks use different n-gram sizes: {sorted(ngrams)}")
        self.ngram = ngrams.pop() if ngrams else 8
        self.threshold = threshold
        self.hasher = NgramHasher()
        self.item_names: list[tuple[str, str]] = []  # (benchmark, item id) per item index
        item_totals: list[int] = []
        gram_chunks: list[np.ndarray] = []
        owner_chunks: list[np.ndarray] = []
        whole: dict[int, dict[int, int]] = {}  # length -> {sequence hash: item index}
        for fp in benchmarks:
            for item in fp.items:
                index = len(self.item_names)
                self.item_names.append((fp.name, item.id))
                item_totals.append(len(item.grams))
                if item.whole:
                    whole.setdefault(item.tokens, {}).setdefault(int(item.grams[0]), index)
                else:
                    gram_chunks.append(item.grams)
                    owner_chunks.append(np.full(len(item.grams), index, np.int64))
        self.item_totals = np.array(item_totals, np.int64)
        grams = np.concatenate(gram_chunks) if gram_chunks else np.empty(0, np.uint64)
        owners = np.concatenate(owner_chunks) if owner_chunks else np.empty(0, np.int64)
        order = np.argsort(grams, kind="stable")
        grams, owners = grams[order], owners[order]
        # CSR layout: each distinct gram once, with the range of items that contain it.
        self.grams, first = np.unique(grams, return_index=True)
        self.item_start = np.append(first, len(grams)).astype(np.int64)
        self.item_of = owners
        self.whole = {length: (np.array(sorted(table), np.uint64), table) for length, table in whole.items()}

    @property
    def size(self) -> int:
        return len(self.item_names)

    def match(self, rows: Sequence[Sequence[list[str]]]) -> list[Match | None]:
        """The best match of each row (None when clean). A row is given as its texts' tokens
        (``text.benchmark_tokens`` of its instruction and of its response): n-grams never span
        two texts, and containment counts an item's n-grams found in any of them."""
        token_lists: list[list[str]] = []
        row_of_text: list[int] = []
        for row_index, texts in enumerate(rows):
            for tokens in texts:
                token_lists.append(tokens)
                row_of_text.append(row_index)
        best: list[Match | None] = [None] * len(rows)
        if not token_lists or not self.item_names:
            return best
        hashes, lengths = self.hasher.batch(token_lists)
        stream = TokenStream(hashes, lengths)
        text_rows = np.array(row_of_text, np.int64)
        self._match_grams(stream, text_rows, best)
        self._match_whole(stream, text_rows, best)
        return best

    def _match_grams(self, stream: TokenStream, text_rows: np.ndarray, best: list[Match | None]) -> None:
        if len(self.grams) == 0:
            return
        windows, owners = stream.windows(self.ngram)
        position = np.searchsorted(self.grams, windows)
        position[position == len(self.grams)] = 0
        hit = self.grams[position] == windows
        if not hit.any():
            return
        # Distinct (row, gram) pairs: a gram repeated in a row, or in its instruction and its
        # response, counts once.
        pairs = np.unique(np.stack([text_rows[owners[hit]], position[hit]], axis=1), axis=0)
        rows, grams = pairs[:, 0], pairs[:, 1]
        starts, stops = self.item_start[grams], self.item_start[grams + 1]
        spans = stops - starts
        row_per_item = np.repeat(rows, spans)
        offsets = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
        items = self.item_of[np.repeat(starts, spans) + offsets]
        found_pairs, found = np.unique(np.stack([row_per_item, items], axis=1), axis=0, return_counts=True)
        share = found / self.item_totals[found_pairs[:, 1]]
        for (row, item), count, fraction in zip(found_pairs.tolist(), found.tolist(), share.tolist()):
            if fraction >= self.threshold:
                benchmark, item_id = self.item_names[item]
                candidate = Match(benchmark, item_id, count, int(self.item_totals[item]), whole=False)
                current = best[row]
                if current is None or candidate.containment > current.containment:
                    best[row] = candidate

    def _match_whole(self, stream: TokenStream, text_rows: np.ndarray, best: list[Match | None]) -> None:
        for length, (sequences, table) in sorted(self.whole.items()):
            windows, owners = stream.windows(length)
            position = np.searchsorted(sequences, windows)
            position[position == len(sequences)] = 0
            hit = np.flatnonzero(sequences[position] == windows)
            for window in hit.tolist():
                row = int(text_rows[owners[window]])
                item = table[int(windows[window])]
                if best[row] is None or not best[row].whole and best[row].containment < 1.0:
                    benchmark, item_id = self.item_names[item]
                    best[row] = Match(benchmark, item_id, 1, 1, whole=True)


NAME = "contamination"


def contamination_rule(index: ContaminationIndex) -> CurationRule:
    """Removes rows that contain a benchmark item of the index (see the module docstring)."""

    def check_rows(rows: Sequence[Row]) -> list[Removal | None]:
        texts = [
            [
                benchmark_tokens(dedup_text(row.get("instruction") or "", row.get("input"))),
                benchmark_tokens(row.get("response") or ""),
            ]
            for row in rows
        ]
        return [
            None if match is None else Removal(match.reason(index.ngram), of=match.of)
            for match in index.match(texts)
        ]

    return CurationRule(
        NAME,
        f"Rows whose instruction or response contains at least {index.threshold:.0%} of a benchmark "
        f"item's word {index.ngram}-grams (numbers read as 0), or a short item whole.",
        ("instruction", "input", "response"),
        check_rows=check_rows,
    )
