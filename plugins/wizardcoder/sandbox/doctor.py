"""`evol sandbox doctor`: is everything in place, and if not, what to do about it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import docker.errors

from .engine import FIX_ENGINE, SandboxUnavailable, build_fix, connect, remove_orphans
from .image import image_state
from .job import Job
from .limits import DEFAULT_LIMITS, SUPERVISOR_MB, Limits
from .pool import SandboxPool
from .verdict import Verdict

# Runs inside the sandbox and reports what the job process really gets.
PROBE = r"""
import json, os, socket
facts = {"uid": os.getuid()}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("CapEff", "NoNewPrivs"):
        facts[key] = value.strip()
def first(*paths):
    for path in paths:
        try:
            return open(path).read().strip()
        except OSError:
            pass
facts["memory"] = first("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
facts["pids"] = first("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max")
facts["interfaces"] = sorted(os.listdir("/sys/class/net"))
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1).close()
    facts["network"] = "open"
except OSError:
    facts["network"] = "blocked"
try:
    open("/etc/evol-probe", "w").close()
    facts["rootfs"] = "writable"
except OSError:
    facts["rootfs"] = "read-only"
facts["env"] = sorted(os.environ)
print(json.dumps(facts))
"""
PROBE_MEMORY_MB = 128
# One small program per language, each with one test that holds: the toolchain compiles it, runs
# it, and the completion record comes back.
HELLO: dict[str, tuple[str, str]] = {
    "python": ("def f():\n    return 2", "assert f() == 2"),
    "javascript": ("function f() { return 2; }", "const assert = require('assert');\nassert.strictEqual(f(), 2);"),
    "typescript": ("function f(): number { return 2; }", "import * as assert from 'assert';\nassert.strictEqual(f(), 2);"),
    "c": ("#include <assert.h>\nint f(void) { return 2; }", "int main(void) { assert(f() == 2); return 0; }"),
    "cpp": ("#include <cassert>\nint f() { return 2; }", "int main() { assert(f() == 2); }"),
    "go": ("func f() int { return 2 }", "func main() {\n\tif f() != 2 {\n\t\tpanic(\"assertion failed\")\n\t}\n}"),
    "rust": ("fn f() -> i32 { 2 }", "fn main() { assert_eq!(f(), 2); }"),
    "java": ("class Solution { static int f() { return 2; } }",
             "public class Main { public static void main(String[] args) { assert Solution.f() == 2; } }"),
    "bash": ("f() { echo 2; }", '[ "$(f)" = 2 ] || exit 1'),
    "sql": ("SELECT 2 AS two;", "SELECT two = 2 FROM result;"),
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _limit_problems(facts: dict, limits: Limits) -> list[str]:
    problems = []
    if facts.get("uid") == 0:
        problems.append("the job runs as root")
    if facts.get("CapEff", "").strip("0"):
        problems.append(f"the job keeps capabilities (CapEff {facts.get('CapEff')})")
    if facts.get("NoNewPrivs") != "1":
        problems.append("no-new-privileges is not set")
    expected = (PROBE_MEMORY_MB + SUPERVISOR_MB) * 1024 * 1024
    if str(facts.get("memory")) != str(expected):
        problems.append(f"memory limit is {facts.get('memory')}, expected {expected}")
    if str(facts.get("pids")) != str(limits.pids):
        problems.append(f"pids limit is {facts.get('pids')}, expected {limits.pids}")
    if facts.get("network") != "blocked" or set(facts.get("interfaces", [])) - {"lo"}:
        problems.append(f"the job has a network (interfaces {facts.get('interfaces')})")
    if facts.get("rootfs") != "read-only":
        problems.append("the root filesystem is writable")
    leaked = [name for name in facts.get("env", []) if "KEY" in name or "TOKEN" in name or "SECRET" in name]
    if leaked:
        problems.append(f"secrets-like variables reach the job: {leaked}")
    return problems


def _host_config_problems(client: docker.DockerClient, container_id: str) -> list[str]:
    config = client.api.inspect_container(container_id)["HostConfig"]
    problems = []
    if config.get("NetworkMode") != "none":
        problems.append(f"network mode {config.get('NetworkMode')}")
    if not config.get("ReadonlyRootfs"):
        problems.append("root filesystem not read-only")
    if "ALL" not in (config.get("CapDrop") or []):
        problems.append("capabilities not dropped")
    if config.get("Memory") != config.get("MemorySwap"):
        problems.append("memory+swap differs from memory")
    if any(bind for bind in config.get("Binds") or []) or "docker.sock" in json.dumps(config.get("Mounts") or []):
        problems.append("host paths are mounted")
    if config.get("Privileged"):
        problems.append("privileged")
    return problems


def _job_checks(client: docker.DockerClient, image: str, limits: Limits) -> Iterator[Check]:
    with SandboxPool(1, image, limits=limits, memory_mb=PROBE_MEMORY_MB, retries=0) as pool:
        problems = []
        for container_id in pool.container_ids():
            problems += _host_config_problems(client, container_id)
        probe = pool.run(Job("doctor-probe", PROBE, timeout_s=10, memory_mb=PROBE_MEMORY_MB))
        if probe.verdict is not Verdict.UNTESTED:
            yield Check("job", False, f"a trivial job ended {probe.verdict.value}: {probe.message} {probe.stderr[-300:]}",
                        f"rebuild the image: {build_fix(image)} --force")
            return
        yield Check("job", True, f"a trivial job passed in {probe.duration_s * 1000:.0f} ms")
        problems += _limit_problems(json.loads(probe.stdout.strip().splitlines()[-1]), limits)
        if problems:
            yield Check("limits", False, "; ".join(problems),
                        "use a Docker engine with cgroup memory and pids control (see /var/log/dockerd.log)")
        else:
            yield Check("limits", True, "non-root, no capabilities, no-new-privileges, no network, "
                        "read-only root, memory+swap and pids limits applied")
        spin = pool.run(Job("doctor-timeout", "while True: pass", timeout_s=1, memory_mb=PROBE_MEMORY_MB))
        if spin.verdict is Verdict.TIMEOUT:
            yield Check("timeout", True, "an endless loop was stopped at its 1 s limit")
        else:
            yield Check("timeout", False, f"an endless loop ended {spin.verdict.value}", f"rebuild the image: {build_fix(image)} --force")
        bomb = pool.run(Job("doctor-memory", "x = bytearray(1 << 30)", timeout_s=10, memory_mb=PROBE_MEMORY_MB))
        if bomb.verdict is Verdict.MEMORY_LIMIT:
            yield Check("memory", True, "a 1 GiB allocation was refused (MEMORY_LIMIT)")
        else:
            yield Check("memory", False, f"a 1 GiB allocation ended {bomb.verdict.value}",
                        "use a Docker engine with cgroup memory control")
    yield _language_check(image, limits)


def _language_check(image: str, limits: Limits) -> Check:
    with SandboxPool(1, image, limits=limits, retries=0) as pool:
        broken, slowest = [], ("", 0.0)
        for language, (code, tests) in HELLO.items():
            result = pool.run(Job(f"doctor-{language}", code, tests, timeout_s=30, language=language))
            if result.verdict is not Verdict.PASS:
                broken.append(f"{language}: {result.verdict.value} {result.message[:200]}")
            elif result.duration_s > slowest[1]:
                slowest = (language, result.duration_s)
    if broken:
        return Check("languages", False, "; ".join(broken), f"rebuild the image: {build_fix(image)} --force")
    return Check("languages", True, f"{len(HELLO)} languages compiled, ran and passed a test "
                 f"(slowest: {slowest[0]}, {slowest[1]:.1f}s)")


def run_checks(image: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[Check]:
    try:
        client = connect(timeout_s=10)
    except SandboxUnavailable as error:
        yield Check("engine", False, str(error).split(". Fix:")[0], FIX_ENGINE)
        return
    version = client.version().get("Version", "?")
    yield Check("engine", True, f"Docker {version} answers")
    try:
        removed = remove_orphans(client)
        if removed:
            yield Check("leftovers", True, f"removed {removed} sandbox container(s) left by killed runs")
    except docker.errors.DockerException as error:
        yield Check("leftovers", False, f"cannot list sandbox containers: {error}", FIX_ENGINE)
    state = image_state(client, image)
    if state == "missing":
        yield Check("image", False, f"{image} is not built", build_fix(image))
        return
    if state == "stale":
        yield Check("image", False, f"{image} was built from another version of the harness", build_fix(image))
        return
    built = client.images.get(image).labels.get("evolinstruct.sandbox.build", "?")
    yield Check("image", True, f"{image} is current ({built} build)")
    try:
        yield from _job_checks(client, image, limits)
    except SandboxUnavailable as error:
        yield Check("job", False, str(error), f"read /var/log/dockerd.log; then: {build_fix(image)} --force")
