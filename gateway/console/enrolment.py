"""Enrolment by one-time link: a code mailed to the member, then the TOTP seed and a password.

Whoever holds the link (the admin's screen, a forwarded mail, a log) could read the seed and
enrol first; so the seed is shown only to a browser that typed a code sent to the member's own
address. The doors keep the token out of URLs and logs (``enrol_views.py``).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.accounts import totp
from gateway.accounts.notices import send_email
from gateway.accounts.passwords import hash_password, keyed_hash, keyed_hash_matches
from gateway.console.policy import check_password
from gateway.console.staff import accept_code, end_sessions
from gateway.delivery.emails import EmailKind
from gateway.errors import InvalidPayload, Why
from gateway.models import StaffMember
from gateway.settings import Settings

ISSUER = "8079 gateway"
CODE_TTL = dt.timedelta(minutes=10)
CODE_RESEND = dt.timedelta(minutes=1)  # no sooner: a link is no way to flood a mailbox
# Wrong codes per link, then the link is used up: ten guesses at a 6-digit code are a 1 in
# 100 000 chance; the member asks an admin for a new link.
MAX_CODE_FAILURES = 10


def link_digest(secret_key: str, token: str) -> str | None:
    """Return the stored form of a link's token; None for what cannot be a token."""
    if not 20 <= len(token) <= 100:
        return None
    return keyed_hash(secret_key, token)


def staff_for_link(session: Session, digest: str, now: dt.datetime) -> StaffMember | None:
    """Return the member whose unexpired enrolment link has this digest, or None."""
    staff = session.scalars(
        select(StaffMember).where(StaffMember.enrol_token_hash == digest)
    ).one_or_none()
    if staff is None or not _link_open(staff, now):
        return None
    return staff


def mail_code(
    session: Session, staff: StaffMember, *, settings: Settings, now: dt.datetime, again: bool
) -> bool:
    """Mail the member a new code, unless one is still live (``again``: sent a minute ago or
    less). Return whether a code went."""
    sent = staff.enrol_code_sent_at
    if _code_live(staff, now) and (not again or (sent is not None and now < sent + CODE_RESEND)):
        return False
    code = f"{secrets.randbelow(10**6):06d}"
    staff.enrol_code_hash = keyed_hash(settings.secret_key, _keyed(staff, code))
    staff.enrol_code_sent_at = now
    minutes = str(int(CODE_TTL.total_seconds() // 60))
    values = {"account": staff.email, "otp": code, "minutes": minutes}
    send_email(
        session, staff.email, EmailKind.STAFF_ENROL_CODE, settings=settings, now=now, **values
    )
    return True


def check_code(
    session: Session, staff: StaffMember, code: str, *, secret_key: str, now: dt.datetime
) -> bool:
    """Check a mailed code: a right one works once; the tenth wrong one uses up the link.

    The row is locked first, so guesses sent together are all counted (PostgreSQL; SQLite
    lets one writer in at a time anyway).
    """
    session.refresh(staff, with_for_update=True)
    typed = "".join(code.split())[:16]
    if (
        _link_open(staff, now)
        and _code_live(staff, now)
        and keyed_hash_matches(secret_key, staff.enrol_code_hash, _keyed(staff, typed))
    ):
        staff.enrol_code_hash = None
        return True
    staff.enrol_code_failures += 1
    if staff.enrol_code_failures >= MAX_CODE_FAILURES:
        staff.enrol_token_hash = None
        staff.enrol_expires_at = None
        staff.enrol_code_hash = None
    return False


def link_used_up(staff: StaffMember) -> bool:
    """Say whether the member's link no longer works (enrolled, or too many wrong codes)."""
    return staff.enrol_token_hash is None


def reveal_seed(staff: StaffMember) -> str:
    """Return the member's TOTP seed, made on first use and kept until they enrol."""
    if staff.totp_secret is None:
        staff.totp_secret = totp.new_secret()
    return staff.totp_secret


def provisioning_uri(staff: StaffMember) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return totp.provisioning_uri(reveal_seed(staff), name=staff.email, issuer=ISSUER)


def complete_enrolment(
    staff: StaffMember, password: str, repeated: str, code: str, now: dt.datetime
) -> None:
    """Set the chosen password and confirm the authenticator with one code; use up the link."""
    if password != repeated:
        raise InvalidPayload("the two passwords differ", why=Why.PASSWORDS_DIFFER)
    check_password(password, identifiers=(staff.email, staff.email.partition("@")[0]))
    if not accept_code(staff, code, now):
        raise InvalidPayload(
            "the code from the authenticator app is wrong or expired",
            why=Why.AUTHENTICATOR_CODE_REFUSED,
        )
    staff.password_hash = hash_password(password)
    staff.enrolled_at = now
    staff.enrol_token_hash = None
    staff.enrol_expires_at = None
    staff.enrol_code_hash = None
    end_sessions(staff)


def _link_open(staff: StaffMember, now: dt.datetime) -> bool:
    expires = staff.enrol_expires_at
    return staff.enrol_token_hash is not None and expires is not None and now < expires


def _code_live(staff: StaffMember, now: dt.datetime) -> bool:
    sent = staff.enrol_code_sent_at
    return staff.enrol_code_hash is not None and sent is not None and now < sent + CODE_TTL


def _keyed(staff: StaffMember, code: str) -> str:
    # Bound to the member, so equal codes of two members never have equal hashes.
    return f"staff enrol code {staff.id} {code}"
