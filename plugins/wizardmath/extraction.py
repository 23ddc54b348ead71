"""Extraction: where the final answer is in a model's output.

``extract_answer`` finds the answer a solution commits to (a box, "the answer is ...", GSM8K's
``#### N``, or failing those the last math span or number) and returns it as written, without
normalising it. What the answer means is the reader's business (``wizardmath.reading``), and
whether two answers agree is decided in ``wizardmath.answers``.
"""

from __future__ import annotations

import re

# The JSON-escape repair, the glued-connective repair and the vocabulary of units and percent
# words are shared with the reader, which owns them.
from .reading import _DOUBLED, PERCENT_WORDS, UNIT_WORDS, _unglue
from .units import parse_unit

_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
# "The answer is: 29" is WizardMath's own closing line: the colon after "is" belongs to the phrase.
_ANSWER_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is(?:\s*[:=])?|:|=)\s*(?:that\s+)?", re.IGNORECASE
)
_GSM8K = re.compile(r"####\s*([^\n]+)")
_INLINE_MATH = re.compile(
    r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|(?<!\\)\$((?:[^$\n]|(?<=\\)\$)+?)(?<!\\)\$"
    r"|\\\(([^\n]+?)\\\)",
    re.DOTALL,
)
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.\\])[-−]?(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+(?!\d)|\d+)(?:[.,]\d+)?"
    r"(?:\s*/\s*\d+)?(?:\s*%)?"
)
# At most this many words on one line without a marked answer are an answer, not prose.
_BARE_WORDS = 3
_WORDS_ONLY = re.compile(r"[A-Za-z][A-Za-z'’ -]*")
# Words after "the answer is" that describe or point to the answer rather than state it.
_POINTING_WORDS = {
    "below", "above", "as", "the", "this", "that", "these", "simple", "clear", "obvious", "easy",
    "given", "shown", "found", "following", "then", "therefore", "thus", "not", "in", "at", "on",
}


def _matching_brace(text: str, open_index: int) -> int:
    """Index of the brace closing the one at ``open_index`` (len(text) if it never closes)."""
    depth = 0
    i = open_index
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def _boxes(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}``/``\\fbox{...}``: (start, end, content), nested braces honoured."""
    found = []
    for match in _BOX.finditer(text):
        start = match.end()
        if start < len(text) and text[start] == "{":
            close = _matching_brace(text, start)
            found.append((match.start(), close + 1, text[start + 1:close]))
        else:  # `\boxed 5`: one token
            token = re.match(r"[^\s$.,;]+", text[start:])
            if token:
                found.append((match.start(), start + token.end(), token.group()))
    return found


def _gap_is_short(gap: str) -> bool:
    """Whether the text between two boxes joins them into one multi-part answer."""
    gap = re.sub(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}", r" \1 ", gap)
    gap = re.sub(r"\\[a-zA-Z]+|\\.|[$,;:.()\[\]{}+*\-]", " ", gap)
    return len(gap.split()) <= 4


def _last_box_run(text: str) -> tuple[int, str] | None:
    boxes = _boxes(text)
    if not boxes:
        return None
    run = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if box[1] <= run[0][0] and _gap_is_short(text[box[1]:run[0][0]]):
            run.insert(0, box)
        else:
            break
    return run[-1][0], ", ".join(content.strip() for _, _, content in run)


def _is_prose(text: str) -> bool:
    """Whether ``text`` reads as sentences rather than as a bare answer."""
    text = _unglue(text)
    text = re.sub(r"\\(?:begin|end)\s*\{[^{}]*\}", " ", text)  # `pmatrix` is no word of prose
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal|operatorname)\s*\{[^{}]*\}", " ", text)
    text = re.sub(r"\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]", " ", text, flags=re.DOTALL)
    text = re.sub(r"\\[a-zA-Z]+", " ", text)
    words = [w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)]
    return any(w not in ("and", "or") and w not in UNIT_WORDS and w not in PERCENT_WORDS
               for w in words)


def _math_spans(text: str) -> list[tuple[int, str]]:
    return [(m.start(), next(g for g in m.groups() if g is not None)) for m in _INLINE_MATH.finditer(text)]


def _mask_math(text: str) -> str:
    """``text`` with its math spans blanked out (same length), to find sentence ends outside them."""
    return _INLINE_MATH.sub(lambda m: "\x00" * len(m.group()), text)


def _phrase_answer(span: str, words: bool = False) -> str | None:
    """The answer inside the text after "the answer is": the math, or the number it states; with
    ``words``, also a word or a few (`Tuesday`, `no solution`) that are all the sentence says."""
    span = span.replace('\\"', '"')
    leading = re.match(r"\s*[\"']?\s*", span).end()
    spans = [(start, body) for start, body in _math_spans(span) if start == leading]
    if spans and spans[0][1].strip():
        # `$12$ and $13$`: math spans joined by connectives are one answer.
        joined = re.match(r"(?:\s*(?:and|or|,)?\s*(?:\$[^$\n]+\$))+", span[leading:])
        if joined and len(_math_spans(joined.group())) > 1:
            return " and ".join(body for _, body in _math_spans(joined.group()))
        return spans[0][1]
    masked = _mask_math(span)
    end = re.search(r"\.(?=\s|$)|\n|I hope|<\|", masked)
    sentence = span[: end.start()] if end else span
    masked = masked[: len(sentence)]
    if " is " in masked and _is_prose(sentence[: masked.rindex(" is ")]):
        sentence = sentence[masked.rindex(" is ") + 4:]
    sentence = sentence.strip().strip("\"'").strip()
    if not sentence:
        return None
    if not _is_prose(sentence):
        return sentence
    if (words and len(sentence.split()) <= _BARE_WORDS and _WORDS_ONLY.fullmatch(sentence)
            and sentence.split()[0].lower() not in _POINTING_WORDS):
        return sentence
    inner = _math_spans(sentence)
    if inner:
        return inner[-1][1]
    numbers = list(_NUMBER.finditer(sentence))
    return _with_unit(sentence, numbers[-1]) if numbers else None


# Up to three words after a number that may be its unit (`36 square feet`, `72 km/h`).
_UNIT_AFTER = re.compile(r"\s*([A-Za-z]+(?:\^\d|²|³)?(?:\s*/\s*[A-Za-z]+)?)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?")


def _with_unit(text: str, number: re.Match) -> str:
    """The number a sentence ends on, with the unit of measure written after it when there is
    one (`The area is 36 square feet.` states `36 square feet`): dropping it would let a wrong
    unit pass for the right one."""
    after = _UNIT_AFTER.match(text, number.end())
    if not after:
        return number.group()
    words = [w for w in after.groups() if w]
    for count in range(len(words), 0, -1):
        unit = " ".join(words[:count])
        if parse_unit(unit) is not None:
            return f"{number.group()} {unit}"
    return number.group()


def extract_answer(text: str, prose_numbers: bool = True, words: bool = False) -> str | None:
    """The final answer stated in ``text``, as written (not normalised), or None.

    In order of trust, the one that comes last in the text wins among: the last ``\\boxed{}`` /
    ``\\fbox{}`` (a run of boxes separated by a few words, as in ``\\boxed{1} and \\boxed{2}``, is
    one multi-part answer ``1, 2``); "the (final) answer is ..."; GSM8K's ``#### N``. Without any
    of them: the whole text if it is short and not prose; else the last math span
    (``$...$``, ``\\(...\\)``, ``\\[...\\]``); else, with ``prose_numbers``, the last number.

    ``words``: "the answer is Tuesday." states the answer `Tuesday`. Only when the answer sought
    is a word (a textual reference): otherwise "the answer is below" or "the answer is simple"
    would hide the number or the box that follows.
    """
    if not text or not text.strip():
        return None
    text = _DOUBLED.sub(r"\\", text)
    candidates: list[tuple[int, str]] = []
    box = _last_box_run(text)
    if box:
        candidates.append(box)
    for match in _GSM8K.finditer(text):
        candidates.append((match.start(), match.group(1).strip()))
    phrases = list(_ANSWER_PHRASE.finditer(text))
    for match in phrases[-3:]:
        stated = _phrase_answer(text[match.end():match.end() + 400], words)
        if stated:
            candidates.append((match.start(), stated))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1].strip()
    bare = text.strip()
    if not _is_prose(bare) and "\n\n" not in bare:
        return bare
    # A few words and nothing else are the answer itself: `Evelyn`, `no solution` (as
    # `\text{Evelyn}` is).
    if len(bare.split()) <= _BARE_WORDS and re.fullmatch(r"[A-Za-z][A-Za-z'’ -]*\.?", bare):
        return bare.rstrip(".")
    found = _math_spans(text)[-1:]
    if prose_numbers:
        outside = _INLINE_MATH.sub(lambda m: " " * len(m.group()), text)
        numbers = list(_NUMBER.finditer(outside))
        if numbers:
            found.append((numbers[-1].start(), _with_unit(outside, numbers[-1])))
    return max(found, key=lambda c: c[0])[1].strip() if found else None
