#!/usr/bin/env bash
# Install Debian's prometheus package (prometheus + promtool) when either is missing.
# Used by `make test` so the Prometheus tests run on a fresh machine. Needs root (or sudo).
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-prometheus: prometheus/promtool missing and apt-get is not available;" >&2
    echo "install Prometheus 2.x so that 'prometheus' and 'promtool' are on PATH" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# --no-install-recommends: only the server and promtool, not the exporters.
$SUDO apt-get install -y -q --no-install-recommends prometheus
# The package starts a system service on :9090 where systemd runs; the tests start their own
# server on a free port, so that service is neither needed nor touched.
command -v prometheus >/dev/null && command -v promtool >/dev/null
