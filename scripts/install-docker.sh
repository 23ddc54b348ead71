#!/usr/bin/env bash
# Install and start a Docker engine for the code sandbox on a Debian machine, as root.
#
# Idempotent: packages already present are not reinstalled, a running engine is left alone, so
# CI and developers can run it before every test run. There is no systemd on our machines, hence
# dockerd is started by hand in the background (log: /var/log/dockerd.log).
#
#   bash scripts/install-docker.sh            # install what is missing, start the engine, wait
#   DOCKER_WAIT_S=120 bash scripts/install-docker.sh
set -euo pipefail

WAIT_S="${DOCKER_WAIT_S:-60}"
LOG=/var/log/dockerd.log
# docker.io brings dockerd, containerd and runc; debootstrap is the offline image path of
# `evol sandbox build`; iptables is needed by dockerd's bridge network (used only when building
# from a Dockerfile; sandbox jobs themselves run with no network at all).
PACKAGES=(docker.io debootstrap iptables ca-certificates xz-utils)

say() { printf 'install-docker: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts dockerd)"

missing=()
for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists only when apt does not know a candidate for some package: an
    # update costs time and network, and a fresh image may have empty lists.
    for pkg in "${missing[@]}"; do
        # Captured first: with pipefail, `grep -q` closing the pipe early would read as failure.
        policy_out="$(apt-cache policy "$pkg" 2>/dev/null || true)"
        if ! grep -q 'Candidate: [^(]' <<<"$policy_out"; then
            say "apt-get update (no candidate for $pkg)"
            apt-get update -qq
            break
        fi
    done
    say "installing: ${missing[*]}"
    # A policy-rc.d that forbids starting services: without systemd, the package's init script
    # would try to start the daemon during the install and fail the whole transaction.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created_policy=1
    fi
    trap '[ "$created_policy" -eq 1 ] && rm -f "$policy"' EXIT
    apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
else
    say "packages already installed"
fi

command -v dockerd >/dev/null || die "dockerd not found after installing docker.io"

if engine_answers; then
    say "engine already running"
    exit 0
fi

# A stale pid file of a killed dockerd makes the next one refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
fi

if ! pgrep -x dockerd >/dev/null; then
    # iptables-legacy works on kernels without nf_tables, iptables-nft on those without the
    # legacy tables; pick the one that can list the nat table here.
    if command -v update-alternatives >/dev/null && command -v iptables-legacy >/dev/null; then
        if ! iptables -t nat -L >/dev/null 2>&1 && iptables-legacy -t nat -L >/dev/null 2>&1; then
            update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
        fi
    fi
    extra=()
    # Without a usable nat table, dockerd refuses to start with its default bridge; the sandbox
    # does not need one (jobs run with network none), so start without iptables management.
    if ! iptables -t nat -L >/dev/null 2>&1; then
        say "iptables nat table unavailable: starting dockerd with --iptables=false"
        extra+=(--iptables=false)
    fi
    say "starting dockerd (log: $LOG)"
    nohup dockerd "${extra[@]}" >>"$LOG" 2>&1 </dev/null &
    disown || true
else
    say "dockerd is running but not answering yet; waiting"
fi

deadline=$((SECONDS + WAIT_S))
until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "the engine did not answer within ${WAIT_S}s; last lines of $LOG:"
        tail -n 20 "$LOG" >&2 || true
        die "docker info still fails (raise DOCKER_WAIT_S or read $LOG)"
    fi
    sleep 1
done
say "engine ready: $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)"
