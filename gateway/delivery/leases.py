"""Outbox rows under a lease: claiming a batch, and recording each send's result only while
the lease is still ours, with the retry and give-up rules.

A claim marks rows ``sending`` for one owner until ``lease_until``; another worker may claim
them again only after that. A result is recorded with the owner in the WHERE clause, so a
worker that lost its lease changes nothing. Retryable failures back off exponentially with
jitter until the row's horizon (``give_up_at``); anything else fails at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Update, bindparam, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.carriers.base import OutboundSms
from gateway.clock import Clock
from gateway.delivery.mail import OutboundEmail, message_id_for
from gateway.delivery.sending import Sent
from gateway.errors import RetryableSendError
from gateway.models import OutboxMessage
from gateway.ops import metrics
from gateway.settings import Settings
from gateway.states import Channel, OutboxStatus, check_transition, sources_of
from parsers import mask_email, mask_phone

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()
_outbox = OutboxMessage.__table__


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker holds under its lease, with everything needed to send it."""

    id: int
    carrier: str  # the lane: a carrier's name, or "email"
    channel: Channel
    recipient: str
    outbound: OutboundSms | OutboundEmail
    attempts: int
    give_up_at: dt.datetime
    lease_until: dt.datetime


def claim(
    session_factory: sessionmaker[Session], settings: Settings, clock: Clock, owner: str
) -> list[Claimed]:
    """Claim up to a batch of due rows (new, retry due, or abandoned by a dead worker)."""
    now = clock.now()
    lease_until = now + settings.worker_lease
    due = or_(
        (_outbox.c.status == OutboxStatus.PENDING) & (_outbox.c.next_attempt_at <= now),
        (_outbox.c.status == OutboxStatus.SENDING) & (_outbox.c.lease_until < now),
    )
    # One statement: the rows are picked, locked (other workers skip them), leased and read
    # back at once, on PostgreSQL and SQLite (3.35+) alike.
    picked = (
        select(_outbox.c.id)
        .where(due)
        .order_by(_outbox.c.next_attempt_at)
        .limit(settings.worker_batch_size)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(_outbox)
        .where(_outbox.c.id.in_(picked))
        .values(
            status=OutboxStatus.SENDING,
            lease_owner=owner,
            lease_until=lease_until,
            attempts=_outbox.c.attempts + 1,
        )
        .returning(*_outbox.c)
    )
    with session_factory.begin() as session:
        rows = session.execute(statement).all()
    # RETURNING follows no order: queue order, so one phone's replies leave as they were decided.
    rows.sort(key=lambda row: row.id)
    return [
        Claimed(
            id=row.id,
            carrier=row.carrier,
            channel=row.channel,
            recipient=row.recipient,
            outbound=_outbound(row),
            attempts=row.attempts,
            give_up_at=row.give_up_at,
            lease_until=lease_until,
        )
        for row in rows
    ]


def _outbound(row: Any) -> OutboundSms | OutboundEmail:
    if row.channel is Channel.EMAIL:
        return OutboundEmail(
            reference=str(row.id),
            message_id=message_id_for(str(row.id), row.created_at, row.sender),
            sender=row.sender,
            recipient=row.recipient,
            subject=row.subject or "",
            text=row.text,
            html=row.html,
            date=row.created_at,
        )
    return OutboundSms(
        reference=str(row.id),
        in_reply_to=row.in_reply_to,
        sender=row.sender,
        recipient=row.recipient,
        text=row.text,
        route=row.route,
    )


def record(
    session_factory: sessionmaker[Session],
    owner: str,
    results: list[Sent[Claimed]],
    settings: Settings,
    clock: Clock,
) -> None:
    """Record a group of results in one transaction, each only if we still hold its lease."""
    now = clock.now()
    outcomes = []
    with session_factory.begin() as session:
        for result in results:
            row = result.item
            if result.receipt is None and result.error is None:
                continue  # not sent: the lease was lost, or the send broke (logged)
            status, values = _result_values(row, result, settings, now)
            recorded = session.execute(
                _RECORD[status], {"row_id": row.id, "owner": owner, **values}
            )
            outcomes.append((row, status, result.error, recorded.rowcount))  # type: ignore[attr-defined]
    for row, status, error, count in outcomes:
        if count == 0:
            log.warning("outbox %s: lease lost before the result was recorded", row.id)
            continue
        if row.channel is not Channel.EMAIL or status is not OutboxStatus.SENT:
            # A mailed code is what a matching number/email pair looks like: /metrics must not
            # tell the two apart. Mail that fails is still counted, for the operators.
            metrics.count_reply(row.carrier, status)
        log.info(
            "outbox %s to %s: %s%s",
            row.id,
            mask_email(row.recipient)
            if row.channel is Channel.EMAIL
            else mask_phone(row.recipient or ""),
            status.value,
            f" ({error})" if error else "",
        )


def _record_statement(status: OutboxStatus) -> Update:
    """Build, once, the UPDATE that records a result ending in ``status`` (parameters below)."""
    check_transition(OutboxStatus.SENDING, status)
    values: dict[str, Any] = {"status": status, "lease_until": None, "lease_owner": None}
    if status is not OutboxStatus.SENT:  # a success keeps the last failure's reason
        values["last_error"] = bindparam("error")
    if status is OutboxStatus.PENDING:
        values["next_attempt_at"] = bindparam("next_attempt_at")
    else:
        # Sent or given up: the password or OTP has done its job and must not linger.
        values["text"] = _outbox.c.safe_text
        values["html"] = _outbox.c.safe_html
    if status is OutboxStatus.SENT:
        values["sent_at"] = bindparam("sent_at")
        values["carrier_reference"] = bindparam("carrier_reference")
    return (
        update(_outbox)
        .where(
            _outbox.c.id == bindparam("row_id"),
            _outbox.c.lease_owner == bindparam("owner"),
            _outbox.c.status.in_(sources_of(status) & {OutboxStatus.SENDING}),
        )
        .values(values)
    )


# Built once: constructing an UPDATE per row cost more than running it.
_RECORD = {
    status: _record_statement(status)
    for status in (OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.FAILED)
}


def _result_values(
    row: Claimed, result: Sent[Claimed], settings: Settings, now: dt.datetime
) -> tuple[OutboxStatus, dict[str, object]]:
    """Return the status a result leads to and the parameters of its statement."""
    if result.receipt is not None:
        reference = result.receipt.carrier_reference
        return OutboxStatus.SENT, {"sent_at": now, "carrier_reference": reference}
    error = str(result.error)[:200]
    if isinstance(result.error, RetryableSendError) and now < row.give_up_at:
        retry_at = min(now + _backoff(row.attempts, settings), row.give_up_at)
        return OutboxStatus.PENDING, {"error": error, "next_attempt_at": retry_at}
    return OutboxStatus.FAILED, {"error": error}


def _backoff(attempts: int, settings: Settings) -> dt.timedelta:
    # "Equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads the
    # retries of many replies that failed together, yet never retries sooner than half the step.
    ceiling = min(
        settings.mt_backoff_cap.total_seconds(),
        settings.mt_backoff_base.total_seconds() * 2 ** min(attempts - 1, 20),
    )
    return dt.timedelta(seconds=_jitter.uniform(ceiling / 2, ceiling))
