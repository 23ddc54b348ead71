"""A Python job judged in a process the answer never ran in.

The answer (the job's code) runs in a process of its own, forked from the harness process before
the harness read the job, so it never holds the tests, the harness's record channel or anything
of another job. It executes the code as ``python3 solution.py`` would and then serves requests
for its top-level names. The tests run in the harness process with those names bound to proxies:
a call crosses the boundary with its arguments and result as plain data (None, bool, int, float,
complex, str, bytes, list, tuple, dict, set, frozenset, and a few standard-library values rebuilt
from plain data: Fraction, Decimal, bytearray, date/time values, Counter, OrderedDict,
defaultdict, deque, UserList/UserDict/UserString, namedtuples). Any other object stays in the
answer's process as a handle whose methods and attributes are called remotely. Arguments the
answer mutated (a list sorted in place) are copied back.

So every comparison the tests make between a result and an expected value is made here, on plain
data the harness built itself: an ``__eq__`` that always says yes, a subclass of int or list, an
always-equal value inside a UserList or a Fraction, patched builtins or unittest, a fake
``sys.exit``, an audit hook or signal handler that exits: all of them stay in the answer's
process and decide nothing. A handle compared with plain data is refused by the same guard as in
the in-process mode (python_tests.compare); two handles compare with the answer's own ``__eq__``,
as two values of the program's own always would.

What the boundary cannot carry (the tests pass a function, or an object of their own, to the
answer; the tests subclass the answer's class; deep-copying a handle) is decided by the tests,
never by the answer: the job is then run again in the in-process mode, and its record says so.

Wire format: frames of a 4-byte big-endian length and a ``marshal`` payload of tagged tuples. The
harness reads what the answer sends strictly (exact types, bounded depth and size); a frame it
cannot read is the answer's failure, never a pass.

Standard library only: this file runs inside the container.
"""

from __future__ import annotations

import ast
import builtins
import collections
import datetime
import decimal
import fractions
import importlib
import marshal
import operator
import os
import socket
import struct
import sys
import time
import types
from typing import Any

if __package__:
    from . import python_tests
else:
    import python_tests  # type: ignore[no-redef]

MAX_FRAME = 64 * 1024 * 1024
DECODE_DEPTH = 400  # deeper plain data from the answer is refused (its own failure)
ENCODE_DEPTH = 400  # deeper than this, the answer sends a handle instead
_SCALARS = frozenset({type(None), bool, int, float, str, bytes})


class NeedsInProcess(BaseException):
    """The tests need something the boundary cannot carry: judge the job in-process instead."""


class BoundaryError(Exception):
    """A value from the answer's process that cannot be read."""


class AnswerEnded(BaseException):
    """The answer's process exited, or died, in the middle of the tests."""


# ----------------------------------------------------------------------------- framing


def send(sock: socket.socket, message: Any) -> None:
    data = marshal.dumps(message)
    sock.sendall(struct.pack(">I", len(data)) + data)


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = sock.recv_into(view[done:], size - done)
        if not got:
            return None
        done += got
    return bytes(buffer)


def receive(sock: socket.socket) -> Any:
    header = _exactly(sock, 4)
    if header is None:
        raise EOFError("the other process closed the channel")
    size = struct.unpack(">I", header)[0]
    if size > MAX_FRAME:
        raise BoundaryError(f"a message of {size} bytes, above {MAX_FRAME}")
    body = _exactly(sock, size)
    if body is None:
        raise EOFError("the other process closed the channel")
    return marshal.loads(body)


# ----------------------------------------------------------------------------- plain data, both ways

_COLLECTIONS = {"Counter": collections.Counter, "OrderedDict": collections.OrderedDict,
                "defaultdict": collections.defaultdict, "deque": collections.deque,
                "UserList": collections.UserList, "UserDict": collections.UserDict,
                "UserString": collections.UserString}
_TIMES = {"datetime": datetime.datetime, "date": datetime.date, "time": datetime.time,
          "timedelta": datetime.timedelta}


def _standard(value: Any, kind: type, encode: Any) -> Any:
    """The tag of a standard-library value rebuilt on the other side, or None. Exact types only:
    a subclass could bring its own comparisons."""
    if kind is complex:
        return ("c", value.real, value.imag)
    if kind is fractions.Fraction:
        return ("Q", int(value.numerator), int(value.denominator))
    if kind is decimal.Decimal:
        return ("D", str(value))
    if kind is bytearray:
        return ("ba", bytes(value))
    if kind is datetime.datetime and value.tzinfo is None:
        return ("dt", "datetime", value.year, value.month, value.day, value.hour, value.minute, value.second,
                value.microsecond)
    if kind is datetime.date:
        return ("dt", "date", value.year, value.month, value.day)
    if kind is datetime.time and value.tzinfo is None:
        return ("dt", "time", value.hour, value.minute, value.second, value.microsecond)
    if kind is datetime.timedelta:
        return ("dt", "timedelta", value.days, value.seconds, value.microseconds)
    if kind is collections.Counter or kind is collections.defaultdict:
        return ("C", kind.__name__, {encode(k): encode(v) for k, v in dict.items(value)})
    if kind is collections.OrderedDict:
        return ("C", "OrderedDict", [("t", encode(k), encode(v)) for k, v in dict.items(value)])
    if kind is collections.deque:
        return ("C", "deque", [encode(item) for item in value], value.maxlen)
    if kind in (collections.UserList, collections.UserDict, collections.UserString):
        return ("C", kind.__name__, encode(value.data))
    fields = getattr(kind, "_fields", None)
    if issubclass(kind, tuple) and type(fields) is tuple and all(type(f) is str for f in fields):
        return ("N", kind.__name__, fields, *(encode(item) for item in tuple.__iter__(value)))
    return None


def _containers(value: Any, kind: type, encode: Any) -> Any:
    if kind is list:
        return [encode(item) for item in value]
    if kind is tuple:
        return ("t", *(encode(item) for item in value))
    if kind is dict:
        return {encode(k): encode(v) for k, v in value.items()}
    if kind is set:
        return ("s", *(encode(item) for item in value))
    if kind is frozenset:
        return ("f", *(encode(item) for item in value))
    return None


# ----------------------------------------------------------------------------- the answer's side


def _describe(error: BaseException) -> str:
    return python_tests._describe(error)


class _Operations:
    """What the harness may ask of a handle, by name (the answer's side)."""

    table: dict[str, Any] = {
        "getattr": getattr, "setattr": setattr, "delattr": delattr, "bool": bool, "len": len, "iter": iter,
        "next": next, "getitem": operator.getitem, "setitem": operator.setitem, "delitem": operator.delitem,
        "contains": operator.contains, "str": str, "repr": repr, "format": format, "int": int, "float": float,
        "index": operator.index, "complex": complex,
        "instancecheck": lambda kind, instance: isinstance(instance, kind),
        "subclasscheck": lambda kind, subclass: issubclass(subclass, kind),
        "dir": lambda target: sorted(str(name) for name in dir(target)), "neg": operator.neg, "pos": operator.pos,
        "abs": operator.abs, "invert": operator.invert, "eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
        "le": operator.le, "gt": operator.gt, "ge": operator.ge,
        "enter": lambda target: target.__enter__(), "exit": lambda target, *args: target.__exit__(*args),
    }
    for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and_", "or_", "xor", "lshift",
                  "rshift", "matmul"):
        _function = getattr(operator, _name)
        table[_name.rstrip("_")] = _function
        table["r" + _name.rstrip("_")] = (lambda function: lambda a, b: function(b, a))(_function)


class Answer:
    """The answer's process: runs the code, then serves the harness's requests until it closes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.objects: dict[int, Any] = {}
        self.handles: dict[int, int] = {}  # id(object) -> handle; the objects are kept alive above
        self.scope: dict[str, Any] = {}

    def handle(self, value: Any) -> int:
        number = self.handles.get(id(value))
        if number is None:
            number = len(self.objects) + 1
            self.objects[number] = value
            self.handles[id(value)] = number
        return number

    def encode(self, value: Any, depth: int = 0) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if depth > ENCODE_DEPTH:
            return self._handle_tag(value, kind)

        def inner(item: Any) -> Any:
            return self.encode(item, depth + 1)

        found = _containers(value, kind, inner)
        if found is None:
            found = _standard(value, kind, inner)
        if found is None:
            found = self._subclass(value, kind, inner)
        return self._handle_tag(value, kind) if found is None else found

    def _subclass(self, value: Any, kind: type, inner: Any) -> Any:
        # A subclass of a plain type is sent as its plain value: its own methods (an __eq__ that
        # always says yes) stay here.
        if isinstance(value, int):
            return int.__int__(value)
        if isinstance(value, float):
            return float.__float__(value)
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, bytes):
            return bytes(memoryview(value))
        if isinstance(value, list):
            return [inner(item) for item in list.__iter__(value)]
        if isinstance(value, tuple):
            return ("t", *(inner(item) for item in tuple.__iter__(value)))
        if isinstance(value, dict):
            return {inner(key): inner(dict.__getitem__(value, key)) for key in dict.__iter__(value)}
        if isinstance(value, (set, frozenset)):
            iterate = set.__iter__ if isinstance(value, set) else frozenset.__iter__
            return ("s" if isinstance(value, set) else "f", *(inner(item) for item in iterate(value)))
        return None

    def _handle_tag(self, value: Any, kind: type) -> Any:
        if isinstance(value, type) and issubclass(value, BaseException):
            return ("x", *self._exception_class(value))
        return ("h", self.handle(value), getattr(kind, "__name__", "object"))

    def _exception_class(self, kind: type) -> tuple:
        """(handle, name, module, qualname, name of its nearest built-in base)."""
        base = next(k for k in kind.__mro__ if k.__module__ == "builtins")
        return (self.handle(kind), str(kind.__name__), str(kind.__module__), str(kind.__qualname__), base.__name__)

    def decode(self, wire: Any) -> Any:
        """What the harness sent (built by its own encoder: trusted)."""
        kind = type(wire)
        if kind in _SCALARS:
            return wire
        if kind is list:
            return [self.decode(item) for item in wire]
        if kind is dict:
            return {self.decode(k): self.decode(v) for k, v in wire.items()}
        return _decode_tag(wire, self.decode, lambda tag: self.objects[tag[1]])

    def serve(self) -> None:
        while True:
            try:
                request = receive(self.sock)
            except (EOFError, OSError):
                return
            try:
                reply = self._answer(request)
            except SystemExit as error:
                reply = ("exit", _describe(error), error.code in (None, 0, False))
            except BaseException as error:  # noqa: BLE001 - every failure goes back to the tests
                python_tests._print_error(error)
                reply = ("raise", self._exception_kind(error), _describe(error))
            for stream in (sys.stdout, sys.stderr):
                try:
                    # What the program printed reaches the job's output before the tests go on
                    # (and before this process is stopped at the end of the job).
                    stream.flush()
                except BaseException:  # noqa: BLE001 - a stream the program closed or replaced
                    pass
            try:
                send(self.sock, reply)
            except (ValueError, TypeError):
                send(self.sock, ("raise", ("b", "TypeError"), "a value the boundary cannot encode"))
            except OSError:
                return

    def _exception_kind(self, error: BaseException) -> tuple:
        kind = type(error)
        if kind.__module__ == "builtins":
            return ("b", kind.__name__)
        return ("x", *self._exception_class(kind))

    def _encoded(self, value: Any) -> Any:
        try:
            return self.encode(value)
        except RecursionError:
            return self._handle_tag(value, type(value))

    def _answer(self, request: tuple) -> tuple:
        kind = request[0]
        if kind == "load":
            return self._load(request[1], request[2])
        if kind == "names":
            return ("ok", {name: self._encoded(self.scope[name]) for name in request[1]
                           if name in self.scope}, ())
        if kind == "finish":
            python_tests._finish()
            return ("ok", None, ())
        _, operation, target, args_wire, kwargs_wire, mutable = request
        subject = self.objects[target]
        args = [self.decode(item) for item in args_wire]
        kwargs = {key: self.decode(value) for key, value in kwargs_wire.items()}
        if operation == "call":
            result = subject(*args, **kwargs)
        else:
            result = _Operations.table[operation](subject, *args)
        copied = []
        for key in mutable:
            before = args_wire[key] if type(key) is int else kwargs_wire[key]
            after = self._encoded(args[key] if type(key) is int else kwargs[key])
            if after != before:
                copied.append(("t", key, after))
        return ("ok", self._encoded(result), ("t", *copied))

    def _load(self, code: str, memory_mb: int) -> tuple:
        python_tests.limit_memory(memory_mb)
        module = types.ModuleType("__main__")
        module.__file__ = python_tests.SOLUTION_FILE
        sys.modules["__main__"] = module
        self.scope = module.__dict__
        python_tests._source(code, python_tests.SOLUTION_FILE)
        compiled = compile(code, python_tests.SOLUTION_FILE, "exec", dont_inherit=True)
        exec(compiled, self.scope)
        return ("ok", None, ())


def serve(sock: socket.socket) -> None:
    """The answer's process, from its fork to its end."""
    Answer(sock).serve()


# ----------------------------------------------------------------------------- the harness's side


def _decode_tag(wire: Any, decode: Any, handle: Any) -> Any:
    """A tagged tuple, as either side builds it; `handle` resolves ("h", ...) and ("x", ...)."""
    if type(wire) is not tuple or not wire or type(wire[0]) is not str:
        raise BoundaryError(f"unreadable value from the other process: {type(wire).__name__}")
    tag = wire[0]
    if tag == "t":
        return tuple(decode(item) for item in wire[1:])
    if tag == "s":
        return {decode(item) for item in wire[1:]}
    if tag == "f":
        return frozenset(decode(item) for item in wire[1:])
    if tag in ("h", "x"):
        return handle(wire)
    if tag == "c" and len(wire) == 3 and type(wire[1]) is float and type(wire[2]) is float:
        return complex(wire[1], wire[2])
    if tag == "Q" and len(wire) == 3 and type(wire[1]) is int and type(wire[2]) is int and wire[2] > 0:
        return fractions.Fraction(wire[1], wire[2])
    if tag == "D" and len(wire) == 2 and type(wire[1]) is str and len(wire[1]) < 10_000:
        return decimal.Decimal(wire[1])
    if tag == "ba" and len(wire) == 2 and type(wire[1]) is bytes:
        return bytearray(wire[1])
    if tag == "dt" and len(wire) > 2 and wire[1] in _TIMES and all(type(part) is int for part in wire[2:]):
        return _TIMES[wire[1]](*wire[2:])
    if tag == "C" and len(wire) >= 3 and wire[1] in _COLLECTIONS:
        return _collection(wire, decode)
    if tag == "N" and len(wire) >= 3 and type(wire[1]) is str and type(wire[2]) is tuple:
        return _namedtuple(wire[1], wire[2])(*(decode(item) for item in wire[3:]))
    raise BoundaryError(f"unreadable value from the other process: tag {tag[:20]!r}")


def _collection(wire: tuple, decode: Any) -> Any:
    name, payload = wire[1], decode(wire[2])
    kind = _COLLECTIONS[name]
    if name == "OrderedDict":
        return collections.OrderedDict(payload)
    if name == "deque":
        maxlen = wire[3] if len(wire) > 3 else None
        return collections.deque(payload, maxlen if type(maxlen) is int else None)
    if name == "defaultdict":
        return collections.defaultdict(None, payload)
    return kind(payload)


_NAMEDTUPLES: dict[tuple, type] = {}


def _namedtuple(name: str, fields: tuple) -> type:
    key = (name, fields)
    if key not in _NAMEDTUPLES:
        if not all(type(f) is str for f in fields) or len(fields) > 255:
            raise BoundaryError("a namedtuple with unreadable fields")
        try:
            _NAMEDTUPLES[key] = collections.namedtuple(name, fields)  # type: ignore[misc]
        except (ValueError, TypeError) as error:
            raise BoundaryError(f"a namedtuple that cannot be rebuilt: {error}") from None
    return _NAMEDTUPLES[key]


# Dunder attributes the tests may read on the answer's objects (``candidate.__name__``).
_DUNDERS_READ = frozenset({"__name__", "__qualname__", "__annotations__", "__defaults__", "__kwdefaults__"})


def _binary(name: str) -> Any:
    def method(self: Remote, other: Any) -> Any:
        return _link(self).operate(name, self, (other,))

    method.__name__ = f"__{name}__"
    return method


class Remote:
    """An object of the answer's, living in its process: attribute reads, calls and operators go
    there. Comparing one with plain data is left to the tests' guard (python_tests.compare), which
    refuses it: its ``__eq__`` is not Python's."""

    __slots__ = ("_evol_link", "_evol_handle", "_evol_kind")

    def __init__(self, link: Link, handle: int, kind: str) -> None:
        object.__setattr__(self, "_evol_link", link)
        object.__setattr__(self, "_evol_handle", handle)
        object.__setattr__(self, "_evol_kind", kind)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in _DUNDERS_READ:
            raise AttributeError(name)  # protocol look-ups (copy, pickle, inspect) do not cross
        return _link(self).operate("getattr", self, (name,))

    def __setattr__(self, name: str, value: Any) -> None:
        _link(self).operate("setattr", self, (name, value))

    def __delattr__(self, name: str) -> None:
        _link(self).operate("delattr", self, (name,))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _link(self).operate("call", self, args, kwargs)

    def __eq__(self, other: Any) -> Any:
        if isinstance(other, Remote):
            return _link(self).operate("eq", self, (other,))
        return NotImplemented

    def __ne__(self, other: Any) -> Any:
        if isinstance(other, Remote):
            return _link(self).operate("ne", self, (other,))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((id(_link(self)), object.__getattribute__(self, "_evol_handle")))

    def __bool__(self) -> bool:
        return _exact(_link(self).operate("bool", self, ()), bool)

    def __len__(self) -> int:
        return _exact(_link(self).operate("len", self, ()), int)

    def __iter__(self) -> Any:
        return _link(self).operate("iter", self, ())

    def __next__(self) -> Any:
        return _link(self).operate("next", self, ())

    def __getitem__(self, key: Any) -> Any:
        return _link(self).operate("getitem", self, (key,))

    def __setitem__(self, key: Any, value: Any) -> None:
        _link(self).operate("setitem", self, (key, value))

    def __delitem__(self, key: Any) -> None:
        _link(self).operate("delitem", self, (key,))

    def __contains__(self, item: Any) -> bool:
        return _exact(_link(self).operate("contains", self, (item,)), bool)

    def __str__(self) -> str:
        return _exact(_link(self).operate("str", self, ()), str)

    def __repr__(self) -> str:
        return _exact(_link(self).operate("repr", self, ()), str)

    def __format__(self, spec: str) -> str:
        return _exact(_link(self).operate("format", self, (spec,)), str)

    def __int__(self) -> int:
        return _exact(_link(self).operate("int", self, ()), int)

    def __index__(self) -> int:
        return _exact(_link(self).operate("index", self, ()), int)

    def __float__(self) -> float:
        return _exact(_link(self).operate("float", self, ()), float)

    def __neg__(self) -> Any:
        return _link(self).operate("neg", self, ())

    def __pos__(self) -> Any:
        return _link(self).operate("pos", self, ())

    def __abs__(self) -> Any:
        return _link(self).operate("abs", self, ())

    def __invert__(self) -> Any:
        return _link(self).operate("invert", self, ())

    def __enter__(self) -> Any:
        return _link(self).operate("enter", self, ())

    def __exit__(self, *args: Any) -> Any:
        return _link(self).operate("exit", self, args)

    def __instancecheck__(self, instance: Any) -> bool:
        return _exact(_link(self).operate("instancecheck", self, (instance,)), bool)

    def __subclasscheck__(self, subclass: Any) -> bool:
        return _exact(_link(self).operate("subclasscheck", self, (subclass,)), bool)

    def __dir__(self) -> list[str]:
        names = _link(self).operate("dir", self, ())
        return [name for name in names if type(name) is str] if type(names) is list else []

    def __mro_entries__(self, bases: tuple) -> tuple:
        _link(self).needs(f"the tests subclass the program's {object.__getattribute__(self, '_evol_kind')}")
        raise NeedsInProcess("subclass")

    def __reduce_ex__(self, protocol: Any) -> Any:
        _link(self).needs("the tests copy or pickle an object of the program's")
        raise NeedsInProcess("copy")

    for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor", "lshift", "rshift",
                  "matmul", "lt", "le", "gt", "ge"):
        locals()[f"__{_name}__"] = _binary(_name)
        if _name not in ("lt", "le", "gt", "ge"):
            locals()[f"__r{_name}__"] = _binary("r" + _name)
    del _name


def _link(remote: Remote) -> Link:
    return object.__getattribute__(remote, "_evol_link")


def _exact(value: Any, kind: type) -> Any:
    if type(value) is not kind:
        raise TypeError(f"the program's object answered {type(value).__name__}, not {kind.__name__}")
    return value


class Link:
    """The harness's end of the channel to the answer's process."""

    def __init__(self, sock: socket.socket, answer_pid: int = 0) -> None:
        self.sock = sock
        self.answer_pid = answer_pid  # our child: its exit status says how it ended
        self.remotes: dict[int, Remote] = {}
        self.stand_ins: dict[int, type] = {}
        self.stand_in_handles: dict[type, int] = {}
        # Set once, whatever the tests do with the exception raised alongside (they may catch it).
        self.ended: str | None = None
        self.exit_status_zero = False
        self.exit_code: int | None = None
        self.needs_in_process: str | None = None

    def needs(self, reason: str) -> None:
        if self.needs_in_process is None:
            self.needs_in_process = reason

    # --- values

    def encode(self, value: Any, depth: int = 0) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if depth > ENCODE_DEPTH:
            self.needs("the tests pass data nested too deep for the boundary")
            raise NeedsInProcess("depth")

        def inner(item: Any) -> Any:
            return self.encode(item, depth + 1)

        found = _containers(value, kind, inner)
        if found is None and (kind in (complex, fractions.Fraction, decimal.Decimal, bytearray) or kind in _TIMES.values()
                              or kind in _COLLECTIONS.values() or kind in _NAMEDTUPLES.values()):
            found = _standard(value, kind, inner)
        if found is None and kind is Remote:
            found = ("h", object.__getattribute__(value, "_evol_handle"), "")
        if found is None and value in self.stand_in_handles:
            found = ("h", self.stand_in_handles[value], "")
        if found is None:
            self.needs(f"the tests pass {getattr(kind, '__qualname__', 'an object')} to the program")
            raise NeedsInProcess("argument")
        return found

    def decode(self, wire: Any, depth: int = 0) -> Any:
        kind = type(wire)
        if kind in _SCALARS:
            return wire
        if depth > DECODE_DEPTH:
            raise BoundaryError("the program's value is nested too deep to be read")

        def inner(item: Any) -> Any:
            return self.decode(item, depth + 1)

        if kind is list:
            return [inner(item) for item in wire]
        if kind is dict:
            return {inner(k): inner(v) for k, v in wire.items()}
        return _decode_tag(wire, inner, self._resolve)

    def _resolve(self, wire: tuple) -> Any:
        if wire[0] == "x":
            return self._stand_in(wire)
        if len(wire) != 3 or type(wire[1]) is not int or type(wire[2]) is not str:
            raise BoundaryError("an unreadable handle")
        remote = self.remotes.get(wire[1])
        if remote is None:
            remote = self.remotes[wire[1]] = Remote(self, wire[1], wire[2][:100])
        return remote

    def _stand_in(self, wire: tuple) -> type:
        """An exception class of the answer's, as a class of the harness's: a subclass of the
        same built-in exception, so that the tests' ``except`` and ``pytest.raises`` catch it."""
        if len(wire) != 6 or type(wire[1]) is not int or not all(type(part) is str for part in wire[2:]):
            raise BoundaryError("an unreadable exception class")
        _, handle, name, module, qualname, base_name = wire
        if handle in self.stand_ins:
            return self.stand_ins[handle]
        local = _importable_class(module, qualname)
        if local is None:
            base = getattr(builtins, base_name, Exception)
            if not (isinstance(base, type) and issubclass(base, Exception)):
                base = Exception
            local = type(name if name.isidentifier() else "ProgramError", (base,), {"__module__": "solution"})
        self.stand_ins[handle] = local
        self.stand_in_handles.setdefault(local, handle)
        return local

    # --- requests

    def request(self, message: tuple) -> Any:
        if self.ended is not None:
            raise AnswerEnded(self.ended)
        try:
            send(self.sock, message)
            reply = receive(self.sock)
        except (OSError, EOFError) as error:
            self.ended = self._how_it_ended(error)
            raise AnswerEnded(self.ended) from None
        except (ValueError, TypeError, EOFError, BoundaryError) as error:
            self.ended = f"the program's process sent what cannot be read: {error}"
            raise AnswerEnded(self.ended) from None
        if type(reply) is not tuple or not reply or reply[0] not in ("ok", "raise", "exit"):
            self.ended = "the program's process sent what cannot be read"
            raise AnswerEnded(self.ended)
        if reply[0] == "exit":
            status = reply[1] if len(reply) > 1 and type(reply[1]) is str else "?"
            self.exit_status_zero = len(reply) > 2 and reply[2] is True
            self.ended = ("the program exited with status 0 in the middle of its tests" if self.exit_status_zero
                          else f"the program exited ({status}) in the middle of its tests")
            raise AnswerEnded(self.ended)
        if reply[0] == "raise":
            raise self._exception(reply)
        if len(reply) != 3:
            raise BoundaryError("an unreadable reply")
        return reply

    def _how_it_ended(self, error: BaseException) -> str:
        """Why the channel closed: the answer's exit status, when it exited (as it should, soon)."""
        status = None
        if self.answer_pid:
            for _ in range(200):
                try:
                    pid, status = os.waitpid(self.answer_pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    break
                status = None
                time.sleep(0.005)
        if status is None:
            return f"the program's process ended in the middle of its tests ({error})"
        if os.WIFEXITED(status):
            self.exit_code = os.WEXITSTATUS(status)
            self.exit_status_zero = self.exit_code == 0
            return f"the program exited with status {self.exit_code} in the middle of its tests"
        return f"the program's process was killed by signal {os.WTERMSIG(status)} in the middle of its tests"

    def _exception(self, reply: tuple) -> BaseException:
        kind_wire = reply[1] if len(reply) > 1 else None
        message = reply[2] if len(reply) > 2 and type(reply[2]) is str else ""
        text = message.partition(": ")[2] if ": " in message else ""
        kind: Any = None
        if type(kind_wire) is tuple and len(kind_wire) == 2 and kind_wire[0] == "b" and type(kind_wire[1]) is str:
            kind = getattr(builtins, kind_wire[1], None)
        elif type(kind_wire) is tuple and kind_wire and kind_wire[0] == "x":
            kind = self._stand_in(kind_wire)
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            kind = RuntimeError
        if python_tests.is_skip(kind):
            # The program cannot skip the tests that judge it: whatever it raised, a failure.
            return python_tests.ProgramSkipped(f"the program raised {kind.__name__}({(text or message)[:200]!r}): "
                                               "a program cannot skip the tests that judge it")
        if not issubclass(kind, Exception):
            # KeyboardInterrupt, GeneratorExit...: the answer's process is ending, not a test.
            self.ended = f"the program raised {message or kind.__name__} in the middle of its tests"
            return AnswerEnded(self.ended)
        error = kind.__new__(kind)
        BaseException.__init__(error, text or message)
        return error

    def operate(self, operation: str, target: Remote, args: tuple, kwargs: dict | None = None) -> Any:
        """`operation` on the answer's object `target` (a call, an attribute, an operator)."""
        handle = object.__getattribute__(target, "_evol_handle")
        kwargs = kwargs or {}
        args_wire = ("t", *(self.encode(item) for item in args))[1:]
        kwargs_wire = {str(key): self.encode(value) for key, value in kwargs.items()}
        mutable = tuple([index for index, item in enumerate(args) if type(item) in _MUTABLE]
                        + [key for key, value in kwargs.items() if type(value) in _MUTABLE])
        reply = self.request(("op", operation, handle, args_wire, kwargs_wire, mutable))
        result = self.decode(reply[1])
        copied = reply[2]
        if type(copied) is tuple and copied and copied[0] == "t":
            for entry in copied[1:]:
                if type(entry) is tuple and len(entry) == 3 and entry[1] in mutable:
                    key, value = entry[1], self.decode(entry[2])
                    _copy_back(args[key] if type(key) is int else kwargs[key], value)
        return result

    def load(self, code: str, memory_mb: int) -> None:
        self.request(("load", code, memory_mb))

    def names(self, wanted: list[str]) -> dict[str, Any]:
        reply = self.request(("names", tuple(wanted)))
        if type(reply[1]) is not dict:
            raise BoundaryError("an unreadable list of names")
        return {name: self.decode(value) for name, value in reply[1].items() if type(name) is str and name in wanted}

    def finish(self) -> None:
        self.request(("finish",))


_MUTABLE = (list, dict, set, bytearray)


def _copy_back(original: Any, value: Any) -> None:
    """What the answer did to an argument, done to the tests' own object."""
    if type(original) is not type(value):
        return
    if isinstance(original, (list, bytearray)):
        original[:] = value
    elif isinstance(original, (dict, set)):
        original.clear()
        original.update(value)


def _importable_class(module: str, qualname: str) -> type | None:
    """An exception class of an installed module (json.JSONDecodeError), as the harness has it."""
    if module in ("__main__", "builtins", "solution") or module.startswith("."):
        return None
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except Exception:  # noqa: BLE001 - not importable here: a stand-in then
        return None
    return found if isinstance(found, type) and issubclass(found, Exception) else None


# ----------------------------------------------------------------------------- names the tests use


def _top_level_imports(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Names the code binds only by an absolute import at its top level: name -> (module,
    attribute). The tests get the harness's own import of them (``import math`` in the code,
    ``math.isclose`` in the tests), not the answer's."""
    imported: dict[str, tuple[str, str | None]] = {}
    assigned: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname:
                    imported[alias.asname] = (alias.name, None)
                else:
                    top = alias.name.partition(".")[0]
                    imported[top] = (top, None)
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            for alias in statement.names:
                if alias.name != "*":
                    imported[alias.asname or alias.name] = (statement.module, alias.name)
        else:
            for node in ast.walk(statement):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    assigned.add(node.name)
                elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    assigned.add(node.id)
    return {name: source for name, source in imported.items() if name not in assigned}


def _local_import(module: str, attribute: str | None) -> Any:
    found = importlib.import_module(module)
    return found if attribute is None else getattr(found, attribute)


def referenced_names(trees: list[ast.Module]) -> set[str]:
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.partition(".")[0])
    return {name for name in names if not (name.startswith("__") and name.endswith("__"))}


class _SolutionModule(types.ModuleType):
    """``import solution`` / ``from solution import f`` in the tests: the answer's names."""

    def __init__(self, link: Link) -> None:
        super().__init__("solution")
        object.__setattr__(self, "_evol_link", link)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        found = object.__getattribute__(self, "_evol_link").names([name])
        if name not in found:
            raise AttributeError(f"module 'solution' has no attribute {name!r}")
        return found[name]


_PROGRAMS = "__evol_program_"


class _ProgramsBuiltins(ast.NodeTransformer):
    """Where the program redefines a built-in the tests use (``def sum(a, b)`` for a task named
    so, or ``def abs(x): return 0`` to pass ``assert abs(f(x) - 2.5) < 1e-9``), which does a test
    mean? A call on constants alone (``sum(10, 15) == 25``) is the function under test: the
    program's. Any other use (on a result, a variable, as a value) is the test checking
    something, with Python's own built-in, as is every exit (``exit(1)`` on a failure)."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if (isinstance(function, ast.Name) and function.id in self.names and function.id not in python_tests._EXITS
                and all(_constant(argument) for argument in [*node.args, *(k.value for k in node.keywords)])):
            node.func = ast.copy_location(ast.Name(_PROGRAMS + function.id, ast.Load()), function)
        return node


def _constant(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return _constant(node.operand)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return all(_constant(element) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(key is not None and _constant(key) for key in node.keys) and all(_constant(v) for v in node.values)
    return False


# ----------------------------------------------------------------------------- one job, judged here


def run(code: str, tests: str | list | None, reporter: python_tests.Reporter, link: Link,
        memory_mb: int) -> dict[str, Any]:
    """The outcome (verdict, message, passed, total, isolation); ``{"fallback": reason}`` when the
    tests need the in-process mode."""
    total = len(tests) if isinstance(tests, list) else None
    counts = {"passed": 0 if total is not None else None, "total": total}
    try:
        code_tree = ast.parse(code, python_tests.SOLUTION_FILE)
        compile(code_tree, python_tests.SOLUTION_FILE, "exec", dont_inherit=True)
        sources: list[tuple[str, str]] = []
        if isinstance(tests, str) and tests.strip():
            sources = [(tests, python_tests.TESTS_FILE)]
        elif isinstance(tests, list):
            sources = [(str(test), f"test_{index}.py") for index, test in enumerate(tests)]
        test_trees = []
        compiled_tests = []
        for source, filename in sources:
            python_tests.linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            test_trees.append(ast.parse(source, filename))
            compiled_tests.append(python_tests._compile_tests(source, filename))
    except (SyntaxError, ValueError, UnicodeError) as error:
        sys.stderr.write("".join(python_tests.traceback.format_exception_only(type(error), error)))
        return {"verdict": "COMPILE_ERROR", "message": python_tests._describe(error), **counts}

    try:
        link.load(code, memory_mb)
    except AnswerEnded:
        return {"verdict": "RUNTIME_ERROR", "message": f"{link.ended} (before its tests ran)".replace(
            "in the middle of its tests ", ""), **counts}
    except BaseException as error:  # noqa: BLE001 - the code's own exception, raised as it ran
        verdict = "MEMORY_LIMIT" if isinstance(error, MemoryError) else "RUNTIME_ERROR"
        return {"verdict": verdict, "message": python_tests._describe(error), **counts}

    wanted = sorted(referenced_names(test_trees))
    try:
        found = link.names(wanted)
    except (AnswerEnded, BoundaryError, Exception) as error:  # noqa: BLE001
        return {"verdict": "RUNTIME_ERROR", "message": link.ended or python_tests._describe(error), **counts}
    shadowed = {name for name in found if hasattr(builtins, name)}
    if shadowed:
        compiled_tests = [python_tests._compile_tests(ast.unparse(_ProgramsBuiltins(shadowed).visit(tree)), filename)
                          for tree, (_, filename) in zip(test_trees, sources)]
        for name in shadowed:
            found[_PROGRAMS + name] = found.pop(name)
    imports = _top_level_imports(code_tree)
    module = types.ModuleType("__main__")
    module.__file__ = python_tests.TESTS_FILE
    scope = module.__dict__
    for name, value in found.items():
        if name in imports:
            try:
                value = _local_import(*imports[name])
            except Exception:  # noqa: BLE001 - not importable here: the answer's own then
                pass
        scope[name] = value
    sys.modules["__main__"] = module
    sys.modules["solution"] = _SolutionModule(link)
    scope[python_tests.COMPARE] = python_tests.compare
    scope[python_tests.TRUTH] = python_tests.truth
    scope[python_tests.COUNT] = python_tests.count
    reporter.stage("tests")
    try:
        outcome = python_tests._run_tests(compiled_tests, tests, scope)
    except NeedsInProcess:
        outcome = {"verdict": "RUNTIME_ERROR"}
    if link.needs_in_process is not None:
        return {"fallback": link.needs_in_process}
    if link.ended is not None:
        verdict = "FAIL" if link.exit_status_zero else "RUNTIME_ERROR"
        return {**outcome, "verdict": verdict, "message": link.ended + (
            ": a run whose tests did not all complete is not a pass" if link.exit_status_zero else "")}
    outcome = python_tests.untested_unless_asserted(outcome, tests)
    if outcome["verdict"] != "PASS":
        return outcome
    reporter.passed(outcome)
    try:
        link.finish()
    except BaseException:  # noqa: BLE001 - an atexit handler's failure is printed there, as Python would
        pass
    if link.exit_code:
        # The tests passed; then the interpreter's exit steps (a thread, an atexit handler) ended
        # the program with a failure status, as `python3 solution.py` would have reported it.
        return {**outcome, "verdict": "RUNTIME_ERROR",
                "message": f"the tests passed, then the program exited with status {link.exit_code}"}
    return outcome
