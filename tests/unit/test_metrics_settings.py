"""/metrics without a token stays on this machine: a bind beyond loopback needs the token."""

from __future__ import annotations

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings, loopback_bind

MINIMAL = {"GATEWAY_SECRET_KEY": "k" * 32}
TOKEN = "metrics-token-0123456789"

LOCAL = [
    "127.0.0.1:8000",
    "127.0.0.2:8000",
    "[::1]:8000",
    "localhost:8000",
    "LOCALHOST",
    "unix:/run/gw.sock",
]
BEYOND = ["0.0.0.0:8000", ":8000", "[::]:8000", "10.0.0.5:8000", "web1.example.vn:8000", "fd://3"]


@pytest.mark.parametrize("bind", LOCAL)
def test_a_loopback_bind_needs_no_token(bind: str) -> None:
    settings = load_settings({**MINIMAL, "GATEWAY_BIND": bind})

    assert loopback_bind(bind)
    assert settings.metrics_token is None


@pytest.mark.parametrize("bind", BEYOND)
def test_a_bind_beyond_loopback_without_a_token_stops_the_start(bind: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**MINIMAL, "GATEWAY_BIND": bind})

    assert not loopback_bind(bind)
    assert f"GATEWAY_BIND={bind} " in str(refused.value)
    assert "GATEWAY_METRICS_TOKEN" in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("bind", BEYOND)
def test_with_a_token_any_bind_will_do(bind: str) -> None:
    settings = load_settings({**MINIMAL, "GATEWAY_BIND": bind, "GATEWAY_METRICS_TOKEN": TOKEN})

    assert settings.metrics_token == TOKEN


def test_an_empty_token_counts_as_none() -> None:
    with pytest.raises(ConfigError, match="GATEWAY_METRICS_TOKEN"):
        load_settings({**MINIMAL, "GATEWAY_BIND": "0.0.0.0:8000", "GATEWAY_METRICS_TOKEN": " "})
