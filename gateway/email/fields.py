"""Typed fields of the account and recovery APIs' JSON bodies: refuse malformed ones with 400."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email

from gateway.errors import InvalidPayload
from gateway.settings import Settings
from gateway.web import string_field


def identifier_field(data: dict[str, Any], settings: Settings, name: str = "bhxh") -> str:
    """Return a social insurance number (10 digits) or personal ID (12), as the settings accept."""
    value = string_field(data, name, max_length=12)
    lengths = {10} if settings.accept_bhxh else set()
    lengths |= {12} if settings.accept_personal_id else set()
    if not (value.isascii() and value.isdigit() and len(value) in lengths):
        forms = " or ".join(str(n) for n in sorted(lengths))
        raise InvalidPayload(f"{name} must be {forms} digits")
    return value


def email_field(data: dict[str, Any], name: str = "email") -> str:
    """Return an email address, its domain lower-cased as the account import stores it.

    email-validator checks the syntax a mail relay will accept (RFC 5321/5322, a real domain
    shape); ASCII only, since our relay and many inboxes do not speak SMTPUTF8, and offline:
    no DNS lookup on the request path. The OTP sent to the address proves the rest.
    """
    value = string_field(data, name, max_length=254).strip()
    try:
        checked = validate_email(value, allow_smtputf8=False, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidPayload(f"{name} is not a valid email address: {exc}") from None
    return f"{checked.local_part}@{checked.ascii_domain.lower()}"


def otp_field(data: dict[str, Any], name: str = "otp") -> str:
    """Return a 6-digit code."""
    value = string_field(data, name, max_length=6)
    if not (value.isascii() and value.isdigit() and len(value) == 6):
        raise InvalidPayload(f"{name} must be 6 digits")
    return value


def optional_string(data: dict[str, Any], name: str, *, max_length: int = 256) -> str | None:
    """Return a string field that may be absent (or null)."""
    if data.get(name) is None:
        return None
    return string_field(data, name, max_length=max_length)
