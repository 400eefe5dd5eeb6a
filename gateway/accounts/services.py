"""The account service: look-ups, temporary passwords, login and password change.

Every channel (SMS, email, the API) goes through these functions, so the limits and the
rules for temporary passwords are the same everywhere. Functions take the session and never
commit: the boundary that opened the session does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.accounts.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    keyed_hash,
    keyed_hash_matches,
    needs_rehash,
    verify_password,
)
from gateway.errors import InvalidCredentials, InvalidPayload, TooManyAttempts
from gateway.models import Account, AccountState, PasswordIssue
from gateway.settings import Settings
from parsers import generate_sms_password

MAX_PASSWORD_LENGTH = 128


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a password check; failures are results too, so their count gets committed."""

    account: Account | None
    must_change_password: bool = False
    error: InvalidCredentials | TooManyAttempts | None = None


def find_account(session: Session, identifier: str) -> Account | None:
    """Find an account by its 10-digit social insurance number or 12-digit personal ID."""
    column = Account.personal_id if len(identifier) == 12 else Account.bhxh
    return session.scalars(select(Account).where(column == identifier)).one_or_none()


def lock_active_account(session: Session, identifier: str) -> Account | None:
    """Find an approved account and lock its row until the transaction ends (FOR UPDATE)."""
    if not identifier.isdigit() or len(identifier) not in (10, 12):
        return None
    column = Account.personal_id if len(identifier) == 12 else Account.bhxh
    query = select(Account).where(column == identifier).with_for_update()
    account = session.scalars(query).one_or_none()
    if account is None or account.state is not AccountState.ACTIVE:
        return None
    session.refresh(account)  # another transaction may have changed it while we waited
    return account


def recent_issues(session: Session, account_id: int, since: dt.datetime) -> int:
    """Count the temporary passwords issued to an account since a moment."""
    query = select(func.count(PasswordIssue.id)).where(
        PasswordIssue.account_id == account_id, PasswordIssue.issued_at > since
    )
    return session.scalar(query) or 0


def issue_temporary_password(
    session: Session,
    account: Account,
    *,
    settings: Settings,
    now: dt.datetime,
    channel: str,
    message_id: int | None = None,
) -> str:
    """Give the account a new temporary password and return it (the only copy in clear)."""
    password = generate_sms_password()
    account.temp_password_hash = keyed_hash(settings.secret_key, password)
    account.temp_password_expires_at = now + settings.temp_password_ttl
    account.temp_password_logged_in = False
    account.updated_at = now
    session.add(
        PasswordIssue(account_id=account.id, channel=channel, message_id=message_id, issued_at=now)
    )
    return password


def authenticate(
    session: Session, identifier: str, password: str, *, settings: Settings, now: dt.datetime
) -> LoginResult:
    """Check a login; a temporary password logs in once and then must be changed."""
    account = _usable_account(session, identifier)
    if account is None:
        verify_password(None, password)  # spend the same time as a real check
        return LoginResult(None, error=InvalidCredentials("wrong number or password"))
    if _locked(account, now):
        return LoginResult(account, error=_lockout_error(account, now))
    if _temporary_password_valid(account, password, settings, now, allow_logged_in=False):
        account.temp_password_logged_in = True
        _reset_failures(account, now)
        return LoginResult(account, must_change_password=True)
    if verify_password(account.password_hash, password):
        if account.password_hash and needs_rehash(account.password_hash):
            account.password_hash = hash_password(password)
        _reset_failures(account, now)
        return LoginResult(account, must_change_password=account.must_change_password)
    return _record_failure(session, account, settings, now)


def change_password(
    session: Session,
    identifier: str,
    password: str,
    new_password: str,
    *,
    settings: Settings,
    now: dt.datetime,
) -> LoginResult:
    """Replace the password after proving the current or the temporary one."""
    check_new_password(new_password, current=password)
    result = prove_password(session, identifier, password, settings=settings, now=now)
    if result.account is not None and result.error is None:
        set_password(result.account, hash_password(new_password), now)
    return result


def prove_password(
    session: Session, identifier: str, password: str, *, settings: Settings, now: dt.datetime
) -> LoginResult:
    """Check the current or the temporary password, counting failures towards the lock."""
    account = _usable_account(session, identifier)
    if account is None:
        verify_password(None, password)
        return LoginResult(None, error=InvalidCredentials("wrong number or password"))
    if _locked(account, now):
        return LoginResult(account, error=_lockout_error(account, now))
    proven = _temporary_password_valid(
        account, password, settings, now, allow_logged_in=True
    ) or verify_password(account.password_hash, password)
    if not proven:
        return _record_failure(session, account, settings, now)
    _reset_failures(account, now)
    return LoginResult(account)


def check_new_password(new_password: str, *, current: str | None = None) -> None:
    """Refuse a chosen password that is too short, too long or the same as the current one."""
    if not MIN_PASSWORD_LENGTH <= len(new_password) <= MAX_PASSWORD_LENGTH:
        raise InvalidPayload(
            f"new_password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters",
            code="weak_password",
        )
    if new_password == current:
        raise InvalidPayload("new_password must differ from the current one", code="weak_password")


def set_password(account: Account, password_hash: str, now: dt.datetime) -> None:
    """Make a chosen password the account's only one; earlier tokens stop working."""
    account.password_hash = password_hash
    account.password_changed_at = now
    account.must_change_password = False
    account.temp_password_hash = None
    account.temp_password_expires_at = None
    account.temp_password_logged_in = False
    _reset_failures(account, now)


def _usable_account(session: Session, identifier: str) -> Account | None:
    if not identifier.isdigit() or len(identifier) not in (10, 12):
        return None
    account = find_account(session, identifier)
    if account is None or account.state is not AccountState.ACTIVE:
        return None
    return account


def _temporary_password_valid(
    account: Account, password: str, settings: Settings, now: dt.datetime, *, allow_logged_in: bool
) -> bool:
    if account.temp_password_expires_at is None or account.temp_password_expires_at <= now:
        return False
    if account.temp_password_logged_in and not allow_logged_in:
        return False
    return keyed_hash_matches(settings.secret_key, account.temp_password_hash, password)


def _locked(account: Account, now: dt.datetime) -> bool:
    return account.locked_until is not None and account.locked_until > now


def _lockout_error(account: Account, now: dt.datetime) -> TooManyAttempts:
    assert account.locked_until is not None
    seconds = int((account.locked_until - now).total_seconds()) + 1
    return TooManyAttempts(f"too many wrong passwords; try again in {seconds} s")


def _reset_failures(account: Account, now: dt.datetime) -> None:
    account.failed_logins = 0
    account.locked_until = None
    account.updated_at = now


def _record_failure(
    session: Session, account: Account, settings: Settings, now: dt.datetime
) -> LoginResult:
    # Incremented in SQL, so concurrent wrong guesses are all counted.
    session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(failed_logins=Account.failed_logins + 1, updated_at=now)
    )
    session.refresh(account, ["failed_logins"])
    if account.failed_logins >= settings.login_max_failures:
        account.failed_logins = 0
        account.locked_until = now + settings.login_lockout
    return LoginResult(account, error=InvalidCredentials("wrong number or password"))
