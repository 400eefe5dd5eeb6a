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

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.clock import Clock
from gateway.delivery.carriers.base import DeliveryReport, OutboundSms, SendReceipt, Transport
from gateway.delivery.mail import Mailer, OutboundEmail, message_id_for
from gateway.errors import ConflictingDuplicate, NotFound, PermanentSendError, RetryableSendError
from gateway.models import InboundMessage, OutboxMessage
from gateway.ops import metrics
from gateway.settings import Settings
from gateway.states import Channel, OutboxStatus, check_transition, sources_of
from parsers import mask_email, mask_phone

log = logging.getLogger(__name__)
_jitter = random.SystemRandom()


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
) -> int:
    """Send what is due, one claimed batch; return how many rows were attempted."""
    started = time.perf_counter()
    owner = worker_id or uuid.uuid4().hex
    claimed = _claim(session_factory, settings, clock, owner)
    for row_id in claimed:
        _send_one(session_factory, transports, mailer, row_id, owner, settings, clock)
    if claimed:  # idle polls would bury the real batches under near-zero timings
        metrics.observe_batch("replies", time.perf_counter() - started)
    return len(claimed)


def record_delivery(
    session: Session, carrier: str, report: DeliveryReport, now: dt.datetime
) -> bool:
    """Store a delivery report; return False when it repeats one already stored."""
    row = None
    if report.reference.isascii() and report.reference.isdigit() and len(report.reference) < 19:
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


def _claim(
    session_factory: sessionmaker[Session], settings: Settings, clock: Clock, owner: str
) -> list[int]:
    now = clock.now()
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
        if ids:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(
                    status=OutboxStatus.SENDING,
                    lease_owner=owner,
                    lease_until=now + settings.worker_lease,
                    attempts=OutboxMessage.attempts + 1,
                )
            )
    return ids


def _send_one(
    session_factory: sessionmaker[Session],
    transports: Mapping[str, Transport],
    mailer: Mailer | None,
    row_id: int,
    owner: str,
    settings: Settings,
    clock: Clock,
) -> None:
    with session_factory.begin() as session:
        # Renew the lease just before sending: rows late in a slow batch may have been taken
        # over by another worker meanwhile, and a full lease now outlasts the send's timeout.
        renewed = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.lease_owner == owner,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            .values(lease_until=clock.now() + settings.worker_lease)
        )
        if renewed.rowcount == 0:  # type: ignore[attr-defined]
            log.info("outbox %s: taken over by another worker before sending", row_id)
            return
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        outbound = _outbound(row)
        carrier, attempts, give_up_at = row.carrier, row.attempts, row.give_up_at
    try:
        if isinstance(outbound, OutboundEmail):
            if mailer is None:
                raise RetryableSendError("no mailer in this worker")
            receipt = mailer.send(outbound)
        else:
            transport = transports.get(carrier)
            if transport is None:
                raise PermanentSendError(f"carrier {carrier!r} is no longer configured")
            receipt = transport.send(outbound)
    except RetryableSendError as exc:
        now = clock.now()
        if now >= give_up_at:
            _finish(session_factory, row_id, owner, OutboxStatus.FAILED, now, error=str(exc))
        else:
            delay = _backoff(attempts, settings)
            _finish(
                session_factory,
                row_id,
                owner,
                OutboxStatus.PENDING,
                now,
                error=str(exc),
                next_attempt_at=min(now + delay, give_up_at),
            )
    except PermanentSendError as exc:
        _finish(session_factory, row_id, owner, OutboxStatus.FAILED, clock.now(), error=str(exc))
    else:
        _finish(session_factory, row_id, owner, OutboxStatus.SENT, clock.now(), receipt=receipt)


def _outbound(row: OutboxMessage) -> OutboundSms | OutboundEmail:
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


def _finish(
    session_factory: sessionmaker[Session],
    row_id: int,
    owner: str,
    status: OutboxStatus,
    now: dt.datetime,
    *,
    error: str | None = None,
    receipt: SendReceipt | None = None,
    next_attempt_at: dt.datetime | None = None,
) -> None:
    check_transition(OutboxStatus.SENDING, status)
    values: dict[str, object] = {"status": status, "lease_until": None, "lease_owner": None}
    if error is not None:
        values["last_error"] = error[:200]
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status is not OutboxStatus.PENDING:
        # Sent or given up: the password or OTP has done its job and must not linger.
        values["text"] = OutboxMessage.safe_text
        values["html"] = OutboxMessage.safe_html
    if receipt is not None:
        values["sent_at"] = now
        values["carrier_reference"] = receipt.carrier_reference
    with session_factory.begin() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.lease_owner == owner,
                OutboxMessage.status.in_(sources_of(status) & {OutboxStatus.SENDING}),
            )
            .values(**values)
        )
        recipient, carrier, channel = session.execute(
            select(OutboxMessage.recipient, OutboxMessage.carrier, OutboxMessage.channel).where(
                OutboxMessage.id == row_id
            )
        ).one()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        log.warning("outbox %s: lease lost before the result was recorded", row_id)
        return
    metrics.count_reply(carrier, status)
    log.info(
        "outbox %s to %s: %s%s",
        row_id,
        mask_email(recipient) if channel is Channel.EMAIL else mask_phone(recipient or ""),
        status.value,
        f" ({error})" if error else "",
    )


def _backoff(attempts: int, settings: Settings) -> dt.timedelta:
    # "Equal jitter" (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads the
    # retries of many replies that failed together, yet never retries sooner than half the step.
    ceiling = min(
        settings.mt_backoff_cap.total_seconds(),
        settings.mt_backoff_base.total_seconds() * 2 ** min(attempts - 1, 20),
    )
    return dt.timedelta(seconds=_jitter.uniform(ceiling / 2, ceiling))
