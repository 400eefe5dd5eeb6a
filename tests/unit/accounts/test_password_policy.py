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


# Issue 22: people here pick Vietnamese words and the service's own name, with digits added.
VIETNAMESE_COMMON = "a common Vietnamese password"
SERVICE_NAME = "this service's name"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("matkhau123", VIETNAMESE_COMMON),
        ("Matkhau123", VIETNAMESE_COMMON),
        ("matkhau@123", VIETNAMESE_COMMON),
        ("anhyeuem123", VIETNAMESE_COMMON),
        ("vietnam123", VIETNAMESE_COMMON),
        ("bhxh12345", SERVICE_NAME),
        ("vssid123", SERVICE_NAME),
        ("12341234", VIETNAMESE_COMMON),
        # The same with the accents, capitals, spaces and symbols people type:
        ("mậtkhẩu123", VIETNAMESE_COMMON),
        ("Mật khẩu 123", VIETNAMESE_COMMON),
        ("MẬTKHẨU@2024", VIETNAMESE_COMMON),
        ("anh yêu em 123", VIETNAMESE_COMMON),
        ("Anhyeuem!!", VIETNAMESE_COMMON),
        ("Việt Nam 123!", VIETNAMESE_COMMON),
        ("@vietnam2024", VIETNAMESE_COMMON),  # digits and symbols before the word too
        ("ｍａｔｋｈａｕ１２３", VIETNAMESE_COMMON),  # fullwidth, NFKC
        ("Bảo hiểm 123", SERVICE_NAME),
        ("baohiem@2024", SERVICE_NAME),
        ("BHXH@2024", SERVICE_NAME),
        ("VssID@123", SERVICE_NAME),
        ("bảo hiểm xã hội 1", SERVICE_NAME),
        ("Tuấnanh1990", VIETNAMESE_COMMON),  # a given name and a year
        ("đẹptrai123", VIETNAMESE_COMMON),  # đ is not a d with a mark: mapped by hand
        ("Abc@12345", VIETNAMESE_COMMON),  # what many offices set
    ],
)
def test_vietnamese_and_service_words_with_digits_are_refused(password: str, reason: str) -> None:
    with pytest.raises(InvalidPayload) as refused:
        check_new_password(password)

    assert refused.value.code == "weak_password"
    assert reason in refused.value.reason


@pytest.mark.parametrize(
    "password",
    [
        # One of these words among others is a passphrase, not the word with digits added.
        "tôi yêu Việt Nam lắm",
        "vietnam que huong toi 2024",
        "correct horse vietnam staple",
        "my vssid account is mine",
        "bhxh là bảo hiểm xã hội",
        "Hà Nội mùa thu 1986",
        "x7" * 4,  # letters left alone ("xxxx") are not a word of the list
        "mk9!q@2z#vietnamx",
    ],
)
def test_a_passphrase_with_one_such_word_among_others_is_welcome(password: str) -> None:
    check_new_password(password)


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("matkhau@123", "phổ biến ở Việt Nam"),
        ("vssid123", "tên dịch vụ"),
    ],
)
def test_the_portal_explains_both_refusals_in_vietnamese(password: str, expected: str) -> None:
    from gateway.portal.words import in_vietnamese

    with pytest.raises(InvalidPayload) as refused:
        check_new_password(password)

    assert expected in in_vietnamese(refused.value)
