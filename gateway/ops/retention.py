"""Personal data kept only as long as needed (Law 91/2025/QH15 on personal data protection,
Decree 356/2025/ND-CP): past the retention period, blank what identifies a person.

``purge`` blanks message texts (they hold social insurance numbers), masks phone numbers,
email addresses and identifiers on messages, replies, OTPs, email-recovery requests and what
keyword services were asked, blanks the client IP of audit rows, and deletes spent captchas,
passkey challenges, rate-limit counters and login-failure counts that no longer hold anyone
back. It keeps the other rows themselves, so counts, outcomes and the carrier ids that
recognise a repeat stay. The ledger (needed by finance and kept under the accounting law's own
retention) is left as it is, append-only by design; the rest of the audit trail is masked when
written (docs/deploy.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, delete, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.models import (
    AuditEvent,
    Captcha,
    EmailRecoveryRequest,
    InboundMessage,
    LoginFailure,
    Otp,
    OutboxMessage,
    RateLimitCounter,
    ServiceForward,
    WebAuthnChallenge,
)
from gateway.settings import Settings
from gateway.states import ForwardStatus, MessageStatus, OutboxStatus
from parsers import mask_email, mask_id, mask_phone

BATCH = 1000
FINISHED_REPLIES = (OutboxStatus.SENT, OutboxStatus.FAILED)


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows each step blanked or deleted."""

    messages: int
    replies: int
    recovery_requests: int
    otps: int
    captchas: int
    passkey_challenges: int
    rate_limit_counters: int
    login_failures: int
    audit_client_ips: int
    service_arguments: int = 0  # the numbers a keyword service was asked about, masked

    def describe(self) -> str:
        """Say it in one line for the CLI and the log."""
        return ", ".join(f"{name.replace('_', ' ')}: {count}" for name, count in self._items())

    def _items(self) -> list[tuple[str, int]]:
        return [(name, getattr(self, name)) for name in self.__slots__]  # type: ignore[attr-defined]


def purge(
    session: Session, now: dt.datetime, period: dt.timedelta, settings: Settings
) -> PurgeReport:
    """Blank personal data on rows older than ``period``; commit in batches."""
    cutoff = now - period
    messages = _blank(
        session,
        InboundMessage.sender,
        mask_phone,
        (InboundMessage.created_at < cutoff)
        & (InboundMessage.status == MessageStatus.PROCESSED)
        & (InboundMessage.content_digest != ""),
        {"text": "", "content_digest": ""},
    )
    replies = _blank(
        session,
        OutboxMessage.recipient,
        lambda recipient: mask_email(recipient) if "@" in recipient else mask_phone(recipient),
        (OutboxMessage.created_at < cutoff)
        & OutboxMessage.status.in_(FINISHED_REPLIES)
        & (OutboxMessage.safe_text != ""),
        {"text": "", "safe_text": "", "html": None, "safe_html": None},
    )
    requests = _blank(
        session,
        EmailRecoveryRequest.identifier,
        mask_id,
        (EmailRecoveryRequest.created_at < cutoff) & (EmailRecoveryRequest.email_hash != ""),
        {"email_hash": ""},
    )
    otps = _blank(
        session,
        Otp.email,
        mask_email,
        (Otp.created_at < cutoff) & (Otp.code_hash != ""),
        {"code_hash": ""},
    )
    captchas = session.execute(delete(Captcha).where(Captcha.expires_at < cutoff)).rowcount
    challenges = session.execute(
        delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < cutoff)
    ).rowcount
    counters = session.execute(
        delete(RateLimitCounter).where(RateLimitCounter.expires_at < cutoff.timestamp())
    ).rowcount
    failures = _forget_idle_failures(session, now, period, settings)
    session.commit()
    # The audit rows stay (who did what, masked, is the trail); where they came from goes.
    client_ips = _blank(
        session,
        AuditEvent.client_ip,
        lambda _address: None,
        (AuditEvent.at < cutoff) & AuditEvent.client_ip.is_not(None),
        {},
    )
    # What a keyword service was asked (a social insurance number, a file number) is masked
    # like the message text it was read from is blanked.
    arguments = _blank(
        session,
        ServiceForward.argument,
        mask_id,
        (ServiceForward.created_at < cutoff)
        & (ServiceForward.status == ForwardStatus.DONE)
        & ~ServiceForward.argument.contains("*"),
        {},
    )
    return PurgeReport(
        messages,
        replies,
        requests,
        otps,
        captchas,
        challenges,
        counters,
        failures,
        client_ips,
        arguments,
    )


def _forget_idle_failures(
    session: Session, now: dt.datetime, period: dt.timedelta, settings: Settings
) -> int:
    """Delete the login-failure counts that no longer hold anyone back; return how many.

    A row holds what someone typed at login (personal data when it is a real number). It goes
    once its last failure is older than the retention period and than the longest wait
    (GATEWAY_LOGIN_DELAY_CAP), unless it reached GATEWAY_LOGIN_FAILURE_CAP
    (gateway/accounts/throttle.py): that row still blocks, and deleting it would hand a guesser
    another cap of tries, so it stays until a recovery clears it; for unknown numbers too,
    since purging only those would tell them apart. A count below the cap starts again from
    zero after a whole period of silence: at most one cap of guesses per retention period
    (90 days by default, never under a day), where keeping it would keep the number for ever.
    """
    horizon = now - max(period, settings.login_delay_cap)
    removed = session.execute(
        delete(LoginFailure).where(
            LoginFailure.last_failed_at < horizon,
            LoginFailure.consecutive < settings.login_failure_cap,
        )
    )
    return removed.rowcount  # type: ignore[attr-defined, no-any-return]


def _blank(
    session: Session,
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    mask: Callable[[str], str | None],
    due: ColumnElement[bool],
    blanks: dict[str, str | None],
) -> int:
    """Mask ``column`` and set ``blanks`` on every due row, a batch per transaction."""
    model = column.class_
    key = model.id
    done = 0
    while True:
        rows = session.execute(select(key, column).where(due).order_by(key).limit(BATCH)).all()
        if not rows:
            return done
        statement = (
            update(model.__table__)
            .where(model.__table__.c.id == bindparam("row_id"))
            .values({column.key: bindparam("masked"), **blanks})
        )
        session.connection().execute(
            statement, [{"row_id": row_id, "masked": mask(value)} for row_id, value in rows]
        )
        session.commit()
        done += len(rows)
