"""Settings come from one mapping; a missing secret or a bad value names its variable."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings

MINIMAL = {"GATEWAY_SECRET_KEY": "k" * 32}


def test_defaults() -> None:
    settings = load_settings(MINIMAL)

    assert settings.shortcode == "8079"
    assert settings.charge_vnd == 1000
    assert settings.hotline == "1900 9068"
    assert settings.carriers == {}
    assert settings.temp_password_ttl == dt.timedelta(minutes=15)
    assert settings.mt_retry_horizon == dt.timedelta(hours=1)
    assert settings.signature_tolerance == dt.timedelta(seconds=300)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("instance/gateway.db")


@pytest.mark.parametrize(
    ("given", "woken", "poll"),
    [
        ({}, True, 2.0),  # woken: the poll is only the fallback
        ({"GATEWAY_WORKER_WAKEUP": "false"}, False, 0.5),  # polling alone: keep replies quick
        ({"GATEWAY_WORKER_WAKEUP": "false", "GATEWAY_WORKER_POLL_INTERVAL": "3"}, False, 3.0),
        ({"GATEWAY_WORKER_POLL_INTERVAL": "0.25"}, True, 0.25),
    ],
)
def test_the_worker_polls_often_only_when_nothing_wakes_it(
    given: dict[str, str], woken: bool, poll: float
) -> None:
    settings = load_settings({**MINIMAL, **given})

    assert (settings.worker_wakeup, settings.worker_poll_interval) == (woken, poll)


def test_carriers_are_read_per_name() -> None:
    settings = load_settings(
        {
            **MINIMAL,
            "GATEWAY_CARRIERS": " Viettel , mobifone",
            "CARRIER_VIETTEL_SECRET": "v" * 20,
            "CARRIER_VIETTEL_MT_URL": "https://sms.example.vn/mt",
            "CARRIER_MOBIFONE_SECRET": "m" * 20,
            "CARRIER_MOBIFONE_MT_URL": "http://10.0.0.1/mt",
            "CARRIER_MOBIFONE_TIMEOUT": "2.5",
        }
    )

    assert list(settings.carriers) == ["viettel", "mobifone"]
    assert settings.carriers["viettel"].mt_url == "https://sms.example.vn/mt"
    assert settings.carriers["mobifone"].timeout == 2.5


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "GATEWAY_SECRET_KEY is required"),
        ({"GATEWAY_SECRET_KEY": "short"}, "GATEWAY_SECRET_KEY must be at least 16"),
        ({**MINIMAL, "GATEWAY_CARRIERS": "viettel"}, "CARRIER_VIETTEL_SECRET is required"),
        (
            {**MINIMAL, "GATEWAY_CARRIERS": "viettel", "CARRIER_VIETTEL_SECRET": "s" * 20},
            "CARRIER_VIETTEL_MT_URL is required",
        ),
        (
            {
                **MINIMAL,
                "GATEWAY_CARRIERS": "viettel",
                "CARRIER_VIETTEL_SECRET": "s" * 20,
                "CARRIER_VIETTEL_MT_URL": "ftp://x",
            },
            "CARRIER_VIETTEL_MT_URL",
        ),
        ({**MINIMAL, "GATEWAY_CARRIERS": "vi ettel"}, "not a valid carrier name"),
        (
            {
                **MINIMAL,
                "GATEWAY_CARRIERS": "viettel",
                "CARRIER_VIETTEL_SECRET": "s" * 20,
                "CARRIER_VIETTEL_MT_URL": "http://x",
                "CARRIER_VIETTEL_TIMEOUT": "60",
            },
            "GATEWAY_WORKER_LEASE",
        ),
        ({**MINIMAL, "GATEWAY_CHARGE_VND": "1.5"}, "GATEWAY_CHARGE_VND"),
        ({**MINIMAL, "GATEWAY_CHARGE_VND": "-1"}, "GATEWAY_CHARGE_VND"),
        ({**MINIMAL, "GATEWAY_SHORTCODE": "80 79"}, "GATEWAY_SHORTCODE"),
        ({**MINIMAL, "GATEWAY_SMS_RESET_ENABLED": "maybe"}, "GATEWAY_SMS_RESET_ENABLED"),
        ({**MINIMAL, "GATEWAY_TEMP_PASSWORD_TTL": "one day"}, "GATEWAY_TEMP_PASSWORD_TTL"),
        (
            {**MINIMAL, "GATEWAY_ACCEPT_BHXH": "false", "GATEWAY_ACCEPT_PERSONAL_ID": "no"},
            "both false",
        ),
    ],
)
def test_bad_settings_name_the_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(environ)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("300", 300), ("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800)]
)
def test_durations(raw: str, seconds: int) -> None:
    settings = load_settings({**MINIMAL, "GATEWAY_RETENTION": raw})

    assert settings.retention.total_seconds() == seconds


@pytest.mark.parametrize("name", ["GATEWAY_TEMP_PASSWORD_TTL", "GATEWAY_FIRST_PASSWORD_TTL"])
@pytest.mark.parametrize("raw", ["0", "24h1s", "25h", "7d"])
def test_temporary_passwords_live_at_most_a_day(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**MINIMAL, name: raw})


def test_temporary_passwords_default_to_fifteen_minutes() -> None:
    assert load_settings(MINIMAL).temp_password_ttl == dt.timedelta(minutes=15)


@pytest.mark.parametrize(
    ("name", "raw"),
    [("GATEWAY_LOGIN_FAILURE_CAP", "101"), ("GATEWAY_MIN_PASSWORD_LENGTH", "7")],
)
def test_safety_limits_cannot_be_loosened_past_nist(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**MINIMAL, name: raw})
