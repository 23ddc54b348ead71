"""Structured output for LLM judges: how to ask for a JSON schema, and how to read the reply.

A judge passes ``response_format=json_schema_format(name, properties)`` to ``ctx.complete`` (or
``ctx.chat``). Endpoints that honour it (OpenAI, vLLM, the loopback server) answer with the
schema's JSON; one that rejects it is asked again without it (see ``SampleContext.chat``), so
the reply may be plain text either way. A judge therefore reads ``read_json_object(reply)`` first and
falls back to reading the text, and a reply that gives no value is a missing score, never a
guess.

The schemas stay inside what every structured-output implementation accepts: an object whose
properties are all required, no other properties, and enumerations rather than numeric bounds
(``minimum``/``maximum`` are refused by some endpoints, and a refused schema turns structured
output off for the whole run).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, Sequence

from .records import Completion, Score


def json_schema_format(name: str, properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ``response_format`` asking for one JSON object with exactly these properties."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": name,
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {key: dict(value) for key, value in properties.items()},
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


def enum_property(values: Sequence[Any]) -> dict[str, Any]:
    """A property that takes one of ``values`` (strings or integers, such as a 1-10 scale)."""
    kinds = {type(value) for value in values}
    kind = "integer" if kinds == {int} else "string" if kinds == {str} else None
    if kind is None:
        raise ValueError("enum_property takes only strings or only integers")
    return {"type": kind, "enum": list(values)}


def read_json_object(text: str) -> dict[str, Any] | None:
    """The reply as a JSON object, when the whole reply is one (as a structured reply is)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class RatingScale:
    """A judge's rating from 1 to ``highest``, asked for as the JSON object ``{name: N}``
    (``format``) and read back by ``read``: one declaration for every judge that rates on a scale
    (the difficulty and quality judges)."""

    name: str
    highest: int

    @property
    def ratings(self) -> tuple[int, ...]:
        return tuple(range(1, self.highest + 1))

    @property
    def format(self) -> dict[str, Any]:
        """The ``response_format`` asking for ``{name: N}`` with N on the scale."""
        return json_schema_format(f"{self.name}_rating", {self.name: enum_property(self.ratings)})

    @cached_property
    def _labelled(self) -> re.Pattern[str]:
        return re.compile(rf"{re.escape(self.name)}\s*(?:rating|score|level)?\s*[:=]?\s*\**\s*(\d{{1,2}})(?!\.\d)"
                          rf"(?:\s*/\s*{self.highest})?\b", re.I)

    @cached_property
    def _bare(self) -> re.Pattern[str]:
        return re.compile(rf"\s*\**\s*(\d{{1,2}})\s*(?:/\s*{self.highest})?\s*\**\s*\.?\s*")

    def read(self, reply: str | None) -> int | None:
        """The rating a judge's reply states, or None when it states none, several, or one off the scale.

        Accepted: a JSON object whose ``name`` is an integer (a structured reply: that key and
        nothing else is the rating); else ``Name: N`` (any case, optionally ``rating``, ``score``
        or ``level`` after the name, ``/highest`` or Markdown bold) anywhere in the reply, as long
        as every such statement gives the same number; or a reply that is only the number
        (``7``, ``7/10``).
        """
        if not reply:
            return None
        data = read_json_object(reply)
        if data is not None:
            value = data.get(self.name)
            if isinstance(value, bool) or not isinstance(value, int):
                return None
        else:
            labelled = {int(found) for found in self._labelled.findall(reply)}
            if len(labelled) > 1:
                return None
            if labelled:
                value = labelled.pop()
            else:
                bare = self._bare.fullmatch(reply)
                if bare is None:
                    return None
                value = int(bare.group(1))
        return value if 1 <= value <= self.highest else None

    def score(self, completion: Completion) -> Score:
        """``scores[name]``, the rating the judge's reply states (None: it states none, never a
        default), and ``checks[name]``, how the reply was read."""
        rating = self.read(completion.text)
        check: dict[str, Any] = {"rating": rating, "scale": f"1-{self.highest}", "structured": completion.structured}
        if rating is None:
            check["missing"] = f"the judge's reply states no rating from 1 to {self.highest}"
        return Score(checks={self.name: check}, scores={self.name: None if rating is None else float(rating)})
