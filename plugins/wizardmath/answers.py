"""Final answers: find them in a solution, read them into mathematics, and decide equivalence.

The pipeline is: ``extract_answer`` (where is the answer in the text) -> ``read_answer`` (our own
LaTeX/plain-text reader producing sympy values, see ``wizardmath.latex``-style parser below) ->
``values_equal`` (equivalence under a ``GradingPolicy``). The policy choices are written down in
docs/math-grading.md.

Numbers are exact throughout: decimals become rationals and nothing is compared through floats,
so ``1/2004!`` and ``1/2006!`` stay different. Where a decimal is compared with an exact value,
the decimal must be the correct rounding of it to the digits it shows.

Every public comparison runs in a bounded worker process (``wizardmath.bounded``): sympy can hang.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Literal, Sequence

import sympy


__all__ = [
    "DEFAULT_POLICY", "Equality", "GradingPolicy", "answers_equal", "answers_equal_async",
    "answers_equal_many", "compare_texts", "extract_answer", "read_answer", "values_equal",
]


@dataclass(frozen=True)
class GradingPolicy:
    """The choices where reasonable graders differ. See docs/math-grading.md for each one."""

    # "either": 28% matches 28 and 0.28; "number": only 28; "fraction": only 0.28.
    percent: Literal["either", "number", "fraction"] = "either"
    # A decimal matches an exact value when it is that value correctly rounded to its digits.
    rounding: bool = True
    # ... but a decimal standing in for an exact reference must show at least this many digits
    # after the point (0.33 for 1/3 passes, 0.3 does not). A decimal reference is always honoured.
    min_rounded_places: int = 2
    # Extra relative tolerance between two numbers (0: exact, apart from the rounding rule).
    rel_tol: float = 0.0
    # `x = 3` matches `3` (and `x = 1 + 2 = 3` reads as 3).
    accept_assignment: bool = True
    # Units after a number (`5 cm`, `3\text{ hours}`) are dropped.
    strip_units: bool = True
    # `30^\circ` also matches `\pi/6` (it always matches 30).
    degrees_as_radians: bool = False
    # An inequality matches the interval it describes when the reference is an interval. (An
    # interval always matches a reference written as an inequality.) Off: questions that give
    # interval answers usually ask for interval notation.
    inequality_for_interval: bool = False
    # Bare lists `1, 2, 3` compare as sets; tuples `(1, 2)` always compare in order.
    ordered_lists: bool = False
    # `2\frac{1}{2}` is the mixed number 5/2 (never `2(3)`, which is the product 6).
    mixed_numbers: bool = True
    # `f(x)` matches `f(y)`: free symbols may be renamed consistently.
    rename_symbols: bool = False
    # `i` is the imaginary unit and `e` Euler's number.
    constants: bool = True
    # With no marked answer (box, "the answer is", ####), the last number of the prose counts.
    prose_numbers: bool = True
    # `1,22` may be the decimal 1.22 (as well as the list 1, 22).
    decimal_comma: bool = True


DEFAULT_POLICY = GradingPolicy()


@dataclass(frozen=True)
class Equality:
    equal: bool
    reason: str


# ============================================================================================
# Extraction: where is the final answer?
# ============================================================================================

# Commands whose backslash arrives doubled from JSON-escaped sources (`\\frac`).
_DOUBLED = re.compile(
    r"(?<!\\)\\\\(?=(?:boxed|fbox|frac|dfrac|tfrac|cfrac|sqrt|text|textbf|mathrm|left|right|le|leq|"
    r"ge|geq|lt|gt|neq|ne|pi|cdot|times|infty|in|cup|cap|pm|mp|approx|begin|end|circ|div|mathbf|"
    r"quad|qquad|sum|prod|ln|log|sin|cos|tan|sec|csc|cot|operatorname|mbox|hat|vec|overline)\b)"
)
_BOX = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|:|=)\s*(?:that\s+)?", re.IGNORECASE
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
# Words that may sit between two boxes of one multi-part answer, or next to a short answer.
_CONNECTIVES = {"and", "or", "for", "part", "the", "answer", "answers", "is", "are", "respectively"}


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


def _unglue(text: str) -> str:
    """`1orW(x)=-1` -> `1 or W(x)=-1`: connectives that lost their spaces."""
    return re.sub(r"(?<=[\d)}])(or|and)(?=[A-Z(\\\d-])", r" \1 ", text)


def _is_prose(text: str) -> bool:
    """Whether ``text`` reads as sentences rather than as a bare answer."""
    text = _unglue(text)
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


def _phrase_answer(span: str) -> str | None:
    """The answer inside the text after "the answer is": the math, or the number it states."""
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
    inner = _math_spans(sentence)
    if inner:
        return inner[-1][1]
    numbers = list(_NUMBER.finditer(sentence))
    return numbers[-1].group() if numbers else None


def extract_answer(text: str, prose_numbers: bool = True) -> str | None:
    """The final answer stated in ``text``, as written (not normalised), or None.

    In order of trust, the one that comes last in the text wins among: the last ``\\boxed{}`` /
    ``\\fbox{}`` (a run of boxes separated by a few words, as in ``\\boxed{1} and \\boxed{2}``, is
    one multi-part answer ``1, 2``); "the (final) answer is ..."; GSM8K's ``#### N``. Without any
    of them: the whole text if it is short and not prose; else the last math span
    (``$...$``, ``\\(...\\)``, ``\\[...\\]``); else, with ``prose_numbers``, the last number.
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
        stated = _phrase_answer(text[match.end():match.end() + 400])
        if stated:
            candidates.append((match.start(), stated))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1].strip()
    bare = text.strip()
    if not _is_prose(bare) and "\n\n" not in bare:
        return bare
    found = _math_spans(text)[-1:]
    if prose_numbers:
        outside = _INLINE_MATH.sub(lambda m: " " * len(m.group()), text)
        numbers = list(_NUMBER.finditer(outside))
        if numbers:
            found.append((numbers[-1].start(), numbers[-1].group()))
    return max(found, key=lambda c: c[0])[1].strip() if found else None


# ============================================================================================
# Values: what an answer reads as
# ============================================================================================

# Markers kept inside expressions until the policy says what they mean.
PERCENT = sympy.Symbol("__percent__", positive=True)
DEGREE = sympy.Symbol("__degree__", positive=True)
PM = sympy.Symbol("__plusminus__", nonzero=True)


class ParseError(ValueError):
    """The text is not mathematics we can read."""


@dataclass(frozen=True)
class Scalar:
    """A number or expression; ``places`` is set when it was written as a decimal (0.25 -> 2)."""

    expr: sympy.Expr
    places: int | None = None


@dataclass(frozen=True)
class Seq:
    """Several values. kind: "list" (bare `1, 2`), "tuple", "pair" (`(a, b)`, which may also be
    an open interval), "set" (`\\{...\\}`) or "ratio" (`a:b`)."""

    kind: str
    items: tuple


@dataclass(frozen=True)
class Interval:
    lo: Scalar
    hi: Scalar
    left_open: bool
    right_open: bool

    def to_sympy(self) -> sympy.Set:
        return sympy.Interval(self.lo.expr, self.hi.expr, self.left_open, self.right_open)

    def sort_key(self) -> tuple:
        try:
            return (float(sympy.N(self.lo.expr)), float(sympy.N(self.hi.expr)))
        except (TypeError, ValueError):
            return (0.0, 0.0)


@dataclass(frozen=True)
class SetUnion:
    parts: tuple

    def to_sympy(self) -> sympy.Set:
        sets = []
        for part in self.parts:
            if isinstance(part, Interval):
                sets.append(part.to_sympy())
            elif isinstance(part, Seq) and part.kind == "set":
                sets.append(sympy.FiniteSet(*[i.expr for i in part.items]))
            elif isinstance(part, Seq) and part.kind == "pair":
                sets.append(sympy.Interval.open(part.items[0].expr, part.items[1].expr))
            else:
                raise ParseError("a union of non-sets")
        return sympy.Union(*sets)


@dataclass(frozen=True)
class Rel:
    """A relation or chain `a = b = c`, `1 < x <= 2`, `x \\in S`. ``names[i]``: part i is a name
    (`x`, `f(x)`, `(p, q)`, `|AB|`), so that `x = 3` states the answer 3."""

    ops: tuple
    parts: tuple
    texts: tuple
    names: tuple


@dataclass(frozen=True)
class Matrix:
    matrix: sympy.ImmutableMatrix
    places: tuple = ()  # per entry, as Scalar.places (empty: none written as decimals)


@dataclass(frozen=True)
class Text:
    text: str


Value = Scalar | Seq | Interval | SetUnion | Rel | Matrix | Text


@dataclass(frozen=True)
class ReadOptions:
    strip_units: bool = True
    mixed_numbers: bool = True
    constants: bool = True


# ============================================================================================
# Reading LaTeX and plain text into values: our own small reader on sympy
# ============================================================================================

PERCENT_WORDS = {"percent", "percentage", "pct", "percents"}
UNIT_WORDS = {
    "cm", "mm", "km", "meter", "meters", "metre", "metres", "inch", "inches", "feet", "foot", "ft",
    "yard", "yards", "yd", "mile", "miles", "kg", "gram", "grams", "kilogram", "kilograms", "lb",
    "lbs", "pound", "pounds", "ounce", "ounces", "oz", "second", "seconds", "sec", "secs",
    "minute", "minutes", "min", "mins", "hour", "hours", "hr", "hrs", "day", "days", "week",
    "weeks", "month", "months", "year", "years", "unit", "units", "square", "sq", "cubic",
    "dollar", "dollars", "cent", "cents", "yuan", "euro", "euros", "liter", "liters", "litre",
    "litres", "ml", "gallon", "gallons", "mph", "kmh", "people", "persons", "students", "times",
    "items", "ways", "points", "miles", "apples", "books", "cookies", "boxes", "pages", "eggs",
    "usd", "rmb", "kilometers", "centimeters", "millimeters", "meters", "inches", "m", "s", "g",
    "h", "l", "sqft", "ft2", "m2", "cm2",
}
_MULTI_LETTER_UNITS = sorted((u for u in UNIT_WORDS if len(u) > 1), key=len, reverse=True)
_UNIT_TEXT = re.compile(
    r"\\(?:text|mbox|textnormal|mathrm|textbf|textit|rm)\s*\{\s*([A-Za-z][A-Za-z .]*?)\s*\}"
    r"(?:\s*\^\s*\{?\s*[23]\s*\}?)?"
)
_BARE_UNIT = re.compile(
    r"(?<=[\d}).%°])\s*(?:" + "|".join(_MULTI_LETTER_UNITS) + r")\b(?:\s*\^\s*\{?[23]\}?|[²³])?"
    r"(?=\s*(?:$|[,;)\]}]|\\\}|and\b|or\b))",
    re.IGNORECASE,
)
_UNICODE = {
    "−": "-", "–": "-", "×": r"\times ", "·": r"\cdot ", "÷": "/", "≤": r"\le ", "≥": r"\ge ",
    "≠": r"\ne ", "≈": r"\approx ", "∞": r"\infty ", "π": r"\pi ", "√": r"\sqrt ", "²": "^2",
    "³": "^3", "∈": r"\in ", "∪": r"\cup ", "±": r"\pm ", "∓": r"\mp ", "…": r"\dots ",
    "⋅": r"\cdot ", "∗": "*", "€": " ", "£": " ", "¥": " ", "\u00a0": " ",
}
_SPACING = re.compile(r"(?<!\\)\\(?:[,;:> ]|q?quad(?![a-zA-Z]{2})|hspace\s*\{[^}]*\}|enspace|thinspace)|~")


def clean(answer: str) -> str:
    """Normalise an answer's spelling: delimiters, spacing, separators, percent, degrees, units."""
    s = _DOUBLED.sub(r"\\", answer)
    for old, new in _UNICODE.items():
        s = s.replace(old, new)
    s = re.sub(r"\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|big[lr]?|Big[lr]?|"
               r"bigg[lr]?|Bigg[lr]?)(?![a-zA-Z])", "", s)
    s = re.sub(r"\\left\s*\.|\\right\s*\.", "", s)
    s = re.sub(r"\\(?:left|right)(?![a-zA-Z])", "", s)
    s = re.sub(r"\\(?:boxed|fbox)\s*(?=\{)", "", s)
    s = re.sub(r"\\[dtc]frac(?![a-zA-Z])", r"\\frac", s)
    s = re.sub(r"\\\$|\$", " ", s)
    s = re.sub(r"\\[()\[\]]", " ", s)
    # Thousands separators written the LaTeX ways: 14{,}916 and 11,\!111.
    s = re.sub(r"\s*\{\s*,\s*\}\s*", ",", s)
    s = re.sub(r",\s*\\!\s*", ",", s)
    s = re.sub(r"(?<=\d)\\[,!](?=\d)", "", s)
    s = re.sub(r"\\!", "", s)
    s = _SPACING.sub(" ", s)
    s = re.sub(r"\\(?:text|mbox|textnormal|textbf|mathrm)\s*\{\s*(and|or)\s*\}", r" \1 ", s)
    s = _unglue(s)
    s = re.sub(r"\\%|%", " % ", s)
    s = re.sub(r"(?i)(?<![A-Za-z])(?:percentage|percents|percent|pct)(?![A-Za-z])", " % ", s)
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|°|\\degree(?![a-zA-Z])", " ° ", s)
    s = re.sub(r"(?i)(?<=[\d}])\s*(?:degrees|degree)\b", " ° ", s)
    s = re.sub(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d,])", _thousands, s)
    s = re.sub(r"(?<![\d.,])(\d{1,3})((?: \d{3})+)(?![\d,.])",
               lambda m: m.group(1) + m.group(2).replace(" ", ""), s)
    s = s.strip()
    s = re.sub(r"^(?:\\text\s*\{\s*)?(?:[Tt]he\s+)?(?:final\s+)?answer\s*(?:is|:)\s*(?:\})?", "", s)
    s = re.sub(r"[\s.,;:!]+$", "", s)
    return s.strip()


def _thousands(match: re.Match) -> str:
    """`1,000` -> `1000`, except where the digits are a whole pair `(12,102)` or start with 0."""
    before = match.string[: match.start()].rstrip()[-1:]
    after = match.string[match.end():].lstrip()[:1]
    if match.group(1) == "0" or (before in ("(", "[", "{") and after in (")", "]", "}")):
        return match.group(0)
    return match.group(1) + match.group(2).replace(",", "")


def _strip_units(s: str) -> str:
    def drop(match: re.Match) -> str:
        words = match.group(1).lower().replace(".", " ").split()
        return " " if words and all(w in UNIT_WORDS for w in words) else match.group(0)

    s = _UNIT_TEXT.sub(drop, s)
    s = _BARE_UNIT.sub(" ", s)
    s = re.sub(r"(?<=\d)\s*(?:m|cm|km|mm|ft|in)[²³]", " ", s)
    return s.strip()


_TOKEN = re.compile(
    r"(?P<num>\d+\.\d+|\.\d+|\d+)"
    r"|(?P<cmd>\\[A-Za-z]+|\\.)"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<op><=|>=|!=|==|\*\*|=<|=>|[-+*/^_=<>!(),;:\[\]{}|&'%°])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_WORDS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
    "ln", "log", "exp", "sqrt", "pi", "and", "or", "inf", "infinity", "oo", "abs",
}
_FUNCTION_LETTERS = set("fghFGHPQWpq")
_TRIG = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "cot": sympy.cot, "sec": sympy.sec,
    "csc": sympy.csc, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "exp": sympy.exp, "ln": sympy.log,
    "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs, "det": None,
}
_MULTI_ARG = {"max": sympy.Max, "min": sympy.Min, "gcd": sympy.gcd, "lcm": sympy.lcm}
_RELATIONS = {
    "=": "=", "==": "=", "<": "<", ">": ">", "<=": "<=", "=<": "<=", ">=": ">=", "=>": ">=",
    "!=": "!=", r"\le": "<=", r"\leq": "<=", r"\leqslant": "<=", r"\ge": ">=", r"\geq": ">=",
    r"\geqslant": ">=", r"\lt": "<", r"\gt": ">", r"\ne": "!=", r"\neq": "!=", r"\approx": "≈",
    r"\in": "in", r"\simeq": "≈", r"\doteq": "≈",
}
_TEXT_COMMANDS = {
    r"\text", r"\textbf", r"\textit", r"\textnormal", r"\mbox", r"\mathrm", r"\mathit", r"\rm",
    r"\operatorname", r"\textrm", r"\textsf", r"\texttt", r"\mathsf",
}
_DECORATIONS = {
    r"\mathbf", r"\boldsymbol", r"\vec", r"\overline", r"\bar", r"\hat", r"\widehat", r"\tilde",
    r"\widetilde", r"\overrightarrow", r"\overleftrightarrow", r"\mathcal", r"\bm", r"\dot",
}
_MATRIX_ENVS = {"pmatrix", "bmatrix", "Bmatrix", "vmatrix", "Vmatrix", "matrix", "smallmatrix", "array"}
_NOT_VALUES = {
    r"\end", r"\right", r"\left", r"\dots", r"\ldots", r"\cdots", r"\vdots", r"\ddots",
    r"\to", r"\rightarrow", r"\Rightarrow", r"\implies", r"\iff", r"\mid", r"\pmod",
    r"\bmod", r"\equiv", r"\cap", r"\setminus", r"\rfloor", r"\rceil", r"\rvert", r"\hline",
    r"\cline", r"\multicolumn", r"\newline", r"\label", r"\tag", r"\quad", r"\qquad",
}
_BIG = 10**4  # exponents and factorials past this stay unevaluated (sympy would grind on them)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int


def _tokenize(s: str) -> list[_Tok]:
    tokens = []
    for m in _TOKEN.finditer(s):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "other":
            raise ParseError(f"unexpected character {m.group()!r}")
        text = m.group()
        if kind == "word" and text.lower() not in _WORDS and text not in _WORDS:
            # Plain letters multiply: `xy` is x*y (names longer than a letter come via \text).
            for offset, letter in enumerate(text):
                tokens.append(_Tok("word", letter, m.start() + offset, m.start() + offset + 1))
            continue
        tokens.append(_Tok(kind, text, m.start(), m.end()))
    return tokens


def _is_name(text: str) -> bool:
    """Whether a relation side is a name (x, f(x), a_3, (p, q), |AB|, V_1:V_2), not a quantity."""
    core = re.sub(r"_\s*\{[^{}]*\}|_\s*\\?[A-Za-z0-9]", "", text)
    core = re.sub(r"\\(?:text|mathrm|mathbf|operatorname)\s*\{[^{}]*\}", "x", core)
    if not re.search(r"[A-Za-z]", core) or re.search(r"\d|[-+=<>]|\\(?:sum|prod|int)\b", core):
        return False
    return True


def _places(text: str) -> int | None:
    match = re.fullmatch(r"\s*[-+]?\s*\d*\.(\d+)\s*(?:%|°)?\s*", text)
    return len(match.group(1)) if match else None


class _Parser:
    """Recursive descent over the tokens, building sympy expressions and answer values."""

    def __init__(self, source: str, options: ReadOptions) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0
        self.options = options
        self.abs_depth = 0
        self.bound: set[str] = set()  # summation indices: `i` there is not the imaginary unit
        self.cell_places: list[int | None] = []
        # Decimal places of the entries of each literal matrix, for the rounding rule.
        self.matrix_places: dict[sympy.ImmutableMatrix, tuple] = {}

    # -- token helpers ---------------------------------------------------------------------------

    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.tokens[j] if j < len(self.tokens) else None

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text in texts and tok.kind != "num"

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise ParseError("unexpected end")
        self.i += 1
        return tok

    def expect(self, *texts: str) -> _Tok:
        tok = self.take()
        if tok.text not in texts:
            raise ParseError(f"expected {' or '.join(texts)}, found {tok.text!r}")
        return tok

    def text_from(self, start: int) -> str:
        if start >= self.i:
            return ""
        return self.source[self.tokens[start].start:self.tokens[self.i - 1].end]

    def at_end(self, closers: frozenset[str]) -> bool:
        tok = self.peek()
        return tok is None or (tok.text in closers and tok.kind != "num")

    # -- structure -------------------------------------------------------------------------------

    def parse(self) -> Value:
        if not self.tokens:
            raise ParseError("empty answer")
        value = self.list_(frozenset())
        if self.peek() is not None:
            raise ParseError(f"unexpected {self.peek().text!r}")
        return value

    def list_(self, closers: frozenset[str]) -> Value:
        # `;` separates groups (`p=5,q=2; p=7,q=2`), commas and "and"/"or" separate items.
        groups = [self.comma_list(closers | {";"})]
        while self.at(";"):
            self.take()
            if self.at_end(closers):
                break
            groups.append(self.comma_list(closers | {";"}))
        return groups[0] if len(groups) == 1 else Seq("list", tuple(groups))

    def comma_list(self, closers: frozenset[str]) -> Value:
        items: list[Value] = []
        while not self.at_end(closers):
            items.append(self.item(closers))
            if not (self.at(",") or self.at("and", "or")):
                break
            while self.at(",") or self.at("and", "or"):
                self.take()
        if not items:
            raise ParseError("an empty item")
        return items[0] if len(items) == 1 else Seq("list", tuple(items))

    def item(self, closers: frozenset[str]) -> Value:
        start = self.i
        first = self.ratio()
        parts, texts, ops = [first], [self.text_from(start)], []
        while (tok := self.peek()) is not None and tok.kind != "num" and tok.text in _RELATIONS:
            self.take()
            ops.append(_RELATIONS[tok.text])
            start = self.i
            parts.append(self.ratio())
            texts.append(self.text_from(start))
        if not ops:
            return self.wrap(first, texts[0])
        return Rel(tuple(ops), tuple(self.wrap(p, t) for p, t in zip(parts, texts)),
                   tuple(texts), tuple(_is_name(t) for t in texts))

    def wrap(self, value, text: str) -> Value:
        if isinstance(value, sympy.MatrixBase):
            matrix = sympy.ImmutableMatrix(value)
            return Matrix(matrix, self.matrix_places.get(matrix, ()))
        if isinstance(value, sympy.Basic):
            if not isinstance(value, sympy.Expr):
                raise ParseError(f"not an expression: {value}")
            return Scalar(value, _places(text))
        return value

    def ratio(self):
        start = self.i
        left = self.set_expr()
        if self.at(":") and self.peek(1) is not None:
            left_text = self.text_from(start)
            self.take()
            start = self.i
            right = self.set_expr()
            return Seq("ratio", (self.wrap(left, left_text), self.wrap(right, self.text_from(start))))
        return left

    def set_expr(self):
        start = self.i
        left = self.additive()
        parts = None
        while self.at(r"\cup", "U"):
            if parts is None:
                parts = [self.as_set_part(left, self.text_from(start))]
            self.take()
            start = self.i
            parts.append(self.as_set_part(self.additive(), self.text_from(start)))
        return SetUnion(tuple(parts)) if parts else left

    def as_set_part(self, value, text: str):
        if isinstance(value, SetUnion):
            return value.parts
        if isinstance(value, (Interval, Seq)) and (not isinstance(value, Seq) or value.kind in ("set", "pair")):
            return _pair_as_interval(value)
        raise ParseError("a union of non-sets")

    # -- arithmetic ------------------------------------------------------------------------------

    @staticmethod
    def arith(op: str, a, b):
        if not isinstance(a, sympy.Basic) or not isinstance(b, sympy.Basic):
            raise ParseError("arithmetic on a tuple, set or interval")
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            if isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase):
                return a * b
            return a * b
        if op == "/":
            if isinstance(b, sympy.MatrixBase):
                raise ParseError("division by a matrix")
            if b == 0:
                raise ParseError("division by zero")
            return a / b
        raise ParseError(op)

    def additive(self):
        left = self.term()
        while True:
            if self.at("+"):
                self.take()
                left = self.arith("+", left, self.term())
            elif self.at("-"):
                self.take()
                left = self.arith("-", left, self.term())
            elif self.at(r"\pm", r"\mp"):
                sign = 1 if self.take().text == r"\pm" else -1
                left = self.arith("+", left, sign * PM * self.term())
            else:
                return left

    def starts_factor(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind in ("num", "word"):
            return tok.text not in ("and", "or", "U")
        if tok.kind == "cmd":
            return tok.text not in _RELATIONS and tok.text not in (
                r"\cdot", r"\times", r"\div", r"\pm", r"\mp", r"\cup", r"\cap", r"\setminus",
                r"\end", "\\\\", r"\}", r"\rfloor", r"\rceil", r"\rvert", r"\dots", r"\ldots",
                r"\cdots", r"\to", r"\rightarrow", r"\Rightarrow", r"\implies", r"\quad", r"\qquad",
                r"\mid", r"\pmod", r"\bmod", r"\equiv", r"\ast")
        if tok.text == "|":
            return self.abs_depth == 0
        return tok.text in ("(", "{")

    def term(self):
        start = self.i
        left = self.unary()
        consumed = self.tokens[start:self.i]
        if (self.options.mixed_numbers and self.at(r"\frac")
                and [t.kind for t in consumed][-1:] == ["num"] and "." not in consumed[-1].text
                and (len(consumed) == 1 or (len(consumed) == 2 and consumed[0].text == "-"))):
            mark = self.i
            fraction = self.primary()
            if (isinstance(fraction, sympy.Rational) and 0 < fraction < 1
                    and all(t.kind != "word" for t in self.tokens[mark:self.i])):
                left = left + fraction if left >= 0 else left - fraction
            else:
                left = self.arith("*", left, fraction)
        while True:
            if self.at("*", r"\cdot", r"\times", r"\ast"):
                self.take()
                left = self.arith("*", left, self.unary())
            elif self.at("/", r"\div"):
                self.take()
                left = self.arith("/", left, self.unary())
            elif self.starts_factor():
                left = self.arith("*", left, self.power())
            else:
                return left

    def unary(self):
        if self.at("-"):
            self.take()
            value = self.unary()
            if not isinstance(value, sympy.Basic):
                raise ParseError("minus before a tuple, set or interval")
            return -value
        if self.at("+"):
            self.take()
            return self.unary()
        if self.at(r"\pm", r"\mp"):
            sign = 1 if self.take().text == r"\pm" else -1
            return sign * PM * self.unary()
        return self.power()

    def power(self):
        base = self.postfix()
        if self.at("^", "**"):
            self.take()
            exponent = self.exponent()
            base = _power(base, exponent)
            base = self.postfix_ops(base)
        return base

    def exponent(self):
        if self.at("{"):
            self.take()
            value = self.list_(frozenset({"}"}))
            self.expect("}")
            return _inner(value)
        if self.at("-", "+"):
            sign = -1 if self.take().text == "-" else 1
            return sign * self.exponent()
        tok = self.peek()
        if tok is not None and tok.kind == "num":
            self.take()
            return _number(tok.text)
        return self.postfix()

    def postfix(self):
        return self.postfix_ops(self.primary())

    def postfix_ops(self, value):
        while True:
            if self.at("!") and not (self.peek(1) is not None and self.peek(1).text == "="):
                self.take()
                if not isinstance(value, sympy.Expr):
                    raise ParseError("factorial of a non-number")
                big = value.is_Integer and value > _BIG
                value = sympy.factorial(value, evaluate=not big)
            elif self.at("%"):
                self.take()
                value = self.arith("*", value, PERCENT)
            elif self.at("°"):
                self.take()
                value = self.arith("*", value, DEGREE)
            elif self.at("'"):
                raise ParseError("primes are not supported")
            else:
                return value

    # -- atoms -----------------------------------------------------------------------------------

    def group_text(self) -> str:
        """The raw source of a `{...}` group (or of one token), braces excluded."""
        if not self.at("{"):
            tok = self.take()
            return tok.text
        open_tok = self.take()
        depth = 1
        while True:
            tok = self.take()
            if tok.text == "{":
                depth += 1
            elif tok.text == "}":
                depth -= 1
                if depth == 0:
                    return self.source[open_tok.end:tok.start]

    def argument(self):
        """A macro argument: `{...}`, or one token (`\\frac12` has arguments 1 and 2)."""
        if self.at("{"):
            self.take()
            value = self.list_(frozenset({"}"}))
            self.expect("}")
            if isinstance(value, Seq):
                raise ParseError("a list as an argument")
            return _inner(value)
        tok = self.peek()
        if tok is not None and tok.kind == "num" and len(tok.text) > 1 and "." not in tok.text:
            # Split `12` into the argument 1 and a remaining token 2.
            self.tokens[self.i] = _Tok("num", tok.text[1:], tok.start + 1, tok.end)
            return sympy.Integer(tok.text[0])
        return self.primary()

    def subscript(self) -> str:
        self.expect("_")
        return self.group_text().strip()

    def primary(self):
        tok = self.take()
        if tok.kind == "num":
            value = _number(tok.text)
            if self.at("_") and "." not in tok.text:
                base_text = self.subscript()
                if not base_text.isdigit() or not 2 <= int(base_text) <= 36:
                    raise ParseError(f"unknown base {base_text!r}")
                try:
                    return sympy.Integer(int(tok.text, int(base_text)))
                except ValueError as error:
                    raise ParseError(str(error)) from error
            return value
        if tok.kind == "word":
            return self.word(tok.text)
        if tok.kind == "cmd":
            return self.command(tok.text)
        if tok.text == "(":
            return self.bracketed("(")
        if tok.text == "[":
            return self.bracketed("[")
        if tok.text == "{":
            value = self.list_(frozenset({"}"}))
            self.expect("}")
            return _inner(value)
        if tok.text == "|":
            self.abs_depth += 1
            value = self.additive()
            self.expect("|")
            self.abs_depth -= 1
            return sympy.Abs(value)
        raise ParseError(f"unexpected {tok.text!r}")

    def bracketed(self, opener: str):
        value = self.list_(frozenset({")", "]"}))
        closer = self.take().text
        if isinstance(value, Seq) and value.kind == "list":
            items = value.items
            if len(items) == 2 and all(isinstance(i, Scalar) for i in items) and (
                    opener == "[" or closer == "]"):
                return Interval(items[0], items[1], opener == "(", closer == ")")
            if opener == "(" and closer == ")":
                return Seq("pair" if len(items) == 2 else "tuple", items)
            raise ParseError(f"a list in {opener}{closer}")
        if opener == "(" and closer == ")" or opener == "[" and closer == "]":
            if isinstance(value, Scalar):
                return value.expr
            if isinstance(value, Matrix):
                return value.matrix
            return value
        raise ParseError(f"unbalanced {opener}{closer}")

    def word(self, text: str):
        lower = text.lower()
        if lower in ("pi",):
            return sympy.pi
        if lower in ("inf", "infinity", "oo"):
            return sympy.oo
        if lower in _TRIG:
            return self.function(lower)
        if lower in ("and", "or"):
            raise ParseError(f"a stray {text!r}")
        name = text
        if self.at("_"):
            sub = self.subscript()
            if re.fullmatch(r"[A-Za-z0-9]+", sub):
                return sympy.Symbol(f"{name}_{sub}")
            inner = _Parser(sub, self.options)
            return sympy.Function(name)(inner.additive())
        if name in _FUNCTION_LETTERS and self.at("("):
            self.take()
            args = self.list_(frozenset({")"}))
            self.expect(")")
            items = args.items if isinstance(args, Seq) else (args,)
            exprs = [i.expr if isinstance(i, Scalar) else i for i in items]
            if not all(isinstance(e, sympy.Expr) for e in exprs):
                raise ParseError("a function of a non-number")
            return sympy.Function(name)(*exprs)
        if self.options.constants and name not in self.bound:
            if name == "e":
                return sympy.E
            if name == "i":
                return sympy.I
        return sympy.Symbol(name)

    def function(self, name: str):
        exponent = None
        base = None
        if name == "log" and self.at("_"):
            base = _Parser(self.subscript(), self.options).additive()
        if self.at("^"):
            self.take()
            exponent = self.exponent()
        if name == "sqrt":
            argument = self.argument()
        elif self.at("("):
            self.take()
            argument = self.additive()
            self.expect(")")
        else:
            argument = self.power()
        if not isinstance(argument, sympy.Expr):
            raise ParseError(f"{name} of a non-number")
        if name == "log" and base is not None:
            value = sympy.log(argument, base)
        else:
            value = _TRIG[name](argument)
        return _power(value, exponent) if exponent is not None else value

    def command(self, cmd: str):
        name = cmd[1:]
        if cmd == r"\frac":
            numerator = self.argument()
            denominator = self.argument()
            return self.arith("/", numerator, denominator)
        if cmd == r"\sqrt":
            index = None
            if self.at("["):
                self.take()
                index = self.additive()
                self.expect("]")
            radicand = self.argument()
            if not isinstance(radicand, sympy.Expr):
                raise ParseError("a root of a non-number")
            return sympy.root(radicand, index) if index is not None else sympy.sqrt(radicand)
        if cmd == r"\binom":
            n, k = self.argument(), self.argument()
            return sympy.binomial(n, k)
        if cmd == r"\pi":
            return sympy.pi
        if cmd in (r"\infty", r"\infin"):
            return sympy.oo
        if cmd in (r"\emptyset", r"\varnothing"):
            return Seq("set", ())
        if cmd == r"\circ":
            return DEGREE
        if name in _TRIG and name != "det":
            return self.function(name)
        if name in _MULTI_ARG or cmd in (r"\operatorname",) and False:
            return self.multi(name)
        if cmd in _TEXT_COMMANDS:
            return self.text_command(cmd)
        if cmd in _DECORATIONS:
            return sympy.Symbol(f"{cmd}{{{self.group_text().strip()}}}")
        if cmd == r"\{":
            value = self.list_(frozenset({r"\}"}))
            self.expect(r"\}")
            items = value.items if isinstance(value, Seq) and value.kind == "list" else (value,)
            return Seq("set", tuple(items))
        if cmd in (r"\lfloor", r"\lceil"):
            value = self.additive()
            self.expect(r"\rfloor" if cmd == r"\lfloor" else r"\rceil")
            return sympy.floor(value) if cmd == r"\lfloor" else sympy.ceiling(value)
        if cmd in (r"\lvert", r"\vert", r"\|"):
            value = self.additive()
            self.expect(r"\rvert", r"\vert", r"\|")
            return sympy.Abs(value)
        if cmd == r"\begin":
            return self.environment()
        if cmd in (r"\sum", r"\prod"):
            return self.big_operator(cmd)
        if cmd in (r"\alpha", r"\beta", r"\gamma", r"\delta", r"\theta", r"\lambda", r"\mu",
                   r"\phi", r"\varphi", r"\omega", r"\sigma", r"\rho", r"\tau", r"\epsilon",
                   r"\varepsilon", r"\psi", r"\chi", r"\eta", r"\zeta", r"\xi", r"\nu", r"\kappa",
                   r"\Delta", r"\Omega", r"\Gamma", r"\Theta", r"\Phi", r"\Lambda", r"\Sigma"):
            symbol = sympy.Symbol(name)
            if self.at("_"):
                symbol = sympy.Symbol(f"{name}_{self.subscript()}")
            return symbol
        if re.fullmatch(r"\\[A-Za-z]+", cmd) and cmd not in _NOT_VALUES:
            return sympy.Symbol(name)  # an unknown name such as \\zzz: a symbol like any other
        raise ParseError(f"unsupported command {cmd}")

    def multi(self, name: str):
        self.expect("(")
        args = self.list_(frozenset({")"}))
        self.expect(")")
        items = args.items if isinstance(args, Seq) else (args,)
        exprs = [i.expr for i in items if isinstance(i, Scalar)]
        if len(exprs) != len(items):
            raise ParseError(f"{name} of non-numbers")
        function = _MULTI_ARG[name]
        if name in ("gcd", "lcm"):
            from functools import reduce

            return reduce(function, exprs)
        return function(*exprs)

    def text_command(self, cmd: str):
        content = self.group_text().strip()
        if cmd == r"\operatorname" and content in _MULTI_ARG:
            return self.multi(content)
        if cmd == r"\operatorname" and content in _TRIG:
            return self.function(content)
        if not content:
            raise ParseError("empty text")
        if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", content):
            return _number(content)
        if cmd == r"\mathrm" and content == "e" and self.options.constants:
            return sympy.E
        if cmd == r"\mathrm" and content == "i" and self.options.constants:
            return sympy.I
        if content in ("and", "or"):
            raise ParseError("a stray connective")
        return sympy.Symbol(re.sub(r"\s+", " ", content))

    def environment(self):
        env = self.group_text().strip().rstrip("*")
        if env not in _MATRIX_ENVS:
            raise ParseError(f"unsupported environment {env}")
        if env == "array" and self.at("{"):
            self.group_text()
        rows: list[list] = [[]]
        self.cell_places = []
        closers = frozenset({"&", "\\\\", r"\end", r"\hline"})
        while True:
            if self.at(r"\end"):
                self.take()
                self.group_text()
                break
            if self.at("&"):
                self.take()
                continue
            if self.at("\\\\"):
                self.take()
                rows.append([])
                continue
            if self.at(r"\hline"):
                self.take()
                continue
            cell = self.list_(closers)
            if isinstance(cell, Scalar):
                rows[-1].append(cell.expr)
                self.cell_places.append(cell.places)
            else:
                raise ParseError("a matrix cell that is not a number or expression")
        rows = [row for row in rows if row]
        if not rows or len({len(row) for row in rows}) != 1:
            raise ParseError("a ragged matrix")
        matrix = sympy.ImmutableMatrix(rows)
        self.matrix_places[matrix] = tuple(self.cell_places)
        return matrix

    def big_operator(self, cmd: str):
        self.expect("_")
        lower = _Parser(self.group_text(), self.options)
        index_tok = lower.take()
        lower.expect("=")
        start = lower.additive()
        self.expect("^")
        end = self.exponent()
        index = sympy.Symbol(index_tok.text)
        self.bound.add(index_tok.text)
        body = self.power()
        while self.starts_factor():
            body = self.arith("*", body, self.power())
        self.bound.discard(index_tok.text)
        operator = sympy.Sum if cmd == r"\sum" else sympy.Product
        return operator(body, (index, start, end))


def _inner(value):
    """A group's value as a sympy object again when it is a plain scalar or matrix."""
    if isinstance(value, Scalar):
        return value.expr
    if isinstance(value, Matrix):
        return value.matrix
    return value


def _number(text: str) -> sympy.Rational:
    return sympy.Integer(text) if text.isdigit() else sympy.Rational(text)


def _power(base, exponent):
    if isinstance(exponent, Scalar):
        exponent = exponent.expr
    if not isinstance(base, sympy.Basic) or not isinstance(exponent, sympy.Expr):
        raise ParseError("a power of a non-number")
    if exponent == DEGREE:
        return base * DEGREE
    if (isinstance(base, sympy.Expr) and base.is_number and exponent.is_number
            and (abs(exponent) > _BIG if exponent.is_real else False)):
        return sympy.Pow(base, exponent, evaluate=False)
    return base ** exponent


def _pair_as_interval(value):
    if isinstance(value, Seq) and value.kind == "pair":
        lo, hi = value.items
        if isinstance(lo, Scalar) and isinstance(hi, Scalar):
            return Interval(lo, hi, True, True)
        raise ParseError("a pair of non-numbers in a union")
    return value


def _looks_like_text(s: str) -> bool:
    """A word answer (`Evelyn`, `\\text{odd}`, `The midpoints form a hexagon`)."""
    inner = re.fullmatch(r"\\(?:text|textbf|mathrm|mbox|textnormal)\s*\{([^{}]*)\}", s)
    if inner:
        s = inner.group(1)
        return bool(re.fullmatch(r"\s*\(?[A-Za-z][A-Za-z ',-]*\)?\s*", s))
    words = re.findall(r"[A-Za-z]+", s)
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z ',-]*", s.strip())) and any(
        len(w) >= 3 and w.lower() not in _WORDS for w in words)


def read(text: str, options: ReadOptions = ReadOptions()) -> Value:
    """One cleaned answer text (see ``clean``) as a value. Raises ParseError."""
    if options.strip_units:
        text = _strip_units(text)
    if not text:
        raise ParseError("empty answer")
    if _looks_like_text(text):
        return Text(text)
    return _Parser(text, options).parse()


def to_text(value: Value) -> str:
    if isinstance(value, Scalar):
        return str(value.expr)
    return str(value)


def equation_expr(rel: Rel) -> sympy.Expr | None:
    if len(rel.parts) != 2 or not all(isinstance(p, Scalar) for p in rel.parts):
        return None
    return rel.parts[0].expr - rel.parts[1].expr


def inequality_normal(rel: Rel) -> tuple[sympy.Expr, bool] | None:
    """`a < b` as (b - a, strict): the expression that the relation says is positive."""
    if len(rel.parts) != 2 or not all(isinstance(p, Scalar) for p in rel.parts):
        return None
    a, b = rel.parts[0].expr, rel.parts[1].expr
    op = rel.ops[0]
    if op in ("<", "<="):
        return b - a, op == "<"
    if op in (">", ">="):
        return a - b, op == ">"
    return None


_SYMPY_RELATION = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "!=": sympy.Ne}


def _direct_set(op: str, constant: sympy.Expr, on_left: bool) -> sympy.Set:
    """The values of a name that satisfy `name op constant` (or `constant op name`)."""
    if on_left:  # constant op name: flip to name op' constant
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "!=": "!="}[op]
    if op == "<":
        return sympy.Interval.open(-sympy.oo, constant)
    if op == "<=":
        return sympy.Interval(-sympy.oo, constant)
    if op == ">":
        return sympy.Interval.open(constant, sympy.oo)
    if op == ">=":
        return sympy.Interval(constant, sympy.oo)
    return sympy.Union(sympy.Interval.open(-sympy.oo, constant), sympy.Interval.open(constant, sympy.oo))


def relation_set(rel: Rel) -> sympy.Set | None:
    """The real solution set of a one-variable inequality or chain, or None."""
    if not all(op in _SYMPY_RELATION for op in rel.ops):
        return None
    if not all(isinstance(p, Scalar) for p in rel.parts):
        return None
    exprs = [p.expr for p in rel.parts]
    unknown = [e for e in exprs if e.free_symbols]
    if not unknown:
        return None
    # `a < f(x) < b` or `x >= 5`: the set of values of the one non-constant part.
    if len(unknown) == 1 and (isinstance(unknown[0], sympy.Symbol)
                              or isinstance(unknown[0], sympy.core.function.AppliedUndef)):
        middle = exprs.index(unknown[0])
        result = sympy.Reals
        for k, op in enumerate(rel.ops):
            left, right = exprs[k], exprs[k + 1]
            if k + 1 == middle:
                result = result.intersect(_direct_set(op, left, True))
            elif k == middle:
                result = result.intersect(_direct_set(op, right, False))
        return result
    symbols = set().union(*(e.free_symbols for e in exprs))
    if len(symbols) != 1:
        return None
    symbol = symbols.pop()
    real = sympy.Symbol(f"{symbol.name}__real", real=True)
    result = sympy.Reals
    for k, op in enumerate(rel.ops):
        condition = _SYMPY_RELATION[op](exprs[k].subs(symbol, real), exprs[k + 1].subs(symbol, real))
        try:
            solved = sympy.solveset(condition, real, domain=sympy.Reals)
        except (NotImplementedError, TypeError, ValueError):
            return None
        if isinstance(solved, sympy.ConditionSet):
            return None
        result = result.intersect(solved)
    return result


# ============================================================================================
# Reading: answer text -> candidate values
# ============================================================================================

def read_answer(answer: str, policy: GradingPolicy = DEFAULT_POLICY) -> list[Value]:
    """The readings of an extracted answer (usually one; `1,22` has two). Raises ParseError."""
    options = ReadOptions(
        strip_units=policy.strip_units, mixed_numbers=policy.mixed_numbers,
        constants=policy.constants,
    )
    readings: list[Value] = []
    errors: list[str] = []
    for text in _spellings(answer, policy):
        try:
            readings.append(read(text, options))
        except ParseError as error:
            errors.append(str(error))
        except (RecursionError, ValueError, TypeError, AttributeError, ZeroDivisionError,
                sympy.SympifyError, NotImplementedError) as error:
            errors.append(f"{type(error).__name__}: {error}")
    if not readings:
        raise ParseError(errors[0] if errors else f"cannot read {answer!r}")
    return readings


def _spellings(answer: str, policy: GradingPolicy) -> list[str]:
    """The answer, plus its decimal-comma reading when it is one number like `1,22` or `0,5`."""
    text = clean(answer)
    spellings = [text]
    if policy.decimal_comma:
        match = re.fullmatch(r"\s*(-?\d+),(\d+)\s*(%?)\s*", text)
        if match and (len(match.group(2)) == 2 or match.group(1).lstrip("-") == "0"
                      or (len(match.group(2)) != 3 and len(match.group(1)) > 3)):
            spellings.append(f"{match.group(1)}.{match.group(2)}{match.group(3)}")
    return spellings


# ============================================================================================
# Equivalence
# ============================================================================================

_TOLERANCE_DIGITS = 40  # numeric agreement to this many significant digits counts as equal


@dataclass(frozen=True)
class _Verdict:
    equal: bool
    how: str = ""


def _is_constant(expr: sympy.Basic) -> bool:
    return isinstance(expr, sympy.Expr) and not expr.free_symbols


def _numeric_value(expr: sympy.Expr, digits: int = 60) -> sympy.Expr | None:
    try:
        value = sympy.N(expr, digits)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return value if value.is_number else None


def _scalar_readings(scalar: Scalar, policy: GradingPolicy) -> list[Scalar]:
    """Replace the percent, degree and plus-minus markers by what they may mean."""
    expr = scalar.expr
    readings = [scalar]
    if expr.has(PERCENT):
        options = {"either": [1, sympy.Rational(1, 100)], "number": [1],
                   "fraction": [sympy.Rational(1, 100)]}[policy.percent]
        readings = [
            Scalar(expr.subs(PERCENT, factor),
                   None if scalar.places is None else scalar.places + (2 if factor != 1 else 0))
            for factor in options
        ]
    if expr.has(DEGREE):
        factors = [1, sympy.pi / 180] if policy.degrees_as_radians else [1]
        readings = [Scalar(r.expr.subs(DEGREE, f), r.places if f == 1 else None)
                    for r in readings for f in factors]
    return readings


def _rounds_to(decimal: Scalar, other: sympy.Expr, places: int) -> bool:
    """Whether ``decimal`` is ``other`` rounded to ``places`` digits after the point (ties fail)."""
    value = _numeric_value(other, 80)
    if value is None or not value.is_real:
        return False
    return bool(abs(value - decimal.expr) < sympy.Rational(1, 2) * sympy.Rational(1, 10**places))


def _numbers_equal(gold: Scalar, pred: Scalar, policy: GradingPolicy) -> _Verdict:
    a, b = gold.expr, pred.expr
    if a.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan) or b.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        return _Verdict(a == b, "the same infinity" if a == b else "different values")
    if a.is_Rational and b.is_Rational:
        if a == b:
            return _Verdict(True, "the same number")
        exact = False
    else:
        difference = a - b
        if difference == 0:
            return _Verdict(True, "the same number")
        scale = [abs(v) for v in (_numeric_value(a), _numeric_value(b)) if v is not None]
        value = _numeric_value(difference)
        if value is None or not scale:
            exact = False
        elif abs(value) <= max(scale) * sympy.Float(10) ** (-_TOLERANCE_DIGITS):
            if sympy.simplify(difference) == 0:
                return _Verdict(True, "equal after simplification")
            return _Verdict(True, f"numerically equal to {_TOLERANCE_DIGITS} digits")
        else:
            exact = False
    if not exact and policy.rounding:
        if gold.places is not None and _rounds_to(gold, b, gold.places):
            return _Verdict(True, f"the reference is the prediction rounded to {gold.places} places")
        if (pred.places is not None and pred.places >= policy.min_rounded_places
                and _rounds_to(pred, a, pred.places)):
            return _Verdict(True, f"the prediction is the reference rounded to {pred.places} places")
    if policy.rel_tol > 0:
        va, vb = _numeric_value(a), _numeric_value(b)
        if va is not None and vb is not None and abs(va - vb) <= policy.rel_tol * max(abs(va), abs(vb)):
            return _Verdict(True, f"within relative tolerance {policy.rel_tol}")
    return _Verdict(False, "different numbers")


def _random_points(symbols: Iterable[sympy.Symbol], count: int = 3) -> list[dict]:
    import random

    rng = random.Random(20261121)
    symbols = list(symbols)
    return [{s: sympy.Rational(rng.randint(7, 97), rng.randint(3, 29)) for s in symbols}
            for _ in range(count)]


def _expressions_equal(a: sympy.Expr, b: sympy.Expr) -> _Verdict:
    difference = a - b
    if difference == 0:
        return _Verdict(True, "identical")
    try:
        if sympy.expand(difference) == 0:
            return _Verdict(True, "equal after expanding")
    except (TypeError, ValueError):
        pass
    symbols = difference.free_symbols
    plain = all(isinstance(s, sympy.Symbol) for s in symbols) and not difference.has(
        sympy.Sum, sympy.Product, sympy.core.function.AppliedUndef)
    if plain and symbols:
        # Random substitution rejects quickly; a difference that vanishes at every point still
        # has to be proven zero by simplify (or agree to many digits) before we say equal.
        for point in _random_points(symbols):
            value = _numeric_value(difference.subs(point), 50)
            if value is None:
                break
            scale = _numeric_value(a.subs(point), 50)
            if scale is None or abs(value) > (abs(scale) + 1) * sympy.Float(10) ** (-30):
                return _Verdict(False, "different expressions")
    if sympy.simplify(difference) == 0:
        return _Verdict(True, "equal after simplification")
    if plain and symbols:
        return _Verdict(True, "equal at random points to 30 digits")
    return _Verdict(False, "different expressions")


def _scalars_equal(gold: Scalar, pred: Scalar, policy: GradingPolicy) -> _Verdict:
    best = _Verdict(False, "different values")
    for g in _scalar_readings(gold, policy):
        for p in _scalar_readings(pred, policy):
            if isinstance(g.expr, sympy.MatrixBase) or isinstance(p.expr, sympy.MatrixBase):
                return _Verdict(False, "a matrix against a scalar")
            if _is_constant(g.expr) and _is_constant(p.expr):
                verdict = _numbers_equal(g, p, policy)
            else:
                verdict = _expressions_equal(g.expr, p.expr)
                if not verdict.equal and policy.rename_symbols:
                    verdict = _renamed_equal(g.expr, p.expr)
            if verdict.equal:
                return verdict
            best = verdict
    return best


def _renamed_equal(a: sympy.Expr, b: sympy.Expr) -> _Verdict:
    from itertools import permutations

    sa = sorted(a.free_symbols, key=str)
    sb = sorted(b.free_symbols, key=str)
    if len(sa) != len(sb) or not sa or len(sa) > 4:
        return _Verdict(False, "different expressions")
    for order in permutations(sb):
        if _expressions_equal(a, b.xreplace(dict(zip(order, sa)))).equal:
            return _Verdict(True, "equal after renaming symbols")
    return _Verdict(False, "different expressions")


# -- structured values ---------------------------------------------------------------------

def _value_of(rel: Rel, policy: GradingPolicy) -> Value | None:
    """What an equation states as its answer: `x = 3` -> 3, `k = 1 + 1 = 2` -> 2, else None."""
    if not policy.accept_assignment or rel.ops[0] not in ("=", "≈"):
        return None
    if rel.ops[0] == "≈":
        return rel.parts[1] if rel.names[0] else None
    # Cut at the first approximation: what precedes it is exact.
    cut = rel.ops.index("≈") + 1 if "≈" in rel.ops else len(rel.parts)
    parts = rel.parts[:cut]
    if any(op != "=" for op in rel.ops[: cut - 1]):
        return None
    last = parts[-1]
    if rel.names[0]:
        return last
    # `1 + 1 = 2` or `a = b = 2`: a computation ending in its value. A plain equation such as
    # `a + 3z = 0` states no value.
    first = parts[0]
    if isinstance(last, Scalar) and _is_constant(last.expr) and (
            len(parts) > 2 or isinstance(first, Scalar) and _is_constant(first.expr)):
        return last
    return None


def _as_set(value: Value, policy: GradingPolicy) -> sympy.Set | None:
    """The real set an interval, union, `x \\in S` or one-variable inequality describes."""
    if isinstance(value, Interval):
        return value.to_sympy()
    if isinstance(value, SetUnion):
        return value.to_sympy()
    if isinstance(value, Seq) and value.kind == "set":
        try:
            return sympy.FiniteSet(*[item.expr for item in value.items if isinstance(item, Scalar)])
        except (TypeError, ValueError):
            return None
    if isinstance(value, Rel):
        if value.ops == ("in",):
            return _as_set(_pair_interval(value.parts[1]), policy)
        return relation_set(value)
    return None


def _sets_equal(a: sympy.Set, b: sympy.Set) -> bool:
    if a == b:
        return True
    try:
        return a.symmetric_difference(b) == sympy.EmptySet
    except (TypeError, ValueError, NotImplementedError):
        return False


def _intervals_equal(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict | None:
    """Endpoint-by-endpoint comparison, so that rounded endpoints (2.6667 for 8/3) pass."""
    gi = gold.parts if isinstance(gold, SetUnion) else (gold,)
    pi = pred.parts if isinstance(pred, SetUnion) else (pred,)
    if len(gi) != len(pi) or not all(isinstance(x, Interval) for x in gi + pi):
        return None
    for a, b in zip(sorted(gi, key=Interval.sort_key), sorted(pi, key=Interval.sort_key)):
        if (a.left_open, a.right_open) != (b.left_open, b.right_open):
            return _Verdict(False, "different interval ends")
        for x, y in ((a.lo, b.lo), (a.hi, b.hi)):
            if not _scalars_equal(x, y, policy).equal:
                return _Verdict(False, "different interval ends")
    return _Verdict(True, "the same interval")


def _match_unordered(gold: Sequence[Value], pred: Sequence[Value], policy: GradingPolicy) -> bool:
    if len(gold) != len(pred):
        return False
    # Bipartite matching by augmenting paths; answer lists are short.
    edges = [[j for j, p in enumerate(pred) if values_equal(g, p, policy).equal] for g in gold]
    owner: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    return all(augment(i, set()) for i in range(len(gold)))


def _record(seq: Seq) -> dict[str, Value] | None:
    """`a = 1, b = 2` as {a: 1, b: 2} when every item assigns a distinct name."""
    names = {}
    for item in seq.items:
        if not (isinstance(item, Rel) and item.ops == ("=",) and item.names[0]):
            return None
        names[item.texts[0]] = item.parts[1]
    return names if len(names) == len(seq.items) else None


def _flatten_pm(value: Value) -> Value:
    """`a \\pm b` is the pair of values a + b, a - b."""
    if isinstance(value, Scalar) and value.expr.has(PM):
        items = tuple(Scalar(value.expr.subs(PM, s)) for s in (1, -1))
        return Seq("list", items)
    if isinstance(value, Seq) and value.kind in ("list", "set"):
        items: list[Value] = []
        for item in value.items:
            flat = _flatten_pm(item)
            items.extend(flat.items if isinstance(flat, Seq) and flat.kind == "list"
                         and isinstance(item, Scalar) else [flat])
        return Seq(value.kind, tuple(items))
    if isinstance(value, Rel):
        return replace(value, parts=tuple(_flatten_pm(p) for p in value.parts))
    return value


def _unwrap(value: Value, policy: GradingPolicy) -> Value:
    if isinstance(value, Rel):
        stated = _value_of(value, policy)
        if stated is not None:
            return stated
        if value.ops == ("in",):
            return value.parts[1]
    if isinstance(value, Seq) and len(value.items) == 1 and value.kind in ("list", "tuple"):
        return value.items[0]
    return value


def _seqs_equal(gold: Seq, pred: Seq, policy: GradingPolicy) -> _Verdict:
    g_record, p_record = _record(gold), _record(pred)
    if g_record is not None and p_record is not None:
        if g_record.keys() == p_record.keys():
            ok = all(values_equal(g_record[k], p_record[k], policy).equal for k in g_record)
            return _Verdict(ok, "the same assignments" if ok else "different assignments")
    g_items = tuple(_unwrap(i, policy) for i in gold.items)
    p_items = tuple(_unwrap(i, policy) for i in pred.items)
    g_items = tuple(_record_tuple(i) for i in g_items)
    p_items = tuple(_record_tuple(i) for i in p_items)
    ordered_kinds = {"tuple", "pair", "ratio"}
    if gold.kind == "ratio" or pred.kind == "ratio":
        if gold.kind != pred.kind:
            return _Verdict(False, "a ratio against another kind")
    if gold.kind == "set" and pred.kind in ordered_kinds or pred.kind == "set" and gold.kind in ordered_kinds:
        return _Verdict(False, "a set against a tuple")
    ordered = (gold.kind in ordered_kinds or pred.kind in ordered_kinds
               or (policy.ordered_lists and gold.kind == pred.kind == "list")
               or g_record is not None or p_record is not None)
    if ordered and len(g_items) != len(p_items):
        return _Verdict(False, f"{len(g_items)} items against {len(p_items)}")
    if ordered:
        ok = all(values_equal(g, p, policy).equal for g, p in zip(g_items, p_items))
        if not ok and gold.kind == "ratio":
            return _ratio_equal(gold, pred, policy)
        return _Verdict(ok, "the same items in order" if ok else "different items")
    # As sets: a repeated item (the same solution listed twice) counts once.
    g_items, p_items = tuple(dict.fromkeys(g_items)), tuple(dict.fromkeys(p_items))
    ok = _match_unordered(g_items, p_items, policy)
    return _Verdict(ok, "the same items" if ok else "different items")


def _record_tuple(value: Value) -> Value:
    if isinstance(value, Seq) and value.kind == "list":
        record = _record(value)
        if record is not None:
            return Seq("tuple", tuple(record.values()))
    return value


def _ratio_equal(gold: Seq, pred: Seq, policy: GradingPolicy) -> _Verdict:
    (a, b), (c, d) = gold.items, pred.items
    if all(isinstance(x, Scalar) for x in (a, b, c, d)) and b.expr != 0 and d.expr != 0:
        if _expressions_equal(a.expr * d.expr, b.expr * c.expr).equal:
            return _Verdict(True, "the same ratio")
    return _Verdict(False, "different ratios")


def _relations_equal(gold: Rel, pred: Rel, policy: GradingPolicy) -> _Verdict:
    if gold.ops == ("=",) and pred.ops == ("=",):
        if gold.names[0] and pred.names[0] and _norm_text(gold.texts[0]) == _norm_text(pred.texts[0]):
            if values_equal(gold.parts[1], pred.parts[1], policy).equal:
                return _Verdict(True, "the same assignment")
        ga, pa = equation_expr(gold), equation_expr(pred)
        if ga is not None and pa is not None:
            if ga == pa:
                return _Verdict(True, "the same equation")
            try:
                ratio = sympy.simplify(ga / pa)
            except (TypeError, ValueError, ZeroDivisionError):
                ratio = None
            if ratio is not None and _is_constant(ratio) and ratio != 0 and ratio.is_finite:
                return _Verdict(True, "equivalent equations")
        return _Verdict(False, "different equations")
    if (gold.ops == ("in",) and pred.ops != ("in",) and not policy.inequality_for_interval):
        return _Verdict(False, "an inequality where the reference is an interval")
    ga, pa = _as_set(gold, policy), _as_set(pred, policy)
    if ga is not None and pa is not None:
        ok = _sets_equal(ga, pa)
        return _Verdict(ok, "the same solution set" if ok else "different solution sets")
    gn, pn = inequality_normal(gold), inequality_normal(pred)
    if gn is not None and pn is not None and gn[1] == pn[1]:
        ratio = sympy.simplify(gn[0] / pn[0])
        if _is_constant(ratio) and ratio.is_positive:
            return _Verdict(True, "equivalent inequalities")
    if _norm_text("".join(gold.texts) + "".join(gold.ops)) == _norm_text("".join(pred.texts) + "".join(pred.ops)):
        return _Verdict(True, "the same relation")
    return _Verdict(False, "different relations")


def _norm_text(text: str) -> str:
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox|textnormal|mathit|operatorname)\s*\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"\\left|\\right|\\!|\\,|\\;|\\ |[\s$]", "", text)
    text = text.strip(".").lower()
    # A lone choice letter: `(C)`, `C)`, `C.`
    choice = re.fullmatch(r"\(?([a-e])\)?", text)
    return choice.group(1) if choice else text


def values_equal(gold: Value, pred: Value, policy: GradingPolicy = DEFAULT_POLICY) -> Equality:
    """Equivalence of two read values under ``policy``, with the reason."""
    gold, pred = _flatten_pm(gold), _flatten_pm(pred)
    verdict = _compare(gold, pred, policy)
    return Equality(verdict.equal, verdict.how)


def _compare(gold: Value, pred: Value, policy: GradingPolicy) -> _Verdict:
    if isinstance(gold, Text) or isinstance(pred, Text):
        g = gold.text if isinstance(gold, Text) else to_text(gold)
        p = pred.text if isinstance(pred, Text) else to_text(pred)
        ok = _norm_text(g) == _norm_text(p)
        return _Verdict(ok, "the same text" if ok else "different text")
    if isinstance(gold, Rel) and isinstance(pred, Rel):
        verdict = _relations_equal(gold, pred, policy)
        if verdict.equal:
            return verdict
        g_value, p_value = _value_of(gold, policy), _value_of(pred, policy)
        if g_value is not None and p_value is not None and (len(gold.parts) > 2 or len(pred.parts) > 2):
            return _compare(g_value, p_value, policy)
        return verdict
    # Interval-like against inequality-like, in the direction the policy allows.
    if _is_inequality(gold) or _is_inequality(pred):
        gold_rel = isinstance(gold, Rel)
        if gold_rel or policy.inequality_for_interval or (isinstance(gold, Rel) and gold.ops == ("in",)):
            g_set = _as_set(gold if not isinstance(gold, Seq) else _pair_interval(gold), policy)
            p_set = _as_set(pred if not isinstance(pred, Seq) else _pair_interval(pred), policy)
            if isinstance(pred, Rel) and pred.ops == ("in",) and not gold_rel:
                return _compare(gold, pred.parts[1], policy)
            if g_set is not None and p_set is not None:
                ok = _sets_equal(g_set, p_set)
                return _Verdict(ok, "the same set" if ok else "different sets")
        elif isinstance(pred, Rel) and pred.ops == ("in",):
            return _compare(gold, pred.parts[1], policy)
        return _Verdict(False, "an inequality against an interval")
    if isinstance(gold, Rel) or isinstance(pred, Rel):
        g = _unwrap(gold, policy) if isinstance(gold, Rel) else gold
        p = _unwrap(pred, policy) if isinstance(pred, Rel) else pred
        if isinstance(g, Rel) or isinstance(p, Rel):
            return _Verdict(False, "an equation against a value")
        return _compare(g, p, policy)
    if isinstance(gold, Seq) and isinstance(pred, Seq):
        return _seqs_equal(gold, pred, policy)
    if isinstance(gold, (Interval, SetUnion)) or isinstance(pred, (Interval, SetUnion)):
        g = _pair_interval(gold) if isinstance(gold, Seq) else gold
        p = _pair_interval(pred) if isinstance(pred, Seq) else pred
        if isinstance(g, Seq) or isinstance(p, Seq):
            g_set, p_set = _as_set(g, policy), _as_set(p, policy)
            if g_set is not None and p_set is not None and _sets_equal(g_set, p_set):
                return _Verdict(True, "the same set")
            return _Verdict(False, "a set against a sequence")
        verdict = _intervals_equal(g, p, policy)
        if verdict is not None:
            return verdict
        g_set, p_set = _as_set(g, policy), _as_set(p, policy)
        if g_set is None or p_set is None:
            return _Verdict(False, "an interval against a value")
        ok = _sets_equal(g_set, p_set)
        return _Verdict(ok, "the same set" if ok else "different sets")
    if isinstance(gold, Seq) or isinstance(pred, Seq):
        seq, other = (gold, pred) if isinstance(gold, Seq) else (pred, gold)
        if len(seq.items) == 1 and seq.kind != "set":
            return _compare(*((seq.items[0], other) if seq is gold else (other, seq.items[0])), policy)
        return _Verdict(False, "a sequence against a single value")
    if isinstance(gold, Matrix) and isinstance(pred, Matrix):
        if gold.matrix.shape != pred.matrix.shape:
            return _Verdict(False, "matrices of different shapes")
        g_places = gold.places or (None,) * len(gold.matrix)
        p_places = pred.places or (None,) * len(pred.matrix)
        ok = all(_scalars_equal(Scalar(a, ga), Scalar(b, pb), policy).equal
                 for a, b, ga, pb in zip(gold.matrix, pred.matrix, g_places, p_places))
        return _Verdict(ok, "the same matrix" if ok else "different matrices")
    if isinstance(gold, Matrix) or isinstance(pred, Matrix):
        return _Verdict(False, "a matrix against a non-matrix")
    if isinstance(gold, Scalar) and isinstance(pred, Scalar):
        return _scalars_equal(gold, pred, policy)
    return _Verdict(False, "values of different kinds")


def _is_inequality(value: Value) -> bool:
    return isinstance(value, Rel) and value.ops[0] not in ("=", "≈")


def _pair_interval(value: Value) -> Value:
    """`(a, b)` read as the open interval it may also mean."""
    if isinstance(value, Seq) and value.kind == "pair":
        lo, hi = value.items
        if isinstance(lo, Scalar) and isinstance(hi, Scalar):
            return Interval(lo, hi, True, True)
    return value


# ============================================================================================
# Public comparison
# ============================================================================================

def compare_texts(gold: str, pred: str, policy: GradingPolicy = DEFAULT_POLICY) -> Equality:
    """``answers_equal`` without the time bound: call it only inside a bounded worker."""
    gold_answer = extract_answer(gold, True)
    pred_answer = extract_answer(pred, policy.prose_numbers)
    if gold_answer is None:
        return Equality(False, "no answer found in the reference")
    if pred_answer is None:
        return Equality(False, "no answer found in the prediction")
    if _norm_text(clean(gold_answer)) == _norm_text(clean(pred_answer)):
        return Equality(True, "the same answer text")
    try:
        golds = read_answer(gold_answer, policy)
    except ParseError as error:
        return Equality(False, f"cannot read the reference {_short(gold_answer)}: {error}")
    try:
        preds = read_answer(pred_answer, policy)
    except ParseError as error:
        return Equality(False, f"cannot read the prediction {_short(pred_answer)}: {error}")
    last = Equality(False, "different")
    for g in golds:
        for p in preds:
            verdict = values_equal(g, p, policy)
            if verdict.equal:
                return Equality(True, f"{verdict.reason}: {_short(gold_answer)} and {_short(pred_answer)}")
            last = verdict
    return Equality(False, f"{last.reason}: {_short(gold_answer)} and {_short(pred_answer)}")


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _bounded_result(outcome, timeout_s: float) -> Equality:
    if outcome.timed_out:
        return Equality(False, f"timed out after {timeout_s:g}s")
    if outcome.error:
        return Equality(False, f"checker error: {outcome.error}")
    return outcome.value


def answers_equal(
    gold: str, pred: str, policy: GradingPolicy = DEFAULT_POLICY, timeout_s: float = 5.0
) -> Equality:
    """Whether ``pred`` (an answer or a whole solution) states the answer ``gold`` states.

    Runs in a worker process of the default bounded pool; a comparison that takes longer than
    ``timeout_s`` seconds is killed and reported as not equal, with the reason.
    """
    from .bounded import default_pool

    outcome = default_pool().run(compare_texts, gold, pred, policy, timeout_s=timeout_s)
    return _bounded_result(outcome, timeout_s)


def answers_equal_many(
    pairs: Sequence[tuple[str, str]], policy: GradingPolicy = DEFAULT_POLICY,
    timeout_s: float = 5.0, progress=None,
) -> list[Equality]:
    """``answers_equal`` for many (gold, pred) pairs: batched round trips, each pair bounded."""
    from .bounded import default_pool

    outcomes = default_pool().map(
        compare_texts, [(g, p, policy) for g, p in pairs], timeout_s=timeout_s, progress=progress)
    return [_bounded_result(o, timeout_s) for o in outcomes]


async def answers_equal_async(
    gold: str, pred: str, policy: GradingPolicy = DEFAULT_POLICY, timeout_s: float = 5.0
) -> Equality:
    """``answers_equal`` for asyncio code: the event loop keeps running while sympy works."""
    from .bounded import default_pool

    outcome = await default_pool().run_async(compare_texts, gold, pred, policy, timeout_s=timeout_s)
    return _bounded_result(outcome, timeout_s)


async def answers_equal_many_async(
    pairs: Sequence[tuple[str, str]], policy: GradingPolicy = DEFAULT_POLICY, timeout_s: float = 5.0
) -> list[Equality]:
    from .bounded import default_pool

    outcomes = await default_pool().map_async(
        compare_texts, [(g, p, policy) for g, p in pairs], timeout_s=timeout_s)
    return [_bounded_result(o, timeout_s) for o in outcomes]
