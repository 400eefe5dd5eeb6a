"""Staff members: added with a one-time enrolment link, reset, disabled, given another role.

Staff are not citizens: they live in their own table, sign in with a second factor
(``signin.py``) after enrolling (``enrolment.py``), and every sign-in, good or bad, lands in
the audit trail with the client's address.
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
from gateway.accounts.passwords import keyed_hash
from gateway.console.roles import ROLES
from gateway.errors import InvalidPayload
from gateway.models import StaffMember
from gateway.ops.audit import record_event

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
    end_sessions(staff)
    return Enrolment(staff, _new_link(staff, secret_key, now, ttl))


def disable_staff(session: Session, email: str, now: dt.datetime) -> StaffMember:
    """Stop a member from signing in, and end their sessions."""
    staff = find_staff(session, email)
    if staff is None:
        raise InvalidPayload(f"no staff member {email.strip().lower()!r}")
    staff.disabled_at = now
    end_sessions(staff)
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
        end_sessions(staff)  # a page open with the old role must not keep its rights
    return staff, before


def end_sessions(staff: StaffMember) -> None:
    """End every console session of a member, in every browser (guard.py checks the version)."""
    staff.session_version += 1


def find_staff(session: Session, email: str) -> StaffMember | None:
    """Find a staff member by email address (case does not matter)."""
    address = email.strip().lower()
    return session.scalars(select(StaffMember).where(StaffMember.email == address)).one_or_none()


def _new_link(staff: StaffMember, secret_key: str, now: dt.datetime, ttl: dt.timedelta) -> str:
    token = secrets.token_urlsafe(32)
    staff.enrol_token_hash = keyed_hash(secret_key, token)
    staff.enrol_expires_at = now + ttl
    # A new link starts with no mailed code and no wrong ones (enrolment.py).
    staff.enrol_code_hash = None
    staff.enrol_code_sent_at = None
    staff.enrol_code_failures = 0
    return token


def accept_code(staff: StaffMember, code: str, now: dt.datetime) -> bool:
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
