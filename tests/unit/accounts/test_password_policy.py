"""The password policy the API and the staff console share (NIST SP 800-63B, ASVS 5.0 §6.2)."""

from __future__ import annotations

import pytest

from gateway.accounts.policy import MAX_LENGTH, check_new_password, normalise_password
from gateway.errors import InvalidPayload


@pytest.mark.parametrize(
    "password",
    [
        "x7" * 4,  # exactly 8
        "a" * 63 + "b",  # 64: ASVS wants at least this much allowed
        "q" * 127 + "z",  # the longest
        "mật khẩu của tôi",
        "correct horse battery staple",
        "🔑 emoji count too 🔑",
        "short1 but spaced",
    ],
)
def test_long_or_unusual_passwords_are_welcome(password: str) -> None:
    check_new_password(password)


@pytest.mark.parametrize(
    ("password", "identifiers", "reason"),
    [
        ("seven77", (), "too short: use at least 8 characters"),
        ("z" * 128 + "y", (), "too long: use at most 128 characters"),
        ("qwertyuiop", (), "one of the most common passwords"),
        ("PASSWORD1", (), "one of the most common passwords"),
        ("pass word", (), "one of the most common passwords"),
        ("１２３４５６７８", (), "one of the most common passwords"),  # fullwidth digits, NFKC
        ("zzzzzzzzzz", (), "repeats one character"),
        ("my number 0123456789", ("0123456789",), "contains your account number"),
        ("Nguyen.Van.A forever", ("nguyen.van.a",), "contains your account number"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(
    password: str, identifiers: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_new_password(password, identifiers=identifiers)

    assert refused.value.code == "weak_password"
    assert reason in refused.value.reason


def test_the_minimum_is_a_setting() -> None:
    check_new_password("eight ch", min_length=8)
    with pytest.raises(InvalidPayload, match="at least 12"):
        check_new_password("eight ch", min_length=12)


def test_short_identifiers_do_not_refuse_everything() -> None:
    check_new_password("a good long passphrase", identifiers=("a", "go", ""))


def test_length_counts_characters_of_the_nfkc_form_and_nothing_is_truncated() -> None:
    ligature = "\ufb01" * 4  # "ﬁ" becomes "fi": 4 characters typed, 8 after NFKC
    assert normalise_password(ligature) == "fi" * 4
    check_new_password(ligature + "x")
    assert MAX_LENGTH >= 64
