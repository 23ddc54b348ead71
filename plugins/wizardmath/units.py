"""Units of measure through pint: which words are units, their kind, and exact conversions.

Both checkers use this module: the answer checker (`1.5 km` against `1500 m`, `5 cm` against
`5 m`) and the step checker (`2 h 30 min = 150 min`, `1.2 kg + 300 g = 1.5 kg`). Conversion
factors are exact fractions (pint's registry built with ``Fraction`` numbers), so a converted
answer is compared as exactly as any other number.

pint knows thousands of units, and some of their names are ordinary English words or letters
answers use as variables (`a` is a year, `at` an atmosphere, `points` a typographic length, `c`
the speed of light). Only units of length, area, volume, mass, time, their rates, and money are
accepted, and the words below never are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

# Words pint reads as units but that answers and solutions use as words or variables.
NOT_UNITS = frozenset({
    "a", "at", "are", "in", "point", "points", "pt", "line", "lines", "c", "C", "t", "e", "E", "x",
    "pi", "percent", "degree", "degrees", "deg", "rad", "radian", "radians", "turn", "turns",
    "count", "bit", "B", "b", "barn", "ha", "u", "d", "y", "P", "G", "T", "M", "A", "R", "K",
    "gr", "cc", "one", "dozen", "hundred", "thousand", "million", "billion", "mol", "Da", "amp",
    "unit", "units", "square", "cubic", "per",
})
# The dimensions accepted: products of powers of these (a speed is length / time).
_BASE_DIMENSIONS = frozenset({"[length]", "[mass]", "[time]", "[currency]"})
# Spellings answers use for powers of a unit.
_SQUARE = re.compile(r"(?i)\b(?:square|sq\.?)\s+([A-Za-z]+)")
_CUBIC = re.compile(r"(?i)\b(?:cubic|cu\.?)\s+([A-Za-z]+)")
_SQUARED = re.compile(r"(?i)\b([A-Za-z]+)\s+(squared|cubed)\b")


@dataclass(frozen=True)
class Unit:
    """A unit as written (``text``), its kind (``dimension``, such as `[length]^2`) and its size
    in the base units of that kind (``to_base``, exact)."""

    text: str
    dimension: str
    to_base: Fraction


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint

    registry = pint.UnitRegistry(non_int_type=Fraction)
    # Money is a kind of its own: dollars and cents convert, and never equal a length.
    registry.define("dollar = [currency] = usd = dollars")
    registry.define("cent = dollar / 100 = cents")
    return registry


def _pint_expression(text: str) -> str | None:
    """A unit text as pint reads it: `square meters` -> `meters**2`, `km/h`, `m^2` -> `m**2`."""
    text = re.sub(r"\\(?:text|mbox|mathrm|textnormal|textrm|rm)\s*\{([^{}]*)\}", r" \1 ", text)
    text = text.replace("²", "^2").replace("³", "^3").replace("\\,", " ").replace("~", " ")
    text = re.sub(r"\^\s*\{\s*(-?\d)\s*\}", r"^\1", text)
    text = re.sub(r"\s*\^\s*", "^", text)
    text = _SQUARE.sub(r"\1^2", text)
    text = _CUBIC.sub(r"\1^3", text)
    text = _SQUARED.sub(lambda m: m.group(1) + ("^2" if m.group(2).lower() == "squared" else "^3"), text)
    text = re.sub(r"(?i)\s+per\s+", "/", text)
    text = re.sub(r"\s*/\s*", "/", text.strip().rstrip("."))
    if not re.fullmatch(r"[A-Za-z]+(?:\^-?\d)?(?:[/ ][A-Za-z]+(?:\^-?\d)?)*", text):
        return None
    words = re.findall(r"[A-Za-z]+", text)
    if not words or any(word in NOT_UNITS or word.lower() in NOT_UNITS and len(word) > 1
                        for word in words):
        return None
    return text.replace("^", "**").replace(" ", "*")


@lru_cache(maxsize=4096)
def parse_unit(text: str) -> Unit | None:
    """The unit a text names (`cm`, `\\text{ km}`, `square feet`, `m/s^2`, `mph`), or None when it
    is not one of the accepted units."""
    expression = _pint_expression(text)
    if expression is None:
        return None
    registry = _registry()
    try:
        unit = registry.parse_units(expression)
    except Exception:  # pint raises many kinds (UndefinedUnitError, DefinitionSyntaxError, ...)
        return None
    dimensions = dict(unit.dimensionality)
    if not dimensions or not set(dimensions) <= _BASE_DIMENSIONS:
        return None
    try:
        size = Fraction((1 * unit).to_base_units().magnitude)
    except Exception:
        return None
    dimension = " ".join(f"{name}^{power}" for name, power in sorted(dimensions.items()))
    return Unit(text.strip(), dimension, size)


def factor(source: Unit, target: Unit) -> Fraction | None:
    """How many ``target`` one ``source`` is (`h` to `min`: 60), or None for different kinds."""
    if source.dimension != target.dimension:
        return None
    return source.to_base / target.to_base


def kind_name(unit: Unit) -> str:
    """A reader's name of a unit's kind: `[length]^2` -> `area`."""
    names = {"[length]^1": "length", "[length]^2": "area", "[length]^3": "volume",
             "[mass]^1": "mass", "[time]^1": "time", "[currency]^1": "money",
             "[length]^1 [time]^-1": "speed"}
    return names.get(unit.dimension, unit.dimension)
