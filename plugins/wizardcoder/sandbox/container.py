"""One warm sandbox container: its supervisor, reached through one long-lived attach socket.

A job costs one request and one reply on that socket, no Docker API call: the engine is only
asked to create, kill or remove the container.
"""

from __future__ import annotations

import secrets
import socket
import time
from typing import Any

import docker
import docker.errors

from .limits import SUPERVISOR_MB, Limits
from .protocol import Channel, ChannelClosed


def _raw_socket(obj: Any) -> socket.socket:
    # The SDK hands back a SocketIO wrapper for local engines; timeouts need the socket itself.
    return getattr(obj, "_sock", obj)


class WarmContainer:
    def __init__(
        self,
        client: docker.DockerClient,
        image: str,
        *,
        name: str,
        labels: dict[str, str],
        limits: Limits,
        memory_mb: int,
    ) -> None:
        self.client = client
        self.image = image
        self.name = name
        self.labels = labels
        self.limits = limits
        self.memory_mb = memory_mb
        self.container_id: str | None = None
        self.channel: Channel | None = None
        self.jobs_run = 0
        self.facts: dict[str, Any] = {}
        self._seq = 0

    def start(self, timeout_s: float) -> None:
        """Create, attach, start, and wait for the supervisor's ready message."""
        deadline = time.monotonic() + timeout_s
        container = self.client.containers.create(
            self.image,
            name=self.name,
            labels=self.labels,
            # Attached stdin that closes with our connection: if this process dies, even by
            # SIGKILL, the supervisor reads end-of-file, exits, and auto_remove deletes it.
            stdin_open=True,
            detach=False,
            auto_remove=True,
            **self.limits.container_settings(self.memory_mb),
        )
        self.container_id = container.id
        sock = self.client.api.attach_socket(container.id, params={"stdin": 1, "stdout": 1, "stream": 1})
        self.channel = Channel(_raw_socket(sock))
        self.client.api.start(container.id)
        ready = self.channel.receive(deadline)
        if ready.get("op") != "ready":
            raise ChannelClosed(f"unexpected first message from the supervisor: {ready!r:.200}")
        self.facts = ready

    def request(self, message: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send one request and wait for its reply (matched by a fresh token) until `deadline`."""
        assert self.channel is not None, "start() first"
        self._seq += 1
        token = secrets.token_hex(8)
        self.channel.send({**message, "seq": self._seq, "token": token})
        while True:
            reply = self.channel.receive(deadline)
            if reply.get("token") == token:
                return reply

    def set_memory(self, memory_mb: int) -> None:
        memory = f"{memory_mb + SUPERVISOR_MB}m"
        self.client.api.update_container(self.container_id, mem_limit=memory, memswap_limit=memory)
        self.memory_mb = memory_mb

    def kill(self) -> None:
        """Stop everything in it at once, from outside (the engine then removes it)."""
        if self.container_id is None:
            return
        try:
            self.client.api.kill(self.container_id)
        except docker.errors.APIError:
            pass  # already gone or going

    def destroy(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.container_id is None:
            return
        try:
            self.client.api.remove_container(self.container_id, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as error:
            # auto_remove may be deleting it at the same moment
            if "in progress" not in str(error) and error.status_code != 409:
                raise
        self.container_id = None
