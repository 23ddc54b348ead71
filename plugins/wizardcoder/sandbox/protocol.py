"""The host's side of the supervisor protocol over a container's attach socket.

Requests go to the supervisor's stdin as frames (4-byte big-endian length, then JSON). Replies
come back on its stdout, which the engine wraps in its own multiplexing frames (8-byte header:
stream type, 3 zero bytes, 4-byte length); both layers are undone here.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

MAX_MESSAGE = 16 * 1024 * 1024


class ChannelClosed(Exception):
    """The container's end went away (it died, was killed, or the engine dropped the stream)."""


class ChannelTimeout(Exception):
    """No complete reply before the deadline."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body


class Channel:
    """Framed JSON over a hijacked attach socket (not thread-safe: one job at a time)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._raw = bytearray()  # engine frames, not yet unwrapped
        self._stdout = bytearray()  # the supervisor's stdout bytes, not yet parsed

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.sock.settimeout(30.0)
            self.sock.sendall(encode(message))
        except OSError as error:
            raise ChannelClosed(f"cannot write to the container: {error}") from error

    def _unwrap(self) -> None:
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                return
            if stream == 1:  # stdout; stderr is never attached
                self._stdout += self._raw[8 : 8 + size]
            del self._raw[: 8 + size]

    def _message(self) -> dict[str, Any] | None:
        if len(self._stdout) < 4:
            return None
        size = struct.unpack(">I", self._stdout[:4])[0]
        if size > MAX_MESSAGE:
            raise ChannelClosed(f"reply of {size} bytes: the stream is corrupt")
        if len(self._stdout) < 4 + size:
            return None
        body = bytes(self._stdout[4 : 4 + size])
        del self._stdout[: 4 + size]
        return json.loads(body)

    def receive(self, deadline: float) -> dict[str, Any]:
        """The next message, waiting at most until `deadline` (time.monotonic())."""
        while True:
            message = self._message()
            if message is not None:
                return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ChannelTimeout("no reply in time")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(262144)
            except (socket.timeout, TimeoutError) as error:
                raise ChannelTimeout("no reply in time") from error
            except OSError as error:
                raise ChannelClosed(f"cannot read from the container: {error}") from error
            if not data:
                raise ChannelClosed("the container closed its output")
            self._raw += data
            self._unwrap()

    def close(self) -> None:
        # shutdown() first: close() alone does not wake a thread blocked in recv() on this socket
        # (a job's worker when the pool is closed on Ctrl-C), which would then hold the process.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
