"""Every default of the sandbox, in one place: the limits a job and its container run under.

A job's own ``timeout_s`` and ``memory_mb`` default to these; so do the options of
``evol sandbox exec``, the code domain's ``--exec-timeout`` and ``--exec-memory``, the pool and
``evol sandbox doctor``. Change a default here and every one of them follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The sandbox user's id; rootfs.py and the Dockerfile create it (kept here so that reading the
# defaults loads neither the Docker SDK nor the image builder).
SANDBOX_UID = 10001

# The ranges a job's own limits may take: a job outside them is refused (job.py), and the
# options that set them (--exec-timeout, --exec-memory) refuse what a job would.
MAX_TIMEOUT_S = 3600.0
MIN_MEMORY_MB = 16
MAX_MEMORY_MB = 65536

# Memory the supervisor needs besides the job's own (its warm interpreter with preloaded
# modules), so that a job given N MB can really use about N MB.
SUPERVISOR_MB = 64


@dataclass(frozen=True)
class Limits:
    # --- per job (a job may bring its own) ---
    timeout_s: float = 10.0  # wall clock for the whole job: compiling, running, the tests
    memory_mb: int = 256  # the job's processes together, compilers included
    # --- per container ---
    pids: int = 128  # processes and threads of one container: a fork bomb stops here
    cpus: float = 1.0  # CPU quota of one container
    work_mb: int = 64  # the tmpfs work directory (/work), and as much again for /tmp
    # Files and directories /work and /tmp may each hold: a program that makes files until none
    # is left finds out in milliseconds, and emptying the directory after it stays quick.
    work_inodes: int = 8192
    shm_mb: int = 16
    output_cap: int = 256 * 1024  # stdout + stderr bytes (a compiler's too) before OUTPUT_LIMIT
    keep_bytes: int = 2 * 1024  # of each stream, head and tail returned: a few KB in all
    # --- the pool ---
    max_jobs_per_container: int = 100  # then a fresh container (also after any kill)
    grace_s: float = 3.0  # beyond a job's time, how long the host waits before killing the container

    def container_settings(self, memory_mb: int) -> dict[str, Any]:
        from docker.types import LogConfig, Ulimit

        memory = f"{memory_mb + SUPERVISOR_MB}m"
        # /work allows exec (compiled programs run from it); /tmp and /dev/shm do not. The
        # container, not noexec, is the boundary: a job can run any code through Python anyway.
        common = f"rw,nosuid,nodev,size={self.work_mb}m,nr_inodes={self.work_inodes}"
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
            "tmpfs": {
                "/work": f"{common},exec,uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0700",
                "/tmp": f"{common},noexec,mode=1777",
                "/dev/shm": f"rw,nosuid,nodev,noexec,size={self.shm_mb}m,nr_inodes=1024,mode=1777",
            },
            "ipc_mode": "private",
            "hostname": "sandbox",
            "ulimits": [Ulimit(name="core", soft=0, hard=0), Ulimit(name="nofile", soft=1024, hard=1024)],
            # The supervisor's stdout is our protocol channel: no log copy of it on the host.
            "log_config": LogConfig(type="none"),
            "privileged": False,
            "init": False,  # the supervisor is PID 1 on purpose (see harness/supervisor.py)
        }


DEFAULT_LIMITS = Limits()
