r"""Finding benchmark items inside rows: containment of an item's n-grams in a row's text.

A row is contaminated by an item when at least ``threshold`` of the item's distinct word n-grams
appear in the row's instruction or response (numbers read as ``0``). Measuring the item inside the
row, not the row against the item, is what finds an item embedded in a longer instruction; with
numbers normalised a changed number changes nothing; and a light edit breaks only the n-grams
that span it, so most of a long item's n-grams still match. An item shorter than the n-gram size
is matched whole: its complete token sequence must appear in the row. An item of a few words
(``Simplify $\sqrt{242}$.``) is matched only when a row's instruction is that item, its numbers as
written: inside a longer text, or with other numbers, three words are not the item.

The index is built once from the fingerprints; rows are matched in batches with numpy, so a row
that shares no n-gram with any benchmark (almost every row) costs a binary search per n-gram.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .benchmarks import Fingerprints
from .ngrams import NgramHasher, TokenStream, sequence_hash
from ...types.curation import CurationRule, Removal, Row
from .text import benchmark_tokens, dedup_text, literal_tokens

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
    exact: bool = False

    @property
    def containment(self) -> float:
        return self.found / self.total

    @property
    def of(self) -> str:
        return f"{self.benchmark}:{self.item_id}"

    def reason(self, ngram: int) -> str:
        if self.exact:
            return f"is {self.benchmark} item {self.item_id} (a very short item, numbers as written)"
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
        anchors: dict[int, list[tuple[int, int, int]]] = {}  # first n-gram -> [(item, length, hash)]
        tiny: dict[int, dict[int, int]] = {}  # items shorter than n: length -> {hash: item}
        self.exact: dict[int, int] = {}  # items of a few words: hash of their literal tokens -> item
        self.exact_longest = 0
        for fp in benchmarks:
            for item in fp.items:
                index = len(self.item_names)
                self.item_names.append((fp.name, item.id))
                item_totals.append(len(item.grams))
                if item.exact:
                    self.exact.setdefault(int(item.grams[0]), index)
                    self.exact_longest = max(self.exact_longest, item.tokens)
                elif not item.whole:
                    gram_chunks.append(item.grams)
                    owner_chunks.append(np.full(len(item.grams), index, np.int64))
                elif item.tokens >= self.ngram:
                    whole_hash, anchor = (int(value) for value in item.grams)
                    anchors.setdefault(anchor, []).append((index, item.tokens, whole_hash))
                else:
                    tiny.setdefault(item.tokens, {}).setdefault(int(item.grams[0]), index)
        self.item_totals = np.array(item_totals, np.int64)
        grams = np.concatenate(gram_chunks) if gram_chunks else np.empty(0, np.uint64)
        owners = np.concatenate(owner_chunks) if owner_chunks else np.empty(0, np.int64)
        order = np.argsort(grams, kind="stable")
        grams, owners = grams[order], owners[order]
        # CSR layout: each distinct gram once, with the range of items that contain it.
        self.grams, first = np.unique(grams, return_index=True)
        self.item_start = np.append(first, len(grams)).astype(np.int64)
        self.item_of = owners
        self.anchors = anchors
        self.anchor_hashes = np.array(sorted(anchors), np.uint64)
        # The same, flattened for batch look-ups: the items of anchor_hashes[i] are entries
        # anchor_start[i] to anchor_start[i + 1] of anchor_items, anchor_lengths, anchor_wholes.
        entries = [anchors[int(anchor)] for anchor in self.anchor_hashes.tolist()]
        self.anchor_start = np.zeros(len(entries) + 1, np.int64)
        np.cumsum([len(e) for e in entries], out=self.anchor_start[1:])
        flat = [entry for e in entries for entry in e]
        self.anchor_items = np.array([item for item, _, _ in flat], np.int64)
        self.anchor_lengths = np.array([length for _, length, _ in flat], np.int64)
        self.anchor_wholes = np.array([whole for _, _, whole in flat], np.uint64)
        self.tiny = {length: (np.array(sorted(table), np.uint64), table) for length, table in tiny.items()}

    @property
    def size(self) -> int:
        return len(self.item_names)

    def match(self, rows: Sequence[Sequence[list[str]]], instructions: Sequence[str] | None = None) -> list[Match | None]:
        """The best match of each row (None when clean). A row is given as its texts' tokens
        (``text.benchmark_tokens`` of its instruction and of its response): n-grams never span
        two texts, and containment counts an item's n-grams found in any of them.

        ``instructions``, each row's instruction text (the text of its first token list), finds
        the very short items, which a row matches only by being one; without it they are not
        looked for."""
        token_lists: list[list[str]] = []
        row_of_text: list[int] = []
        for row_index, texts in enumerate(rows):
            for tokens in texts:
                token_lists.append(tokens)
                row_of_text.append(row_index)
        best: list[Match | None] = [None] * len(rows)
        if not token_lists or not self.item_names:
            return best
        if instructions is not None:
            self._match_exact(rows, instructions, best)
        hashes, lengths = self.hasher.batch(token_lists)
        stream = TokenStream(hashes, lengths)
        text_rows = np.array(row_of_text, np.int64)
        windows, owners, starts = stream.windows_at(self.ngram)
        self._match_grams(windows, owners, text_rows, best)
        self._match_whole(stream, windows, owners, starts, text_rows, best)
        return best

    def _match_grams(self, windows: np.ndarray, owners: np.ndarray, text_rows: np.ndarray, best: list[Match | None]) -> None:
        if len(self.grams) == 0 or len(windows) == 0:
            return
        position = np.searchsorted(self.grams, windows)
        position[position == len(self.grams)] = 0
        hit = self.grams[position] == windows
        if not hit.any():
            return
        # Distinct (row, gram) pairs: a gram repeated in a row, or in its instruction and its
        # response, counts once.
        width = np.int64(len(self.grams))
        pairs = np.unique(text_rows[owners[hit]] * width + position[hit])
        rows, grams = pairs // width, pairs % width
        starts, stops = self.item_start[grams], self.item_start[grams + 1]
        spans = stops - starts
        row_per_item = np.repeat(rows, spans)
        offsets = np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans)
        items = self.item_of[np.repeat(starts, spans) + offsets]
        items_width = np.int64(len(self.item_names))
        found_pairs, found = np.unique(row_per_item * items_width + items, return_counts=True)
        found_rows, found_items = found_pairs // items_width, found_pairs % items_width
        share = found / self.item_totals[found_items]
        for row, item, count, fraction in zip(found_rows.tolist(), found_items.tolist(), found.tolist(), share.tolist()):
            if fraction >= self.threshold:
                benchmark, item_id = self.item_names[item]
                candidate = Match(benchmark, item_id, count, int(self.item_totals[item]), whole=False)
                current = best[row]
                if current is None or candidate.containment > current.containment:
                    best[row] = candidate

    def _match_whole(
        self,
        stream: TokenStream,
        windows: np.ndarray,
        owners: np.ndarray,
        starts: np.ndarray,
        text_rows: np.ndarray,
        best: list[Match | None],
    ) -> None:
        found: list[tuple[int, int]] = []  # (row, item)
        if len(self.anchor_hashes) and len(windows):
            # A short item can only start where a row's n-gram equals the item's first n-gram.
            position = np.searchsorted(self.anchor_hashes, windows)
            position[position == len(self.anchor_hashes)] = 0
            hits = np.flatnonzero(self.anchor_hashes[position] == windows)
            # Each hit against each item of its anchor, in the order of the windows, then of
            # the anchor's items (the first whole match of a row names it).
            first, stop = self.anchor_start[position[hits]], self.anchor_start[position[hits] + 1]
            spans = stop - first
            entry = np.repeat(first - (np.cumsum(spans) - spans), spans) + np.arange(int(spans.sum()))
            window = np.repeat(hits, spans)
            start, text = starts[window], owners[window]
            lengths = self.anchor_lengths[entry]
            fits = start + lengths <= stream.ends[text]
            entry, start, text, lengths = entry[fits], start[fits], text[fits], lengths[fits]
            same = stream.hash_spans(start, lengths) == self.anchor_wholes[entry]
            found.extend(zip(text_rows[text[same]].tolist(), self.anchor_items[entry[same]].tolist()))
        for length, (sequences, table) in self.tiny.items():
            tiny_windows, tiny_owners = stream.windows(length)
            position = np.searchsorted(sequences, tiny_windows)
            position[position == len(sequences)] = 0
            for window in np.flatnonzero(sequences[position] == tiny_windows).tolist():
                found.append((int(text_rows[tiny_owners[window]]), table[int(tiny_windows[window])]))
        for row, item in found:
            current = best[row]
            if current is None or (not current.whole and current.containment < 1.0):
                benchmark, item_id = self.item_names[item]
                best[row] = Match(benchmark, item_id, 1, 1, whole=True)

    def _match_exact(self, rows: Sequence[Sequence[list[str]]], instructions: Sequence[str], best: list[Match | None]) -> None:
        if not self.exact:
            return
        for row, (texts, instruction) in enumerate(zip(rows, instructions)):
            # literal_tokens splits a text at least as finely as benchmark_tokens, so a row with
            # more benchmark tokens than the longest such item cannot be one: almost every row.
            if not texts or len(texts[0]) > self.exact_longest:
                continue
            literal = literal_tokens(instruction)
            if not literal or len(literal) > self.exact_longest:
                continue
            item = self.exact.get(sequence_hash(self.hasher.tokens.hashes(literal)))
            if item is not None:
                benchmark, item_id = self.item_names[item]
                best[row] = Match(benchmark, item_id, 1, 1, whole=True, exact=True)


NAME = "contamination"


def contamination_rule(index: ContaminationIndex) -> CurationRule:
    """Removes rows that contain a benchmark item of the index (see the module docstring)."""

    def check_rows(rows: Sequence[Row]) -> list[Removal | None]:
        instructions = [dedup_text(row.get("instruction") or "", row.get("input")) for row in rows]
        texts = [
            [benchmark_tokens(instruction), benchmark_tokens(row.get("response") or "")]
            for row, instruction in zip(rows, instructions)
        ]
        return [
            None if match is None else Removal(match.reason(index.ngram), of=match.of)
            for match in index.match(texts, instructions)
        ]

    return CurationRule(
        NAME,
        f"Rows whose instruction or response contains at least {index.threshold:.0%} of a benchmark "
        f"item's word {index.ngram}-grams (numbers read as 0), or a short item whole, or whose "
        "instruction is a benchmark item of a few words (numbers as written).",
        ("instruction", "input", "response"),
        check_rows=check_rows,
    )
