"""Staff members: enrolment by a one-time link, sign-in with password and TOTP, throttling.

Staff are not citizens: they live in their own table, sign in with a second factor, and every
sign-in (good or bad) lands in the audit trail with the client's address.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from gateway.accounts import totp
from gateway.accounts.passwords import hash_password, keyed_hash, verify_password
from gateway.console.errors import SignInRefused
from gateway.console.policy import check_password
from gateway.console.roles import ROLES
from gateway.errors import InvalidPayload
from gateway.models import StaffMember
from gateway.ops.audit import record_event

ISSUER = "8079 gateway"
FREE_FAILURES = 3  # wrong sign-ins before each further one makes the next wait
MAX_DELAY = dt.timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What ``gateway staff add`` hands back: the member and the only copy of the link token."""

    staff: StaffMember
    token: str


def add_staff(
    session: Session, email: str, role: str, *, secret_key: str, now: dt.datetime, ttl: dt.timedelta
) -> Enrolment:
    """Create a staff member who must enrol through the returned one-time token."""
    address = email.strip().lower()
    if not _EMAIL.match(address):
        raise InvalidPayload(f"{email!r} is not an email address")
    if role not in ROLES:
        raise InvalidPayload(f"role must be one of {', '.join(ROLES)}")
    if session.scalar(select(StaffMember.id).where(StaffMember.email == address)) is not None:
        raise InvalidPayload(f"{address} is already a staff member; use `gateway staff reset`")
    staff = StaffMember(
        email=address, role=role, failed_signins=0, session_version=1, created_at=now
    )
    session.add(staff)
    return Enrolment(staff, _new_link(staff, secret_key, now, ttl))


def reset_staff(
    session: Session, email: str, *, secret_key: str, now: dt.datetime, ttl: dt.timedelta
) -> Enrolment:
    """Forget a member's password and TOTP and hand out a new enrolment token."""
    staff = find_staff(session, email)
    if staff is None:
        raise InvalidPayload(f"no staff member {email.strip().lower()!r}")
    staff.password_hash = None
    staff.totp_secret = None
    staff.totp_last_step = None
    staff.enrolled_at = None
    staff.disabled_at = None
    staff.failed_signins = 0
    staff.blocked_until = None
    staff.session_version += 1  # signed-in browsers are signed out
    return Enrolment(staff, _new_link(staff, secret_key, now, ttl))


def disable_staff(session: Session, email: str, now: dt.datetime) -> StaffMember:
    """Stop a member from signing in, and end their sessions."""
    staff = find_staff(session, email)
    if staff is None:
        raise InvalidPayload(f"no staff member {email.strip().lower()!r}")
    staff.disabled_at = now
    staff.session_version += 1
    return staff


def change_role(session: Session, email: str, role: str) -> tuple[StaffMember, str]:
    """Give a member another role; end their sessions so it applies at once. Return the
    member and the role they had."""
    if role not in ROLES:
        raise InvalidPayload(f"role must be one of {', '.join(ROLES)}")
    staff = find_staff(session, email)
    if staff is None:
        raise InvalidPayload(f"no staff member {email.strip().lower()!r}")
    before = staff.role
    if before != role:
        staff.role = role
        staff.session_version += 1  # a page open with the old role must not keep its rights
    return staff, before


def find_staff(session: Session, email: str) -> StaffMember | None:
    """Find a staff member by email address (case does not matter)."""
    address = email.strip().lower()
    return session.scalars(select(StaffMember).where(StaffMember.email == address)).one_or_none()


def _new_link(staff: StaffMember, secret_key: str, now: dt.datetime, ttl: dt.timedelta) -> str:
    token = secrets.token_urlsafe(32)
    staff.enrol_token_hash = keyed_hash(secret_key, token)
    staff.enrol_expires_at = now + ttl
    return token


def staff_for_enrolment(
    session: Session, token: str, *, secret_key: str, now: dt.datetime
) -> StaffMember | None:
    """Return the member a valid, unexpired enrolment token belongs to, or None."""
    if not 20 <= len(token) <= 100:
        return None
    digest = keyed_hash(secret_key, token)
    staff = session.scalars(
        select(StaffMember).where(StaffMember.enrol_token_hash == digest)
    ).one_or_none()
    if staff is None or staff.enrol_expires_at is None or staff.enrol_expires_at <= now:
        return None
    if staff.totp_secret is None:
        staff.totp_secret = totp.new_secret()
    return staff


def provisioning_uri(staff: StaffMember) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    assert staff.totp_secret is not None
    return totp.provisioning_uri(staff.totp_secret, name=staff.email, issuer=ISSUER)


def complete_enrolment(
    staff: StaffMember, password: str, repeated: str, code: str, now: dt.datetime
) -> None:
    """Set the chosen password and confirm the authenticator with one code; use up the link."""
    if password != repeated:
        raise InvalidPayload("the two passwords differ")
    check_password(password, identifiers=(staff.email, staff.email.partition("@")[0]))
    if not _accept_code(staff, code, now):
        raise InvalidPayload("the code from the authenticator app is wrong or expired")
    staff.password_hash = hash_password(password)
    staff.enrolled_at = now
    staff.enrol_token_hash = None
    staff.enrol_expires_at = None
    staff.session_version += 1


def sign_in(
    session: Session, email: str, password: str, code: str, *, now: dt.datetime, client_ip: str
) -> StaffMember:
    """Check password and TOTP code; count failures; raise SignInRefused on any failure."""
    staff = find_staff(session, email) if len(email) <= 254 else None
    if staff is not None and staff.blocked_until is not None and staff.blocked_until > now:
        wait = int((staff.blocked_until - now).total_seconds()) + 1
        audit(session, staff.email, "staff_sign_in", "throttled", now, client_ip)
        raise SignInRefused(f"Quá nhiều lần đăng nhập sai. Thử lại sau {wait} giây.")
    # Verify even for an unknown address, so the answer time does not tell who is staff.
    password_ok = verify_password(staff.password_hash if staff else None, password[:256])
    usable = staff is not None and staff.enrolled_at is not None and staff.disabled_at is None
    if staff is not None and usable and password_ok and _accept_code(staff, code, now):
        staff.failed_signins = 0
        staff.blocked_until = None
        audit(session, staff.email, "staff_sign_in", "ok", now, client_ip)
        return staff
    if staff is not None:
        staff.failed_signins += 1
        extra = staff.failed_signins - FREE_FAILURES
        if extra >= 0:
            staff.blocked_until = now + min(dt.timedelta(seconds=2**extra), MAX_DELAY)
    audit(session, email.strip().lower()[:64] or "?", "staff_sign_in", "refused", now, client_ip)
    raise SignInRefused("Email, mật khẩu hoặc mã xác thực không đúng.")


def _accept_code(staff: StaffMember, code: str, now: dt.datetime) -> bool:
    """Accept a current TOTP code (±1 step for clock drift) that was never used before."""
    if staff.totp_secret is None:
        return False
    step = totp.matching_step(staff.totp_secret, code, now)
    if step is None:
        return False
    if staff.totp_last_step is not None and step <= staff.totp_last_step:
        return False  # replayed: a code (or an older one) already signed someone in
    staff.totp_last_step = step
    # Written again with the row: a seed stored before sealing (gateway/sealed.py) is sealed
    # at its owner's next sign-in, and every seed under the current key.
    flag_modified(staff, "totp_secret")
    return True


def audit(
    session: Session,
    who: str,
    action: str,
    outcome: str,
    now: dt.datetime,
    client_ip: str,
    detail: str = "",
) -> None:
    """Record one console event with the staff member and the client's address."""
    record_event(
        session,
        action=action,
        channel="console",
        outcome=outcome,
        subject=who,
        now=now,
        actor="staff",
        detail=f"ip={client_ip}" + (f" {detail}" if detail else ""),
    )
