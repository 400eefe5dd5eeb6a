"""Adding or changing the account's email ("Account information" on the portal).

The user proves the account's own chosen password (a temporary password or a restricted
session is refused: a code glimpsed on a lock screen must not be able to move the account to
another address). An OTP goes to the new address, which waits in the OTP row until that code
comes back. Only then does it become the account's email, the one recovery uses, and the
phone, the old address and the new one are told.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.accounts.login import AccountContext, prove_chosen_password
from gateway.accounts.notices import notify_email_changed, notify_everywhere, send_otp
from gateway.accounts.services import lock_active_account
from gateway.accounts.smart_otp import require_step_up
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import Reply, ReplyCatalog
from gateway.email.otp import EMAIL_CHANGE, issue_otp, otps_sent, use_otp
from gateway.errors import TooManyAttempts, Why
from gateway.models import Account
from gateway.ops.audit import record_event
from gateway.settings import Settings
from parsers import mask_email, mask_id


def request_email_change(
    ctx: AccountContext,
    identifier: str,
    password: str,
    new_email: str,
    smart_otp_code: str | None = None,
) -> None:
    """Prove the chosen password (and a Smart OTP code once it is on), then email an OTP to
    the new address."""
    # Its own transactions: no lock is held while the password is hashed (issue 17).
    proven = prove_chosen_password(ctx, identifier, password, action="email_change_request")
    require_step_up(ctx, proven.id, smart_otp_code)
    settings, now = ctx.settings, ctx.now
    with ctx.sessions.begin() as session:
        account = session.get(Account, proven.id, with_for_update=True)
        assert account is not None
        limited = otps_sent(session, account.id, now - settings.otp_window) >= (
            settings.otp_emails_per_account
        )
        if not limited:
            code = issue_otp(
                session, account, purpose=EMAIL_CHANGE, email=new_email, settings=settings, now=now
            )
            send_otp(
                session,
                account,
                new_email,
                code,
                kind=EmailKind.EMAIL_CHANGE_OTP,
                settings=settings,
                now=now,
            )
        ctx.audit_account(
            session,
            account,
            "email_change_request",
            "too_many_attempts" if limited else "otp_sent",
            detail=f"new {mask_email(new_email)}",
        )
    if limited:
        raise TooManyAttempts(
            "too many codes; try again later",
            why=Why.TOO_MANY_CODES,
            numbers={
                "limit": settings.otp_emails_per_account,
                "minutes": int(settings.otp_window.total_seconds() // 60),
            },
        )


def confirm_email_change(
    session: Session,
    identifier: str,
    code: str,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    client_ip: str | None = None,
) -> bool:
    """Make the address the OTP went to the account's email; tell every channel on file."""
    account = lock_active_account(session, identifier)
    # Tried for an unknown number too: the same statements, so the same time (issue 22).
    account_id = account.id if account else None
    otp = use_otp(session, account_id, code, purpose=EMAIL_CHANGE, settings=settings, now=now)
    if account is None or otp is None:
        record_event(
            session,
            action="email_change_confirm",
            channel="email",
            outcome="wrong_otp",
            subject=mask_id(identifier),
            account_id=account_id,
            client_ip=client_ip,
            now=now,
        )
        return False
    old, account.email, account.updated_at = account.email, otp.email, now
    account.email_added_at = now
    notify_email_changed(session, account, old, settings=settings, catalog=catalog, now=now)
    record_event(
        session,
        action="email_change_confirm",
        channel="email",
        outcome="confirmed",
        subject=mask_id(identifier),
        account_id=account.id,
        detail=f"{mask_email(old) if old else 'none'} -> {mask_email(otp.email)}",
        client_ip=client_ip,
        now=now,
    )
    return True


def remove_email(
    session: Session,
    account: Account,
    *,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    channel: str,
    client_ip: str | None = None,
) -> None:
    """Take the email off a (locked) account: recovery stops using it; phone and address told.

    Offered after a recovery, so that an address a thief added cannot bring them back.
    """
    old = account.email
    if old is None:
        return
    account.email, account.email_added_at, account.updated_at = None, None, now
    notify_everywhere(
        session,
        account,
        Reply.EMAIL_REMOVED,
        EmailKind.EMAIL_REMOVED,
        settings=settings,
        catalog=catalog,
        now=now,
        also_to=old,
    )
    record_event(
        session,
        action="email_remove",
        channel=channel,
        outcome="removed",
        subject=mask_id(account.bhxh),
        account_id=account.id,
        detail=f"{mask_email(old)} removed",
        client_ip=client_ip,
        now=now,
    )
