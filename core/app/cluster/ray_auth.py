"""Token authentication for a driver joining a Ray cluster someone started (``ray start --head``).

Ray (2.59 and later) starts a cluster with token authentication whenever a token exists on the
head node, and ``ray.init()`` of a new local cluster makes one (``~/.ray/auth_token``). A driver
sends the token only when ``RAY_AUTH_MODE=token`` is set in its environment, and Ray sets that
itself only when it finds the cluster on its own (``address="auto"``): joining a named address, a
driver without it is refused, and Ray retries for about twenty seconds before saying only "Failed
to connect to Ray cluster". So, as Ray's own ``ray start`` does: when ``RAY_AUTH_MODE`` is unset
and a token is available where Ray documents it (https://docs.ray.io/en/latest/ray-security/token-auth.html:
``RAY_AUTH_TOKEN``, else the file ``RAY_AUTH_TOKEN_PATH`` names, else ``~/.ray/auth_token``), the
driver uses it; a cluster without authentication accepts a driver that sends one. Then one
connection attempt, before Ray's patient ones, says in a line why a cluster refuses the driver;
it is made in a child process, since Ray's client can abort the process it runs in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping

AUTH_MODE = "RAY_AUTH_MODE"
TOKEN = "RAY_AUTH_TOKEN"
TOKEN_PATH = "RAY_AUTH_TOKEN_PATH"
WHERE_TOKENS_GO = (f"set {TOKEN}, or {TOKEN_PATH} to a file holding it, or put it in ~/.ray/auth_token "
                   "(`ray get-auth-token` on the head node prints it)")


def token_source(environ: Mapping[str, str]) -> str | None:
    """Where Ray will read this driver's token from (in Ray's order), or None when nowhere."""
    if environ.get(TOKEN, "").strip():
        return TOKEN
    if environ.get(TOKEN_PATH):
        return f"{TOKEN_PATH} ({environ[TOKEN_PATH]})"
    default = Path(environ.get("HOME") or Path.home()) / ".ray" / "auth_token"
    try:
        if default.read_text(encoding="utf-8").strip():
            return str(default)
    except OSError:  # no file, or one that cannot be read: no token there
        pass
    return None


def use_available_token(environ: dict[str, str]) -> str | None:
    """Turn token authentication on for this driver when a token is available and the user has
    not chosen a mode; returns where the token comes from (None: no token, or mode chosen)."""
    if AUTH_MODE in environ:
        return None
    source = token_source(environ)
    if source is not None:
        environ[AUTH_MODE] = "token"  # read by Ray when it connects, in this process and its children
    return source


# What the probe prints: one word on its last line. Anything else (Ray's client can die in C++ on
# a loaded machine, taking its process with it) leaves the question to ``ray.init``.
_PROBE = """
import sys
from ray._raylet import GcsClient
from ray.exceptions import AuthenticationError
try:
    GcsClient(address=sys.argv[1])
except AuthenticationError:
    print("refused")
except Exception:
    print("other")
else:
    print("accepted")
"""
PROBE_ATTEMPTS = 2
PROBE_TIMEOUT_S = 60


def _probe(address: str, environ: Mapping[str, str]) -> str | None:
    """``refused``, ``accepted`` or ``other`` from one connection attempt made in a child process
    (the client ray.init makes first; no retries); None when the child gave no answer."""
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE, address], env=dict(environ),
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None
    said = done.stdout.strip().splitlines()
    return said[-1] if said and said[-1] in ("refused", "accepted", "other") else None


def refusal(address: str, environ: Mapping[str, str]) -> str | None:
    """Why the cluster at ``address`` refuses this driver, in one line, or None when it accepts
    it (or refuses for another reason, which ``ray.init`` then reports)."""
    for _ in range(PROBE_ATTEMPTS):
        answer = _probe(address, environ)
        if answer is not None:
            break
    if answer != "refused":
        return None
    mode = environ.get(AUTH_MODE)
    source = token_source(environ)
    if mode is not None and mode.lower() != "token":
        why = f"{AUTH_MODE}={mode} here, so this driver sends no token"
    elif source is None:
        why = "no token was found for this driver"
    else:
        why = f"the token from {source} is not the cluster's"
    return f"the Ray cluster at {address} uses token authentication and refuses this driver: {why}; {WHERE_TOKENS_GO}"


def prepare_driver(address: str, environ: dict[str, str] | None = None) -> str | None:
    """Before ``ray.init(address=...)`` joins an existing cluster: use an available token, then
    return why the cluster refuses this driver, or None."""
    environ = os.environ if environ is None else environ  # type: ignore[assignment]
    use_available_token(environ)  # type: ignore[arg-type]
    return refusal(address, environ)
