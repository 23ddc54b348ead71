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
from typing import Any, Mapping, Sequence


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
