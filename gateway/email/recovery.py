"""The free recovery by email: ask with the number and the email on file, prove it with an OTP.

The request path only stores the request (:func:`request_recovery`): it does the same work,
and gives the same answer, whether or not the number and the address match, so nobody can
learn who is registered. The worker (:func:`process_requests`) matches them and emails the
OTP. :func:`verify_recovery` then sets the chosen password sent with the code, or grants a
restricted session that can only set one. No password is ever emailed (docs/email.md says
where and why this differs from the source article).
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.accounts.context import AccountContext
from gateway.accounts.notices import notify_password_changed, send_otp
from gateway.accounts.passwords import keyed_hash
from gateway.accounts.policy import check_new_password
from gateway.accounts.services import lock_active_account
from gateway.accounts.services import set_password as store_password
from gateway.accounts.throttle import clear_failures
from gateway.clock import Clock
from gateway.delivery.emails import EmailKind
from gateway.delivery.replies import ReplyCatalog
from gateway.email.captcha import solve_captcha
from gateway.email.otp import RECOVERY, issue_otp, otps_sent, use_otp
from gateway.email.proof_of_work import spend_solution
from gateway.models import Account, EmailRecoveryRequest
from gateway.ops.audit import record_event
from gateway.settings import Settings
from parsers import mask_id

log = logging.getLogger(__name__)


class Verified(enum.Enum):
    """What a verification did."""

    PASSWORD_SET = "password_set"  # noqa: S105 (a name, not a password)
    SESSION_GRANTED = "session_granted"  # a restricted session, to set the password
    REFUSED = "wrong_otp"  # wrong, expired, used, or locked: one answer for all


def email_digest(settings: Settings, address: str) -> str:
    """Return the keyed hash a requested address is kept as (case does not matter)."""
    return keyed_hash(settings.secret_key, "email|" + address.strip().lower())


def request_recovery(
    session: Session, identifier: str, email: str, *, via: str, settings: Settings, now: dt.datetime
) -> None:
    """Store a recovery request for the worker; never look at the accounts here."""
    session.add(
        EmailRecoveryRequest(
            identifier=identifier,
            email_hash=email_digest(settings, email),
            via=via,
            created_at=now,
        )
    )


def request_recovery_with_captcha(
    session: Session,
    identifier: str,
    email: str,
    challenge_id: str,
    answer: str,
    *,
    settings: Settings,
    now: dt.datetime,
) -> bool:
    """Use up the captcha; store the request only if it was solved. Return whether it was.

    The caller commits either way: a challenge is used up by any answer, right or wrong.
    """
    solved = solve_captcha(session, challenge_id[:64], answer[:16], settings=settings, now=now)
    return _request_if(solved, session, identifier, email, settings=settings, now=now)


def request_recovery_with_proof_of_work(
    session: Session,
    identifier: str,
    email: str,
    payload: str,
    *,
    settings: Settings,
    now: dt.datetime,
) -> bool:
    """Use up a solved ALTCHA challenge; store the request only if it was valid. Return whether.

    Checked before the request is stored, so before any account is looked at; the caller
    commits either way, as for the image captcha.
    """
    solved = spend_solution(session, payload, settings=settings, now=now)
    return _request_if(solved, session, identifier, email, settings=settings, now=now)


def recover_with_otp(
    session: Session, identifier: str, code: str, new_password: str | None, ctx: AccountContext
) -> tuple[Verified, Account | None]:
    """Check the chosen password against the policy, then the OTP (see verify_recovery).

    A refused password (InvalidPayload) uses up nothing: the code can be sent again.
    """
    new_hash = None
    if new_password is not None:
        check_new_password(
            new_password, identifiers=(identifier,), min_length=ctx.settings.min_password_length
        )
        new_hash = ctx.hasher.hash(new_password)  # before any transaction: it takes a while
    return verify_recovery(
        session,
        identifier,
        code,
        new_password_hash=new_hash,
        settings=ctx.settings,
        catalog=ctx.catalog,
        now=ctx.now,
        client_ip=ctx.client_ip,
    )


def process_requests(
    session_factory: sessionmaker[Session], *, settings: Settings, clock: Clock
) -> int:
    """Match one batch of stored requests and email the OTPs due; return how many were seen."""
    with session_factory() as session:
        ids = list(
            session.scalars(
                select(EmailRecoveryRequest.id)
                .where(EmailRecoveryRequest.processed_at.is_(None))
                .order_by(EmailRecoveryRequest.id)
                .limit(settings.worker_batch_size)
            )
        )
    for request_id in ids:
        try:
            with session_factory.begin() as session:
                _process_one(session, request_id, settings, clock.now())
        except Exception:
            log.exception("email recovery request %s: processing failed", request_id)
            with session_factory.begin() as session:
                row = session.get(EmailRecoveryRequest, request_id)
                if row is not None and row.processed_at is None:
                    row.processed_at, row.outcome = clock.now(), "system_error"
    return len(ids)


def verify_recovery(
    session: Session,
    identifier: str,
    code: str,
    *,
    new_password_hash: str | None,
    settings: Settings,
    catalog: ReplyCatalog,
    now: dt.datetime,
    client_ip: str | None = None,
) -> tuple[Verified, Account | None]:
    """Check the OTP; then set the chosen password (hashed by the caller), or say that a
    restricted session may be granted for the account returned."""
    account = lock_active_account(session, identifier)
    # Tried for an unknown number too: the same statements, so the same time (issue 22).
    account_id = account.id if account else None
    otp = use_otp(session, account_id, code, purpose=RECOVERY, settings=settings, now=now)
    if account is None or otp is None or account.email is None:
        _audit(session, identifier, account_id, Verified.REFUSED, now, client_ip)
        return Verified.REFUSED, None
    # The code proved the address on file: earlier wrong passwords no longer hold the owner.
    clear_failures(session, [account.bhxh, account.personal_id])
    if new_password_hash is not None:
        store_password(account, new_password_hash, now)
        notify_password_changed(session, account, settings=settings, catalog=catalog, now=now)
        outcome = Verified.PASSWORD_SET
    else:
        outcome = Verified.SESSION_GRANTED
    _audit(session, identifier, account.id, outcome, now, client_ip)
    return outcome, account


def _process_one(session: Session, request_id: int, settings: Settings, now: dt.datetime) -> None:
    request = session.scalars(
        select(EmailRecoveryRequest)
        .where(EmailRecoveryRequest.id == request_id, EmailRecoveryRequest.processed_at.is_(None))
        .with_for_update(skip_locked=True)
    ).one_or_none()
    if request is None:
        return  # another worker has it
    account = lock_active_account(session, request.identifier)
    if (
        account is None
        or account.email is None
        or not hmac.compare_digest(request.email_hash, email_digest(settings, account.email))
    ):
        outcome = "not_matched"
    elif otps_sent(session, account.id, now - settings.otp_window) >= (
        settings.otp_emails_per_account
    ):
        outcome = "rate_limited"  # silently: the requester is told the same either way
    else:
        code = issue_otp(
            session, account, purpose=RECOVERY, email=account.email, settings=settings, now=now
        )
        send_otp(
            session,
            account,
            account.email,
            code,
            kind=EmailKind.RECOVERY_OTP,
            settings=settings,
            now=now,
        )
        outcome = "otp_sent"
    request.processed_at, request.outcome = now, outcome
    record_event(
        session,
        action="recovery_request",
        channel="email",
        outcome=outcome,
        subject=mask_id(request.identifier),
        account_id=account.id if account else None,
        detail=f"via {request.via}",
        now=now,
    )


def _audit(
    session: Session,
    identifier: str,
    account_id: int | None,
    outcome: Verified,
    now: dt.datetime,
    client_ip: str | None,
) -> None:
    record_event(
        session,
        action="recovery_verify",
        channel="email",
        outcome=outcome.value,
        subject=mask_id(identifier),
        account_id=account_id,
        client_ip=client_ip,
        now=now,
    )


def _request_if(
    solved: bool,
    session: Session,
    identifier: str,
    email: str,
    *,
    settings: Settings,
    now: dt.datetime,
) -> bool:
    """Store the portal's request only if its challenge was solved; return whether it was."""
    if solved:
        request_recovery(session, identifier, email, via="portal", settings=settings, now=now)
    return solved
