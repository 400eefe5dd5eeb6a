"""HMAC-SHA256 signatures over ``"<timestamp>.<raw body>"``, in both directions.

Unlike Twilio's scheme the timestamp is signed too, so a captured request cannot be replayed
after the tolerance window (300 s by default).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from gateway.errors import BadSignature

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the ``v1=<hex>`` signature of a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: dt.datetime) -> dict[str, str]:
    """Return the two headers that sign ``body`` at ``now``."""
    timestamp = str(int(now.timestamp()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    header: str | None,
    body: bytes,
    *,
    now: dt.datetime,
    tolerance: dt.timedelta,
) -> None:
    """Raise BadSignature unless ``header`` signs ``body`` at a timestamp within tolerance."""
    if not timestamp or not header:
        raise BadSignature(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise BadSignature(f"{TIMESTAMP_HEADER} must be unix seconds")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > tolerance.total_seconds():
        raise BadSignature(f"timestamp is {int(skew)} s away from our clock")
    expected = signature(secret, timestamp, body)
    # Several comma-separated signatures let a carrier sign with old and new secrets while
    # a secret is being rotated.
    candidates = [part.strip() for part in header.split(",")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise BadSignature("signature does not match")
