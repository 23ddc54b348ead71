"""Endpoint URLs: one spelling per endpoint, and a form safe to show (no user name, no password).

Kept apart from the endpoints themselves so that reading a configuration does not load the HTTP
client.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

OPENAI_URL = "https://api.openai.com/v1"


def normalise_url(url: str) -> str:
    """One spelling per endpoint: lower-case scheme and host, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    userinfo, at, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme.lower(), userinfo + at + host.lower(), path, "", ""))


def public_url(url: str) -> str:
    """The URL without user name and password: what logs, messages, manifests and rows may show."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
