"""An account's start: approval, and the first password sent by SMS or email.

The source article: first passwords went by SMS to the registered phone for accounts approved
before 22 October 2021, and by email for accounts approved from that date
(GATEWAY_FIRST_PASSWORD_EMAIL_FROM, a date in Vietnam's time). Without an email on file, SMS.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from gateway.accounts.notices import send_first_password
from gateway.accounts.services import issue_temporary_password
from gateway.delivery.emails import LOCAL_TZ
from gateway.delivery.replies import ReplyCatalog
from gateway.errors import ConflictingDuplicate, NotFound
from gateway.models import Account, AccountState, PasswordIssue
from gateway.ops.audit import record_event
from gateway.settings import Settings
from gateway.states import Channel
from parsers import mask_id


def first_password_channel(account: Account, settings: Settings) -> Channel:
    """Choose how an approved account gets its first password: by its approval date."""
    cutover = dt.datetime.combine(settings.first_password_email_from, dt.time(), tzinfo=LOCAL_TZ)
    approved_at = account.approved_at
    if approved_at is not None and approved_at >= cutover and account.email:
        return Channel.EMAIL
    return Channel.SMS


def approve_account(
    session: Session,
    identifier: str,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    approved_at: dt.datetime | None = None,
) -> Channel:
    """Approve a pending account for electronic transactions and send its first password."""
    column = Account.personal_id if len(identifier) == 12 else Account.bhxh
    query = select(Account).where(column == identifier).with_for_update()
    account = session.scalars(query).one_or_none()
    if account is None:
        raise NotFound(f"no account {mask_id(identifier)}")
    if account.state is not AccountState.PENDING:
        raise ConflictingDuplicate(f"account {mask_id(identifier)} is {account.state.value}")
    account.state = AccountState.ACTIVE
    account.approved_at = approved_at or now
    account.updated_at = now
    return issue_first_password(session, account, settings=settings, catalog=catalog, now=now)


def issue_first_password(
    session: Session,
    account: Account,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
) -> Channel:
    """Issue an approved account's first password and queue it; return the channel used."""
    channel = first_password_channel(account, settings)
    password = issue_temporary_password(
        session, account, settings=settings, now=now, channel=f"first_{channel.value}"
    )
    # A first password waits for its owner longer than a requested one.
    account.temp_password_expires_at = now + settings.first_password_ttl
    queued = send_first_password(
        session, account, password, channel=channel, settings=settings, catalog=catalog, now=now
    )
    record_event(
        session,
        action="first_password",
        channel=channel.value,
        outcome="sent" if queued else "no_carrier",
        subject=mask_id(account.bhxh),
        account_id=account.id,
        actor="operator",
        now=now,
    )
    return channel


def issue_missing_first_passwords(
    session: Session,
    identifiers: Iterable[str],
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
) -> Counter[Channel]:
    """Send first passwords to the named approved accounts that never had a password."""
    counts: Counter[Channel] = Counter()
    wanted = list(identifiers)
    for start in range(0, len(wanted), 1000):
        query = (
            select(Account)
            .where(
                Account.bhxh.in_(wanted[start : start + 1000]),
                Account.state == AccountState.ACTIVE,
                Account.password_hash.is_(None),
                ~exists().where(PasswordIssue.account_id == Account.id),
            )
            .order_by(Account.id)
            .with_for_update()
        )
        for account in session.scalars(query).all():
            counts[
                issue_first_password(session, account, settings=settings, catalog=catalog, now=now)
            ] += 1
    return counts
