"""One-time codes sent by email: 6 digits, short-lived, single use, stored as a keyed hash.

Wrong codes count per account across resends (a new code does not reset the count); past the
limit the account's codes are void and no code is accepted until the lockout ends. The caller
locks the account row first (:func:`gateway.accounts.services.lock_active_account`), and
using a code is a conditional UPDATE, so of many concurrent right answers exactly one wins.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.accounts.passwords import keyed_hash, keyed_hash_matches
from gateway.models import Account, Otp
from gateway.settings import Settings

RECOVERY = "recovery"
EMAIL_CHANGE = "email_change"
OTP_DIGITS = 6

# One answer for every refused code, so the answer tells nothing of why.
OTP_REFUSED = "the code is wrong, expired or already used, or too many codes were tried"


def otps_sent(session: Session, account_id: int, since: dt.datetime) -> int:
    """Count the codes emailed to an account since a moment, whatever their purpose."""
    query = select(func.count(Otp.id)).where(Otp.account_id == account_id, Otp.created_at > since)
    return session.scalar(query) or 0


def issue_otp(
    session: Session,
    account: Account,
    *,
    purpose: str,
    email: str,
    settings: Settings,
    now: dt.datetime,
) -> str:
    """Create a code for the account and return it (the only copy in clear)."""
    # Only the latest code works: an older one still in an inbox is one more thing to steal.
    session.execute(
        update(Otp)
        .where(
            Otp.account_id == account.id,
            Otp.purpose == purpose,
            Otp.consumed_at.is_(None),
            Otp.expires_at > now,
        )
        .values(expires_at=now)
    )
    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    session.add(
        Otp(
            account_id=account.id,
            purpose=purpose,
            code_hash=_hash(settings, account.id, purpose, code),
            email=email,
            attempts=0,
            created_at=now,
            expires_at=now + settings.otp_ttl,
        )
    )
    return code


def use_otp(
    session: Session,
    account: Account,
    code: str,
    *,
    purpose: str,
    settings: Settings,
    now: dt.datetime,
) -> Otp | None:
    """Use up the account's live code if ``code`` is it; else count a wrong try, return None."""
    if account.otp_locked_until is not None:
        if account.otp_locked_until > now:
            return None
        account.otp_failures, account.otp_locked_until = 0, None
    live = session.scalars(
        select(Otp)
        .where(
            Otp.account_id == account.id,
            Otp.purpose == purpose,
            Otp.consumed_at.is_(None),
            Otp.expires_at > now,
            Otp.attempts < settings.otp_max_failures,
        )
        .order_by(Otp.id.desc())
        .limit(1)
    ).one_or_none()
    key = code_key(account.id, purpose, code)
    if live is not None and keyed_hash_matches(settings.secret_key, live.code_hash, key):
        used = session.execute(
            update(Otp).where(Otp.id == live.id, Otp.consumed_at.is_(None)).values(consumed_at=now)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return None  # a concurrent request used it first
        account.otp_failures = 0
        return live
    if _just_used(session, account, purpose, keyed_hash(settings.secret_key, key), settings, now):
        return None  # the same right code sent twice (a double click) is no guess
    _count_failure(session, account, live, settings, now)
    return None


def code_key(account_id: int, purpose: str, code: str) -> str:
    """Return the text whose keyed hash is stored: the code bound to its account and purpose."""
    return f"otp|{account_id}|{purpose}|{code}"


def _hash(settings: Settings, account_id: int, purpose: str, code: str) -> str:
    return keyed_hash(settings.secret_key, code_key(account_id, purpose, code))


def _just_used(
    session: Session,
    account: Account,
    purpose: str,
    expected: str,
    settings: Settings,
    now: dt.datetime,
) -> bool:
    query = select(Otp.id).where(
        Otp.account_id == account.id,
        Otp.purpose == purpose,
        Otp.code_hash == expected,
        Otp.consumed_at > now - settings.otp_ttl,
    )
    return session.scalars(query.limit(1)).first() is not None


def _count_failure(
    session: Session, account: Account, live: Otp | None, settings: Settings, now: dt.datetime
) -> None:
    # Counted in SQL, so concurrent wrong guesses are all counted.
    session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(otp_failures=Account.otp_failures + 1, updated_at=now)
    )
    if live is not None:
        session.execute(update(Otp).where(Otp.id == live.id).values(attempts=Otp.attempts + 1))
    session.refresh(account, ["otp_failures"])
    if account.otp_failures >= settings.otp_max_failures:
        account.otp_locked_until = now + settings.otp_lockout
        # Void every code still live: after the lockout, a guess needs a fresh code.
        session.execute(
            update(Otp)
            .where(Otp.account_id == account.id, Otp.consumed_at.is_(None), Otp.expires_at > now)
            .values(expires_at=now)
        )
