"""Parse the inbound SMS ``BH MK <id>`` that asks 8079 for a new VssID password.

How a message is read, so that every reply is predictable:

* Only the first 1,000 characters are read (a real request is about 20): the work is capped
  whatever arrives. The text is folded (:func:`parsers.text.fold`) and upper-cased, so case,
  accents, ``đ``, full-width forms and invisible characters do not matter.
* Letters of other scripts that look like one Latin letter are read as that letter
  (:func:`parsers.lookalikes.to_latin`, from Unicode's confusables data): Cyrillic ``ВН МК``
  and Greek ``ΒΗ ΜΚ`` are ``BH MK``. Nothing is ever read as a digit.
* The message must start with the keyword or one of its aliases (``_KEYWORDS``: ``BH MK``,
  ``BHXH MK``, ``BH MAT KHAU``, ``BHXH MAT KHAU``; ``BH MẬT KHẨU`` folds to the third), each
  letter with any spaces or punctuation before and between them (``BHMK``, ``B.H MK``,
  ``BH_MK``, ``"BH MK``), optionally after ``Soan``, ``Soan tin`` or ``Soan tin nhan`` copied
  from instructions. The keyword must not run on into letters.
* A near miss, letters one edit (a letter added, dropped, changed or two swapped) from a
  keyword followed by a well-formed number (``BH MKK 0123456789``, ``BH NK ...``,
  ``BHMKA0123456789``), is NEAR_MISS with the number as ``suggestion``, so the reply can show
  the corrected message. Anything further off, or with a malformed number, is
  UNKNOWN_KEYWORD.
* After the keyword, the number is everything from the first digit to the last digit. Any
  non-alphanumeric characters between digit groups are ignored: ``0123 456 789``,
  ``01.2345.6789``, ``<0123456789>``, ``0123456789,`` all read as ``0123456789``.
* The shortcode copied from instructions is not part of the number: a final ``8079`` group is
  dropped when one of the words ``gui``/``goi``/``den``/``toi``/``to``/``ve``/``so``/``dai``/
  ``sms`` comes right before it, or when the digits before it are none or already make 10 or 12
  digits. So ``BH MK 0123456789 8079`` is accepted, ``BH MK 8079`` is MISSING_NUMBER, and
  ``BH MK 0123 8079`` is 8 digits (WRONG_LENGTH). ``8079`` glued to the digits
  (``01234567898079``) is never split off: 14 digits, WRONG_LENGTH.
* Words apart from the number are ignored (``BH MK ma so BHXH 0123456789 gui 8079 cam on``).
  Letters that touch the number or sit between its digit groups make it NOT_DIGITS: ``O`` is
  never read as ``0`` (``O123456789``, ``01234S6789``, ``0123456789 va 0987654321``). The one
  exception is ``gui``/``goi`` glued after the number (``BHMK0123456789gui8079``).
* No digit after the keyword is MISSING_NUMBER; that includes the placeholder copied verbatim,
  ``BH MK <ma so BHXH>``.
* Two numbers are never chosen between: ``BH MK 0123456789 0987654321`` is one run of 20
  digits, WRONG_LENGTH with ``digits_seen=20``.
* 10 digits are a social insurance number (BHXH) and 12 a personal identification number
  (CCCD), each only when accepted; a length switched off, or any other length, is WRONG_LENGTH
  with ``digits_seen``. The identifier is returned as a string: leading zeros matter.
* Nothing but whitespace or invisible characters is EMPTY; anything else not starting with the
  keyword (punctuation only, another keyword) is UNKNOWN_KEYWORD.
"""

import enum
import re
from dataclasses import dataclass
from typing import Final, TypeAlias

from parsers.lookalikes import to_latin
from parsers.text import fold


class IdKind(enum.Enum):
    """Which identifier the user sent, told apart by its length."""

    BHXH = "bhxh"  # 10-digit social insurance number (ma so BHXH)
    PERSONAL_ID = "personal_id"  # 12-digit personal identification number (CCCD)


@dataclass(frozen=True, slots=True)
class RecoveryRequest:
    """A well-formed request: digits only, leading zeros kept."""

    identifier: str
    kind: IdKind


class FailureReason(enum.Enum):
    """Why a message is not a well-formed request; each gets its own reply."""

    EMPTY = "empty"
    UNKNOWN_KEYWORD = "unknown_keyword"
    MISSING_NUMBER = "missing_number"
    WRONG_LENGTH = "wrong_length"
    NOT_DIGITS = "not_digits"
    NEAR_MISS = "near_miss"


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A message that is not a well-formed request; ``digits_seen`` is set for WRONG_LENGTH,
    ``suggestion`` (the well-formed number) for NEAR_MISS."""

    reason: FailureReason
    digits_seen: int = 0
    suggestion: str = ""


ParseResult: TypeAlias = RecoveryRequest | ParseFailure

_MAX_CHARS: Final = 1000
_SHORTCODE: Final = "8079"
_BHXH_LENGTH: Final = 10
_PERSONAL_ID_LENGTH: Final = 12
_COMPLETE_LENGTHS: Final = frozenset({0, _BHXH_LENGTH, _PERSONAL_ID_LENGTH})

# What people type for the keyword, seen on handsets: the published one first. Unambiguous
# variants only: each names this service and nothing else.
_KEYWORDS: Final = ("BH MK", "BHXH MK", "BH MAT KHAU", "BHXH MAT KHAU")
# Separators are "[\W_]*", which can never match a letter, so the pattern cannot backtrack.
_SEP: Final = r"[\W_]*"
_PREAMBLE: Final = rf"{_SEP}(?:SOAN(?:{_SEP}TIN(?:{_SEP}NHAN)?)?{_SEP})?"
_KEYWORD_LETTERS: Final = tuple(keyword.replace(" ", "") for keyword in _KEYWORDS)
_KEYWORD: Final = re.compile(
    _PREAMBLE
    + "(?:"
    + "|".join(_SEP.join(letters) for letters in sorted(_KEYWORD_LETTERS, key=len, reverse=True))
    + r")(?![^\W0-9_])"
)
_NEAR_MISS_PREFIX: Final = re.compile(rf"{_PREAMBLE}([^0-9]*)")
# A token is a run of ASCII digits or a run of other word characters (letters, and non-ASCII
# digits, which are treated as letters so that they are never taken for a number).
_TOKEN: Final = re.compile(r"[0-9]+|[^\W0-9_]+")

# Words that introduce the shortcode in copied instructions: "gui (den|toi) 8079",
# "gui dau so 8079", "tong dai 8079", "sms to 8079".
_SHORTCODE_LEAD_WORDS: Final = frozenset(
    {"GUI", "GOI", "DEN", "TOI", "TO", "VE", "SO", "DAI", "SMS"}
)
_GLUED_TRAILER_WORDS: Final = frozenset({"GUI", "GOI"})

_EMPTY: Final = ParseFailure(FailureReason.EMPTY)
_UNKNOWN_KEYWORD: Final = ParseFailure(FailureReason.UNKNOWN_KEYWORD)
_MISSING_NUMBER: Final = ParseFailure(FailureReason.MISSING_NUMBER)
_NOT_DIGITS: Final = ParseFailure(FailureReason.NOT_DIGITS)


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int
    is_number: bool


def parse_recovery(
    text: str, *, accept_bhxh: bool = True, accept_personal_id: bool = True
) -> ParseResult:
    """Parse an inbound ``BH MK <id>`` message into a request or the reason it is not one."""
    folded = to_latin(fold(text[:_MAX_CHARS]).upper())
    if not folded.strip():
        return _EMPTY
    keyword = _KEYWORD.match(folded)
    if keyword is None:
        return _near_miss(folded, accept_bhxh=accept_bhxh, accept_personal_id=accept_personal_id)
    return _read_number(
        folded, keyword.end(), accept_bhxh=accept_bhxh, accept_personal_id=accept_personal_id
    )


def _read_number(
    folded: str, start: int, *, accept_bhxh: bool, accept_personal_id: bool
) -> ParseResult:
    """Read the number that follows the keyword, from ``start`` on."""
    tokens = [
        _Token(m.group(), m.start(), m.end(), "0" <= m.group()[0] <= "9")
        for m in _TOKEN.finditer(folded, start)
    ]
    tokens = _drop_shortcode(tokens)
    numbers = [i for i, token in enumerate(tokens) if token.is_number]
    if not numbers:
        return _MISSING_NUMBER
    first, last = numbers[0], numbers[-1]
    if last - first + 1 != len(numbers) or _glued_letters(tokens, first, last):
        return _NOT_DIGITS
    identifier = "".join(tokens[i].text for i in numbers)
    return _classify(identifier, accept_bhxh=accept_bhxh, accept_personal_id=accept_personal_id)


def _near_miss(folded: str, *, accept_bhxh: bool, accept_personal_id: bool) -> ParseFailure:
    """NEAR_MISS when the letters before the first digit are one edit from a keyword and a
    well-formed number follows; else UNKNOWN_KEYWORD."""
    prefix = _NEAR_MISS_PREFIX.match(folded)
    assert prefix is not None  # every part of the pattern may be empty
    letters = re.sub(r"[\W_]", "", prefix[1])
    if prefix.end() == len(folded) or not any(
        _one_edit(letters, keyword) for keyword in _KEYWORD_LETTERS
    ):
        return _UNKNOWN_KEYWORD
    number = _read_number(
        folded, prefix.end(), accept_bhxh=accept_bhxh, accept_personal_id=accept_personal_id
    )
    if not isinstance(number, RecoveryRequest):
        return _UNKNOWN_KEYWORD
    return ParseFailure(FailureReason.NEAR_MISS, suggestion=number.identifier)


def _one_edit(typed: str, keyword: str) -> bool:
    """Tell whether ``typed`` is ``keyword`` with one letter added, dropped, changed, or two
    neighbours swapped (the optimal string alignment distance is 1)."""
    if typed == keyword or abs(len(typed) - len(keyword)) > 1:
        return False
    if len(typed) == len(keyword):
        diff = [i for i, (a, b) in enumerate(zip(typed, keyword, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        i = diff[0]
        return diff == [i, i + 1] and typed[i] == keyword[i + 1] and typed[i + 1] == keyword[i]
    shorter, longer = sorted((typed, keyword), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _drop_shortcode(tokens: list[_Token]) -> list[_Token]:
    """Return the tokens without a final 8079 that is the shortcode, not part of the number."""
    numbers = [i for i, token in enumerate(tokens) if token.is_number]
    if not numbers or tokens[numbers[-1]].text != _SHORTCODE:
        return tokens
    last = numbers[-1]
    lead_word = tokens[last - 1].text if last > 0 else ""
    digits_before = sum(len(tokens[i].text) for i in numbers[:-1])
    if lead_word in _SHORTCODE_LEAD_WORDS or digits_before in _COMPLETE_LENGTHS:
        return tokens[:last]
    return tokens


def _glued_letters(tokens: list[_Token], first: int, last: int) -> bool:
    """Tell whether letters touch the number on either side (``O123456789``, ``..789S``)."""
    if first > 0 and tokens[first - 1].end == tokens[first].start:
        return True
    if last + 1 < len(tokens):
        after = tokens[last + 1]
        return after.start == tokens[last].end and after.text not in _GLUED_TRAILER_WORDS
    return False


def _classify(identifier: str, *, accept_bhxh: bool, accept_personal_id: bool) -> ParseResult:
    """Turn a digit string into a request by its length, or a WRONG_LENGTH failure."""
    length = len(identifier)
    if length == _BHXH_LENGTH and accept_bhxh:
        return RecoveryRequest(identifier, IdKind.BHXH)
    if length == _PERSONAL_ID_LENGTH and accept_personal_id:
        return RecoveryRequest(identifier, IdKind.PERSONAL_ID)
    return ParseFailure(FailureReason.WRONG_LENGTH, digits_seen=length)
