#!/usr/bin/env bash
# Sets up everything evolinstruct needs on a fresh Debian machine (run as root, or with sudo
# rights for the Docker part): the Python packages, the example plugin, Chromium for the browser
# tests, a Docker engine and the code sandbox image. Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Python packages (evolinstruct with its test tools and the ray extra, the example plugin and autoevol)"
# Two steps: pip 23 does not let a local path's dependency ("evolinstruct") be satisfied by an
# editable install given in the same command, and fails looking for it on the index.
python3 -m pip install --quiet --disable-pip-version-check -e ".[test,ray]"
python3 -m pip install --quiet --disable-pip-version-check ./examples/evol-haiku
python3 -m pip install --quiet --disable-pip-version-check ./plugins/autoevol  # Auto Evol-Instruct, a plugin of its own

echo "== Chromium (the report's browser tests drive Debian's chromium through playwright)"
if [ -x /usr/bin/chromium ]; then
    echo "chromium is already installed"
else
    # playwright's own browser download cannot be reached everywhere; Debian's package can.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if [ "${EVOL_SKIP_SANDBOX:-0}" = "1" ]; then
    echo "== skipping the Docker engine and the sandbox image (EVOL_SKIP_SANDBOX=1)"
    exit 0
fi

echo "== Docker engine"
bash scripts/install-docker.sh

echo "== sandbox image"
# The image ships a few npm packages, fetched with the host's npm when it is built.
if ! command -v npm >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm
fi
evol sandbox build
