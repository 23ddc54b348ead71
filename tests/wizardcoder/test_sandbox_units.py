"""Pieces of the sandbox that need no engine: apt sources, framing, output capture, job lines."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path

import pytest

from wizardcoder.sandbox import Verdict
from wizardcoder.sandbox.apt_sources import apt_sources, debian_mirror, os_codename
from wizardcoder.sandbox.image import harness_hash
from wizardcoder.sandbox.jsonl_jobs import Defaults, parse_job
from wizardcoder.sandbox.job import Job, Result
from wizardcoder.sandbox.limits import Limits
from wizardcoder.sandbox.protocol import Channel, ChannelClosed, ChannelTimeout, encode
from wizardcoder.sandbox.supervisor import Capture, Inbox

DEB822 = """\
Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://off.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
# a comment
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main contrib
"""


def test_the_mirror_comes_from_the_machines_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert debian_mirror("bookworm", str(tmp_path)) == "http://mirror.example/debian"


def test_the_mirror_comes_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian trixie main non-free\n"
    )
    assert [s.uri for s in apt_sources(str(tmp_path))] == ["http://one.example/debian"]
    assert debian_mirror("trixie", str(tmp_path)) == "http://one.example/debian"
    with pytest.raises(LookupError, match="--mirror"):
        debian_mirror("bookworm", str(tmp_path))


def test_the_suite_is_the_os_codename(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nVERSION_CODENAME=bookworm\n')
    assert os_codename(str(release)) == "bookworm"
    release.write_text("NAME=Other\n")
    with pytest.raises(LookupError):
        os_codename(str(release))


def _engine_frames(payload: bytes, cut: int) -> list[bytes]:
    """The engine's stdout framing, split into two frames at `cut`."""
    parts = [payload[:cut], payload[cut:]]
    return [struct.pack(">BxxxI", 1, len(p)) + p for p in parts if p]


def test_the_channel_reassembles_messages_split_across_engine_frames() -> None:
    host, container = socket.socketpair()
    channel = Channel(host)
    data = encode({"op": "job", "token": "t1"}) + encode({"op": "job", "token": "t2"})
    for frame in _engine_frames(data, 7):
        # one stderr frame in between, which the channel must ignore
        container.sendall(frame + struct.pack(">BxxxI", 2, 3) + b"err")
    deadline = time.monotonic() + 2
    assert channel.receive(deadline)["token"] == "t1"
    assert channel.receive(deadline)["token"] == "t2"
    with pytest.raises(ChannelTimeout):
        channel.receive(time.monotonic() + 0.05)
    container.close()
    with pytest.raises(ChannelClosed):
        channel.receive(time.monotonic() + 1)


def test_the_supervisor_inbox_reads_frames_and_notices_end_of_file() -> None:
    ours, theirs = socket.socketpair()
    ours.sendall(encode({"n": 1})[:3])
    inbox = Inbox(theirs.fileno())
    assert inbox.fill() and inbox.message() is None
    ours.sendall(encode({"n": 1})[3:] + encode({"n": 2}))
    assert inbox.receive() == {"n": 1}
    assert inbox.receive() == {"n": 2}
    ours.close()
    assert inbox.receive() is None


def test_capture_keeps_head_and_tail_and_counts_everything() -> None:
    capture = Capture(keep=4)
    for chunk in (b"abc", b"defgh", b"ijklmnop"):
        capture.add(chunk)
    assert capture.total == 16
    assert capture.text() == "abcd\n...[8 bytes truncated]...\nmnop"
    short = Capture(keep=4)
    short.add(b"abcdef")
    assert short.text() == "abcdef"


def test_job_lines_are_parsed_or_rejected_with_the_line_number() -> None:
    defaults = Defaults(timeout_s=3, memory_mb=128)
    job = parse_job(json.dumps({"id": 5, "code": "pass", "tests": ["assert 1"]}), 1, defaults)
    assert job == Job("5", "pass", ["assert 1"], 3.0, 128)
    for line, expected in [
        ("[1, 2]", "line 9: expected a JSON object"),
        ('{"id": true, "code": ""}', 'line 9: missing or invalid "id"'),
        ('{"id": "a", "code": 3}', 'line 9: missing or invalid "code"'),
        ('{"id": "a", "code": "", "tests": 3}', "line 9: job a: tests must be"),
        ('{"id": "a", "code": "", "memory_mb": "lots"}', "line 9:"),
    ]:
        result = parse_job(line, 9, defaults)
        assert isinstance(result, Result) and result.verdict is Verdict.SANDBOX_ERROR
        assert result.message.startswith(expected), result.message


def test_containers_get_no_host_path_no_network_and_no_environment() -> None:
    settings = Limits().container_settings(256)
    assert settings["environment"] == {}
    assert settings["network_mode"] == "none"
    assert settings["cap_drop"] == ["ALL"] and settings["security_opt"] == ["no-new-privileges"]
    assert settings["read_only"] is True and settings["mem_limit"] == settings["memswap_limit"]
    assert not {"volumes", "mounts", "devices", "privileged_mode"} & set(settings)
    assert settings["privileged"] is False


def test_the_harness_hash_is_stable() -> None:
    assert harness_hash() == harness_hash() and len(harness_hash()) == 16
