#!/usr/bin/env bash
# Install Debian's Chromium and its WebDriver for tests/e2e/test_console_browser.py.
# Idempotent; the test starts its own headless browser with a fresh profile.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    echo "chromium and chromium-driver already installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

if ! apt-cache show chromium-driver >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver
chromium --version
