"""One app for the whole fuzz run, with a carrier of every kind, open to any caller."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from gateway.clock import FakeClock
from gateway.settings import load_settings
from tests.conftest import base_environ, make_app

TOKENS = {
    "kannel": "kannel-token-0123456789",
    "jasmin": "jasmin-token-0123456789",
    "vnmo": "vnmo-token-01234567890",
}
FINANCE_TOKEN = "finance-token-0123456789"


class Records(logging.Handler):
    """Keeps every log record, to look for tracebacks and errors."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def fuzz_environ(tmp_path: Path) -> dict[str, str]:
    env = base_environ(tmp_path)
    env["GATEWAY_CARRIERS"] += "," + ",".join(TOKENS)
    env["FINANCE_API_TOKEN"] = FINANCE_TOKEN
    env["GATEWAY_APP_CREDENTIAL"] = "app-credential-0123456789"
    env["GATEWAY_RATELIMIT_ENABLED"] = "false"  # the fuzzer is one client sending thousands
    for name, token in TOKENS.items():
        prefix = f"CARRIER_{name.upper()}_"
        env[prefix + "KIND"] = name
        env[prefix + "SECRET"] = token
        env[prefix + "MT_URL"] = f"http://127.0.0.1:9/{name}/mt"
        env[prefix + "ALLOW_IPS"] = "any"
        env[prefix + "MT_USERNAME"] = "gateway"
        env[prefix + "MT_PASSWORD"] = "mt-password"
    return env


@pytest.fixture(scope="module")
def fuzz_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, fuzz_clock: FakeClock) -> Iterator[Flask]:
    settings = load_settings(fuzz_environ(tmp_path_factory.mktemp("fuzz")))
    app = make_app(settings, fuzz_clock)
    yield app
    app.extensions["gateway"].engine.dispose()


@pytest.fixture(scope="module")
def log_records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)
