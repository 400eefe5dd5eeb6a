"""Validators for every value that comes from outside: one way to check each kind of field.

Blueprints and carrier adapters call these before using a value, so that what reaches the
rest of the code is already of its type and range: identifiers and numbers are ASCII digits
(``str.isdigit()`` also accepts ``'²'`` and ``'٣'``, which ``int()`` then rejects or reads
as another number), text is UTF-8 without lone surrogates or NUL (which cannot be encoded,
hashed or stored in PostgreSQL), moments and days lie within :data:`EARLIEST`..:data:`LATEST`
(``datetime`` overflows a few days from its ends), and JSON is at most :data:`MAX_JSON_DEPTH`
levels deep (deeper nesting exhausts the parser's recursion). Every refusal is an
:class:`InvalidPayload` naming the field, which the edge answers with a 4xx.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from itertools import accumulate
from typing import Any

from gateway.errors import InvalidPayload

MAX_JSON_DEPTH = 16
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NESTING = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def clean_text(value: str, name: str) -> str:
    """Refuse text holding a lone surrogate or a NUL; return it unchanged otherwise."""
    if _FORBIDDEN.search(value):
        raise InvalidPayload(f"{name} holds a NUL or an invalid (surrogate) character")
    return value


def text(value: object, name: str, *, max_length: int = 256, allow_empty: bool = False) -> str:
    """Return a string of at most ``max_length`` clean characters, or refuse it."""
    if not isinstance(value, str):
        raise InvalidPayload(f"{name} must be a string")
    if not value and not allow_empty:
        raise InvalidPayload(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise InvalidPayload(f"{name} is longer than {max_length} characters")
    return clean_text(value, name)


def is_ascii_digits(value: str) -> bool:
    """Tell whether ``value`` is one or more of the digits 0-9, and nothing else."""
    return value.isascii() and value.isdigit()


def digits(value: str, name: str, *, max_length: int = 18) -> str:
    """Return a run of 1 to ``max_length`` ASCII digits, or refuse it."""
    if not is_ascii_digits(value) or len(value) > max_length:
        raise InvalidPayload(f"{name} must be 1 to {max_length} digits 0-9")
    return value


def unix_seconds(value: str, name: str) -> dt.datetime:
    """Read unix seconds as an aware UTC moment within the sane range."""
    seconds = int(digits(value, name, max_length=12))
    if not EARLIEST.timestamp() <= seconds < LATEST.timestamp():
        raise InvalidPayload(f"{name} is not a moment between {EARLIEST:%Y} and {LATEST:%Y}")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def iso_moment(value: object, name: str) -> dt.datetime:
    """Read an ISO 8601 time with a UTC offset as an aware UTC moment within the sane range."""
    raw = text(value, name, max_length=40)
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidPayload(f"{name} is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise InvalidPayload(f"{name} needs a UTC offset, e.g. 2026-11-25T09:30:00+07:00")
    if not EARLIEST <= parsed < LATEST:
        raise InvalidPayload(f"{name} is not a moment between {EARLIEST:%Y} and {LATEST:%Y}")
    return parsed.astimezone(dt.UTC)


def iso_day(value: str, name: str) -> dt.date:
    """Read a ``YYYY-MM-DD`` day within the sane range."""
    raw = value.strip()
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == len("2026-11-25") else None
    except ValueError:
        day = None
    if day is None or not EARLIEST.date() <= day < LATEST.date():
        raise InvalidPayload(
            f"{name} must be a day in the form YYYY-MM-DD between {EARLIEST:%Y} and {LATEST:%Y}"
        )
    return day


def load_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a JSON document no deeper than ``max_depth``, with clean strings and no NaN."""
    if json_depth(raw) > max_depth:
        raise InvalidPayload(f"JSON nested deeper than {max_depth} levels")
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidPayload("body is not valid JSON") from None
    _check_strings(data, "body")
    return data


def json_depth(raw: bytes) -> int:
    """Return how deeply the arrays and objects of a JSON text nest, without parsing it."""
    outside_strings = _JSON_STRING.sub(b'""', raw)
    steps = (_NESTING.get(byte, 0) for byte in outside_strings)
    return max(accumulate(steps, initial=0))


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_strings(data: Any, name: str) -> None:
    # Depth is bounded above, so this recursion is too.
    if isinstance(data, str):
        clean_text(data, name)
    elif isinstance(data, list):
        for item in data:
            _check_strings(item, name)
    elif isinstance(data, dict):
        for key, item in data.items():
            clean_text(key, "a field name")
            _check_strings(item, str(key)[:32])
