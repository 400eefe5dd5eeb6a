"""Masking personal data before it reaches a log."""

from collections.abc import Callable

import pytest

from parsers.masking import mask_id, mask_phone


@pytest.mark.parametrize(
    ("mask", "value", "expected"),
    [
        pytest.param(mask_phone, "84912345678", "8491****678", id="phone-normalised"),
        pytest.param(mask_phone, "+84912345678", "+849*****678", id="phone-international"),
        pytest.param(mask_phone, "0912345678", "09******78", id="phone-national"),
        pytest.param(mask_phone, "912345678", "91*****78", id="phone-nine-digits"),
        pytest.param(mask_phone, "12345", "1***5", id="phone-short"),
        pytest.param(mask_phone, "1234", "1**4", id="phone-four-chars"),
        pytest.param(mask_phone, "123", "***", id="phone-three-chars"),
        pytest.param(mask_phone, "", "", id="phone-empty"),
        pytest.param(mask_id, "0123456789", "01******89", id="id-bhxh"),
        pytest.param(mask_id, "001203004567", "00********67", id="id-cccd"),
        pytest.param(mask_id, "01234567", "01****67", id="id-eight-digits"),
        pytest.param(mask_id, "0123456", "0*****6", id="id-seven-digits"),
        pytest.param(mask_id, "12", "**", id="id-two-chars"),
        pytest.param(mask_id, "", "", id="id-empty"),
    ],
)
def test_masks(mask: Callable[[str], str], value: str, expected: str) -> None:
    assert mask(value) == expected


@pytest.mark.parametrize("length", range(4, 40))
def test_masks_keep_length_and_hide_most(length: int) -> None:
    value = "".join(str(i % 10) for i in range(length))
    for masked in (mask_phone(value), mask_id(value)):
        assert len(masked) == length
        assert masked != value
        assert masked.count("*") >= length // 2 - 1
