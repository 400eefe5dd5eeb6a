"""The account service: look-ups, temporary passwords, and storing a chosen password.

Every channel (SMS, email, the API) goes through these functions, so the rules for temporary
passwords are the same everywhere. Functions take the session and never commit: the boundary
that opened the session does. Login and password checks are in :mod:`gateway.accounts.login`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.accounts.passwords import keyed_hash
from gateway.accounts.throttle import clear_failures
from gateway.models import Account, AccountState, PasswordIssue
from gateway.settings import Settings
from parsers import generate_sms_password


def find_account(session: Session, identifier: str) -> Account | None:
    """Find an account by its 10-digit social insurance number or 12-digit personal ID."""
    column = Account.personal_id if len(identifier) == 12 else Account.bhxh
    return session.scalars(select(Account).where(column == identifier)).one_or_none()


@dataclass(frozen=True, slots=True)
class AccountView:
    """What deciding an SMS reset needs to know of an account, read in bulk."""

    id: int
    bhxh: str
    personal_id: str | None
    phone: str
    email: str | None
    state: AccountState

    def usable_from(self, phone: str) -> bool:
        """Tell whether an SMS from ``phone`` may reset this account: approved, its phone."""
        return self.state is AccountState.ACTIVE and self.phone == phone


def find_accounts(session: Session, identifiers: Iterable[str]) -> dict[str, AccountView]:
    """Find the accounts of many identifiers (10 or 12 digits) in one query, keyed by each
    identifier that matched; an account found by both of its numbers appears under both."""
    wanted = set(identifiers)
    numbers = {i for i in wanted if len(i) != 12}
    personal_ids = wanted - numbers
    if not wanted:
        return {}
    query = select(
        Account.id,
        Account.bhxh,
        Account.personal_id,
        Account.phone,
        Account.email,
        Account.state,
    ).where(or_(Account.bhxh.in_(numbers), Account.personal_id.in_(personal_ids)))
    found: dict[str, AccountView] = {}
    for row in session.execute(query):
        view = AccountView(*row)
        if view.bhxh in numbers:
            found[view.bhxh] = view
        if view.personal_id in personal_ids:
            found[view.personal_id] = view
    return found


def find_active_account(session: Session, identifier: str) -> Account | None:
    """Find an approved account by a well-formed identifier; None for anything else."""
    if not (identifier.isascii() and identifier.isdigit()) or len(identifier) not in (10, 12):
        return None
    account = find_account(session, identifier)
    if account is None or account.state is not AccountState.ACTIVE:
        return None
    return account


def lock_active_account(session: Session, identifier: str) -> Account | None:
    """Find an approved account and lock its row until the transaction ends (FOR UPDATE)."""
    if not (identifier.isascii() and identifier.isdigit()) or len(identifier) not in (10, 12):
        return None
    column = Account.personal_id if len(identifier) == 12 else Account.bhxh
    query = select(Account).where(column == identifier).with_for_update()
    account = session.scalars(query).one_or_none()
    if account is None or account.state is not AccountState.ACTIVE:
        return None
    session.refresh(account)  # another transaction may have changed it while we waited
    return account


def issue_temporary_password(
    session: Session,
    account: Account,
    *,
    settings: Settings,
    now: dt.datetime,
    channel: str,
    message_id: int | None = None,
) -> str:
    """Give the account a new temporary password and return it (the only copy in clear).

    It replaces any unused earlier one, logs in once within GATEWAY_TEMP_PASSWORD_TTL, and
    leaves the chosen password working until a new one is set. Issuing it proves the phone
    (or the address), so it also clears the login failures of the account's identifiers.
    """
    password = generate_sms_password()
    account.temp_password_hash = keyed_hash(settings.secret_key, password)
    account.temp_password_expires_at = now + settings.temp_password_ttl
    account.temp_password_logged_in = False
    account.updated_at = now
    clear_failures(session, [account.bhxh, account.personal_id])
    session.add(
        PasswordIssue(account_id=account.id, channel=channel, message_id=message_id, issued_at=now)
    )
    return password


def set_password(account: Account, password_hash: str, now: dt.datetime) -> None:
    """Make a chosen password the account's only one; earlier tokens stop working."""
    account.password_hash = password_hash
    account.password_changed_at = now
    account.must_change_password = False
    account.temp_password_hash = None
    account.temp_password_expires_at = None
    account.temp_password_logged_in = False
    account.updated_at = now
