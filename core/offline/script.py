"""Rules: what the loopback server does for the requests a test cares about.

A rule is data, not code, so a script can live in a JSON file (``evol loopback-llm --script``)
as well as in a test. Rules are tried in order and the first one that matches a request decides
the answer; a request no rule matches is answered by the responder (the offline model).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class RuleError(ValueError):
    """A rule that cannot work, named by where it came from (file, index) and its field."""

    def __init__(self, message: str, *, field_name: str | None = None, index: int | None = None,
                 source: str | None = None) -> None:
        self.field_name = field_name
        self.index = index
        self.source = source
        self.detail = message
        where = []
        if source is not None:
            where.append(source)
        if index is not None:
            where.append(f"rule {index}")
        if field_name is not None:
            where.append(f"field '{field_name}'")
        super().__init__(f"{': '.join(where)}: {message}" if where else message)

    def located(self, *, index: int | None = None, source: str | None = None) -> RuleError:
        return RuleError(
            self.detail,
            field_name=self.field_name,
            index=self.index if index is None else index,
            source=self.source if source is None else source,
        )


@dataclass(frozen=True)
class Rule:
    """When a request matches every given condition, answer it this way.

    Conditions: ``contains`` / ``pattern`` look at the last user message; ``calls`` are 1-based
    numbers of chat-completion requests counted by the server; ``probability`` draws from an RNG
    keyed by (server seed, request number, rule index), so a run is reproducible whatever the
    concurrency; ``times`` retires the rule after that many applications.

    Effects: one of ``reply``, ``status``, ``malformed``; ``hang`` and ``delay`` wait before
    answering and combine with any of them (alone, they delay the responder's normal answer).
    """

    contains: str | None = None
    pattern: str | None = None
    calls: tuple[int, ...] | None = None
    probability: float = 1.0
    times: int | None = None
    reply: str | tuple[str, ...] | None = None
    status: int | None = None
    retry_after: float | None = None
    malformed: bool = False
    hang: float | None = None
    delay: float | None = None
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Normalise what JSON or a hurried caller gives (lists, a single int) so that equal
        # rules compare equal and a rule read back from as_dict() is the same rule.
        if isinstance(self.calls, int) and not isinstance(self.calls, bool):
            object.__setattr__(self, "calls", (self.calls,))
        elif isinstance(self.calls, list):
            object.__setattr__(self, "calls", tuple(self.calls))
        if isinstance(self.reply, list):
            object.__setattr__(self, "reply", tuple(self.reply))
        self._validate()
        if self.pattern is not None:
            try:
                object.__setattr__(self, "_regex", re.compile(self.pattern))
            except re.error as exc:
                raise RuleError(f"not a valid regular expression: {exc}", field_name="pattern") from None

    def _validate(self) -> None:
        for name in ("contains", "pattern"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise RuleError(f"must be a string, got {value!r}", field_name=name)
        if self.calls is not None:
            if not isinstance(self.calls, tuple) or not self.calls or not all(
                _is_int(n) and n >= 1 for n in self.calls
            ):
                raise RuleError(
                    f"must be a non-empty list of request numbers (1, 2, ...), got {self.calls!r}",
                    field_name="calls",
                )
        if not _is_number(self.probability) or not 0.0 <= self.probability <= 1.0:
            raise RuleError(f"must be a number from 0 to 1, got {self.probability!r}", field_name="probability")
        if self.times is not None and not (_is_int(self.times) and self.times >= 1):
            raise RuleError(f"must be a positive integer, got {self.times!r}", field_name="times")
        if self.reply is not None:
            replies = self.reply if isinstance(self.reply, tuple) else (self.reply,)
            if not replies or not all(isinstance(r, str) for r in replies):
                raise RuleError(
                    f"must be a string or a non-empty list of strings, got {self.reply!r}", field_name="reply"
                )
        if self.status is not None and not (_is_int(self.status) and 400 <= self.status <= 599):
            raise RuleError(f"must be an HTTP error status (400-599), got {self.status!r}", field_name="status")
        if self.retry_after is not None:
            if not _is_number(self.retry_after) or self.retry_after < 0:
                raise RuleError(f"must be a number of seconds >= 0, got {self.retry_after!r}",
                                field_name="retry_after")
            if self.status is None:
                raise RuleError("only makes sense with an error 'status' (such as 429)", field_name="retry_after")
        if not isinstance(self.malformed, bool):
            raise RuleError(f"must be true or false, got {self.malformed!r}", field_name="malformed")
        for name in ("hang", "delay"):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or value < 0):
                raise RuleError(f"must be a number of seconds >= 0, got {value!r}", field_name=name)
        effects = [name for name in ("reply", "status", "malformed") if getattr(self, name) not in (None, False)]
        if len(effects) > 1:
            raise RuleError(f"a rule has one effect, this one has {' and '.join(effects)}",
                            field_name=effects[1])
        if not effects and self.hang is None and self.delay is None:
            raise RuleError("a rule needs an effect: reply, status, malformed, hang or delay")

    def selects(self, last_user_message: str, number: int) -> bool:
        """The deterministic conditions; ``probability`` and ``times`` are the server's to apply."""
        if self.calls is not None and number not in self.calls:
            return False
        if self.contains is not None and self.contains not in last_user_message:
            return False
        if self._regex is not None and self._regex.search(last_user_message) is None:
            return False
        return True

    def reply_for(self, application: int) -> str | None:
        """The reply of the rule's ``application``-th use (0-based): a tuple is cycled."""
        if self.reply is None or isinstance(self.reply, str):
            return self.reply
        return self.reply[application % len(self.reply)]

    def as_dict(self) -> dict[str, Any]:
        """The fields that differ from the defaults, JSON-able (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if not f.init:
                continue
            value = getattr(self, f.name)
            if value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        if not isinstance(data, dict):
            raise RuleError(f"a rule must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls) if f.init}
        for name in data:
            if name not in known:
                raise RuleError(f"unknown field (known: {', '.join(sorted(known))})", field_name=name)
        return cls(**data)


def rules_from_data(data: Any, *, source: str | None = None) -> tuple[Rule, ...]:
    """Rules from decoded JSON: a list of rule objects."""
    if not isinstance(data, list):
        raise RuleError(f"a rules script is a JSON list of rule objects, got {type(data).__name__}", source=source)
    rules = []
    for index, item in enumerate(data):
        try:
            rules.append(Rule.from_dict(item))
        except RuleError as exc:
            raise exc.located(index=index, source=source) from None
        except TypeError as exc:  # a field given twice or similar, reported the same way
            raise RuleError(str(exc), index=index, source=source) from None
    return tuple(rules)


def load_rules(path: str | Path) -> tuple[Rule, ...]:
    """Rules from a JSON file; every problem is a RuleError naming the file."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise RuleError(f"cannot read the rules file: {exc.strerror or exc}", source=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RuleError(
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} on line {line}); a rules file is a JSON array of rules",
            source=source,
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", source=source) from None
    except RecursionError:
        raise RuleError("not a rules file: lists or objects nested too deep", source=source) from None
    return rules_from_data(data, source=source)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
