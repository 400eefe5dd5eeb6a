"""Settings of the email channel and the account lifecycle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings
from tests.conftest import base_environ


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(base_environ(tmp_path))

    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "localhost",
        587,
        "starttls",
    )
    assert settings.first_password_email_from == dt.date(2021, 10, 22)
    assert settings.otp_ttl == dt.timedelta(minutes=10)
    assert (settings.otp_max_failures, settings.otp_emails_per_account) == (5, 3)
    assert settings.app_credential is None
    assert settings.default_carrier is None


@pytest.mark.parametrize(("security", "port"), [("tls", 465), ("none", 25), ("STARTTLS", 587)])
def test_the_smtp_port_follows_the_security(tmp_path: Path, security: str, port: int) -> None:
    env = {**base_environ(tmp_path), "GATEWAY_SMTP_SECURITY": security}

    assert load_settings(env).smtp.port == port


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_SMTP_SECURITY", "ssl3"),
        ("GATEWAY_SMTP_USER", "only-the-user"),
        ("GATEWAY_SMTP_FROM", "no address here"),
        ("GATEWAY_DEFAULT_CARRIER", "vinaphone"),
        ("GATEWAY_APP_CREDENTIAL", "short"),
        ("GATEWAY_FIRST_PASSWORD_EMAIL_FROM", "22/10/2021"),
        ("GATEWAY_CAPTCHA_LENGTH", "20"),
        ("GATEWAY_CARRIERS", "email"),
        ("GATEWAY_SMTP_TIMEOUT", "90"),
    ],
)
def test_bad_values_stop_the_start_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {**base_environ(tmp_path), name: value}

    with pytest.raises(ConfigError, match="GATEWAY_"):
        load_settings(env)
