"""The keyword services' parser (``BH QT``, ``BH HS``, ``BH THE``), read as a table."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import (
    ArgumentKind,
    FailureReason,
    Keyword,
    KeywordTable,
    ServiceFailure,
    ServiceRequest,
    parse_recovery,
)
from parsers.keywords import normalise_keyword, valid_keyword

TABLE = KeywordTable(
    [
        Keyword("qt", ("BH QT", "BHXH QT"), ArgumentKind.BHXH),
        Keyword("hs", ("BH HS",), ArgumentKind.FILE_ID),
        Keyword("the", ("BH THE",), ArgumentKind.BHXH),
        Keyword("hoi", ("BH HOI",), ArgumentKind.TEXT),
    ]
)
QT = ServiceRequest("qt", "0123456789")
THE = ServiceRequest("the", "0123456789")


def failure(service: str, reason: FailureReason, digits: int = 0) -> ServiceFailure:
    return ServiceFailure(service, reason, digits)


CASES = [
    pytest.param("BH QT 0123456789", QT, id="qt-canonical"),
    pytest.param("bh qt 0123 456 789", QT, id="qt-lower-spaced"),
    pytest.param("BHQT0123456789", QT, id="qt-glued"),
    pytest.param("B.H Q.T: 01.2345.6789", QT, id="qt-dotted"),
    pytest.param("Soan tin BH QT 0123456789 gui 8079", QT, id="qt-copied-instructions"),
    pytest.param("BHXH QT 0123456789", QT, id="qt-alias"),
    pytest.param("ВН QТ 0123456789", QT, id="qt-cyrillic-lookalikes"),
    pytest.param("BH QT", failure("qt", FailureReason.MISSING_NUMBER), id="qt-missing"),
    pytest.param("BH QT 0123", failure("qt", FailureReason.WRONG_LENGTH, 4), id="qt-short"),
    pytest.param(
        "BH QT 001203004567", failure("qt", FailureReason.WRONG_LENGTH, 12), id="qt-cccd-refused"
    ),
    pytest.param("BH QT O123456789", failure("qt", FailureReason.NOT_DIGITS), id="qt-letter-o"),
    pytest.param("BH THE 0123456789", THE, id="the-canonical"),
    pytest.param("bh thẻ 0123456789", THE, id="the-accented"),
    pytest.param("BH  THE  0123-456-789", THE, id="the-dashed"),
    pytest.param("BH HS 2024.0012345", ServiceRequest("hs", "2024.0012345"), id="hs-dotted"),
    pytest.param("bh hs ab-12/3 gui 8079", ServiceRequest("hs", "AB-12/3"), id="hs-trailer"),
    pytest.param("BH HS", failure("hs", FailureReason.MISSING_NUMBER), id="hs-missing"),
    pytest.param("BH HS 12 34", failure("hs", FailureReason.NOT_DIGITS), id="hs-two-words"),
    pytest.param("BH HS " + "1" * 33, failure("hs", FailureReason.NOT_DIGITS), id="hs-too-long"),
    pytest.param("BH HOI  gio  lam viec?", ServiceRequest("hoi", "GIO LAM VIEC?"), id="text"),
    pytest.param("BH HOI", ServiceRequest("hoi", ""), id="text-empty"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_a_service_message_is_read_as_its_request(
    text: str, expected: ServiceRequest | ServiceFailure
) -> None:
    assert TABLE.match(text) == expected


@pytest.mark.parametrize(
    "text",
    ["BH MK 0123456789", "BH THEM 0123456789", "BHQTX 0123456789", "xin chao", "", "BH"],
)
def test_anything_else_is_left_to_the_reset_parser(text: str) -> None:
    assert TABLE.match(text) is None


def test_the_reset_parser_still_reads_bh_mk_unchanged() -> None:
    assert TABLE.match("BH MK 0123456789") is None
    assert parse_recovery("BH MK 0123456789").identifier == "0123456789"  # type: ignore[union-attr]


def test_an_empty_table_matches_nothing() -> None:
    empty = KeywordTable([])

    assert not empty
    assert empty.match("BH QT 0123456789") is None


@pytest.mark.parametrize(
    ("phrase", "normal", "valid"),
    [
        ("bh  qt", "BH QT", True),
        ("BH Thẻ", "BH THE", True),
        ("BH QT1", "BH QT1", False),
        ("", "", False),
    ],
)
def test_configured_keywords_are_folded_and_checked(phrase: str, normal: str, valid: bool) -> None:
    assert normalise_keyword(phrase) == normal
    assert valid_keyword(phrase) is valid


@settings(database=None)
@given(st.text())
def test_any_text_gives_a_match_or_none(text: str) -> None:
    found = TABLE.match(text)

    assert found is None or isinstance(found, ServiceRequest | ServiceFailure)
    if isinstance(found, ServiceRequest) and found.service in {"qt", "the"}:
        assert found.argument.isascii() and found.argument.isdigit() and len(found.argument) == 10


@settings(database=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10), st.sampled_from(["qt", "the"]))
def test_any_ten_digits_round_trip(number: str, service: str) -> None:
    assert TABLE.match(f"BH {service} {number}") == ServiceRequest(service, number)
