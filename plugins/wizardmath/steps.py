"""The process check: split a solution into steps and check each step's arithmetic exactly.

A step's verdict says what sympy found, and nothing more: "a claim is false" when one of its
claims is false, "claims true" when it makes checkable claims and all of them hold, "nothing to
check" when it makes none. True arithmetic does not make a step right (a wrong plan may add up
correctly), so "claims true" is never read as "this step is good" by the labels built on it
(``wizardmath.labels``). Claims are found where a solution commits to a value:

- GSM8K calculator annotations ``<<48/2=24>>``;
- equations and chains in LaTeX math (``$2^{10} = 1024$``, ``\\frac{3}{4} \\cdot 8 = 6``,
  ``\\sin 90^\\circ = 1``), and symbolic identities (``(x+2)(x+3) = x^2+5x+6``, which can
  only be found true: an expression that differs may be an equation to solve);
- arithmetic in prose, with its units, rates, currency and percentages made plain by
  ``wizardmath.prose`` (``80 GB / 2 GB/minute = 40 minutes``, ``$80,000 * 1.5 = $120,000``);
- an equation in one unknown together with the value the step gives it
  (``3x + 2 = 11, so x = 3``): the value must satisfy the equation.

Sentences that suppose or test something ("suppose", "let's try", "plug in") may state a false
equation on purpose: a false claim there is not judged. Negated sentences and questions are
skipped. Judging errs towards "nothing to check": a false "a claim is false" teaches a reward
model a wrong label.

Rounding (see docs/math-grading.md): a stated decimal with d >= 1 places passes when it is the
exact value rounded or truncated to d places; a stated integer must be exact or the correct
rounding; a value the exact result shows in full must match exactly. After ``\\approx``, the
stated value may be off by less than one unit of its last digit.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from typing import Literal, Sequence

import sympy

from .answers import (
    DEGREE, PERCENT, PM, ParseError, ReadOptions, Rel, Scalar, Seq, clean, read,
)
from .prose import has_scale_words, plain_arithmetic

__all__ = [
    "CLAIMS_TRUE", "CLAIM_FALSE", "NOTHING_TO_CHECK", "Claim", "StepVerdict", "check_many",
    "check_step", "check_steps", "check_steps_async", "split_steps",
]

Verdict = Literal["correct", "incorrect", "unverifiable"]
"""How one link of a chain was judged, inside this module."""
ClaimVerdict = Literal["true", "false", "unknown"]
StepFinding = Literal["claims true", "a claim is false", "nothing to check"]
CLAIMS_TRUE: StepFinding = "claims true"
CLAIM_FALSE: StepFinding = "a claim is false"
NOTHING_TO_CHECK: StepFinding = "nothing to check"
_CLAIM_WORD: dict[str, ClaimVerdict] = {"correct": "true", "incorrect": "false", "unverifiable": "unknown"}


@dataclass(frozen=True)
class Claim:
    text: str
    verdict: ClaimVerdict

    def as_dict(self) -> dict:
        return {"text": self.text, "verdict": self.verdict}


@dataclass(frozen=True)
class StepVerdict:
    index: int
    verdict: StepFinding
    claims: tuple[Claim, ...]

    def as_dict(self) -> dict:
        return {"index": self.index, "verdict": self.verdict,
                "claims": [claim.as_dict() for claim in self.claims]}


# ============================================================================================
# Splitting
# ============================================================================================

_STEP_MARKER = re.compile(r"(?im)^\s*(?:\*\*)?step\s*\d+\s*[:.)]")
_FINAL_LINE = re.compile(r"^\s*(?:####\s*\S.*|final answer\s*:?.*)$", re.IGNORECASE)


def split_steps(solution: str) -> list[str]:
    """The steps of a solution: "Step k:" sections if it has them, else its lines, else its
    sentences. The GSM8K final line ``#### N`` states the answer, not a step, and is dropped."""
    text = solution.strip()
    if not text:
        return []
    markers = list(_STEP_MARKER.finditer(text))
    if len(markers) >= 2:
        starts = [m.start() for m in markers]
        pieces = [text[:starts[0]]] + [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    else:
        pieces = _lines_outside_display_math(text)
        if len(pieces) == 1:
            pieces = _sentences(text)
    return [p.strip() for p in pieces if p.strip() and not _FINAL_LINE.match(p.strip())]


def _lines_outside_display_math(text: str) -> list[str]:
    """Lines, keeping a ``\\[ ... \\]`` or ``$$ ... $$`` block that spans lines in one piece."""
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    for line in text.split("\n"):
        current.append(line)
        depth += line.count("\\[") - line.count("\\]") + (line.count("$$") % 2)
        depth = depth % 2 if "$$" in line else max(depth, 0)
        if depth == 0:
            pieces.append("\n".join(current))
            current = []
    if current:
        pieces.append("\n".join(current))
    return [p for p in pieces if p.strip()]


_MATH_SPAN = re.compile(
    r"\\begin\{(?:align|aligned|equation|eqnarray|gather|multline)\*?\}(.+?)"
    r"\\end\{(?:align|aligned|equation|eqnarray|gather|multline)\*?\}"
    r"|(?<!\\)\$\$(.+?)(?<!\\)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)"
    r"|(?<!\\)\$((?:[^$]|(?<=\\)\$)+?)(?<!\\)\$",
    re.DOTALL,
)


def _mask(text: str) -> str:
    return _MATH_SPAN.sub(lambda m: "\x00" * len(m.group()), text)


def _sentences(text: str) -> list[str]:
    """Sentences, never cut inside math (``$3.5$``) or a number (``3.5``)."""
    masked = _mask(text)
    cuts = [m.end() for m in re.finditer(r"[.!?](?=\s+[A-Z\\$(¤])", masked)]
    bounds = [0] + cuts + [len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]


# ============================================================================================
# Finding claims
# ============================================================================================

# A false equation in a sentence that supposes, tests or talks about mistakes may be meant as
# false ("suppose 2 + 2 = 5", "let's try x = 3: 9 + 1 = 11, too big"): such a claim is not judged
# incorrect, though a true one still counts. A conditional asserts its arithmetic ("if each box
# holds 6, 4 boxes hold 4 * 6 = 24"): on PRM800K, judging those keeps the precision of
# "incorrect" (benchmarks/math_steps.py). A negated sentence ("1 = 3 + 4 is not true") says
# nothing either way.
_HYPOTHETICAL = re.compile(
    r"\b(?:suppose|supposing|assume|assuming|let's say|let us say|what if|hypothetically|"
    r"whether|wrong|mistake|incorrect|error|check|checking|try|trying|guess|plug|plugging|"
    r"substitute|substituting|test|testing)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:not|n't|never|false|untrue|cannot|can't)\b|≠|\\neq?\b", re.IGNORECASE)
_MODULAR = re.compile(r"\\(?:pmod|bmod|mod|equiv)\b|\bmod\b|\\pmod|≡", re.IGNORECASE)
# What makes a chain compute something: arithmetic, and functions applied to numbers
# (`\sin 90^\circ = 1`, `\gcd(5, 7) = 1`).
_OPERATOR = re.compile(
    r"[-+*/^!×÷]|\\(?:times|cdot|div|frac|dfrac|tfrac|sqrt|binom|sin|cos|tan|cot|sec|csc|arcsin|"
    r"arccos|arctan|ln|log|exp|gcd|lcm)(?![a-zA-Z])|\d\s*\("
)
_CONTINUATION = {
    "of", "times", "by", "per", "x", "plus", "minus", "into", "over", "divided", "multiplied",
    "and", "than", "each", "squared", "cubed", "from", "out",
}
# Words after a result that make it an operand of more arithmetic (`= 4 squared`); word
# operators followed by a number were already made arithmetic.
_CONTINUES_AFTER = {"squared", "cubed", "divided", "multiplied", "plus", "minus", "over", "into", "percent"}
_ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
# Plain-text algebra: single-letter unknowns among numbers (`3x + 2 = 11`, `x = 3`); only used
# to pair an equation with the value a step gives its unknown.
_LETTER = r"(?<![A-Za-z])[a-zA-Z](?![A-Za-z])"
_ALGEBRA_RUN = re.compile(rf"(?:[\d.()+\-*/^ ]|{_LETTER})+=(?:[\d.()+\-*/^ ]|{_LETTER})+")
_PLAIN_RUN = re.compile(r"[\d$€£¤.,()+\-–−*/÷×^%=\s]*=[\d$€£¤.,()+\-–−*/÷×^%=\s]*")


@dataclass(frozen=True)
class _Link:
    """One `a = b` (or `a ≈ b`) of a chain, with its source text."""

    left: sympy.Expr
    right: sympy.Expr
    approx: bool
    text: str
    right_text: str
    has_operator: bool
    right_as_label: sympy.Expr | None = None  # the right side with its % read as a label
    left_text: str = ""
    alternative: "_Link | None" = None
    """The same claim read another way (`7 dozen` as 7 or as 84): it holds when either holds."""


def _step_options() -> ReadOptions:
    # `2\frac{1}{2}` is 5/2 here as in the answer checker: the two must never disagree on it.
    # Units in math are dropped as words: a claim's units are read in prose (wizardmath.prose).
    return ReadOptions(strip_units=True, mixed_numbers=True, constants=True, quantities=False)


def _as_expr(value, percent: sympy.Expr = sympy.Rational(1, 100)) -> sympy.Expr | None:
    if isinstance(value, Scalar):
        expr = value.expr
    else:
        return None
    if expr.has(PM):
        return None
    # In a computation 30° is pi/6, and 20% is 0.2 (or, in `18/450*100 = 4%`, a label on 4).
    return expr.subs({PERCENT: percent, DEGREE: sympy.pi / 180})


def _chain_links(source: str) -> list[_Link]:
    """The links of every relation chain in one piece of math (LaTeX or plain)."""
    try:
        value = read(clean(source), _step_options())
    except (ParseError, RecursionError, ValueError, TypeError, AttributeError, ZeroDivisionError,
            NotImplementedError, sympy.SympifyError):
        return []
    rels = value.items if isinstance(value, Seq) else (value,)
    links = []
    for rel in rels:
        if not isinstance(rel, Rel):
            continue
        # `2 + 3 = 5 = 6` claims 5 = 6 too: one computing part makes the whole chain a claim.
        computes = any(_OPERATOR.search(text) for text in rel.texts)
        for k, op in enumerate(rel.ops):
            if op not in ("=", "≈"):
                continue
            left, right = _as_expr(rel.parts[k]), _as_expr(rel.parts[k + 1])
            if left is None or right is None:
                continue
            left_text, right_text = rel.texts[k].strip(), rel.texts[k + 1].strip()
            alternative = None
            if "%" in right_text and "%" not in left_text:
                alternative = _as_expr(rel.parts[k + 1], sympy.Integer(1))
            links.append(_Link(
                left, right, op == "≈", f"{left_text} {'≈' if op == '≈' else '='} {right_text}",
                right_text, computes or op == "≈", alternative, left_text,
            ))
    return links


def _decimal_places(text: str) -> int | None:
    """Places after the point of a stated plain number (`3.14` -> 2, `12` -> 0), else None."""
    text = re.sub(r"[$€£¤\s]|\\\$|\\!|\\,", "", text).replace(",", "")
    text = re.sub(r"\\%|%$", "", text)
    match = re.fullmatch(r"[-+]?\d*(?:\.(\d*))?", text)
    if not match or not re.search(r"\d", text):
        return None
    return len(match.group(1) or "")


def _judge(link: _Link) -> Verdict:
    """Whether a constant link holds, under the rounding policy of the module docstring."""
    verdict = _judge_sides(link)
    if verdict == "incorrect" and link.right_as_label is not None:
        verdict = _judge_sides(replace(link, right=link.right_as_label, right_as_label=None))
    if verdict == "incorrect" and link.alternative is not None:
        return _judge(link.alternative)
    return verdict


def _judge_sides(link: _Link) -> Verdict:
    left, right = link.left, link.right
    try:
        difference = left - right
        if difference == 0:
            return "correct"
        if left.is_Rational and right.is_Rational:
            exact_equal = False
        else:
            value = sympy.N(difference, 50)
            scale = max(abs(sympy.N(left, 50)), abs(sympy.N(right, 50)), sympy.Float(1e-300))
            if not value.is_number or value.has(sympy.nan, sympy.zoo):
                return "unverifiable"
            if not value.is_real:
                return "incorrect" if abs(value) > scale * sympy.Float(10) ** -30 else "correct"
            if abs(value) <= scale * sympy.Float(10) ** -30:
                return "correct"
            exact_equal = False
    except (TypeError, ValueError, ZeroDivisionError, AttributeError):
        return "unverifiable"
    if exact_equal:
        return "correct"
    places = _decimal_places(link.right_text)
    if places is None or not right.is_Rational:
        return "incorrect"
    exact = sympy.N(left, 60)
    if not exact.is_real:
        return "incorrect"
    if not link.approx and _shows_in_full(left, places):
        return "incorrect"  # 0.5 + 0.25 = 0.7: the exact value has only these digits
    return "correct" if right in _roundings(left, places, truncate=link.approx or places > 0) else "incorrect"


def _roundings(value: sympy.Expr, places: int, truncate: bool) -> set[sympy.Rational]:
    """``value`` rounded to ``places`` digits after the point (either way at a tie), and
    truncated towards zero when ``truncate``."""
    scale = sympy.Integer(10) ** places
    scaled = sympy.N(value * scale, 60 + len(str(abs(int(sympy.N(value, 20)))) ))
    half = sympy.Rational(1, 2)
    results = {sympy.floor(scaled + half), sympy.ceiling(scaled - half)}
    if truncate:
        results.add(sympy.floor(scaled) if scaled >= 0 else sympy.ceiling(scaled))
    return {sympy.Rational(r) / scale for r in results}


def _shows_in_full(value: sympy.Expr, places: int) -> bool:
    """Whether ``value`` is a rational with at most ``places`` decimal digits."""
    if not value.is_Rational:
        return False
    scaled = value * 10**places
    return scaled.is_Integer


_ALLOWED_COMMANDS = re.compile(
    r"\\(?:frac|dfrac|tfrac|sqrt|cdot|times|div|left|right|pi|binom|approx|circ|le|ge|lt|gt|"
    r"quad|qquad|displaystyle|sin|cos|tan|cot|sec|csc|arcsin|arccos|arctan|ln|log|exp|gcd|lcm)"
    r"(?![a-zA-Z])"
)


def _has_names(text: str) -> bool:
    """Whether a claim mentions a name (a variable, a function, a vector): `f^{-1}(0) = 3` looks
    constant after sympy multiplies by 0, but it is not arithmetic."""
    text = re.sub(r"\\(?:text|mbox|textnormal|mathrm)\s*\{[^{}]*\}", " ", text)
    text = _ALLOWED_COMMANDS.sub(" ", text)
    return bool(re.search(r"\\[a-zA-Z]+|[a-zA-Z]", text))


# Words before "of" that make what follows an operand of something unwritten: `half of 10 + 2`
# is 7, not 12, and `the square of 3 + 1` is 16.
_OPERAND_OF = {
    "half", "halves", "third", "thirds", "quarter", "quarters", "fourth", "fourths", "fifth",
    "fifths", "sixth", "sixths", "eighth", "eighths", "tenth", "tenths", "twice", "double",
    "triple", "thrice", "fraction", "product", "quotient", "ratio", "square", "squares", "cube",
    "cubes", "root", "roots", "log", "logarithm", "factorial", "average", "mean", "median",
    "percent", "percentage", "multiple", "sum", "difference", "power", "reciprocal", "inverse",
    "sine", "cosine", "tangent", "rest",
}


def _context_ok(text: str, start: int, end: int) -> bool:
    """Whether plain arithmetic at text[start:end] stands alone: in `half of 10 + 2 = 7` or
    `the sum of 3 and 4 = 7` the arithmetic lost an operand to the words before it."""
    before = text[:start].rstrip()
    after = text[end:].lstrip()
    word_before = re.search(r"([A-Za-z]+)\W*$", before)
    word_after = re.match(r"([A-Za-z]+)", after)
    if before and before[-1] in "+-*/^×÷(":
        return False
    if before.endswith("=") and not re.search(r"[A-Za-z]\s*=$", before):
        return False  # `5 + 3 = 8`'s right side alone; a named left side (`Twin = 6 + 7`) is fine
    # `25 classmates + his 1 teacher + 1 = 27`: an operator, words, then the arithmetic.
    if re.search(r"(?:^|[\s\d)%])[-+*/×÷]\s+(?:[A-Za-z'’]+\s+){0,3}[A-Za-z'’]+\s*$", before):
        return False
    # `f(-2) = 18`, `2x = 10`: the math is glued to a name.
    glued_before = start > 0 and (text[start - 1].isalpha() or text[start - 1] in "}\\")
    if glued_before or text[end:end + 1].isalpha():
        return False
    # `w + 2 = 10`: the piece starts with an operator whose left operand is a word.
    if text[start:start + 1] in "+*/^×÷-–−" and re.search(r"[A-Za-z0-9)]\s*$", before):
        return False
    if word_before:
        word = word_before.group(1).lower()
        if word == "of":
            owner = re.search(r"([A-Za-z]+)\W*of\W*$", before)
            if owner is None or owner.group(1).lower() in _OPERAND_OF or re.search(r"\d\s*of\W*$", before):
                return False
        elif word == "and":
            # `2 + 3 = 5 and 4 * 2 = 8` joins two claims; `the sum of 3 and 4 = 7` splits one.
            joined = re.search(r"(=\s*)?\d[\d.,%]*\s*and\W*$", before)  # a number, not `Yes, and`
            if not (joined is None or joined.group(1)):
                return False
        elif word in _CONTINUATION:
            return False
    if word_after and word_after.group(1).lower() in _CONTINUES_AFTER:
        return False
    if word_after and word_after.group(1).lower() == "of" and re.match(r"of\s+\$?\d", after):
        return False
    return True


def _plain_pieces(text: str) -> list[tuple[int, int]]:
    """Spans of plain-text arithmetic containing `=`."""
    pieces = []
    for run in _PLAIN_RUN.finditer(text):
        start, end = run.start(), run.end()
        # A comma followed by a space ends a piece (`3 + 4 = 7, 7 * 2 = 14`); `1,000` does not.
        for part in re.finditer(r"(?:[^,]|,(?=\d{3}(?!\d)))+", text[start:end]):
            chunk = part.group()
            # `60 / 15 = 4 (15 minutes)`: a bracket after a number and a space opens a remark.
            remark = re.search(r"(?<=[\d%])\s+\(", chunk)
            if remark:
                chunk = chunk[: remark.start()]
            # `Twin = 6 + 7 = 13`: the words before the first `=` name what the chain computes.
            label = re.match(r"\s*=", chunk) if re.search(r"[A-Za-z]\s*$", text[:start + part.start()]) else None
            if label:
                chunk = " " * label.end() + chunk[label.end():]
            if "=" not in chunk:
                continue
            left_trim = len(chunk) - len(re.sub(r"^(?:\s|,|\.(?!\d))+", "", chunk))
            right_trim = len(chunk) - len(chunk.rstrip(" .,"))
            a, b = start + part.start() + left_trim, start + part.start() + len(chunk) - right_trim
            if re.search(r"\d", text[a:b].split("=")[0]) and re.search(r"\d", text[a:b].split("=")[-1]):
                pieces.append((a, b))
    return pieces


def _prose_links(plain: str) -> list[_Link]:
    """The links of the plain-text arithmetic of one sentence (after ``plain_arithmetic``)."""
    links: list[_Link] = []
    for a, b in _plain_pieces(plain):
        if not _context_ok(plain, a, b):
            continue
        chain = _chain_links(plain[a:b].replace("\x00", " "))
        # `16 students drank 2 quarts = 16 * 2 = 32 quarts`: a lone quantity before a computation
        # is the writer's "that is", not an equation.
        if len(chain) > 1 and not _OPERATOR.search(chain[0].left_text) and _OPERATOR.search(chain[0].right_text):
            chain = chain[1:]
        links.extend(chain)
    return links


# `2 1/2` in math: a whole number, a space and a proper fraction is a mixed number, as in prose
# (``wizardmath.prose``) and as `2\frac{1}{2}` is; the reader alone would multiply them.
_MIXED_NUMBER = re.compile(r"(?<![\w.}/^\\])(\d+)(?:\s|~|\\ |\\,|\\;)+(\d+)/(\d+)(?![\d./^])")


def _as_mixed_number(match: re.Match) -> str:
    whole, numerator, denominator = (int(g) for g in match.groups())
    if not 0 < numerator < denominator:
        return match.group()
    return f"({whole}+{numerator}/{denominator})"


# "210 + 91 is 301", "$7 * 301$ is 2107": a computation, "is" (or "equals") and a number state
# an equation, unless a comparison follows ("is 3 more than", "is 2 times", "is 5%").
_OPERATION = r"(?:[-+*/×÷x]|\\cdot|\\times|times|plus|minus)"
_STATED = (r"\s+(?:is|equals)\s+(-?\d+(?:\.\d+)?)"
           r"(?!\d|[.,]\d|[A-Za-z]|\s*(?:%|\\%|[-+*/^×÷(])|\s+(?:percent|times|more|less|fewer|"
           r"greater|smaller|bigger|larger|of|than|to|and|or)\b)")
_SPOKEN_PLAIN = re.compile(
    rf"(?<![\w.$])(\d+(?:\.\d+)?(?:\s*{_OPERATION}\s*\d+(?:\.\d+)?)+){_STATED}")
_SPOKEN_MATH = re.compile(rf"(?<!\\)\$([^$]*?\d[^$]*?)\${_STATED}")


def _spoken_equations(sentence: str) -> str:
    """``sentence`` with its spoken equations written with `=`: `210 + 91 = 301`."""
    def math(match: re.Match) -> str:
        body = match.group(1)
        if "=" in body or re.search(r"[A-Za-z]", re.sub(r"\\(?:cdot|times|div|frac)", "", body)):
            return match.group(0)
        return f"${body} = {match.group(2)}$"

    sentence = _SPOKEN_MATH.sub(math, sentence)
    return _SPOKEN_PLAIN.sub(lambda m: f"{m.group(1)} = {m.group(2)}", sentence)


def _claims_in_sentence(sentence: str) -> list[_Link]:
    """The links of every chain in the sentence's math and plain-text arithmetic."""
    sentence = _spoken_equations(sentence)
    links: list[_Link] = []
    for match in _MATH_SPAN.finditer(sentence):
        body = next(g for g in match.groups() if g is not None)
        if _MODULAR.search(body):
            continue
        # `a &= b \\ &= c` is one chain a = b = c; other rows and `\quad` separate claims.
        body = re.sub(r"\\\\\s*&?\s*(?=&?\s*(?:=|\\approx))", " ", body).replace("&", " ")
        for piece in re.split(r"\\\\|\\quad|\\qquad|\\text\{\s*(?:and|or|so|thus)\s*\}|,\s*\\text", body):
            links.extend(_chain_links(_MIXED_NUMBER.sub(_as_mixed_number, piece)))
    masked = _mask(sentence)
    plain = plain_arithmetic(masked)
    if not _MODULAR.search(sentence):
        found = _prose_links(plain)
        if has_scale_words(masked):
            # `84/12 = 7 dozen` counts dozens; `3 dozen + 2 = 38` counts eggs: either reading.
            other = _prose_links(plain_arithmetic(masked, scale_words_multiply=False))
            found = [replace(a, alternative=b) for a, b in zip(found, other)] if len(other) == len(found) else []
        links.extend(found)
    for run in _ALGEBRA_RUN.finditer(plain):
        for piece in re.split(r",\s", run.group()):
            if re.search(r"[a-zA-Z]", piece) and "=" in piece:
                links.extend(link for link in _chain_links(piece)
                             if link.left.free_symbols | link.right.free_symbols)
    return links


def _drop_currency(text: str) -> str:
    """Replace dollar signs that are money (`$1040000 + $960000`), not math delimiters, by the
    generic currency sign ¤, which no math delimiter is.

    A `$` before a digit is money when the next `$` does not close a math span: there is none,
    or what lies between ends in a space or an operator (LaTeX math never does).
    """
    out = list(text)
    i = 0
    while i < len(text):
        if text[i] == "$" and (i == 0 or text[i - 1] != "\\"):
            if text[i + 1:i + 2] == "$":
                close = text.find("$$", i + 2)
                i = close + 2 if close >= 0 else len(text)
                continue
            close = text.find("$", i + 1)
            inner = text[i + 1:close] if close >= 0 else ""
            if text[i + 1:i + 2].isdigit() and (close < 0 or re.search(r"[\s+\-*/=×x(]$", inner)):
                out[i] = "¤"  # the currency sign: still money to the prose reader (`$4 + 75 cents`)
                i += 1
                continue
            i = close + 1 if close >= 0 else len(text)
            continue
        i += 1
    return "".join(out)


def check_step(step: str) -> StepVerdict:
    """One step, checked in this process (no time bound: workers call this)."""
    claims: list[Claim] = []
    # Calculator annotations are claims in their own right, then they leave the text.
    for lhs, rhs in _ANNOTATION.findall(step):
        links = _chain_links(f"{lhs} = {rhs}")
        verdict = _judge(links[0]) if links else "unverifiable"
        claims.append(Claim(f"{lhs}={rhs}", _CLAIM_WORD[verdict]))
    text = _drop_currency(_ANNOTATION.sub(" ", step))
    seen = {c.text.replace(" ", "") for c in claims}
    assignments: dict[sympy.Symbol, set] = {}
    equations: list[_Link] = []
    for sentence in _sentences(text) or [text]:
        masked = _mask(sentence)
        if _NEGATION.search(masked) or masked.rstrip().endswith("?"):
            continue
        hypothetical = bool(_HYPOTHETICAL.search(masked))
        links = _claims_in_sentence(sentence)
        for link in links:
            free = link.left.free_symbols | link.right.free_symbols
            if free:
                if not hypothetical:
                    _note_symbolic(link, free, assignments, equations)
                key = link.text.replace(" ", "")
                if link.has_operator and key not in seen and _is_identity(link):
                    # `(x+2)(x+3) = x^2+5x+6` holds for every x. One that does not may be an
                    # equation to solve, so a symbolic link is never judged incorrect.
                    seen.add(key)
                    claims.append(Claim(link.text, "true"))
                continue
            if not link.has_operator or _has_names(link.text):
                continue
            key = link.text.replace(" ", "")
            if key in seen:
                continue
            seen.add(key)
            verdict = _judge(link)
            if hypothetical and verdict == "incorrect":
                verdict = "unverifiable"
            claims.append(Claim(link.text, _CLAIM_WORD[verdict]))
    if not re.search(r"\b(?:or|either)\b", _mask(text)) and "\\text{or}" not in text:
        claims.extend(_substitution_claims(assignments, equations))
    return StepVerdict(0, _step_verdict(claims), tuple(claims))


def _is_identity(link: _Link) -> bool:
    """Whether both sides of a symbolic link are the same expression of its variables."""
    if link.approx or link.left == link.right:
        return False
    difference = link.left - link.right
    if difference.has(sympy.core.function.AppliedUndef, PERCENT, DEGREE, PM):
        return False
    try:
        if sympy.cancel(sympy.expand(difference)) == 0:
            return True
        # Trigonometric and radical rewrites: zero at several random rational points, of both
        # signs (`\sqrt{x^2} = x` holds only for x >= 0).
        rng = random.Random(0)
        for k in range(4):
            point = {s: (-1) ** (k + j) * sympy.Rational(rng.randint(7, 97), rng.randint(3, 31))
                     for j, s in enumerate(sorted(difference.free_symbols, key=str))}
            value = sympy.N(difference.subs(point), 40)
            if not value.is_number or not abs(value) < sympy.Float(10) ** -25:
                return False
        return True
    except (TypeError, ValueError, ZeroDivisionError, AttributeError, NotImplementedError,
            sympy.SympifyError):
        return False


def _note_symbolic(link: _Link, free: set, assignments: dict, equations: list) -> None:
    if link.approx:
        return
    if isinstance(link.left, sympy.Symbol) and not link.right.free_symbols:
        # Only values found after an equation count: the step derived them from it.
        if any(link.left in e.left.free_symbols | e.right.free_symbols for e in equations):
            assignments.setdefault(link.left, set()).add(link.right)
    elif len(free) == 1 and all(isinstance(s, sympy.Symbol) for s in free) and not (
            link.left.has(sympy.core.function.AppliedUndef) or link.right.has(sympy.core.function.AppliedUndef)):
        equations.append(link)


def _substitution_claims(assignments: dict, equations: list[_Link]) -> list[Claim]:
    claims = []
    for link in equations:
        (symbol,) = link.left.free_symbols | link.right.free_symbols
        values = assignments.get(symbol)
        if not values:
            continue
        difference = link.left - link.right
        results = []
        for value in values:
            try:
                residue = sympy.simplify(difference.subs(symbol, value))
            except (TypeError, ValueError, ZeroDivisionError):
                residue = None
            results.append(residue)
        if any(r is None or not r.is_number for r in results):
            continue
        ok = any(r == 0 for r in results)
        shown = ", ".join(f"{symbol} = {v}" for v in sorted(values, key=str))
        claims.append(Claim(f"{link.text} with {shown}", "true" if ok else "false"))
    return claims


def _step_verdict(claims: Sequence[Claim]) -> StepFinding:
    if any(c.verdict == "false" for c in claims):
        return CLAIM_FALSE
    if any(c.verdict == "true" for c in claims):
        return CLAIMS_TRUE
    return NOTHING_TO_CHECK


# ============================================================================================
# Public, bounded
# ============================================================================================

def _bounded(outcome, index: int) -> StepVerdict:
    if outcome.ok:
        return StepVerdict(index, outcome.value.verdict, outcome.value.claims)
    reason = "timed out" if outcome.timed_out else f"checker error: {outcome.error}"
    return StepVerdict(index, NOTHING_TO_CHECK, (Claim(reason, "unknown"),))


def check_steps(steps: list[str], timeout_s: float = 5.0) -> list[StepVerdict]:
    """Each step's verdict and claims, in order; every step bounded by ``timeout_s`` in a worker."""
    from .bounded import default_pool

    outcomes = default_pool().map(check_step, [(s,) for s in steps], timeout_s=timeout_s)
    return [_bounded(o, i) for i, o in enumerate(outcomes)]


async def check_steps_async(steps: list[str], timeout_s: float = 5.0) -> list[StepVerdict]:
    """``check_steps`` for asyncio code: the event loop keeps running while sympy works."""
    from .bounded import default_pool

    outcomes = await default_pool().map_async(check_step, [(s,) for s in steps], timeout_s=timeout_s)
    return [_bounded(o, i) for i, o in enumerate(outcomes)]


def check_many(
    solutions: Sequence[list[str]], timeout_s: float = 5.0, progress=None
) -> list[list[StepVerdict]]:
    """``check_steps`` for many solutions: all their steps go to the workers in one batch."""
    from .bounded import default_pool

    items = [(step,) for steps in solutions for step in steps]
    outcomes = iter(default_pool().map(check_step, items, timeout_s=timeout_s, progress=progress))
    return [[_bounded(next(outcomes), i) for i in range(len(steps))] for steps in solutions]
