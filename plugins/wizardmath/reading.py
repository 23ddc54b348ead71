"""Reading: an answer text, LaTeX or plain, as a mathematical value.

``clean`` normalises an answer's spelling (delimiters, spacing, thousands separators, percent,
degrees); ``read`` turns the cleaned text into one value: a ``Scalar`` (a sympy expression), a
``Seq``, ``Interval``, ``SetUnion``, ``Rel`` (a relation), ``Matrix`` or ``Text``. The reader is
our own small recursive-descent parser building sympy objects, not sympy's LaTeX parser.

Numbers are exact: decimals become rationals, and ``places`` records the digits a decimal shows
so that the rounding rule can be applied later. Percent, degree and plus-minus stay as marker
symbols (``PERCENT``, ``DEGREE``, ``PM``): what they mean is a grading-policy choice, made in
``wizardmath.answers``. Reading builds sympy objects and sympy can hang, so callers run it inside
a bounded worker (``wizardmath.bounded``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy

from .units import Unit, parse_unit


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


@dataclass(frozen=True)
class Quantity:
    """A number with a unit of measure (`5 cm`, `1.5\\text{ km}`, `24 square meters`)."""

    value: Scalar
    unit: Unit


@dataclass(frozen=True)
class Time:
    """A time of day written with AM or PM (`2:30 PM`), in minutes after midnight."""

    minutes: int


Value = Scalar | Seq | Interval | SetUnion | Rel | Matrix | Text | Quantity | Time


@dataclass(frozen=True)
class ReadOptions:
    strip_units: bool = True
    mixed_numbers: bool = True
    constants: bool = True
    # A number with a unit of measure is a Quantity, `2:30 PM` a Time (off: the unit is dropped
    # as any other word, which is how the step checker reads math).
    quantities: bool = True


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
    "⋅": r"\cdot ", "∗": "*", "€": " ", "£": " ", "¤": " ", "¥": " ", "\u00a0": " ",
}
_SPACING = re.compile(r"(?<!\\)\\(?:[,;:> ]|q?quad(?![a-zA-Z]{2})|hspace\s*\{[^}]*\}|enspace|thinspace)|~")

# Commands whose backslash arrives doubled from JSON-escaped sources (`\\frac`).
_DOUBLED = re.compile(
    r"(?<!\\)\\\\(?=(?:boxed|fbox|frac|dfrac|tfrac|cfrac|sqrt|text|textbf|mathrm|left|right|le|leq|"
    r"ge|geq|lt|gt|neq|ne|pi|cdot|times|infty|in|cup|cap|pm|mp|approx|begin|end|circ|div|mathbf|"
    r"quad|qquad|sum|prod|ln|log|sin|cos|tan|sec|csc|cot|operatorname|mbox|hat|vec|overline)\b)"
)


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
    s = _REPEATING.sub(_repeating_fraction, s)
    s = _SCIENTIFIC.sub(r"(\1 \\times 10^{\2})", s)
    s = re.sub(r"\\%|%", " % ", s)
    s = re.sub(r"(?i)(?<![A-Za-z])(?:percentage|percents|percent|pct)(?![A-Za-z])", " % ", s)
    s = re.sub(r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|°|\\degree(?![a-zA-Z])", " ° ", s)
    s = re.sub(r"(?i)(?<=[\d}])\s*(?:degrees|degree)\b", " ° ", s)
    s = re.sub(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d,])", _thousands, s)
    # `1 000` is a thousand, but `\log_2 264` is the logarithm to base 2 of 264.
    s = re.sub(r"(?<![\d.,_^])(\d{1,3})((?: \d{3})+)(?![\d,.])",
               lambda m: m.group(1) + m.group(2).replace(" ", ""), s)
    s = s.strip()
    s = re.sub(r"^(?:\\text\s*\{\s*)?(?:[Tt]he\s+)?(?:final\s+)?answer\s*(?:is|:)\s*(?:\})?", "", s)
    s = re.sub(r"[\s.,;:!]+$", "", s)
    return s.strip()


# `0.\overline{3}`, `0.1\overline{6}`, `2.\overline{45}`: a repeating decimal, an exact fraction.
_REPEATING = re.compile(r"(?<![\d.])(\d*)\.(\d*)\s*\\(?:overline|bar|dot)\s*\{\s*(\d+)\s*\}")
# `6.02e23`, `1.5E-4`: scientific notation (a letter after it would make it algebra: `2e3x`).
_SCIENTIFIC = re.compile(r"(?<![\w.\\])(\d+(?:\.\d+)?)[eE]([-+]?\d+)(?![\w.])")


def _repeating_fraction(match: re.Match) -> str:
    whole, fixed, period = match.group(1) or "0", match.group(2), match.group(3)
    # x = whole.fixed(period...): x * 10^len(fixed) * (10^len(period) - 1) is an integer.
    numerator = int(whole + fixed + period) - int(whole + fixed)
    denominator = (10 ** len(period) - 1) * 10 ** len(fixed)
    value = sympy.Rational(numerator, denominator)
    return f"\\frac{{{value.p}}}{{{value.q}}}" if value.q != 1 else str(value.p)


def _thousands(match: re.Match) -> str:
    """`1,000` -> `1000`, except where the digits are a whole pair `(12,102)` or start with 0."""
    before = match.string[: match.start()].rstrip()[-1:]
    after = match.string[match.end():].lstrip()[:1]
    if match.group(1) == "0" or (before in ("(", "[", "{") and after in (")", "]", "}")):
        return match.group(0)
    return match.group(1) + match.group(2).replace(",", "")


def _unglue(text: str) -> str:
    """`1orW(x)=-1` -> `1 or W(x)=-1`: connectives that lost their spaces."""
    return re.sub(r"(?<=[\d)}])(or|and)(?=[A-Z(\\\d-])", r" \1 ", text)


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
        left = self.mixed_or_unary()
        while True:
            if self.at("*", r"\cdot", r"\times", r"\ast"):
                self.take()
                left = self.arith("*", left, self.mixed_or_unary())
            elif self.at("/", r"\div"):
                self.take()
                left = self.arith("/", left, self.mixed_or_unary())
            elif self.starts_factor():
                left = self.arith("*", left, self.power())
            else:
                return left

    def mixed_or_unary(self):
        """An operand of a product or quotient: `2\\frac{1}{2}` there is the mixed number 5/2
        (`3 \\times 2\\frac{1}{2}` is 15/2), with ``mixed_numbers``."""
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
                left = self.postfix_ops(left)  # `33\\frac{1}{3}\\%`
            else:
                left = self.arith("*", left, fraction)
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
            first = self.peek()
            argument = self.power()
            # `\\cos 2x` is cos(2x): a number and the letters glued after it are one argument.
            while (first is not None and first.kind == "num" and (tok := self.peek()) is not None
                   and tok.kind == "word" and tok.start == self.tokens[self.i - 1].end
                   and tok.text.lower() not in _WORDS):
                argument = self.arith("*", argument, self.power())
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
        if name in _MULTI_ARG:
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
    time = _time_of_day(text) if options.quantities else None
    if time is not None:
        return time
    text = _nested_list_matrix(text)
    quantity = _split_quantity(text) if options.quantities else None
    if quantity is not None:
        head, unit = quantity
        value = read(head, options)
        if isinstance(value, Scalar) and not value.expr.free_symbols:
            return Quantity(value, unit)
        if (isinstance(value, Rel) and value.ops[-1] == "=" and isinstance(value.parts[-1], Scalar)
                and not value.parts[-1].expr.free_symbols):
            return Rel(value.ops, value.parts[:-1] + (Quantity(value.parts[-1], unit),),
                       value.texts, value.names)
    if options.strip_units:
        text = _strip_units(text)
    if not text:
        raise ParseError("empty answer")
    if _looks_like_text(text):
        return Text(text)
    return _Parser(text, options).parse()


# Where a unit may start: after a digit, a closing brace or bracket, at a letter or a text command.
_UNIT_START = re.compile(r"(?<=[\d})])\s*(?=\\(?:text|mbox|mathrm|textnormal|textrm|rm)\b|[A-Za-z])")


def _split_quantity(text: str) -> tuple[str, Unit] | None:
    """`1.5\\text{ km}` -> (`1.5`, km); `x = 5 cm` -> (`x = 5`, cm): a number, or a relation's
    last side, followed by a unit of measure (``wizardmath.units``); else None.

    A single-letter unit (`m`, `s`, `g`, `h`) counts only apart from its number or inside
    `\\text{}`: `2h` is algebra, `2 h` and `2\\text{ h}` are two hours."""
    for match in _UNIT_START.finditer(text):
        tail = text[match.end():]
        glued = match.start() == match.end()
        if glued and re.fullmatch(r"[A-Za-z](?:\^\{?\d\}?)?", tail.strip()):
            continue
        unit = parse_unit(tail)
        if unit is not None:
            head = text[: match.start()].strip()
            if re.search(r"\d", head.rsplit("=", 1)[-1]):
                return head, unit
    return None


_CLOCK = re.compile(
    r"(?:\\(?:text|mbox|mathrm|textnormal)\s*\{\s*)?(\d{1,2})\s*:\s*(\d{2})\s*(?:\}\s*)?"
    r"(?:\\(?:text|mbox|mathrm|textnormal)\s*\{\s*)?([AaPp])\.?\s*[Mm]\.?\s*\}?")


def _time_of_day(text: str) -> Time | None:
    """`2:30 PM`, `\\text{11:05 a.m.}` as minutes after midnight; None without AM or PM."""
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if not 1 <= hours <= 12 or minutes >= 60:
        return None
    hours = hours % 12 + (12 if match.group(3).lower() == "p" else 0)
    return Time(hours * 60 + minutes)


def _nested_list_matrix(text: str) -> str:
    """`[[1, 2], [3, 4]]` (a list of rows, as code writes a matrix) as a pmatrix."""
    match = re.fullmatch(r"\s*\[\s*((?:\[[^\[\]]*\]\s*,?\s*)+)\]\s*", text)
    if not match:
        return text
    rows = re.findall(r"\[([^\[\]]*)\]", match.group(1))
    cells = [[cell.strip() for cell in row.split(",")] for row in rows]
    if len({len(row) for row in cells}) != 1 or any(not cell for row in cells for cell in row):
        return text
    return r"\begin{pmatrix}" + r"\\".join("&".join(row) for row in cells) + r"\end{pmatrix}"


def to_text(value: Value) -> str:
    if isinstance(value, Scalar):
        return str(value.expr)
    if isinstance(value, Quantity):
        return f"{value.value.expr} {value.unit.text}"
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

