"""The limits every sandbox container runs under, and how they become Docker settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docker.types import LogConfig, Ulimit

from .rootfs import SANDBOX_UID

# Memory the supervisor needs besides the job's own (its warm interpreter with preloaded
# modules), so that a job given N MB can really use about N MB.
SUPERVISOR_MB = 64


@dataclass(frozen=True)
class Limits:
    pids: int = 128  # processes and threads of one container: a fork bomb stops here
    cpus: float = 1.0  # CPU quota of one container
    work_mb: int = 64  # the tmpfs work directory (/work), and as much again for /tmp
    shm_mb: int = 16
    output_cap: int = 256 * 1024  # stdout + stderr bytes before OUTPUT_LIMIT
    keep_bytes: int = 2 * 1024  # of each stream, head and tail returned: a few KB in all

    def container_settings(self, memory_mb: int) -> dict[str, Any]:
        memory = f"{memory_mb + SUPERVISOR_MB}m"
        tmpfs = f"rw,noexec,nosuid,nodev,size={self.work_mb}m"
        return {
            "user": f"{SANDBOX_UID}:{SANDBOX_UID}",
            "working_dir": "/work",
            "environment": {},  # nothing of the host's environment, API keys above all
            "network_mode": "none",
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "mem_limit": memory,
            "memswap_limit": memory,  # equal: no swap to spill into
            "pids_limit": self.pids,
            "nano_cpus": int(self.cpus * 1e9),
            "read_only": True,
            "tmpfs": {"/work": f"{tmpfs},uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0700", "/tmp": f"{tmpfs},mode=1777"},
            "ipc_mode": "private",
            "shm_size": f"{self.shm_mb}m",
            "hostname": "sandbox",
            "ulimits": [Ulimit(name="core", soft=0, hard=0), Ulimit(name="nofile", soft=1024, hard=1024)],
            # The supervisor's stdout is our protocol channel: no log copy of it on the host.
            "log_config": LogConfig(type="none"),
            "privileged": False,
            "init": False,  # the supervisor is PID 1 on purpose (see supervisor.py)
        }
