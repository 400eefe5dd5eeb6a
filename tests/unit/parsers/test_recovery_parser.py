"""The ``BH MK <id>`` parser, read as a table of what users really send to 8079."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.recovery import (
    FailureReason,
    IdKind,
    ParseFailure,
    ParseResult,
    RecoveryRequest,
    parse_recovery,
)

BHXH = RecoveryRequest("0123456789", IdKind.BHXH)
CCCD = RecoveryRequest("001203004567", IdKind.PERSONAL_ID)
EMPTY = ParseFailure(FailureReason.EMPTY)
UNKNOWN = ParseFailure(FailureReason.UNKNOWN_KEYWORD)
MISSING = ParseFailure(FailureReason.MISSING_NUMBER)
NOT_DIGITS = ParseFailure(FailureReason.NOT_DIGITS)


def wrong_length(digits: int) -> ParseFailure:
    return ParseFailure(FailureReason.WRONG_LENGTH, digits_seen=digits)


def near_miss(number: str) -> ParseFailure:
    return ParseFailure(FailureReason.NEAR_MISS, suggestion=number)


CASES = [
    # The syntax as published, and how case and spacing vary.
    pytest.param("BH MK 0123456789", BHXH, id="canonical"),
    pytest.param("bh mk 0123456789", BHXH, id="lower-case"),
    pytest.param("Bh Mk 0123456789", BHXH, id="title-case"),
    pytest.param("bH mK 0123456789", BHXH, id="mixed-case"),
    pytest.param("BHMK0123456789", BHXH, id="no-spaces"),
    pytest.param("BHMK 0123456789", BHXH, id="keyword-joined"),
    pytest.param("BH MK0123456789", BHXH, id="number-joined"),
    pytest.param("BH  MK   0123456789", BHXH, id="double-spaces"),
    pytest.param("BH\tMK\t0123456789", BHXH, id="tabs"),
    pytest.param("BH\nMK\n0123456789", BHXH, id="newlines-between"),
    pytest.param("B H M K 0123456789", BHXH, id="spelled-out"),
    pytest.param("B.H MK 0123456789", BHXH, id="dotted-bh"),
    pytest.param("B.H. M.K. 0123456789", BHXH, id="dotted-all"),
    pytest.param("bh.mk 0123456789", BHXH, id="dot-between-words"),
    pytest.param("BH-MK: 0123456789", BHXH, id="dash-and-colon"),
    pytest.param("BH_MK 0123456789", BHXH, id="underscore"),
    pytest.param("BH,MK,0123456789", BHXH, id="commas"),
    pytest.param("BH MK:0123456789", BHXH, id="colon-before-number"),
    pytest.param("BH MK - 0123456789", BHXH, id="dash-before-number"),
    pytest.param("BH MK #0123456789", BHXH, id="hash-before-number"),
    # Grouping inside the number.
    pytest.param("BH MK 0123 456 789", BHXH, id="number-spaced-4-3-3"),
    pytest.param("BH MK 01 2345 6789", BHXH, id="number-spaced-2-4-4"),
    pytest.param("BH MK 01.2345.6789", BHXH, id="number-dotted"),
    pytest.param("BH MK 012-345-6789", BHXH, id="number-dashed"),
    pytest.param("BH MK 0 1 2 3 4 5 6 7 8 9", BHXH, id="number-every-digit-spaced"),
    # Surrounding whitespace and punctuation.
    pytest.param("  BH MK 0123456789  ", BHXH, id="surrounding-spaces"),
    pytest.param("\n\nBH MK 0123456789\n", BHXH, id="surrounding-newlines"),
    pytest.param("BH MK 0123456789.", BHXH, id="trailing-dot"),
    pytest.param("BH MK 0123456789!!", BHXH, id="trailing-exclamations"),
    pytest.param("BH MK 0123456789 ?", BHXH, id="trailing-question"),
    pytest.param("BH MK 0123456789 :)", BHXH, id="trailing-smiley"),
    # Copied from instructions.
    pytest.param("BH MK <0123456789>", BHXH, id="angle-brackets"),
    pytest.param('"BH MK 0123456789"', BHXH, id="double-quotes"),
    pytest.param("'BH MK 0123456789'", BHXH, id="single-quotes"),
    pytest.param("“BH MK 0123456789”", BHXH, id="curly-quotes"),
    pytest.param("BH MK [0123456789]", BHXH, id="square-brackets"),
    pytest.param("Soan BH MK 0123456789", BHXH, id="soan"),
    pytest.param("Soạn BH MK 0123456789", BHXH, id="soan-accented"),
    pytest.param("Soan tin BH MK 0123456789", BHXH, id="soan-tin"),
    pytest.param("Soạn tin nhắn: BH MK 0123456789", BHXH, id="soan-tin-nhan-colon"),
    pytest.param('Soan "BH MK 0123456789" gui 8079', BHXH, id="soan-quoted-gui"),
    pytest.param("BH MK 0123456789 gui 8079", BHXH, id="gui-8079"),
    pytest.param("BH MK 0123456789 gửi 8079", BHXH, id="gui-8079-accented"),
    pytest.param("BH MK 0123456789 gởi 8079", BHXH, id="goi-8079-variant"),
    pytest.param("BH MK 0123456789 gui den 8079", BHXH, id="gui-den-8079"),
    pytest.param("BH MK 0123456789 gửi tới 8079", BHXH, id="gui-toi-8079"),
    pytest.param("BH MK 0123456789 gửi đến đầu số 8079", BHXH, id="gui-den-dau-so-8079"),
    pytest.param("BH MK 0123456789 8079", BHXH, id="bare-8079-after-number"),
    pytest.param("BH MK 0123456789\n8079", BHXH, id="8079-on-next-line"),
    pytest.param("BH MK 0123456789 gui 8079.", BHXH, id="gui-8079-dot"),
    pytest.param("BHMK0123456789gui8079", BHXH, id="gui-8079-glued"),
    pytest.param("Soạn tin BH MK <0123456789> gửi 8079", BHXH, id="whole-instruction"),
    pytest.param("BH MK ma so BHXH 0123456789", BHXH, id="label-before-number"),
    pytest.param("BH MK 0123456789 cam on", BHXH, id="thanks-after-number"),
    # Vietnamese keyboards, full-width forms, invisible characters.
    pytest.param("BH MK 0123456789 gửi 8079 nhé", BHXH, id="accented-trailing-word"),
    pytest.param("Bḥ Mḱ 0123456789", BHXH, id="tones-on-keyword"),
    pytest.param("So\u0323an BH MK 0123456789", BHXH, id="decomposed-tone"),
    pytest.param("ＢＨ　ＭＫ　０１２３４５６７８９", BHXH, id="full-width"),
    pytest.param("ｂｈ ｍｋ 0123456789", BHXH, id="full-width-lower-keyword"),
    pytest.param("BH\u00a0MK\u00a00123456789", BHXH, id="no-break-spaces"),
    pytest.param("\ufeffBH MK 0123456789", BHXH, id="leading-bom"),
    pytest.param("B\u200bH M\u200cK 0123\u200d456789", BHXH, id="zero-width-inside"),
    pytest.param("BH MK 01234\u00ad56789", BHXH, id="soft-hyphen-in-number"),
    pytest.param("BH MK 01234\u206056789\u2060", BHXH, id="word-joiner"),
    # Personal identification number (CCCD), 12 digits.
    pytest.param("BH MK 001203004567", CCCD, id="cccd"),
    pytest.param("bhmk001203004567", CCCD, id="cccd-no-spaces"),
    pytest.param("BH MK 001 203 004 567", CCCD, id="cccd-spaced"),
    pytest.param("BH MK 0012 0300 4567 gui 8079", CCCD, id="cccd-spaced-gui"),
    pytest.param("BH MK 001203004567 8079", CCCD, id="cccd-bare-8079"),
    pytest.param(
        "BH MK 0012 0300 8079",
        RecoveryRequest("001203008079", IdKind.PERSONAL_ID),
        id="cccd-ending-in-8079-group",
    ),
    pytest.param(
        "BH MK 012345 8079",
        RecoveryRequest("0123458079", IdKind.BHXH),
        id="bhxh-ending-in-8079-group",
    ),
    # Empty.
    pytest.param("", EMPTY, id="empty"),
    pytest.param("   \n\t ", EMPTY, id="whitespace"),
    pytest.param("\u200b\u200c\ufeff", EMPTY, id="only-invisible"),
    pytest.param("\u3000", EMPTY, id="ideographic-space"),
    # Another keyword or none.
    pytest.param("...", UNKNOWN, id="only-punctuation"),
    pytest.param("0123456789", UNKNOWN, id="number-only"),
    pytest.param("MK BH 0123456789", UNKNOWN, id="keyword-swapped"),
    pytest.param("BH 0123456789", UNKNOWN, id="mk-missing"),
    pytest.param("MK 0123456789", UNKNOWN, id="bh-missing"),
    pytest.param("BH MKA 01234", UNKNOWN, id="keyword-runs-into-letters-bad-number"),
    pytest.param("BHXH MKA", UNKNOWN, id="alias-runs-into-letters-no-number"),
    pytest.param("BH MKKK 0123456789", UNKNOWN, id="two-edits-from-keyword"),
    pytest.param("XIN BH MK 0123456789", UNKNOWN, id="words-before-keyword"),
    pytest.param("BH KM MK 0123456789", UNKNOWN, id="extra-word"),
    pytest.param("Xin cap lai mat khau 0123456789", UNKNOWN, id="free-text"),
    pytest.param("Re: BH MK 0123456789", UNKNOWN, id="reply-prefix"),
    # The keyword without a number.
    pytest.param("BH MK", MISSING, id="keyword-only"),
    pytest.param("bhmk", MISSING, id="keyword-only-joined"),
    pytest.param("BH MK <ma so BHXH>", MISSING, id="placeholder"),
    pytest.param("BH MK <Mã số BHXH>", MISSING, id="placeholder-accented"),
    pytest.param("Soan BH MK <Ma so BHXH> gui 8079", MISSING, id="placeholder-with-gui"),
    pytest.param("BH MK gui 8079", MISSING, id="gui-8079-only"),
    pytest.param("BH MK 8079", MISSING, id="shortcode-only"),
    pytest.param("BH MK ???", MISSING, id="punctuation-only"),
    # Digits, but not 10 or 12 of them.
    pytest.param("BH MK 123456789", wrong_length(9), id="nine-digits"),
    pytest.param("BH MK 01234567890", wrong_length(11), id="eleven-digits"),
    pytest.param("BH MK 0123456789012", wrong_length(13), id="thirteen-digits"),
    pytest.param("BH MK 0", wrong_length(1), id="one-digit"),
    pytest.param("BH MK 0123 8079", wrong_length(8), id="short-number-and-8079"),
    pytest.param("BH MK 01234567898079", wrong_length(14), id="8079-glued-to-number"),
    pytest.param("BH MK 0123456789 0987654321", wrong_length(20), id="two-numbers"),
    pytest.param("BH MK 0123 gui 8079", wrong_length(4), id="short-number-gui-8079"),
    pytest.param("BH MK 0912345678 0123456789", wrong_length(20), id="phone-and-number"),
    # Letters in or against the number: never guessed.
    pytest.param("BH MK O123456789", NOT_DIGITS, id="letter-o-for-zero"),
    pytest.param("BH MK 01234S6789", NOT_DIGITS, id="letter-s-inside"),
    pytest.param("BH MK 0l23456789", NOT_DIGITS, id="letter-l-for-one"),
    pytest.param("BH MK 0123456789S", NOT_DIGITS, id="letter-glued-after"),
    pytest.param("BH MK 01234xxxxx", NOT_DIGITS, id="masked-copy"),
    pytest.param("BH MK 0123 O 456789", NOT_DIGITS, id="letter-group-inside"),
    pytest.param("BH MK 0123456789 va 0987654321", NOT_DIGITS, id="two-numbers-with-word"),
    pytest.param("BH MK 0123456789 BH MK 0987654321", NOT_DIGITS, id="sent-twice"),
    pytest.param("BH MK SO0123456789", NOT_DIGITS, id="label-glued-before"),
    pytest.param("BH MK 0123\u0663456789", NOT_DIGITS, id="arabic-indic-digit"),
    pytest.param("BH MK ０１２３４５６７８Ｏ", NOT_DIGITS, id="full-width-letter-o"),
    # Keyword aliases seen on handsets (parsers/recovery.py _KEYWORDS).
    pytest.param("BHXH MK 0123456789", BHXH, id="alias-bhxh-mk"),
    pytest.param("bhxh mk 001203004567", CCCD, id="alias-bhxh-mk-cccd"),
    pytest.param("BH MAT KHAU 0123456789", BHXH, id="alias-mat-khau"),
    pytest.param("BH MẬT KHẨU 0123456789", BHXH, id="alias-mat-khau-accented"),
    pytest.param("bh matkhau 0123456789", BHXH, id="alias-matkhau-joined"),
    pytest.param("BHXH MAT KHAU 0123456789", BHXH, id="alias-bhxh-mat-khau"),
    pytest.param("Soạn tin BHXH MK 0123456789 gửi 8079", BHXH, id="alias-copied-instructions"),
    pytest.param("BHXH MK", MISSING, id="alias-missing-number"),
    pytest.param("BH MAT KHAU 01234", wrong_length(5), id="alias-wrong-length"),
    # Look-alike letters from other scripts (Unicode confusables), never read as digits.
    pytest.param("ВН МК 0123456789", BHXH, id="cyrillic-look-alikes"),
    pytest.param("вн мк 0123456789", BHXH, id="cyrillic-look-alikes-lower-case"),
    pytest.param("ΒΗ ΜΚ 0123456789", BHXH, id="greek-look-alikes"),
    pytest.param("BН MК 0123456789", BHXH, id="latin-and-cyrillic-mixed"),
    pytest.param("ВН МК О123456789", NOT_DIGITS, id="cyrillic-o-is-a-letter-not-zero"),
    pytest.param("ВН МК 012345678З", NOT_DIGITS, id="cyrillic-ze-is-not-three"),
    # Near misses: one edit from a keyword, with a well-formed number.
    pytest.param("BH MKK 0123456789", near_miss("0123456789"), id="near-letter-added"),
    pytest.param("BH M 0123456789", near_miss("0123456789"), id="near-letter-dropped"),
    pytest.param("BH NK 0123456789", near_miss("0123456789"), id="near-letter-changed"),
    pytest.param("HB MK 0123456789", near_miss("0123456789"), id="near-letters-swapped"),
    pytest.param("BH MKA 0123456789", near_miss("0123456789"), id="near-runs-into-letters"),
    pytest.param("BHMKK0123456789", near_miss("0123456789"), id="near-all-joined"),
    pytest.param("BHX MK 001203004567", near_miss("001203004567"), id="near-alias-cccd"),
    pytest.param("BH MAT KHA 0123456789", near_miss("0123456789"), id="near-alias-mat-khau"),
    pytest.param(
        "Soan tin BH MKK 0123 456 789 gui 8079", near_miss("0123456789"), id="near-copied"
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_parse_recovery(text: str, expected: ParseResult) -> None:
    assert parse_recovery(text) == expected


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 70


@pytest.mark.parametrize(
    ("text", "accept_bhxh", "accept_personal_id", "expected"),
    [
        pytest.param("BH MK 0123456789", False, True, wrong_length(10), id="bhxh-off"),
        pytest.param("BH MK 001203004567", False, True, CCCD, id="bhxh-off-cccd-still-on"),
        pytest.param("BH MK 001203004567", True, False, wrong_length(12), id="cccd-off"),
        pytest.param("BH MK 0123456789", True, False, BHXH, id="cccd-off-bhxh-still-on"),
        pytest.param("BH MK 0123456789", False, False, wrong_length(10), id="both-off-bhxh"),
        pytest.param("BH MK 001203004567", False, False, wrong_length(12), id="both-off-cccd"),
        pytest.param(
            "BH MK 001203004567 8079",
            True,
            False,
            wrong_length(12),
            id="cccd-off-shortcode-still-dropped",
        ),
        pytest.param("BH MK", False, False, MISSING, id="both-off-missing"),
        pytest.param("BH MK O123456789", False, True, NOT_DIGITS, id="bhxh-off-not-digits"),
    ],
)
def test_parse_recovery_with_kinds_switched_off(
    text: str, accept_bhxh: bool, accept_personal_id: bool, expected: ParseResult
) -> None:
    result = parse_recovery(text, accept_bhxh=accept_bhxh, accept_personal_id=accept_personal_id)
    assert result == expected


def test_only_the_first_thousand_characters_are_read() -> None:
    assert parse_recovery(" " * 1000 + "BH MK 0123456789") == EMPTY
    assert parse_recovery("BH MK 0123456789" + " " * 10_000_000) == BHXH
    assert parse_recovery("BH MK " + "9" * 1_000_000) == wrong_length(1000 - len("BH MK "))


def test_lone_surrogates_do_not_break_parsing() -> None:
    assert parse_recovery("\ud800BH MK 0123456789\udfff") == BHXH


FRAGMENTS = st.sampled_from(
    [
        "BH",
        "bh",
        "MK",
        "mk",
        "B",
        "H",
        "M",
        "K",
        "Soan",
        "Soạn",
        "tin",
        "gui",
        "gửi",
        "den",
        "8079",
        "0",
        "1",
        "0123",
        "456789",
        "01234567890",
        "O",
        "S",
        "đ",
        "Đ",
        " ",
        "  ",
        "\n",
        ".",
        "-",
        "_",
        ":",
        "<",
        ">",
        '"',
        "“",
        "\u200b",
        "\ufeff",
        "\u00ad",
        "\u0301",
        "\u0323",
        "ＢＨ",
        "０",
        "\u3000",
        "\ud800",
        "𝟘",
        "٣",
        "ß",
        "ﬁ",
        "\x00",
        "BHXH",
        "MAT KHAU",
        "MẬT KHẨU",
        "MKK",
        "ВН",
        "МК",
        "ΒΗ",
        "О",
        "З",
    ]
)
RESULT_TYPES = (RecoveryRequest, ParseFailure)


@settings(database=None)
@given(st.text())
def test_any_text_gives_a_result(text: str) -> None:
    assert isinstance(parse_recovery(text), RESULT_TYPES)


@settings(database=None)
@given(st.lists(FRAGMENTS, max_size=30).map("".join), st.booleans(), st.booleans())
def test_request_like_text_gives_a_consistent_result(
    text: str, accept_bhxh: bool, accept_personal_id: bool
) -> None:
    result = parse_recovery(text, accept_bhxh=accept_bhxh, accept_personal_id=accept_personal_id)
    assert isinstance(result, RESULT_TYPES)
    if isinstance(result, RecoveryRequest):
        assert result.identifier.isascii() and result.identifier.isdigit()
        expected_length = 10 if result.kind is IdKind.BHXH else 12
        assert len(result.identifier) == expected_length
        assert accept_bhxh if result.kind is IdKind.BHXH else accept_personal_id
    elif result.reason is FailureReason.WRONG_LENGTH:
        assert result.digits_seen > 0
    elif result.reason is FailureReason.NEAR_MISS:
        assert len(result.suggestion) in (10, 12) and result.suggestion.isdigit()
        assert parse_recovery(
            f"BH MK {result.suggestion}",
            accept_bhxh=accept_bhxh,
            accept_personal_id=accept_personal_id,
        ) == RecoveryRequest(
            result.suggestion, IdKind.BHXH if len(result.suggestion) == 10 else IdKind.PERSONAL_ID
        )
    else:
        assert result.digits_seen == 0
    if not (isinstance(result, ParseFailure) and result.reason is FailureReason.NEAR_MISS):
        assert getattr(result, "suggestion", "") == ""


@settings(database=None)
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_any_ten_digits_round_trip(identifier: str) -> None:
    assert parse_recovery(f"BH MK {identifier}") == RecoveryRequest(identifier, IdKind.BHXH)


@settings(database=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_any_twelve_digits_round_trip(identifier: str) -> None:
    expected = RecoveryRequest(identifier, IdKind.PERSONAL_ID)
    assert parse_recovery(f"BH MK {identifier}") == expected


KEYWORD_EDITS = st.sampled_from(
    [
        "BH MKK",
        "BH M",
        "BH NK",
        "HB MK",
        "BHMKA",
        "VH MK",
        "BH MJ",
        "BG MK",
        "BHH MK",
        "B MK",
        "BHXH MKK",
        "BH MAT KHAUU",
    ]
)


@settings(database=None)
@given(KEYWORD_EDITS, st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_a_keyword_one_edit_off_suggests_the_same_number(keyword: str, identifier: str) -> None:
    assert parse_recovery(f"{keyword} {identifier}") == near_miss(identifier)


@settings(database=None)
@given(
    st.sampled_from(["ВН МК", "ΒΗ ΜΚ", "вн мк", "BHXH MK", "BH MAT KHAU", "BH MẬT KHẨU"]),
    st.text(alphabet="0123456789", min_size=10, max_size=10),
)
def test_every_alias_and_look_alike_reads_as_the_keyword(keyword: str, identifier: str) -> None:
    assert parse_recovery(f"{keyword} {identifier}") == RecoveryRequest(identifier, IdKind.BHXH)
