"""Staff sign-in: password and a TOTP code, with a wait that grows after each failure.

Every failure gets the same sentence and the same status after the same argon2 check: a wrong
password, a wrong or replayed code, an unknown address, a try during the wait. Neither the
answer nor its time tells who is staff. The hash runs before the member's row is locked (no
lock is held across a hash); the wait, the code and the count are then decided under the lock,
so sign-ins that arrive together count as they would one after another.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.accounts.passwords import Hasher
from gateway.console.errors import SignInRefused
from gateway.console.staff import accept_code, audit, find_staff
from gateway.models import StaffMember

FREE_FAILURES = 3  # wrong sign-ins before each further one makes the next wait
MAX_DELAY = dt.timedelta(minutes=15)
REFUSED = "wrong email, password or code, or a sign-in during the wait after failures"


def sign_in(
    session: Session,
    email: str,
    password: str,
    code: str,
    *,
    hasher: Hasher,
    now: dt.datetime,
    client_ip: str,
) -> StaffMember:
    """Check password and TOTP code; count failures; raise SignInRefused on any failure."""
    staff = find_staff(session, email) if len(email) <= 254 else None
    checked_hash = staff.password_hash if staff is not None else None
    # Always one check, even for an unknown address or during the wait.
    password_ok = hasher.verify(checked_hash, password[:256])
    if staff is None:
        outcome, who = "refused", email.strip().lower()[:64] or "?"
    else:
        # Read the row again, locked until the commit: another sign-in may have counted a
        # failure, started a wait or used this code while we hashed.
        session.refresh(staff, with_for_update=True)
        outcome, who = _decide(staff, checked_hash, password_ok, code, now), staff.email
    audit(session, who, "staff_sign_in", outcome, now, client_ip)
    if outcome != "ok" or staff is None:
        raise SignInRefused(REFUSED)
    return staff


def _decide(
    staff: StaffMember, checked_hash: str | None, password_ok: bool, code: str, now: dt.datetime
) -> str:
    """Say ok, refused or throttled, counting a failure (on the locked row)."""
    if staff.blocked_until is not None and staff.blocked_until > now:
        return "throttled"  # not counted: a try during the wait does not lengthen it
    usable = (
        staff.enrolled_at is not None
        and staff.disabled_at is None
        and staff.password_hash == checked_hash  # not reset or re-enrolled meanwhile
    )
    if usable and password_ok and accept_code(staff, code, now):
        staff.failed_signins = 0
        staff.blocked_until = None
        return "ok"
    staff.failed_signins += 1
    extra = staff.failed_signins - FREE_FAILURES
    if extra >= 0:
        staff.blocked_until = now + min(dt.timedelta(seconds=2**extra), MAX_DELAY)
    return "refused"
