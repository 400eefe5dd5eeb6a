"""The captcha side channel of the browser tests can never be switched on for real people."""

from __future__ import annotations

import pytest

from gateway.email.captcha import answer_for_tests
from gateway.errors import ConfigError
from gateway.settings import load_settings

TEST_RUN = {
    "GATEWAY_SECRET_KEY": "k" * 32,
    "GATEWAY_TEST_CAPTCHA_ANSWERS": "true",
    "GATEWAY_PORTAL_SECURE_COOKIES": "false",
    "GATEWAY_PUBLIC_URL": "http://127.0.0.1:8123",
}


def test_it_is_off_by_default() -> None:
    settings = load_settings({"GATEWAY_SECRET_KEY": "k" * 32})

    assert settings.test_captcha_answers is False
    assert settings.portal_secure_cookies is True
    with pytest.raises(RuntimeError):
        answer_for_tests(settings, "0" * 32)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8123", "http://localhost:8000", "http://[::1]:80"]
)
def test_a_loopback_test_run_may_switch_it_on(url: str) -> None:
    settings = load_settings({**TEST_RUN, "GATEWAY_PUBLIC_URL": url})

    assert settings.test_captcha_answers is True
    assert len(answer_for_tests(settings, "ab" * 16)) == settings.captcha_length


@pytest.mark.parametrize(
    "change",
    [
        {"GATEWAY_PUBLIC_URL": "https://dichvucong.baohiemxahoi.gov.vn"},
        {"GATEWAY_PUBLIC_URL": "http://10.0.0.5:8000"},
        {"GATEWAY_PUBLIC_URL": "http://127.0.0.1.attacker.example:8000"},
        {"GATEWAY_PUBLIC_URL": "http://localhost.attacker.example"},
        {"GATEWAY_PORTAL_SECURE_COOKIES": "true"},
    ],
    ids=["public", "private-network", "loopback-lookalike", "localhost-lookalike", "https-cookies"],
)
def test_anything_but_a_loopback_test_run_refuses_it_at_start(change: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_TEST_CAPTCHA_ANSWERS is for tests only"):
        load_settings({**TEST_RUN, **change})


def test_the_answer_depends_on_the_secret_key() -> None:
    ours = load_settings(TEST_RUN)
    theirs = load_settings({**TEST_RUN, "GATEWAY_SECRET_KEY": "m" * 32})

    answers = {answer_for_tests(s, f"{n:032x}") for s in (ours, theirs) for n in range(4)}
    assert len(answers) == 8
