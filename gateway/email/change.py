"""Adding or changing the account's email ("Account information" on the portal).

The user proves the current password; an OTP goes to the new address, which waits in the OTP
row until that code comes back. Only then does it become the account's email, the one
recovery uses, and the old address, if any, is told.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.accounts.notices import notify_email_changed, send_otp
from gateway.accounts.services import LoginResult, lock_active_account, prove_password
from gateway.delivery.emails import EmailKind
from gateway.email.otp import EMAIL_CHANGE, issue_otp, otps_sent, use_otp
from gateway.errors import TooManyAttempts
from gateway.ops.audit import record_event
from gateway.settings import Settings
from parsers import mask_email, mask_id


def request_email_change(
    session: Session,
    identifier: str,
    password: str,
    new_email: str,
    *,
    settings: Settings,
    now: dt.datetime,
) -> LoginResult:
    """Prove the password, then email an OTP to the new address."""
    result = prove_password(session, identifier, password, settings=settings, now=now)
    account = result.account
    if account is not None and result.error is None:
        if otps_sent(session, account.id, now - settings.otp_window) >= (
            settings.otp_emails_per_account
        ):
            result = LoginResult(account, error=TooManyAttempts("too many codes; try again later"))
        else:
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
    outcome = "otp_sent" if result.error is None else result.error.code
    record_event(
        session,
        action="email_change_request",
        channel="api",
        outcome=outcome,
        subject=mask_id(identifier),
        account_id=account.id if account else None,
        detail=f"new {mask_email(new_email)}",
        now=now,
    )
    return result


def confirm_email_change(
    session: Session, identifier: str, code: str, *, settings: Settings, now: dt.datetime
) -> bool:
    """Make the address the OTP went to the account's email; tell the old one."""
    account = lock_active_account(session, identifier)
    otp = None
    if account is not None:
        otp = use_otp(session, account, code, purpose=EMAIL_CHANGE, settings=settings, now=now)
    if account is None or otp is None:
        record_event(
            session,
            action="email_change_confirm",
            channel="email",
            outcome="wrong_otp",
            subject=mask_id(identifier),
            account_id=account.id if account else None,
            now=now,
        )
        return False
    old, account.email, account.updated_at = account.email, otp.email, now
    if old and old.lower() != otp.email.lower():
        notify_email_changed(session, account, old, settings=settings, now=now)
    record_event(
        session,
        action="email_change_confirm",
        channel="email",
        outcome="confirmed",
        subject=mask_id(identifier),
        account_id=account.id,
        detail=f"{mask_email(old) if old else 'none'} -> {mask_email(otp.email)}",
        now=now,
    )
    return True
