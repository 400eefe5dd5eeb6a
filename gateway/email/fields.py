"""Typed fields of the account and recovery APIs' JSON bodies: refuse malformed ones with 400."""

from __future__ import annotations

import re
from typing import Any

from gateway.errors import InvalidPayload
from gateway.settings import Settings
from gateway.web import string_field

# Deliberately loose: the OTP sent to the address is the real check that it works.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


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
    """Return an email address, its domain lower-cased as the account import stores it."""
    value = string_field(data, name, max_length=254).strip()
    if not _EMAIL.match(value):
        raise InvalidPayload(f"{name} is not a valid email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


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
