"""GSM-7 septet and SMS segment counts."""

import pytest

from parsers.gsm7 import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, segments, septets
from parsers.text import unaccent


def test_tables_have_the_standard_sizes() -> None:
    assert len(GSM7_BASIC) == 128
    assert len(set(GSM7_BASIC)) == 128
    assert GSM7_BASIC[0x00] == "@"
    assert GSM7_BASIC[0x02] == "$"
    assert GSM7_BASIC[0x09] == "Ç"
    assert GSM7_BASIC[0x10] == "Δ"
    assert GSM7_BASIC[0x24] == "¤"
    assert GSM7_BASIC[0x40] == "¡"
    assert GSM7_BASIC[0x60] == "¿"
    assert GSM7_BASIC[0x7F] == "à"
    assert sorted(GSM7_EXTENSION) == sorted("\f^{}\\[~]|€")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("BH MK 0123456789", 16, id="plain"),
        pytest.param("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", 42, id="basic-non-ascii"),
        pytest.param("line\nreturn\r", 12, id="newline-and-carriage-return"),
        pytest.param("{}", 4, id="braces"),
        pytest.param("[x]", 5, id="brackets"),
        pytest.param("~\\^|€", 10, id="other-extension"),
        pytest.param("\f", 2, id="form-feed"),
        pytest.param("1.000 VND", 9, id="tariff"),
        pytest.param("Cấp", None, id="vietnamese-accent"),
        pytest.param("đ", None, id="d-with-stroke"),
        pytest.param("ç", None, id="lower-c-cedilla"),
        pytest.param("`", None, id="backtick"),
        pytest.param("\x1b", None, id="bare-escape"),
        pytest.param("\t", None, id="tab"),
        pytest.param("😀", None, id="emoji"),
    ],
)
def test_septets(text: str, expected: int | None) -> None:
    assert septets(text) == expected
    assert is_gsm7(text) is (expected is not None)


@pytest.mark.parametrize(
    ("unit", "single", "per_part"),
    [pytest.param("a", 160, 153, id="gsm"), pytest.param("ấ", 70, 67, id="ucs2")],
)
def test_one_part_holds_single_and_a_longer_text_per_part_in_each(
    unit: str, single: int, per_part: int
) -> None:
    """A concatenated part loses room to its header (3GPP TS 23.040): 160/153, 70/67."""
    assert segments(unit * single) == 1
    assert segments(unit * (single + 1)) == 2
    assert segments(unit * 2 * per_part) == 2
    assert segments(unit * (2 * per_part + 1)) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 1, id="empty"),
        pytest.param("{" * 80, 1, id="gsm-80-extension-is-160-septets"),
        pytest.param("{" * 80 + "a", 2, id="gsm-extension-161-septets"),
        pytest.param("a" * 152 + "{" + "a" * 152, 3, id="escape-not-split-across-parts"),
        pytest.param("😀" * 35, 1, id="ucs2-surrogate-pairs-70-units"),
        pytest.param("😀" * 35 + "a", 2, id="ucs2-surrogate-pairs-71-units"),
        pytest.param("a" * 66 + "😀" + "đ" * 66, 3, id="surrogate-pair-not-split"),
        pytest.param("a" * 159 + "đ", 3, id="one-accent-forces-ucs2"),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_unaccented_reply_fits_one_gsm7_segment() -> None:
    reply = unaccent(
        "Số điện thoại và mã số BHXH không khớp hoặc chưa đăng ký giao dịch điện tử "
        "với cơ quan BHXH"
    )
    assert is_gsm7(reply)
    assert segments(reply) == 1
