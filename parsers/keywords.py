"""Recognise the keyword services of the shortcode (``BH QT <ma so>``, ``BH HS <ma ho so>``,
``BH THE <ma so>``) and read each one's argument.

A message is read the way :mod:`parsers.recovery` reads ``BH MK``: folded, upper-cased,
look-alike letters read as Latin, the keyword's letters with any spaces or punctuation between
them, an optional ``Soan tin`` before, and the keyword never running on into letters. What
follows is read by the service's argument kind:

* ``bhxh``: a 10-digit social insurance number, read as ``BH MK`` reads it (digit groups
  joined, a trailing shortcode dropped, letters touching the number refused);
* ``file_id``: one file number of letters, digits and ``.``/``-``/``/`` (``2024.0012345``),
  at most 32 characters; ``gui 8079`` after it is dropped;
* ``text``: whatever follows, spaces collapsed, at most 160 characters.

:func:`match_keyword` returns None when no service's keyword starts the message, so the
caller falls back to the built-in ``BH MK`` parser unchanged.
"""

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, TypeAlias

from parsers.lookalikes import to_latin
from parsers.recovery import (
    _KEYWORDS,
    _MAX_CHARS,
    _PREAMBLE,
    _SEP,
    FailureReason,
    RecoveryRequest,
    _read_number,
)
from parsers.text import fold


class ArgumentKind(enum.Enum):
    """What a service expects after its keyword."""

    BHXH = "bhxh"
    FILE_ID = "file_id"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Keyword:
    """One service's keywords (``BH QT``, aliases after it) and the argument it expects."""

    service: str
    phrases: tuple[str, ...]
    argument: ArgumentKind


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """A message for a keyword service, with its argument read."""

    service: str
    argument: str


@dataclass(frozen=True, slots=True)
class ServiceFailure:
    """A message that starts with a service's keyword but whose argument is unusable."""

    service: str
    reason: FailureReason
    digits_seen: int = 0


ServiceMatch: TypeAlias = ServiceRequest | ServiceFailure

# BH MK and its aliases: the built-in service's keywords, which no configured one may overlap.
RECOVERY_KEYWORDS: Final = _KEYWORDS
MAX_FILE_ID: Final = 32
MAX_TEXT: Final = 160
_FILE_ID: Final = re.compile(r"[A-Z0-9](?:[A-Z0-9./-]*[A-Z0-9])?")
_TRAILER: Final = re.compile(r"[\W_]*(?:(?:GUI|GOI|DEN|TOI|SMS)[\W_]*)+8079[\W_]*$")
_KEYWORD_SHAPE: Final = re.compile(r"^[A-Z]+(?: [A-Z]+)*$")


class KeywordTable:
    """Every configured service's keywords, compiled once; longest keyword first."""

    def __init__(self, keywords: Iterable[Keyword]) -> None:
        self.keywords = tuple(keywords)
        entries = []
        for keyword in self.keywords:
            for phrase in keyword.phrases:
                letters = normalise_keyword(phrase).replace(" ", "")
                entries.append((letters, keyword))
        entries.sort(key=lambda entry: len(entry[0]), reverse=True)
        self._patterns = tuple(
            (re.compile(_PREAMBLE + _SEP.join(letters) + r"(?![^\W0-9_])"), keyword)
            for letters, keyword in entries
        )

    def __bool__(self) -> bool:
        return bool(self.keywords)

    def match(self, text: str) -> ServiceMatch | None:
        """Read ``text`` as a service request, or None when no service's keyword starts it."""
        folded = to_latin(fold(text[:_MAX_CHARS]).upper())
        for pattern, keyword in self._patterns:
            found = pattern.match(folded)
            if found is not None:
                return _argument(keyword, folded, found.end())
        return None


def normalise_keyword(phrase: str) -> str:
    """Fold a configured keyword (``bh  qt``, ``BH Thẻ``) to the form it is matched in."""
    return " ".join(to_latin(fold(phrase).upper()).split())


def valid_keyword(phrase: str) -> bool:
    """Tell whether a configured keyword is Latin letters in words (``BH QT``)."""
    return bool(_KEYWORD_SHAPE.match(normalise_keyword(phrase)))


def overlaps(phrase: str, other: str) -> bool:
    """Tell whether one keyword's letters start the other's: spaces are not read, so the
    shorter would take the longer's messages (``BH`` would take every ``BH MK``)."""
    a, b = (normalise_keyword(k).replace(" ", "") for k in (phrase, other))
    return a.startswith(b) or b.startswith(a)


def _argument(keyword: Keyword, folded: str, start: int) -> ServiceMatch:
    service, rest = keyword.service, folded[start:]
    if keyword.argument is ArgumentKind.BHXH:
        number = _read_number(folded, start, accept_bhxh=True, accept_personal_id=False)
        if isinstance(number, RecoveryRequest):
            return ServiceRequest(service, number.identifier)
        return ServiceFailure(service, number.reason, number.digits_seen)
    rest = _TRAILER.sub("", rest)
    if keyword.argument is ArgumentKind.FILE_ID:
        stripped = re.sub(r"^[\W_]+|[\W_]+$", "", rest)
        if not stripped:
            return ServiceFailure(service, FailureReason.MISSING_NUMBER)
        if not _FILE_ID.fullmatch(stripped) or len(stripped) > MAX_FILE_ID:
            return ServiceFailure(service, FailureReason.NOT_DIGITS)
        return ServiceRequest(service, stripped)
    return ServiceRequest(service, " ".join(re.sub(r"^[\W_]+", "", rest).split())[:MAX_TEXT])
