"""Passwords sent by SMS: easy to read off a screen, one septet per character."""

import pytest

from parsers.gsm7 import GSM7_EXTENSION, septets
from parsers.password import SMS_PASSWORD_ALPHABET, generate_sms_password


def test_alphabet_has_no_look_alikes() -> None:
    assert not set("0O1IL") & set(SMS_PASSWORD_ALPHABET)


def test_alphabet_is_upper_case_letters_and_digits() -> None:
    assert all(ch.isascii() and (ch.isupper() or ch.isdigit()) for ch in SMS_PASSWORD_ALPHABET)
    assert len(set(SMS_PASSWORD_ALPHABET)) == len(SMS_PASSWORD_ALPHABET) == 31


def test_alphabet_is_gsm7_without_extension_characters() -> None:
    assert septets(SMS_PASSWORD_ALPHABET) == len(SMS_PASSWORD_ALPHABET)
    assert not set(GSM7_EXTENSION) & set(SMS_PASSWORD_ALPHABET)


@pytest.mark.parametrize("length", [2, 3, 8, 10, 16, 64])
def test_password_length_alphabet_and_mix(length: int) -> None:
    for _ in range(50):
        password = generate_sms_password(length)
        assert len(password) == length
        assert set(password) <= set(SMS_PASSWORD_ALPHABET)
        assert any(ch.isalpha() for ch in password)
        assert any(ch.isdigit() for ch in password)


def test_default_length_is_ten() -> None:
    assert len(generate_sms_password()) == 10


@pytest.mark.parametrize("length", [-1, 0, 1])
def test_too_short_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        generate_sms_password(length)


def test_thousand_draws_are_distinct() -> None:
    passwords = {generate_sms_password() for _ in range(1000)}
    assert len(passwords) == 1000


def test_every_character_is_used() -> None:
    drawn = "".join(generate_sms_password(20) for _ in range(200))
    assert set(drawn) == set(SMS_PASSWORD_ALPHABET)
