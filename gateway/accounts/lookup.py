"""Support's read-only view of one account: state, masked contacts, factors, recent events, waits.

``gateway accounts show`` and the console's account page both print :func:`look_up`; nothing
here writes, and nothing it returns identifies the person beyond the masked phone and email.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.accounts.services import find_account
from gateway.accounts.throttle import capped, read_failures, throttle_key, wait_left
from gateway.models import Account, AuditEvent, Passkey, PasswordIssue, SmartOtp
from gateway.settings import Settings
from parsers import mask_email, mask_id, mask_phone

RECENT = 15  # the newest audit events the view lists


@dataclass(frozen=True, slots=True)
class Event:
    """One recovery, login or change of the account, as the audit trail recorded it."""

    at: dt.datetime
    action: str
    channel: str
    outcome: str


@dataclass(frozen=True, slots=True)
class Throttle:
    """One wait the account may be under; ``until`` None means it is not waiting."""

    name: str  # login, resets, email_otp
    until: dt.datetime | None
    detail: str = ""  # the count behind it: "7" failures, "3/3" passwords
    blocked: bool = False  # waits until a recovery clears it, not until a time


@dataclass(frozen=True, slots=True)
class AccountLookup:
    """What support may see of an account: masked, read only."""

    id: int
    bhxh: str  # masked
    personal_id: str | None  # masked
    state: str  # pending, active, disabled
    phone: str  # masked
    email: str | None  # masked
    created_at: dt.datetime
    password_changed_at: dt.datetime | None
    must_change_password: bool
    temp_password_until: dt.datetime | None  # a temporary password still unused and valid
    passkeys: int
    smart_otp: bool
    events: tuple[Event, ...]
    throttles: tuple[Throttle, ...]

    @property
    def throttled(self) -> bool:
        """Tell whether any wait applies now."""
        return any(t.until is not None or t.blocked for t in self.throttles)


def valid_identifier(identifier: str) -> bool:
    """Tell whether ``identifier`` looks like a social insurance (10) or personal ID (12) number."""
    return identifier.isascii() and identifier.isdigit() and len(identifier) in (10, 12)


def look_up(
    session: Session, identifier: str, settings: Settings, now: dt.datetime
) -> AccountLookup | None:
    """Read an account by its social insurance or personal ID number; None if there is none."""
    account = find_account(session, identifier)
    return None if account is None else describe(session, account, settings, now)


def describe(
    session: Session, account: Account, settings: Settings, now: dt.datetime
) -> AccountLookup:
    """Read what support may see of ``account``."""
    passkeys = session.scalar(
        select(func.count(Passkey.id)).where(Passkey.account_id == account.id)
    )
    smart = session.get(SmartOtp, account.id)
    events = session.execute(
        select(AuditEvent.at, AuditEvent.action, AuditEvent.channel, AuditEvent.outcome)
        .where(AuditEvent.account_id == account.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(RECENT)
    ).all()
    temp_valid = (
        account.temp_password_hash is not None
        and not account.temp_password_logged_in
        and account.temp_password_expires_at is not None
        and account.temp_password_expires_at > now
    )
    return AccountLookup(
        id=account.id,
        bhxh=mask_id(account.bhxh),
        personal_id=mask_id(account.personal_id) if account.personal_id else None,
        state=account.state.value,
        phone=mask_phone(account.phone),
        email=mask_email(account.email) if account.email else None,
        created_at=account.created_at,
        password_changed_at=account.password_changed_at,
        must_change_password=account.must_change_password,
        temp_password_until=account.temp_password_expires_at if temp_valid else None,
        passkeys=passkeys or 0,
        smart_otp=smart is not None and smart.enabled_at is not None and smart.secret is not None,
        events=tuple(Event(*row) for row in events),
        throttles=_throttles(session, account, settings, now),
    )


def _throttles(
    session: Session, account: Account, settings: Settings, now: dt.datetime
) -> tuple[Throttle, ...]:
    # The login counter is kept per social insurance number (gateway/accounts/login.py).
    failures = read_failures(session, throttle_key(account.bhxh))
    if capped(failures, settings):
        login = Throttle("login", None, str(failures.consecutive), blocked=True)
    else:
        wait = wait_left(failures, settings, now)
        login = Throttle("login", now + wait if wait else None, str(failures.consecutive))
    # SMS and email recoveries share the per-account limit of temporary passwords.
    since = now - settings.resets_window
    issued = session.scalars(
        select(PasswordIssue.issued_at)
        .where(PasswordIssue.account_id == account.id, PasswordIssue.issued_at > since)
        .order_by(PasswordIssue.issued_at)
    ).all()
    resets_until = None
    if len(issued) >= settings.resets_per_account:
        resets_until = issued[len(issued) - settings.resets_per_account] + settings.resets_window
    resets = Throttle("resets", resets_until, f"{len(issued)}/{settings.resets_per_account}")
    locked = account.otp_locked_until
    otp = Throttle(
        "email_otp", locked if locked and locked > now else None, str(account.otp_failures)
    )
    return login, resets, otp
