#!/usr/bin/env bash
# ensure-debian-package.sh PACKAGE COMMAND...
# Install Debian's PACKAGE with apt-get when any of the COMMANDs is missing from PATH.
# `make test` uses it for prometheus (prometheus + promtool) and docker-compose, `make bench` for wrk.
# Needs root, or sudo.
set -euo pipefail

package=$1
shift
missing=0
for command in "$@"; do
    command -v "$command" >/dev/null 2>&1 || missing=1
done
[ "$missing" = 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-debian-package: $* missing and apt-get is not available;" >&2
    echo "install the '$package' package so that '$*' are on PATH" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# --no-install-recommends: prometheus without its exporters.
$SUDO apt-get install -y -q --no-install-recommends "$package"
# Debian's prometheus starts a system service on :9090 where systemd runs; the tests start
# their own server on a free port, so that service is neither needed nor touched.
for command in "$@"; do
    command -v "$command" >/dev/null
done
