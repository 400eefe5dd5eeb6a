"""Normalise Vietnamese mobile numbers to ``84`` + 9 digits and name their home carrier.

Accepted forms: ``0912345678``, ``912345678`` (a spreadsheet dropped the 0), ``84912345678``,
``+84912345678``, ``0084912345678``, ``+84 (0) 912 345 678``, with spaces, dots, dashes and
parentheses anywhere, and the 11-digit numbers used before the 2018-2019 conversion
(``01629123456`` and ``841629123456`` both become ``84329123456``).
"""

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# From 15 Sep 2018 to 30 Jun 2019, 11-digit mobile numbers became 10-digit ones, keeping the
# last 7 digits (DOMAIN.md). Old records and some systems still hold the old form.
OLD_TO_NEW_PREFIX: Final[Mapping[str, str]] = MappingProxyType(
    {
        # MobiFone
        "0120": "070",
        "0121": "079",
        "0122": "077",
        "0126": "076",
        "0128": "078",
        # VinaPhone
        "0123": "083",
        "0124": "084",
        "0125": "085",
        "0127": "081",
        "0129": "082",
        # Viettel
        "0162": "032",
        "0163": "033",
        "0164": "034",
        "0165": "035",
        "0166": "036",
        "0167": "037",
        "0168": "038",
        "0169": "039",
        # Vietnamobile
        "0186": "056",
        "0188": "058",
        # Gmobile
        "0199": "059",
    }
)


def _prefixes(carrier: str, *prefixes: str) -> dict[str, str]:
    return dict.fromkeys(prefixes, carrier)


# Current home prefixes (DOMAIN.md), in national form. Four-digit entries win over three-digit
# ones. Since number portability (Nov 2018) this is only the carrier that issued the number.
HOME_PREFIXES: Final[Mapping[str, str]] = MappingProxyType(
    _prefixes("viettel", "086", "096", "097", "098", *(f"03{d}" for d in "23456789"))
    | _prefixes("vinaphone", "081", "082", "083", "084", "085", "088", "091", "094")
    | _prefixes("mobifone", "070", "076", "077", "078", "079", "089", "090", "093")
    | _prefixes("vietnamobile", "052", "056", "058", "092")
    | _prefixes("gmobile", "059", "0993", "0994", "0995", "0996", "0997")
    | _prefixes("itelecom", "087", "0998", "0999")
    | _prefixes("reddi", "0559")
)

_COUNTRY_CODE: Final = "84"
_SIGNIFICANT_DIGITS: Final = 9
_OLD_SIGNIFICANT_DIGITS: Final = 10
_MOBILE_FIRST_DIGITS: Final = frozenset("35789")
# Far longer than any real way of writing a number; refuse before doing any work on it.
_MAX_RAW_LENGTH: Final = 40
_SEPARATORS: Final = str.maketrans("", "", " \t.-()")


class InvalidPhoneNumber(ValueError):
    """A string that is not a Vietnamese mobile number; ``str(exc)`` says why, in English."""


def normalise_phone(raw: str) -> str:
    """Return a Vietnamese mobile number as ``84`` + 9 digits, or raise InvalidPhoneNumber."""
    text = raw.strip()
    if len(text) > _MAX_RAW_LENGTH:
        raise InvalidPhoneNumber("too long")
    if not text.isascii():
        # Full-width digits and no-break spaces arrive from copy-paste and office files.
        text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        raise InvalidPhoneNumber("empty")
    compact = text.translate(_SEPARATORS)
    international = compact.startswith("+")
    digits = compact[1:] if international else compact
    if not digits:
        raise InvalidPhoneNumber("no digits")
    if not (digits.isascii() and digits.isdigit()):
        if any(ch.isalpha() for ch in digits):
            raise InvalidPhoneNumber("contains letters")
        raise InvalidPhoneNumber("contains characters other than digits")
    national = _national_number(digits, international=international)
    if len(national) == _OLD_SIGNIFICANT_DIGITS and national.startswith("1"):
        new_prefix = OLD_TO_NEW_PREFIX.get("0" + national[:3])
        if new_prefix is None:
            raise InvalidPhoneNumber("unknown pre-2018 mobile prefix")
        national = new_prefix[1:] + national[3:]
    if national.startswith("2"):
        raise InvalidPhoneNumber("landline number, not a mobile")
    if len(national) != _SIGNIFICANT_DIGITS:
        raise InvalidPhoneNumber("wrong length")
    if national[0] not in _MOBILE_FIRST_DIGITS:
        raise InvalidPhoneNumber("not a mobile number")
    return _COUNTRY_CODE + national


def _national_number(digits: str, *, international: bool) -> str:
    """Strip the country code or trunk prefix, leaving the significant digits."""
    if international or digits.startswith("00"):
        body = digits if international else digits[2:]
        if not body.startswith(_COUNTRY_CODE):
            raise InvalidPhoneNumber("not a Vietnamese number")
        national = body[2:]
    elif digits.startswith("0"):
        return digits[1:]
    elif digits.startswith(_COUNTRY_CODE) and len(digits) in (11, 12):
        national = digits[2:]
    else:
        return digits
    # People keep the trunk 0 after the country code: "+84 (0) 912 345 678", "840912345678".
    return national[1:] if national.startswith("0") else national


def home_carrier(phone: str) -> str | None:
    """Name the carrier that issued a normalised number by its prefix, or None if unknown."""
    if (
        len(phone) != 11
        or not phone.startswith(_COUNTRY_CODE)
        or not (phone.isascii() and phone.isdigit())
    ):
        return None
    national = "0" + phone[2:]
    return HOME_PREFIXES.get(national[:4]) or HOME_PREFIXES.get(national[:3])
