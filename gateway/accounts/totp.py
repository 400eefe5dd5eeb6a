"""Time-based one-time codes (RFC 6238) as both the staff console and Smart OTP check them.

pyotp computes the codes; this module holds the one rule of acceptance: a 6-digit code of the
current 30-second step or one step either side (clock drift on a phone), compared in constant
time. Which step matched is returned, so that each caller can accept every step only once.
"""

from __future__ import annotations

import datetime as dt
import secrets

import pyotp

STEP_SECONDS = 30  # RFC 6238's default, which every authenticator app uses
DIGITS = 6
DRIFT_STEPS = 1
# Checked against when the account has no Smart OTP, so an answer takes as long either way.
DUMMY_SECRET = pyotp.random_base32()


def normalize(code: str) -> str:
    """Return the code as typed without spaces (apps show it as '123 456')."""
    return "".join(code.split())


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """Return the time step whose code ``code`` is, within the drift window; None if none."""
    code = normalize(code)
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every step is compared, so the time taken does not say which one matched.
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


def new_secret() -> str:
    """Return a fresh 160-bit base32 seed."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, name: str, issuer: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=name, issuer_name=issuer
    )
