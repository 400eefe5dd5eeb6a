"""Settings of the hostile-traffic defences: allow-lists, limits, hashing slots, tokens."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings

MINIMAL = {"GATEWAY_SECRET_KEY": "k" * 32}


def carrier(kind: str, **extra: str) -> dict[str, str]:
    env = {
        **MINIMAL,
        "GATEWAY_CARRIERS": "c",
        "CARRIER_C_KIND": kind,
        "CARRIER_C_SECRET": "token-0123456789abcdef",
        "CARRIER_C_MT_URL": "http://127.0.0.1:9/mt",
        "CARRIER_C_MT_USERNAME": "u",
        "CARRIER_C_MT_PASSWORD": "p",
    }
    return {**env, **{f"CARRIER_C_{k.upper()}": v for k, v in extra.items()}}


@pytest.mark.parametrize("kind", ["kannel", "jasmin", "vnmo"])
def test_url_token_kinds_refuse_to_start_without_an_allow_list(kind: str) -> None:
    with pytest.raises(ConfigError, match="CARRIER_C_ALLOW_IPS is required for kind"):
        load_settings(carrier(kind))


@pytest.mark.parametrize("kind", ["kannel", "jasmin", "vnmo"])
def test_any_is_an_explicit_choice_of_every_address(kind: str) -> None:
    settings = load_settings(carrier(kind, allow_ips="any"))

    networks = settings.carriers["c"].allow_ips
    assert ipaddress.ip_address("203.0.113.9") in networks[0]
    assert ipaddress.ip_address("2001:db8::1") in networks[1]


def test_a_signed_json_carrier_needs_no_allow_list() -> None:
    assert load_settings(carrier("json")).carriers["c"].allow_ips == ()


def test_limits_are_read_in_the_limits_syntax() -> None:
    settings = load_settings({**MINIMAL, "GATEWAY_RATELIMIT_LOGIN": "5/minute;20/hour"})

    assert [str(item) for item in settings.ratelimit_login] == [
        "5 per 1 minute",
        "20 per 1 hour",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_RATELIMIT_LOGIN", "ten a minute"),
        ("GATEWAY_RATELIMIT_STORAGE", "mongodb://x"),
        ("GATEWAY_HASH_WAIT", "-1"),
        ("GATEWAY_METRICS_TOKEN", "short"),
    ],
)
def test_malformed_values_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**MINIMAL, name: value})


def test_hash_concurrency_leaves_a_cpu_free_by_default() -> None:
    assert load_settings(MINIMAL).hash_concurrency >= 1
    assert load_settings({**MINIMAL, "GATEWAY_HASH_CONCURRENCY": "3"}).hash_concurrency == 3
