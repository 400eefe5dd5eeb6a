"""Recover with Smart OTP: the number and a code from the app give the restricted session.

Free, and it needs neither an email on file nor passkey support: the app keeps making codes
after the password is forgotten. Wrong codes count in the login throttle of the identifier as
typed (the same doubling waits and hard cap as wrong passwords: one counter, not two), and the
answer is the same whether the number is unknown, has no Smart OTP or got a wrong code: the
same status and body, and the same work (a code is checked against a dummy seed, a failure is
written). The other recovery channels (SMS, email, passkey) never look at this counter.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.accounts.login import AccountContext, Granted, Tries, take_try, throttle_subject
from gateway.accounts.services import find_active_account
from gateway.accounts.smart_otp import use_code
from gateway.accounts.throttle import (
    clear_failures,
    read_failures,
    record_failure,
)
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import Reply
from gateway.errors import InvalidCredentials, Why

WRONG = "wrong number or Smart OTP code"
CAPPED = "too many wrong attempts: recover the password by SMS, email or a passkey"
METHOD = "Smart OTP"
ACTION = "smart_otp_recovery"
TRIES = Tries("attempts", Why.CODE_WAIT, CAPPED, Why.CODE_CAPPED)


def recover_with_smart_otp(ctx: AccountContext, identifier: str, code: str) -> Granted:
    """Check the number and a current code; give the 15-minute restricted session."""
    with ctx.sessions() as session:
        key, _ = throttle_subject(session, identifier)
        failures = read_failures(session, key)
    take_try(ctx, key, failures, action=ACTION, tries=TRIES)
    with ctx.sessions.begin() as session:
        account = find_active_account(session, key)
        # Checked (against a dummy seed when there is none) whether or not the account exists.
        accepted = use_code(session, account.id if account else 0, code, ctx.now)
        if accepted and account is not None:
            clear_failures(session, [key, account.personal_id])
            ctx.notify(session, account, Reply.RECOVERED, EmailKind.RECOVERED, method=METHOD)
            _audit(ctx, session, key, account.id, "smart_otp")
            return Granted(account, restricted=True)
        record_failure(session, key, ctx.now)
        _audit(ctx, session, key, account.id if account else None, "wrong_code")
    raise InvalidCredentials(WRONG, why=Why.WRONG_NUMBER_OR_SMART_OTP_CODE)


def _audit(
    ctx: AccountContext, session: Session, key: str, account_id: int | None, outcome: str
) -> None:
    ctx.audit(session, ACTION, outcome, identifier=key, account_id=account_id)
