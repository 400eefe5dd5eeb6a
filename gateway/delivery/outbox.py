"""The durable outbox: SMS replies and notices, and emails, wait here until they are handed over.

A message is written in the same transaction as the event it reports, so each event yields
exactly one row. Workers claim rows under a lease, send outside any transaction (through the
carrier, or the SMTP relay for the email channel), then record the result only if they still
hold the lease. Retryable failures back off exponentially with jitter until the horizon.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.delivery.carriers.base import DeliveryReport, OutboundSms, SendReceipt, Transport
from gateway.delivery.mail import Mailer, OutboundEmail, message_id_for
from gateway.delivery.sending import ReplySender, Sent
from gateway.errors import ConflictingDuplicate, NotFound, PermanentSendError, RetryableSendError
from gateway.models import InboundMessage, OutboxMessage
from gateway.ops import metrics
from gateway.settings import Settings
from gateway.states import Channel, OutboxStatus, check_transition, sources_of
from parsers import mask_email, mask_phone

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()
_outbox = OutboxMessage.__table__
LEASE_MARGIN = dt.timedelta(seconds=5)  # lease a send must leave unused, for the recording


def enqueue_reply(
    session: Session,
    message: InboundMessage,
    *,
    text: str,
    safe_text: str,
    settings: Settings,
    now: dt.datetime,
) -> OutboxMessage:
    """Queue the reply to an inbound message, back through the carrier that delivered it."""
    row = OutboxMessage(
        message_id=message.id,
        carrier=message.carrier,
        in_reply_to=message.carrier_message_id,
        route=message.route,
        sender=settings.shortcode,
        recipient=message.sender,
        text=text,
        safe_text=safe_text,
        status=OutboxStatus.PENDING,
        next_attempt_at=now,
        give_up_at=now + settings.mt_retry_horizon,
        created_at=now,
    )
    session.add(row)
    return row


def dispatch_pending(
    session_factory: sessionmaker[Session],
    transports: Mapping[str, Transport],
    *,
    settings: Settings,
    clock: Clock,
    worker_id: str | None = None,
    mailer: Mailer | None = None,
    sender: ReplySender | None = None,
) -> int:
    """Send what is due, one claimed batch, concurrently per carrier; return how many rows
    were attempted. Results are recorded in one transaction per group that completes."""
    started = time.perf_counter()
    owner = worker_id or uuid.uuid4().hex
    claimed = _claim(session_factory, settings, clock, owner)
    if not claimed:  # idle polls would bury the real batches under near-zero timings
        return 0

    def send(row: _Claimed) -> SendReceipt | None:
        return _send(session_factory, transports, mailer, row, owner, settings, clock)

    lanes = sender or ReplySender(settings)
    for results in lanes.send_all(claimed, lambda row: row.carrier, send):
        _record(session_factory, owner, results, settings, clock)
    metrics.observe_batch("replies", time.perf_counter() - started)
    return len(claimed)


def record_delivery(
    session: Session, carrier: str, report: DeliveryReport, now: dt.datetime
) -> bool:
    """Store a delivery report; return False when it repeats one already stored."""
    row = None
    if report.reference.isdigit():
        row = session.get(OutboxMessage, int(report.reference), with_for_update=True)
    if row is None or row.carrier != carrier:
        raise NotFound(f"no outbound message with reference {report.reference!r}")
    if row.delivery_status is report.status:
        return False
    if row.delivery_status is not None:
        raise ConflictingDuplicate(
            f"reference {report.reference!r} was already reported {row.delivery_status.value}"
        )
    row.delivery_status = report.status
    row.delivered_at = now
    if report.carrier_reference and not row.carrier_reference:
        row.carrier_reference = report.carrier_reference
    return True


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A row this worker holds under its lease, with everything needed to send it."""

    id: int
    carrier: str  # the lane: a carrier's name, or "email"
    channel: Channel
    recipient: str
    outbound: OutboundSms | OutboundEmail
    attempts: int
    give_up_at: dt.datetime
    lease_until: dt.datetime


def _claim(
    session_factory: sessionmaker[Session], settings: Settings, clock: Clock, owner: str
) -> list[_Claimed]:
    now = clock.now()
    lease_until = now + settings.worker_lease
    due = or_(
        (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == OutboxStatus.SENDING) & (OutboxMessage.lease_until < now),
    )
    with session_factory.begin() as session:
        query = (
            select(OutboxMessage.id)
            .where(due)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(settings.worker_batch_size)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.scalars(query))
        if not ids:
            return []
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=OutboxStatus.SENDING,
                lease_owner=owner,
                lease_until=lease_until,
                attempts=OutboxMessage.attempts + 1,
            )
        )
        # Core rows, not ORM objects: read once, here, instead of once per send.
        rows = session.execute(select(_outbox).where(_outbox.c.id.in_(ids))).all()
    return [
        _Claimed(
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


def _send(
    session_factory: sessionmaker[Session],
    transports: Mapping[str, Transport],
    mailer: Mailer | None,
    row: _Claimed,
    owner: str,
    settings: Settings,
    clock: Clock,
) -> SendReceipt | None:
    """Send one claimed row (in a lane's thread); None when another worker took it over."""
    # A row late in a slow batch (or a slow lane) may have outlived its lease and been taken
    # over: renew first unless what is left still outlasts the send's timeout with margin.
    if row.lease_until - clock.now() <= _send_timeout(row, settings) + LEASE_MARGIN:
        with session_factory.begin() as session:
            renewed = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row.id,
                    OutboxMessage.lease_owner == owner,
                    OutboxMessage.status == OutboxStatus.SENDING,
                )
                .values(lease_until=clock.now() + settings.worker_lease)
            )
        if renewed.rowcount == 0:  # type: ignore[attr-defined]
            log.info("outbox %s: taken over by another worker before sending", row.id)
            return None
    if isinstance(row.outbound, OutboundEmail):
        if mailer is None:
            raise RetryableSendError("no mailer in this worker")
        return mailer.send(row.outbound)
    transport = transports.get(row.carrier)
    if transport is None:
        raise PermanentSendError(f"carrier {row.carrier!r} is no longer configured")
    return transport.send(row.outbound)


def _send_timeout(row: _Claimed, settings: Settings) -> dt.timedelta:
    carrier = settings.carriers.get(row.carrier)
    seconds = settings.smtp.timeout if carrier is None else carrier.timeout
    return dt.timedelta(seconds=seconds)


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


def _record(
    session_factory: sessionmaker[Session],
    owner: str,
    results: list[Sent[_Claimed]],
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
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row.id,
                    OutboxMessage.lease_owner == owner,
                    OutboxMessage.status.in_(sources_of(status) & {OutboxStatus.SENDING}),
                )
                .values(**values)
            )
            outcomes.append((row, status, result.error, recorded.rowcount))  # type: ignore[attr-defined]
    for row, status, error, count in outcomes:
        if count == 0:
            log.warning("outbox %s: lease lost before the result was recorded", row.id)
            continue
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


def _result_values(
    row: _Claimed, result: Sent[_Claimed], settings: Settings, now: dt.datetime
) -> tuple[OutboxStatus, dict[str, object]]:
    if result.receipt is not None:
        status = OutboxStatus.SENT
    elif isinstance(result.error, RetryableSendError) and now < row.give_up_at:
        status = OutboxStatus.PENDING
    else:
        status = OutboxStatus.FAILED
    check_transition(OutboxStatus.SENDING, status)
    values: dict[str, object] = {"status": status, "lease_until": None, "lease_owner": None}
    if result.error is not None:
        values["last_error"] = str(result.error)[:200]
    if status is OutboxStatus.PENDING:
        values["next_attempt_at"] = min(now + _backoff(row.attempts, settings), row.give_up_at)
    else:
        # Sent or given up: the password or OTP has done its job and must not linger.
        values["text"] = OutboxMessage.safe_text
        values["html"] = OutboxMessage.safe_html
    if result.receipt is not None:
        values["sent_at"] = now
        values["carrier_reference"] = result.receipt.carrier_reference
    return status, values


def _backoff(attempts: int, settings: Settings) -> dt.timedelta:
    # "Equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads the
    # retries of many replies that failed together, yet never retries sooner than half the step.
    ceiling = min(
        settings.mt_backoff_cap.total_seconds(),
        settings.mt_backoff_base.total_seconds() * 2 ** min(attempts - 1, 20),
    )
    return dt.timedelta(seconds=_jitter.uniform(ceiling / 2, ceiling))
