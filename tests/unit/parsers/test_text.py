"""Folding user text and unaccenting reply texts."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.text import fold, unaccent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("BH MK 0123456789", "BH MK 0123456789", id="ascii-unchanged"),
        pytest.param("Soạn tin gửi", "Soan tin gui", id="vietnamese-tones"),
        pytest.param("Đặng đình Ưng", "Dang dinh Ung", id="d-with-stroke"),
        pytest.param("ĐƯỜNG", "DUONG", id="upper-case-kept"),
        pytest.param("Mã số BHXH", "Ma so BHXH", id="placeholder"),
        pytest.param("ＢＨ　ＭＫ　０１２３", "BH MK 0123", id="full-width"),
        pytest.param("ｇｕｉ", "gui", id="full-width-lower"),
        pytest.param("So\u0323a\u0300n", "Soan", id="decomposed-input"),
        pytest.param("B\u200bH\u200c \u200dM\u2060K\ufeff", "BH MK", id="zero-width"),
        pytest.param("01234\u00ad56789", "0123456789", id="soft-hyphen"),
        pytest.param("\u202bBH MK\u202c", "BH MK", id="bidi-embedding"),
        pytest.param("BH\u00a0MK", "BH MK", id="no-break-space"),
        pytest.param("ﬁ ①", "fi 1", id="compatibility-forms"),
        pytest.param("ðÐ", "dD", id="windows-1258-mojibake-d"),
        pytest.param("", "", id="empty"),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Cấp lại mật khẩu thành công", "Cap lai mat khau thanh cong", id="success-reply"
        ),
        pytest.param(
            "Số điện thoại và mã số BHXH không khớp",
            "So dien thoai va ma so BHXH khong khop",
            id="mismatch-reply",
        ),
        pytest.param("ĐĂNG KÝ", "DANG KY", id="upper-case-kept"),
        pytest.param("Tổng đài 1900 9068.", "Tong dai 1900 9068.", id="digits-punctuation-kept"),
        pytest.param("ＡＢ", "ＡＢ", id="full-width-kept"),
        pytest.param("a\u200bb", "a\u200bb", id="invisible-kept"),
    ],
)
def test_unaccent(text: str, expected: str) -> None:
    assert unaccent(text) == expected


def test_every_vietnamese_letter_unaccents_to_ascii() -> None:
    letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
    for letter in letters + letters.upper():
        assert unaccent(letter).isascii(), letter
        assert fold(letter).isascii(), letter


@settings(database=None)
@given(st.text())
def test_fold_never_raises_and_leaves_no_marks(text: str) -> None:
    folded = fold(text)
    assert isinstance(folded, str)
    assert "\u200b" not in folded and "\ufeff" not in folded
    assert not any(unicodedata.category(ch) == "Mn" for ch in folded)


@settings(database=None)
@given(st.text())
def test_unaccent_is_idempotent(text: str) -> None:
    once = unaccent(text)
    assert unaccent(once) == once


def test_lone_surrogates_pass_through() -> None:
    assert fold("a\ud800b") == "a\ud800b"
    assert unaccent("á\udfff") == "a\udfff"
