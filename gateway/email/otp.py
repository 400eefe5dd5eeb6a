"""One-time codes sent by email: 6 digits, short-lived, single use, stored as a keyed hash.

Wrong codes count against the live code only (``otps.attempts``): past the limit that code is
dead, and the owner's next one starts its own count. With no live code there is nothing to
guess and nothing is counted, so a stranger cannot lock the owner out of a code not yet asked
for (issue 22); a code is mailed only when it can be used. An unknown number runs the same
statements against no row, so the answer takes as long. The caller locks the account row
first (:func:`gateway.accounts.services.lock_active_account`), and using a code is a
conditional UPDATE, so of many concurrent right answers exactly one wins.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import ColumnElement, func, select, update
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
    account_id: int | None,
    code: str,
    *,
    purpose: str,
    settings: Settings,
    now: dt.datetime,
) -> Otp | None:
    """Use up the account's live code if ``code`` is it; else count a wrong try, return None.

    ``account_id`` None (an unknown number) reads and writes as a known one does, matching no
    row, so the time taken tells nothing.
    """
    owner = _NOBODY if account_id is None else account_id
    live = session.scalars(
        select(Otp).where(*_live(owner, purpose, settings, now)).order_by(Otp.id.desc()).limit(1)
    ).one_or_none()
    key = code_key(owner, purpose, code)
    if live is not None and keyed_hash_matches(settings.secret_key, live.code_hash, key):
        used = session.execute(
            update(Otp).where(Otp.id == live.id, Otp.consumed_at.is_(None)).values(consumed_at=now)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            return None  # a concurrent request used it first
        return live
    if _just_used(session, owner, purpose, keyed_hash(settings.secret_key, key), settings, now):
        return None  # the same right code sent twice (a double click) is no guess
    # Counted in SQL against the live code only, so concurrent wrong guesses are all counted
    # and none past the limit; with no live code this matches no row.
    session.execute(
        update(Otp).where(*_live(owner, purpose, settings, now)).values(attempts=Otp.attempts + 1)
    )
    return None


def code_key(account_id: int, purpose: str, code: str) -> str:
    """Return the text whose keyed hash is stored: the code bound to its account and purpose."""
    return f"otp|{account_id}|{purpose}|{code}"


# No account has id 0 (ids start at 1): an unknown number's statements match no row.
_NOBODY = 0


def _live(
    account_id: int, purpose: str, settings: Settings, now: dt.datetime
) -> tuple[ColumnElement[bool], ...]:
    """Return what makes a code usable: unused, unexpired, and not yet tried too often."""
    return (
        Otp.account_id == account_id,
        Otp.purpose == purpose,
        Otp.consumed_at.is_(None),
        Otp.expires_at > now,
        Otp.attempts < settings.otp_max_failures,
    )


def _hash(settings: Settings, account_id: int, purpose: str, code: str) -> str:
    return keyed_hash(settings.secret_key, code_key(account_id, purpose, code))


def _just_used(
    session: Session,
    account_id: int,
    purpose: str,
    expected: str,
    settings: Settings,
    now: dt.datetime,
) -> bool:
    query = select(Otp.id).where(
        Otp.account_id == account_id,
        Otp.purpose == purpose,
        Otp.code_hash == expected,
        Otp.consumed_at > now - settings.otp_ttl,
    )
    return session.scalars(query.limit(1)).first() is not None
