"""Arithmetic in prose, made plain: the quantities of a sentence with their units, currency,
percent words and word operators turned into the bare arithmetic the step checker judges.

Real solutions write claims the way people talk: "80 GB / 2 GB/minute = 40 minutes",
"$30/hour * 15 hours/week = $450/week", "23 slices x $4 = $92", "20% of 50 = 10". ``plain_arithmetic``
rewrites such text so that the arithmetic stands alone ("80 / 2 = 40", "30 * 15 = 450") and leaves
everything else as it was, so that prose around the claim still breaks it off.

Units are recognised by where they stand, not from a vocabulary: the words right after a number
are its unit when an operator (or ``=``) follows them, as in "15 fireworks + 120 fireworks". A
slash glued to a word after a number is a rate ("/hour", "GB/minute"), and "per ..." too; a slash
before a number is a division. Words after a number that lead to anything else (another number,
the end of the sentence) are prose and stay. Multiplier words are the exception: "3 dozen" is
3 * 12 and "2 million" 2 * 1000000, because dropping them would change the value.

Why units are found by position and not by a units library: solutions count apples, fireworks
and lessons ("4 teachers * 2 lessons each = 8 lessons" is dimensionally teacher-lessons), so a
units library either cannot read the claim or finds a dimension error where the writer made none
(benchmarks/math_steps.py measures both ways on GSM8K). The library does the converting: when a
sum or equality mixes two units of one kind (`1.2 kg + 300 g = 1.5 kg`), pint's exact factors
(``wizardmath.units``, shared with the answer checker) put them in one unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .units import factor as unit_factor, parse_unit

SCALE_WORDS = {
    "dozen": "12", "dozens": "12", "hundred": "100", "thousand": "1000", "million": "1000000",
    "billion": "1000000000", "trillion": "1000000000000",
}
# Word operators between two quantities.
WORD_OPERATORS = {"times": "*", "x": "*", "plus": "+", "minus": "-"}
TWO_WORD_OPERATORS = {("multiplied", "by"): "*", ("divided", "by"): "/"}
PERCENT_WORDS = ("percent", "percentage", "pct")
ORDINAL_SUFFIXES = ("st", "nd", "rd", "th")
# Abbreviated units that are written glued to their number (`3cm`, `12kg`); single letters are
# not among them, since `2x` is algebra.
GLUED_UNITS = {
    "cm", "mm", "km", "kg", "mg", "ml", "lb", "lbs", "oz", "ft", "hr", "hrs", "min", "mins", "sec",
    "secs", "mph", "kph", "gb", "mb", "kb", "tb", "pm", "am", "yd", "yds", "mi", "sqft",
}
# At most this many words between a number and the operator after it are read as its unit
# ("200 pink calla lilies / 5"); longer runs of words are prose.
MAX_UNIT_WORDS = 4

_TOKEN = re.compile(
    r"(?P<num>(?<![\w.])(?:\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+))"
    r"|(?P<word>[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*)"
    r"|(?P<op>[-+*/^()=×÷–−])"
    r"|(?P<pct>%)"
    r"|(?P<cur>[$€£¤])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
_OPERATOR_SPELLING = {"×": "*", "÷": "/", "–": "-", "−": "-"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    tokens = [_Tok(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(text)]
    merged: list[_Tok] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        mixed = _mixed_number(tokens, i, merged[-1] if merged else None)
        if mixed is not None:
            merged.append(_Tok("num", mixed))
            i += 5
            continue
        if tok.kind == "num" and nxt is not None and nxt.kind == "word":
            # A number glued to letters: `6th` is 6, `3cm` is 3 with a unit, `2Z` is algebra.
            lowered = nxt.text.lower()
            if lowered == "x" and i + 2 < len(tokens) and tokens[i + 2].kind == "num":
                merged.extend([tok, _Tok("op", "*")])  # `700x2`
                i += 2
                continue
            if lowered in ORDINAL_SUFFIXES:
                merged.append(tok)
                i += 2
                continue
            if lowered in GLUED_UNITS:
                merged.extend([tok, _Tok("space", " "), _Tok("word", nxt.text)])
                i += 2
                continue
            merged.append(_Tok("name", tok.text + nxt.text))
            i += 2
            continue
        if (tok.kind == "num" and nxt is not None and nxt.text == "-" and i + 2 < len(tokens)
                and tokens[i + 2].kind == "word"):
            # `5-point`, `3-year-old`: a compound word, not a subtraction.
            merged.append(_Tok("name", tok.text + "-" + tokens[i + 2].text))
            i += 3
            continue
        merged.append(tok)
        i += 1
    return merged


def _mixed_number(tokens: list[_Tok], i: int, before: _Tok | None) -> str | None:
    """`2 1/2` at token i, as the mixed number `(2+1/2)`: a whole number, a space and a proper
    fraction of integers, as the answer reader reads `2\\frac{1}{2}`; else None."""
    parts = tokens[i:i + 6]
    if (len(parts) < 5 or [t.kind for t in parts[:5]] != ["num", "space", "num", "op", "num"]
            or parts[3].text != "/" or " " != parts[1].text
            or not all(t.text.isdigit() for t in (parts[0], parts[2], parts[4]))):
        return None
    if before is not None and before.text in ("/", "^", "."):
        return None  # `3/4 1/2` or `2^3 1/2` is no mixed number
    if len(parts) == 6 and (parts[5].kind == "num" or parts[5].text in ("/", "^", ".")):
        return None
    whole, numerator, denominator = (int(t.text) for t in (parts[0], parts[2], parts[4]))
    if not 0 < numerator < denominator:
        return None
    return f"({whole}+{numerator}/{denominator})"


def _skip_space(tokens: list[_Tok], j: int) -> int:
    while j < len(tokens) and tokens[j].kind == "space":
        j += 1
    return j


def _starts_quantity(tokens: list[_Tok], j: int) -> bool:
    """Whether a number (possibly after a currency sign or an opening bracket) starts at j."""
    j = _skip_space(tokens, j)
    while j < len(tokens) and (tokens[j].kind == "cur" or tokens[j].text == "("):
        j = _skip_space(tokens, j + 1)
    return j < len(tokens) and tokens[j].kind == "num"


def _is_rate(tokens: list[_Tok], j: int) -> bool:
    """Whether token j is the slash of a rate glued to its unit: `/hour`, `GB/minute`."""
    return tokens[j].text == "/" and j + 1 < len(tokens) and tokens[j + 1].kind == "word"


def _operator_at(tokens: list[_Tok], j: int) -> tuple[str, int] | None:
    """The operator (as plain arithmetic) starting at token j, and the index after it."""
    tok = tokens[j]
    if tok.kind == "op" and tok.text != "(" and not _is_rate(tokens, j):
        return _OPERATOR_SPELLING.get(tok.text, tok.text), j + 1
    if tok.kind == "word":
        lowered = tok.text.lower()
        if lowered in WORD_OPERATORS and _starts_quantity(tokens, j + 1):
            return WORD_OPERATORS[lowered], j + 1
        k = _skip_space(tokens, j + 1)
        if k < len(tokens) and tokens[k].kind == "word":
            pair = (lowered, tokens[k].text.lower())
            if pair in TWO_WORD_OPERATORS and _starts_quantity(tokens, k + 1):
                return TWO_WORD_OPERATORS[pair], k + 1
    return None


# Single letters that are units when written after a number (`5 m`, `3 g`, `9.8 m/s^2`); any
# other letter there is algebra (`2 y + 3 = 7`, `3 x^2`), never a unit to drop.
SINGLE_LETTER_UNITS = {"m", "g", "s", "h", "l", "L", "N", "J", "W", "V", "K"}


def _power_end(tokens: list[_Tok], j: int) -> int | None:
    """After a unit ending before token j: the index after its power (`^2`, `^-1`, `^(3)`),
    j itself when it has none, or None when a `^` follows that cannot be read as a power."""
    if j >= len(tokens) or tokens[j].text != "^":
        return j
    k = j + 1
    bracket = k < len(tokens) and tokens[k].text == "("
    k += bracket
    if k < len(tokens) and tokens[k].text in ("-", "−", "–"):
        k += 1
    if k >= len(tokens) or tokens[k].kind != "num" or not tokens[k].text.isdigit():
        return None
    k += 1
    if bracket:
        if k >= len(tokens) or tokens[k].text != ")":
            return None
        k += 1
    return k


def _unit_span(tokens: list[_Tok], j: int) -> tuple[int, str | None] | None:
    """After a quantity ending before token j: when the words from j are its unit, the index
    where the operator after them starts and that operator's plain spelling; else None.

    A unit's power belongs to the unit (`20 m^2` is 20 of the unit m^2, never 20 squared); a
    power that cannot be read leaves the unit in place, so the claim is not checked."""
    words = 0
    k = j
    while True:
        k = _skip_space(tokens, k)
        if k >= len(tokens):
            return None
        found = _operator_at(tokens, k)
        if found is not None:
            return k, None
        tok = tokens[k]
        if _is_rate(tokens, k):
            k = _power_end(tokens, k + 2)
            if k is None:
                return None
            words += 1
            continue
        if tok.kind == "word" and words < MAX_UNIT_WORDS:
            if tok.text.lower() == "per":  # `per sandwich`: a rate
                nxt = _skip_space(tokens, k + 1)
                if nxt < len(tokens) and tokens[nxt].kind == "word":
                    k = _power_end(tokens, nxt + 1)
                    if k is None:
                        return None
                    words += 1
                    continue
                return None
            if len(tok.text) == 1 and tok.text not in SINGLE_LETTER_UNITS:
                after = _skip_space(tokens, k + 1)
                if after >= len(tokens) or tokens[after].text == "^" or _operator_at(tokens, after):
                    return None  # `2 y + 3`: a variable, not a unit
            words += 1
            k = _power_end(tokens, k + 1)
            if k is None:
                return None
            continue
        return None


_SCALE_WORD = re.compile(r"(?i)\b(?:" + "|".join(SCALE_WORDS) + r")\b")


def has_scale_words(text: str) -> bool:
    return bool(_SCALE_WORD.search(text))


def _unit_table() -> dict[str, tuple[str, str]]:
    spellings = {
        "length": {"mm": "mm millimeter millimeters millimetre millimetres",
                   "cm": "cm centimeter centimeters centimetre centimetres",
                   "m": "m meter meters metre metres", "km": "km kilometer kilometers kilometre kilometres",
                   "in": "in inch inches", "ft": "ft foot feet", "yd": "yd yds yard yards",
                   "mi": "mi mile miles"},
        "mass": {"mg": "mg milligram milligrams", "g": "g gram grams", "kg": "kg kilogram kilograms kilo kilos",
                 "lb": "lb lbs pound pounds", "oz": "oz ounce ounces", "t": "ton tons tonne tonnes"},
        "time": {"s": "s sec secs second seconds", "min": "min mins minute minutes",
                 "h": "h hr hrs hour hours", "day": "day days", "week": "week weeks",
                 "month": "month months", "year": "year years yr yrs"},
        "volume": {"ml": "ml milliliter milliliters millilitre millilitres", "l": "l liter liters litre litres",
                   "gal": "gal gallon gallons", "qt": "qt quart quarts", "pt": "pt pint pints",
                   "cup": "cup cups", "tbsp": "tbsp tablespoon tablespoons", "tsp": "tsp teaspoon teaspoons"},
        "data": {"kb": "kb kilobyte kilobytes", "mb": "mb megabyte megabytes", "gb": "gb gigabyte gigabytes",
                 "tb": "tb terabyte terabytes"},
        "money": {"dollar": "dollar dollars", "cent": "cent cents"},
    }
    return {word: (kind, unit) for kind, units in spellings.items()
            for unit, words in units.items() for word in words.split()}


# Units of measure by kind: a claim that mixes two units of one kind (`3 kg + 500 g`) is not
# plain arithmetic on its numbers. Only these are known; any other word is a unit of its own.
UNITS_OF_MEASURE = _unit_table()
_AREA_WORDS = {"sq", "square", "cu", "cubic"}


@dataclass(frozen=True)
class _Quantity:
    """A number of the output with the units written with it, and where its dropped unit went."""

    position: int  # index in the output list of the number
    unit: str | None  # its unit of measure (`3 kg`, `15 hours/week`: kg, h)
    per: tuple[str, ...]  # the units it is per (`$30/hour`, `15 hours/week`: h, week)
    dropped: tuple[tuple[int, str], ...]  # (output index, original text) of units made blank


def _measure(word: str) -> str | None:
    found = UNITS_OF_MEASURE.get(word.lower())
    return f"{found[0]}:{found[1]}" if found else None


def _units_after(tokens: list[_Tok], j: int) -> tuple[str | None, tuple[str, ...]]:
    """The unit of measure written after a number ending before token j, and the units it is
    per (`5 m/s`, `30/hour`, `12 miles per hour`)."""
    unit = None
    per: list[str] = []
    k = _skip_space(tokens, j)
    if k < len(tokens) and tokens[k].kind == "word" and not _is_rate(tokens, k):
        if tokens[k].text.lower() in _AREA_WORDS:
            k = _skip_space(tokens, k + 1)
        if k < len(tokens) and tokens[k].kind == "word":
            unit = _measure(tokens[k].text)
            k = _power_end(tokens, k + 1) or k + 1
    while k < len(tokens):
        if _is_rate(tokens, k):
            per.append(_measure(tokens[k + 1].text) or "")
            k = _power_end(tokens, k + 2) or k + 2
            continue
        nxt = _skip_space(tokens, k)
        if nxt < len(tokens) and tokens[nxt].text.lower() == "per":
            word = _skip_space(tokens, nxt + 1)
            if word < len(tokens) and tokens[word].kind == "word":
                per.append(_measure(tokens[word].text) or "")
                k = _power_end(tokens, word + 1) or word + 1
                continue
        break
    return unit, tuple(p for p in per if p)


def _mixes_units(quantities: list[_Quantity]) -> bool:
    """Whether the quantities of one claim carry two different units of one kind, once the units
    a rate is per cancel against the same unit elsewhere (`$30/hour * 15 hours/week = $450/week`
    mixes nothing; `5 m/s * 3 min` and `3 kg + 500 g` do)."""
    units = {q.unit for q in quantities if q.unit}
    pers = {p for q in quantities for p in q.per}
    remaining = units ^ pers
    kinds = [unit.split(":")[0] for unit in remaining]
    return len(kinds) != len(set(kinds))


def plain_arithmetic(text: str, scale_words_multiply: bool = True) -> str:
    """``text`` with its quantities' units, currency signs, thousands separators, percent words
    and word operators rewritten as plain arithmetic; the rest is left as it was.

    ``scale_words_multiply``: `3 dozen` is 3 * 12 (True) or 3 of the unit "dozen" (False);
    writers mean either, so the checker tries both readings."""
    tokens = _tokens(_join_compound_quantities(text))
    out: list[str] = []
    quantities: list[_Quantity] = []
    currency = False
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == "cur" and _starts_quantity(tokens, i + 1):
            out.append(" ")
            i += 1
            currency = True  # `$5 + 50 cents`: the next number is in dollars
            continue
        if _is_rate(tokens, i) and re.search(r"[\w%)]\s*$", "".join(out[-3:])):
            # `$30/hour`, `2 GB/minute`, `= $450/week`: a rate glued to what precedes it.
            out.append(" ")
            i += 2
            continue
        if tok.kind == "word" and re.search(r"[\d%)]\s*$", "".join(out[-3:])):
            found = _operator_at(tokens, i)
            if found is not None:  # `5 times 3`, `23 slices x $4`, `12 divided by 4`
                out.append(f" {found[0]} ")
                i = found[1]
                continue
        if tok.kind != "num":
            out.append(_OPERATOR_SPELLING.get(tok.text, tok.text) if tok.kind == "op" else tok.text)
            i += 1
            continue
        position = len(out)
        out.append(tok.text.replace(",", ""))
        i += 1
        unit, per = _units_after(tokens, i)
        if currency and unit is None:
            unit = "money:dollar"
        currency = False
        dropped: list[tuple[int, str]] = []
        # `$96` after the number (`3528$`), `%` and percent words.
        j = _skip_space(tokens, i)
        if j < len(tokens) and tokens[j].kind == "cur" and not _starts_quantity(tokens, j + 1):
            i = j + 1
            j = _skip_space(tokens, i)
        if j < len(tokens) and (tokens[j].kind == "pct" or tokens[j].text.lower() in PERCENT_WORDS):
            out.append("%")
            i = j + 1
            j = _skip_space(tokens, i)
        # Multiplier words change the value: `3 dozen` is 3 * 12.
        while (scale_words_multiply and j < len(tokens) and tokens[j].kind == "word"
               and tokens[j].text.lower() in SCALE_WORDS):
            out.append(f"*{SCALE_WORDS[tokens[j].text.lower()]}")
            i = j + 1
            j = _skip_space(tokens, i)
        # `20% of 50`: "of" between a percentage and a number multiplies.
        if (out[-1].endswith("%") and j < len(tokens) and tokens[j].kind == "word"
                and tokens[j].text.lower() == "of" and _starts_quantity(tokens, j + 1)):
            out.append(" *")
            i = j + 1
            continue
        span = _unit_span(tokens, i)
        if span is not None:
            k, _ = span
            dropped.append((len(out), "".join(t.text for t in tokens[i:k])))
            out.append(" ")
            i = k
        quantities.append(_Quantity(position, unit, per, tuple(dropped)))
    return _keep_mixed_units(out, quantities)


# What the step checker reads as one piece of arithmetic: numbers, operators and blanks.
_ARITHMETIC_RUN = re.compile(r"[\d$€£¤.,()+\-*/^%=\s]+")


_COMPOUND = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s+(?:and\s+)?(\d+(?:\.\d+)?)\s*([A-Za-z]+)\b(?!\s*[/^])")


def _join_compound_quantities(text: str) -> str:
    """`2 h 30 min` -> `(2 h + 30 min)`: a quantity written in two units of one kind, the larger
    first (hours and minutes, feet and inches, kilograms and grams), is their sum."""
    def join(match: re.Match) -> str:
        big, small = UNITS_OF_MEASURE.get(match.group(2).lower()), UNITS_OF_MEASURE.get(match.group(4).lower())
        if big is None or small is None or big[0] != small[0] or big[1] == small[1]:
            return match.group(0)
        ratio = _conversion(big[1], small[1])
        if ratio is None or ratio <= 1:
            return match.group(0)
        return f"({match.group(1)} {match.group(2)} + {match.group(3)} {match.group(4)})"

    return _COMPOUND.sub(join, text)


# Units whose length varies (a month is 28 to 31 days, a year 365 or 366): writers convert them
# by their own rule, so they are converted only into each other.
_CALENDAR = {"month", "year"}
# Words that name two sizes (a ton is 2000 lb or 1000 kg): never converted.
_AMBIGUOUS = {"t"}


def _conversion(source: str, target: str):
    """How many ``target`` one ``source`` is, by pint (``wizardmath.units``), for two units of
    the table above; None when they do not convert exactly."""
    if (source in _CALENDAR) != (target in _CALENDAR) or {source, target} & _AMBIGUOUS:
        return None
    names = {"in": "inch", "l": "L", "gal": "gallon", "qt": "quart", "mi": "mile", "pt": "pint"}
    a, b = parse_unit(names.get(source, source)), parse_unit(names.get(target, target))
    if a is None or b is None:
        return None
    return unit_factor(a, b)


def _converted(out: list[str], quantities: list[_Quantity]) -> dict[int, str] | None:
    """The numbers of a sum or equality that mixes units of one kind, rewritten in one unit per
    kind (the unit of the last quantity of that kind: `1.2 kg + 300 g = 1.5 kg` becomes
    `1.2 + (300*1/1000) = 1.5`); None when a rate is involved or a unit does not convert."""
    if any(q.per for q in quantities):
        return None
    targets: dict[str, str] = {}
    for q in quantities:
        if q.unit:
            kind, unit = q.unit.split(":")
            targets[kind] = unit
    rewritten: dict[int, str] = {}
    for q in quantities:
        if not q.unit:
            continue
        kind, unit = q.unit.split(":")
        if unit == targets[kind]:
            continue
        ratio = _conversion(unit, targets[kind])
        if ratio is None:
            return None
        rewritten[q.position] = f"({out[q.position]}*{ratio.numerator}/{ratio.denominator})"
    return rewritten


def _keep_mixed_units(out: list[str], quantities: list[_Quantity]) -> str:
    """The output, where a claim that mixes units of one kind is converted to one unit per kind
    (pint's exact factors), or, when it cannot be, gets its units back: left in place they end
    the arithmetic, so the claim is not checked as if `3 kg + 500 g` were 3 + 500 (a true line
    judged false)."""
    if not out:
        return ""
    starts = []
    offset = 0
    for piece in out:
        starts.append(offset)
        offset += len(piece)
    text = "".join(out)
    for run in _ARITHMETIC_RUN.finditer(text):
        inside = [q for q in quantities if run.start() <= starts[q.position] < run.end()]
        if len(inside) > 1 and _mixes_units(inside):
            # Only sums and equalities convert: in a product the units multiply, and writers
            # leave rates unwritten (`2 hours every day x 7 days = 14 hours`).
            additive = not re.search(r"[*/^%]", run.group())
            converted = _converted(out, inside) if additive else None
            if converted is not None:
                for position, number in converted.items():
                    out[position] = number
                continue
            for q in inside:
                for index, original in q.dropped:
                    out[index] = f" {original.strip()} "
    return "".join(out)
