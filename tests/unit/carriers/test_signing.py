"""HMAC-SHA256 over "<timestamp>.<body>", with a tolerance and rotation-friendly lists."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest

from gateway.carriers.signing import signature, signed_headers, verify
from gateway.errors import BadSignature

NOW = dt.datetime(2026, 11, 25, 2, 30, tzinfo=dt.UTC)
TOLERANCE = dt.timedelta(seconds=300)
BODY = b'{"id":"1"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"secret", b"1795573800." + BODY, hashlib.sha256).hexdigest()

    assert signature("secret", "1795573800", BODY) == f"v1={expected}"
    assert signed_headers("secret", BODY, NOW) == {
        "X-Gateway-Timestamp": "1795573800",
        "X-Gateway-Signature": f"v1={expected}",
    }


def test_a_good_signature_passes_within_tolerance() -> None:
    headers = signed_headers("secret", BODY, NOW)
    later = NOW + dt.timedelta(seconds=300)

    verify(
        "secret",
        headers["X-Gateway-Timestamp"],
        headers["X-Gateway-Signature"],
        BODY,
        now=later,
        tolerance=TOLERANCE,
    )


def test_any_of_several_signatures_may_match_during_rotation() -> None:
    ts = "1795573800"
    header = f"{signature('old-secret', ts, BODY)}, {signature('secret', ts, BODY)}"

    verify("secret", ts, header, BODY, now=NOW, tolerance=TOLERANCE)


@pytest.mark.parametrize(
    ("timestamp", "header", "reason"),
    [
        (None, "v1=00", "required"),
        ("1795573800", None, "required"),
        ("17955738oo", "v1=00", "unix seconds"),
        ("1795573499", signature("secret", "1795573499", BODY), "away from our clock"),
        ("1795574101", signature("secret", "1795574101", BODY), "away from our clock"),
        ("1795573800", signature("other", "1795573800", BODY), "does not match"),
        ("1795573800", signature("secret", "1795573801", BODY), "does not match"),
        ("1795573800", "v1=" + "0" * 64, "does not match"),
    ],
)
def test_bad_signatures_are_refused(timestamp: str | None, header: str | None, reason: str) -> None:
    with pytest.raises(BadSignature, match=reason):
        verify("secret", timestamp, header, BODY, now=NOW, tolerance=TOLERANCE)
