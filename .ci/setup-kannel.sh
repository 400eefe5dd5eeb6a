#!/usr/bin/env bash
# Install Debian's Kannel (bearerbox, smsbox) and kannel-extras (the fake SMSC) for
# tests/e2e/test_kannel.py. Idempotent; never leaves the system kannel service running:
# the test starts its own boxes on free loopback ports.
set -euo pipefail

if [ -x /usr/sbin/bearerbox ] && [ -x /usr/lib/kannel/test/fakesmsc ]; then
    echo "kannel and kannel-extras already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# The package lists are fetched only when apt does not know the packages yet.
if ! apt-cache show kannel-extras >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi

# policy-rc.d answering 101 stops maintainer scripts from starting the kannel service
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

$SUDO apt-get install -y -qq --no-install-recommends kannel kannel-extras

# Belt and braces: if a service manager started the system boxes anyway, stop them (only
# those: the init script finds them by their pid files, never by name).
if [ -e /var/run/kannel/kannel_bearerbox.pid ] && command -v invoke-rc.d >/dev/null 2>&1; then
    $SUDO invoke-rc.d kannel stop || true
fi

/usr/sbin/bearerbox --version 2>&1 | head -n 1 || true
test -x /usr/lib/kannel/test/fakesmsc
