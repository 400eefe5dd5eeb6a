"""Mask personal data for logs: phone numbers and identifiers are personal data.

Decree 13/2023 (and the Personal Data Protection Law 91/2025 from 2026) covers phone numbers,
ID numbers and social insurance numbers; logs show them masked (DOMAIN.md).
"""

from typing import Final

_PHONE_HEAD: Final = 4
_PHONE_TAIL: Final = 3
_ID_HEAD: Final = 2
_ID_TAIL: Final = 2
# Keep the usual head and tail only when at least this many characters stay hidden; shorter
# strings keep a quarter at each end, so most of them is always hidden.
_MIN_HIDDEN: Final = 4


def mask_phone(phone: str) -> str:
    """Mask a phone number for logs: ``84912345678`` becomes ``8491****678``."""
    return _mask(phone, _PHONE_HEAD, _PHONE_TAIL)


def mask_id(identifier: str) -> str:
    """Mask a social insurance or ID number for logs: ``0123456789`` becomes ``01******89``."""
    return _mask(identifier, _ID_HEAD, _ID_TAIL)


def mask_email(address: str) -> str:
    """Mask an email address for logs: ``nguyen.van.a@example.vn`` becomes ``ng***@example.vn``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return local[: min(2, len(local) // 2)] + "***@" + domain


def _mask(value: str, head: int, tail: int) -> str:
    """Keep head and tail characters and replace the rest with stars."""
    length = len(value)
    if length - head - tail < _MIN_HIDDEN:
        head = tail = length // 4
    hidden = length - head - tail
    return value[:head] + "*" * hidden + value[length - tail :]
