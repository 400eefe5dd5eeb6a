"""Count GSM-7 septets and SMS segments, so that replies are known to fit one message.

Tables from 3GPP TS 23.038 (GSM 03.38), section 6.2.1: the default alphabet and its extension
table. An extension character is sent as ESC + character, so it costs two septets.
"""

from typing import Final

# The 128 characters of the default alphabet, in code order 0x00-0x7F. 0x1B is the escape to
# the extension table, not a character of its own, so it is left out of the sets below.
GSM7_BASIC: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Extension table characters (codes 0x0A form feed, 0x14, 0x28, 0x29, 0x2F, 0x3C-0x3E, 0x40,
# 0x65).
GSM7_EXTENSION: Final = "\f^{}\\[~]|€"

_ESCAPE: Final = "\x1b"
_SEPTETS: Final[dict[str, int]] = {ch: 1 for ch in GSM7_BASIC if ch != _ESCAPE} | {
    ch: 2 for ch in GSM7_EXTENSION
}

# Per-message limits: a single message carries 140 octets; a part of a concatenated message
# loses 6 octets to the user data header (3GPP TS 23.040).
_GSM7_SINGLE: Final = 160
_GSM7_PART: Final = 153
_UCS2_SINGLE: Final = 70
_UCS2_PART: Final = 67
_BMP_LAST: Final = 0xFFFF


def septets(text: str) -> int | None:
    """Count the GSM-7 septets of text, or return None if a character is not GSM-7."""
    total = 0
    for ch in text:
        cost = _SEPTETS.get(ch)
        if cost is None:
            return None
        total += cost
    return total


def is_gsm7(text: str) -> bool:
    """Tell whether text can be sent in the GSM-7 default alphabet with its extension."""
    return septets(text) is not None


def segments(text: str) -> int:
    """Count the SMS parts text needs: GSM-7 when possible, else UCS-2 (empty text is one)."""
    gsm_costs = [_SEPTETS.get(ch) for ch in text]
    if all(cost is not None for cost in gsm_costs):
        return _pack([cost or 0 for cost in gsm_costs], _GSM7_SINGLE, _GSM7_PART)
    # UCS-2 counts UTF-16 code units: a character outside the BMP is a surrogate pair.
    units = [2 if ord(ch) > _BMP_LAST else 1 for ch in text]
    return _pack(units, _UCS2_SINGLE, _UCS2_PART)


def _pack(costs: list[int], single: int, part: int) -> int:
    """Count parts, never splitting an escape sequence or a surrogate pair between two parts."""
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts += 1
            used = 0
        used += cost
    return parts
