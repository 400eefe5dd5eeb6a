"""Read the console's search and filter fields; a bad value is a 400 with the field's name."""

from __future__ import annotations

import datetime as dt

from gateway.errors import InvalidPayload
from parsers import InvalidPhoneNumber, normalise_phone

DAY_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")  # what people type, and what <input type="date"> sends


def day(raw: str, field: str) -> dt.date | None:
    """Read a day typed as dd/mm/yyyy (or yyyy-mm-dd); None when left empty."""
    raw = raw.strip()
    if not raw:
        return None
    for pattern in DAY_FORMATS:
        try:
            return dt.datetime.strptime(raw, pattern).date()
        except ValueError:
            continue
    raise InvalidPayload(f"{field}: nhập ngày dạng dd/mm/yyyy")


def phone(raw: str) -> str | None:
    """Read a full phone number in any usual form; None when left empty."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return normalise_phone(raw[:32])
    except InvalidPhoneNumber:
        raise InvalidPayload("số điện thoại: nhập đủ số, ví dụ 0912345678") from None


def identifier(raw: str) -> str | None:
    """Read a social insurance (10 digits) or personal ID (12 digits) number; None if empty."""
    raw = "".join(raw.split())
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) in (10, 12)):
        raise InvalidPayload("mã số: nhập 10 chữ số BHXH hoặc 12 chữ số CCCD")
    return raw


def number(raw: str, field: str) -> int | None:
    """Read a positive whole number; None when left empty."""
    raw = raw.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19) or int(raw) == 0:
        raise InvalidPayload(f"{field}: nhập một số nguyên dương")
    return int(raw)
