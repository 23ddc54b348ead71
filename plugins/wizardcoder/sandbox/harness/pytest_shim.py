"""What Python tests written for pytest use of it, for the sandbox image, which has no pytest.

Installed as ``pytest`` in the harness's interpreter when no real pytest can be imported, so
that ``import pytest`` in a job's tests works: ``mark.parametrize`` (stored as pytest stores it,
in ``pytestmark``, which python_tests.py's discovery expands), ``mark.skip``/``skipif``,
``raises``, ``approx``, ``fail``, ``skip``, ``param`` and ``fixture`` (a function fixture, plain or
``yield``). Running pytest itself per job would cost its start-up and collection, and it collects
from files, where the answer's process (same user) could write.

Standard library only: this file runs inside the container.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Callable

__version__ = "0+evol-sandbox"


class Mark:
    def __init__(self, name: str, args: tuple, kwargs: dict) -> None:
        self.name, self.args, self.kwargs = name, args, kwargs


class MarkDecorator:
    def __init__(self, name: str, args: tuple = (), kwargs: dict | None = None) -> None:
        self.mark = Mark(name, args, kwargs or {})

    @property
    def name(self) -> str:
        return self.mark.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            target = args[0]  # the decorator applied: @pytest.mark.slow, @pytest.mark.parametrize(...)
            target.pytestmark = [*getattr(target, "pytestmark", []), self.mark]
            return target
        return MarkDecorator(self.mark.name, self.mark.args + args, {**self.mark.kwargs, **kwargs})


class _Marks:
    def __getattr__(self, name: str) -> MarkDecorator:
        if name.startswith("__"):
            raise AttributeError(name)
        return MarkDecorator(name)

    def parametrize(self, argnames: str | list[str] | tuple[str, ...], argvalues: Any, **kwargs: Any) -> MarkDecorator:
        return MarkDecorator("parametrize", (argnames, list(argvalues)), kwargs)


mark = _Marks()


class ParameterSet:
    def __init__(self, values: tuple, marks: Any, id: str | None) -> None:  # noqa: A002 - pytest's name
        self.values, self.marks, self.id = values, marks, id


def param(*values: Any, marks: Any = (), id: str | None = None) -> ParameterSet:  # noqa: A002
    return ParameterSet(values, marks, id)


class Skipped(Exception):
    """A test that skipped itself: neither passed nor failed."""


def skip(reason: str = "", **_: Any) -> None:
    raise Skipped(reason)


def fail(reason: str = "", pytrace: bool = True) -> None:
    raise AssertionError(reason or "pytest.fail()")


def importorskip(name: str, minversion: str | None = None, reason: str | None = None) -> Any:
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise Skipped(reason or f"could not import {name!r}") from None


def fixture(function: Callable | None = None, **_: Any) -> Any:
    def mark_fixture(target: Callable) -> Callable:
        target._evol_fixture = True  # type: ignore[attr-defined]
        return target

    return mark_fixture(function) if callable(function) else mark_fixture


class ExceptionInfo:
    def __init__(self) -> None:
        self.type: type | None = None
        self.value: BaseException | None = None

    def match(self, pattern: str) -> bool:
        assert re.search(pattern, str(self.value)), f"pattern {pattern!r} does not match {str(self.value)!r}"
        return True


class RaisesContext:
    def __init__(self, expected: Any, match: str | None) -> None:
        self.expected, self.pattern, self.info = expected, match, ExceptionInfo()

    def __enter__(self) -> ExceptionInfo:
        return self.info

    def __exit__(self, kind: type | None, value: BaseException | None, tb: Any) -> bool:
        _count()
        if kind is None:
            raise AssertionError(f"DID NOT RAISE {self.expected!r}")
        if not issubclass(kind, self.expected):
            return False
        self.info.type, self.info.value = kind, value
        if self.pattern is not None:
            self.info.match(self.pattern)
        return True


def raises(expected: Any, *args: Any, match: str | None = None, **kwargs: Any) -> Any:
    context = RaisesContext(expected, match)
    if not args:
        return context
    with context:
        args[0](*args[1:], **kwargs)
    return context.info


def _count() -> None:
    """``pytest.raises`` is an assertion: counted where the harness counts the tests' assertions."""
    import sys

    harness = sys.modules.get("python_tests") or sys.modules.get("wizardcoder.sandbox.harness.python_tests")
    if harness is not None:
        harness.count(None)


class ApproxBase:
    """``pytest.approx``: numbers within a relative (1e-6) or absolute (1e-12) tolerance, and
    sequences and mappings of them, element by element."""

    def __init__(self, expected: Any, rel: float | None = None, abs: float | None = None) -> None:  # noqa: A002
        self.expected, self.rel, self.abs = expected, rel, abs

    def _close(self, actual: Any, expected: Any) -> bool:
        if isinstance(expected, Mapping):
            return (isinstance(actual, Mapping) and set(actual) == set(expected)
                    and all(self._close(actual[key], expected[key]) for key in expected))
        if isinstance(expected, (list, tuple)):
            return (isinstance(actual, (list, tuple)) and len(actual) == len(expected)
                    and all(self._close(a, e) for a, e in zip(actual, expected)))
        if isinstance(expected, bool) or not isinstance(expected, (int, float, complex)):
            return bool(actual == expected)
        if isinstance(actual, bool) or not isinstance(actual, (int, float, complex)):
            return False
        if actual == expected:
            return True
        if isinstance(expected, float) and (math.isinf(expected) or math.isnan(expected)):
            return False
        rel = 1e-6 if self.rel is None else self.rel
        absolute = 1e-12 if self.abs is None else self.abs
        tolerance = max(rel * abs(expected), absolute) if self.rel is not None or self.abs is None else absolute
        return bool(abs(actual - expected) <= tolerance)

    def __eq__(self, actual: object) -> bool:
        return self._close(actual, self.expected)

    def __ne__(self, actual: object) -> bool:
        return not self.__eq__(actual)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"approx({self.expected!r})"


def approx(expected: Any, rel: float | None = None, abs: float | None = None, nan_ok: bool = False) -> ApproxBase:  # noqa: A002
    return ApproxBase(expected, rel, abs)
