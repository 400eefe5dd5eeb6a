"""Normalising Vietnamese mobile numbers and naming their home carrier."""

import pytest

from parsers.phone import (
    HOME_PREFIXES,
    OLD_TO_NEW_PREFIX,
    InvalidPhoneNumber,
    home_carrier,
    normalise_phone,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("0912345678", "84912345678", id="national"),
        pytest.param("84912345678", "84912345678", id="normalised"),
        pytest.param("+84912345678", "84912345678", id="plus"),
        pytest.param("+84 912 345 678", "84912345678", id="plus-spaced"),
        pytest.param("0084912345678", "84912345678", id="double-zero"),
        pytest.param("(+84) 912-345-678", "84912345678", id="parenthesised-dashed"),
        pytest.param("912345678", "84912345678", id="trunk-zero-dropped"),
        pytest.param("0912.345.678", "84912345678", id="dotted"),
        pytest.param("  0912345678\n", "84912345678", id="surrounding-whitespace"),
        pytest.param("+84 (0) 912 345 678", "84912345678", id="plus-with-trunk-zero"),
        pytest.param("840912345678", "84912345678", id="country-code-with-trunk-zero"),
        pytest.param("０９１２３４５６７８", "84912345678", id="full-width"),
        pytest.param("0912\u00a0345\u00a0678", "84912345678", id="no-break-spaces"),
        pytest.param("0329123456", "84329123456", id="viettel-03x"),
        pytest.param("0559123456", "84559123456", id="reddi"),
        pytest.param("0701234567", "84701234567", id="mobifone-07x"),
        pytest.param("0521234567", "84521234567", id="vietnamobile-05x"),
        pytest.param("0871234567", "84871234567", id="itelecom-08x"),
        # Pre-2018 forms, national and international.
        pytest.param("01629123456", "84329123456", id="old-national"),
        pytest.param("841629123456", "84329123456", id="old-international"),
        pytest.param("+84 1629 123 456", "84329123456", id="old-plus-spaced"),
        pytest.param("00841629123456", "84329123456", id="old-double-zero"),
        pytest.param("1629123456", "84329123456", id="old-trunk-zero-dropped"),
    ],
)
def test_normalise_phone(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(("old", "new"), sorted(OLD_TO_NEW_PREFIX.items()))
def test_every_old_prefix_converts(old: str, new: str) -> None:
    assert normalise_phone(f"{old}9123456") == f"84{new[1:]}9123456"
    assert normalise_phone(f"84{old[1:]}9123456") == f"84{new[1:]}9123456"


def test_old_prefix_table_is_the_published_one() -> None:
    assert dict(OLD_TO_NEW_PREFIX) == {
        "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
        "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
        "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
        "0167": "037", "0168": "038", "0169": "039",
        "0186": "056", "0188": "058",
        "0199": "059",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   ", "empty", id="blank"),
        pytest.param("09123456789", "wrong length", id="eleven-digits-national"),
        pytest.param("091234567", "wrong length", id="nine-digits-national"),
        pytest.param("8491234567", "wrong length", id="ten-digits-with-84"),
        pytest.param("849123456789", "wrong length", id="thirteen-digits-with-84"),
        pytest.param("12345", "wrong length", id="five-digits"),
        pytest.param("0912345678 0987654321", "wrong length", id="two-numbers"),
        pytest.param("0" * 50, "too long", id="very-long"),
        pytest.param("0912abc678", "contains letters", id="letters"),
        pytest.param("O912345678", "contains letters", id="letter-o"),
        pytest.param("0912345678/9", "other than digits", id="slash"),
        pytest.param("84+912345678", "other than digits", id="plus-inside"),
        pytest.param("++84912345678", "other than digits", id="double-plus"),
        pytest.param("+", "no digits", id="plus-only"),
        pytest.param("(-.)", "no digits", id="separators-only"),
        pytest.param("+14155550123", "not a Vietnamese number", id="us-number"),
        pytest.param("0014155550123", "not a Vietnamese number", id="us-double-zero"),
        pytest.param("02438251234", "landline", id="hanoi-landline"),
        pytest.param("+84 28 3822 1234", "landline", id="hcmc-landline-international"),
        pytest.param("842438251234", "landline", id="landline-84"),
        pytest.param("01309123456", "unknown pre-2018", id="unknown-old-prefix"),
        pytest.param("01999", "wrong length", id="short-old-looking"),
        pytest.param("0112345678", "not a mobile", id="starts-with-1"),
        pytest.param("0412345678", "not a mobile", id="starts-with-4"),
        pytest.param("0612345678", "not a mobile", id="starts-with-6"),
        pytest.param("19009068", "wrong length", id="hotline"),
        pytest.param("0912\u0663345678", "other than digits", id="arabic-indic-digit"),
    ],
)
def test_invalid_phone(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=reason):
        normalise_phone(raw)


def test_invalid_phone_is_a_value_error() -> None:
    assert issubclass(InvalidPhoneNumber, ValueError)


def test_a_hundred_thousand_import_rows_normalise() -> None:
    rows = [f"09{i:08d}" for i in range(100_000)]
    assert len({normalise_phone(row) for row in rows}) == 100_000


@pytest.mark.parametrize(
    ("phone", "carrier"),
    [
        pytest.param("84861234567", "viettel", id="viettel-086"),
        pytest.param("84961234567", "viettel", id="viettel-096"),
        pytest.param("84321234567", "viettel", id="viettel-032"),
        pytest.param("84391234567", "viettel", id="viettel-039"),
        pytest.param("84811234567", "vinaphone", id="vinaphone-081"),
        pytest.param("84881234567", "vinaphone", id="vinaphone-088"),
        pytest.param("84912345678", "vinaphone", id="vinaphone-091"),
        pytest.param("84941234567", "vinaphone", id="vinaphone-094"),
        pytest.param("84701234567", "mobifone", id="mobifone-070"),
        pytest.param("84761234567", "mobifone", id="mobifone-076"),
        pytest.param("84891234567", "mobifone", id="mobifone-089"),
        pytest.param("84901234567", "mobifone", id="mobifone-090"),
        pytest.param("84931234567", "mobifone", id="mobifone-093"),
        pytest.param("84521234567", "vietnamobile", id="vietnamobile-052"),
        pytest.param("84921234567", "vietnamobile", id="vietnamobile-092"),
        pytest.param("84591234567", "gmobile", id="gmobile-059"),
        pytest.param("84993123456", "gmobile", id="gmobile-0993"),
        pytest.param("84997123456", "gmobile", id="gmobile-0997"),
        pytest.param("84871234567", "itelecom", id="itelecom-087"),
        pytest.param("84998123456", "itelecom", id="itelecom-0998"),
        pytest.param("84999123456", "itelecom", id="itelecom-0999"),
        pytest.param("84559123456", "reddi", id="reddi-0559"),
        pytest.param("84551234567", None, id="unassigned-055x"),
        pytest.param("84990123456", None, id="unassigned-0990"),
        pytest.param("84501234567", None, id="unassigned-050"),
        pytest.param("0912345678", None, id="not-normalised"),
        pytest.param("8491234567a", None, id="not-digits"),
        pytest.param("", None, id="empty"),
    ],
)
def test_home_carrier(phone: str, carrier: str | None) -> None:
    assert home_carrier(phone) == carrier


def test_converted_old_numbers_keep_their_carrier() -> None:
    carriers = {"012": {"mobifone", "vinaphone"}, "016": {"viettel"}, "018": {"vietnamobile"}}
    for old, new in OLD_TO_NEW_PREFIX.items():
        assert home_carrier(normalise_phone(f"{old}9123456")) in carriers.get(
            old[:3], {"gmobile"}
        ), new


def test_home_prefixes_are_national_forms() -> None:
    assert all(prefix.startswith("0") and len(prefix) in (3, 4) for prefix in HOME_PREFIXES)
