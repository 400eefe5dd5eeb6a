"""Masking personal data before it reaches a log."""

import pytest

from parsers.masking import mask_id, mask_phone


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        pytest.param("84912345678", "8491****678", id="normalised"),
        pytest.param("+84912345678", "+849*****678", id="international"),
        pytest.param("0912345678", "09******78", id="national"),
        pytest.param("912345678", "91*****78", id="nine-digits"),
        pytest.param("12345", "1***5", id="short"),
        pytest.param("1234", "1**4", id="four-chars"),
        pytest.param("123", "***", id="three-chars"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_phone(phone: str, expected: str) -> None:
    assert mask_phone(phone) == expected


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        pytest.param("0123456789", "01******89", id="bhxh"),
        pytest.param("001203004567", "00********67", id="cccd"),
        pytest.param("01234567", "01****67", id="eight-digits"),
        pytest.param("0123456", "0*****6", id="seven-digits"),
        pytest.param("12", "**", id="two-chars"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_id(identifier: str, expected: str) -> None:
    assert mask_id(identifier) == expected


@pytest.mark.parametrize("length", range(4, 40))
def test_masks_keep_length_and_hide_most(length: int) -> None:
    value = "".join(str(i % 10) for i in range(length))
    for masked in (mask_phone(value), mask_id(value)):
        assert len(masked) == length
        assert masked != value
        assert masked.count("*") >= length // 2 - 1
