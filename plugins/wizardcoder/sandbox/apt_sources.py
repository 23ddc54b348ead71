"""Which Debian release and mirror this machine uses, for the offline image build.

Read at run time from the machine's own apt configuration, so that the build uses whatever
mirror (public, snapshot, corporate proxy) the machine is already allowed to reach.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def os_codename(os_release: str = "/etc/os-release") -> str:
    """VERSION_CODENAME of this machine, e.g. "bookworm"."""
    try:
        with open(os_release, encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.strip().partition("=")
                if key == "VERSION_CODENAME" and value:
                    return value.strip('"')
    except OSError:
        pass
    raise LookupError(f"no VERSION_CODENAME in {os_release}: is this a Debian machine?")


def _deb822(text: str) -> list[AptSource]:
    sources = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        last = ""
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0].isspace() and last:
                fields[last] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            last = key.strip().lower()
            fields[last] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            sources.append(AptSource(uri, tuple(fields.get("suites", "").split()), tuple(fields.get("components", "").split())))
    return sources


def _one_line(text: str) -> list[AptSource]:
    sources = []
    for line in text.splitlines():
        text = line.split("#", 1)[0].strip()
        if not text.startswith("deb "):
            continue
        text = text[4:].strip()
        if text.startswith("["):  # options: [arch=amd64 signed-by=...], possibly several words
            text = text.partition("]")[2]
        words = text.split()
        if len(words) >= 2:
            sources.append(AptSource(words[0], (words[1],), tuple(words[2:])))
    return sources


def apt_sources(root: str = "/etc/apt") -> list[AptSource]:
    found: list[AptSource] = []
    for path in [os.path.join(root, "sources.list")] + sorted(glob.glob(os.path.join(root, "sources.list.d", "*"))):
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        if path.endswith(".sources"):
            found += _deb822(text)
        elif path.endswith(".list"):
            found += _one_line(text)
    return found


def debian_mirror(codename: str, root: str = "/etc/apt") -> str:
    """The URI of an enabled source that carries `codename` itself (not -security/-updates) main."""
    for source in apt_sources(root):
        if codename in source.suites and "main" in source.components:
            return source.uri
    raise LookupError(
        f"no apt source for {codename} main in {root}/sources.list(.d): "
        "pass the mirror with --mirror URL"
    )
