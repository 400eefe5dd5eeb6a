#!/usr/bin/env bash
# Install what tests/e2e/test_jasmin.py runs: Debian's rabbitmq-server and redis-server, and
# Jasmin from PyPI at a pinned version in its own virtual environment (it pins Twisted, requests
# and cryptography of its own), with its source distribution beside it for the SMSC simulator
# that ships in Jasmin's tests. Idempotent; starts nothing: the test starts its own RabbitMQ,
# Redis, Jasmin and simulator on free loopback ports and stops them.
#
#   JASMIN_HOME   where the venv and the source go (default .ci/jasmin, git-ignored)
#   JASMIN_VERSION  the version to install (default 0.11.0: 0.11.1 never posts DLRs,
#                 jookies/jasmin#1236; see docs/jasmin.md)
set -euo pipefail
cd "$(dirname "$0")/.."

JASMIN_VERSION="${JASMIN_VERSION:-0.11.0}"
JASMIN_HOME="${JASMIN_HOME:-$PWD/.ci/jasmin}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

if ! { [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && [ -x /usr/bin/redis-server ]; }; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show rabbitmq-server >/dev/null 2>&1; then
        $SUDO apt-get update -qq
    fi
    # policy-rc.d answering 101 stops maintainer scripts from starting the system services
    # (Debian Policy 9.3.3.1); an existing policy file is left alone.
    POLICY=/usr/sbin/policy-rc.d
    ADDED_POLICY=""
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
        $SUDO chmod +x "$POLICY"
        ADDED_POLICY=1
    fi
    cleanup() {
        if [ -n "$ADDED_POLICY" ]; then
            $SUDO rm -f "$POLICY"
        fi
    }
    trap cleanup EXIT
    $SUDO apt-get install -y -qq --no-install-recommends rabbitmq-server redis-server
fi

VENV="$JASMIN_HOME/venv"
SOURCE="$JASMIN_HOME/jasmin-$JASMIN_VERSION"
if [ ! -x "$VENV/bin/jasmind.py" ] || ! "$VENV/bin/pip" show jasmin 2>/dev/null \
        | grep -qx "Version: $JASMIN_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "jasmin==$JASMIN_VERSION"
fi
if [ ! -f "$SOURCE/tests/protocols/smpp/smsc_simulator.py" ]; then
    DOWNLOAD="$(mktemp -d)"
    "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
        --no-binary :all: -d "$DOWNLOAD" "jasmin==$JASMIN_VERSION"
    tar -xzf "$DOWNLOAD/jasmin-$JASMIN_VERSION.tar.gz" -C "$JASMIN_HOME"
    rm -rf "$DOWNLOAD"
fi

"$VENV/bin/python" -c "import jasmin; print('jasmin', jasmin.get_release())" 2>/dev/null \
    || "$VENV/bin/pip" show jasmin | grep ^Version
test -f "$SOURCE/misc/config/resource/amqp0-9-1.xml"
