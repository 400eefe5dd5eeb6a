"""The durable outbox: SMS replies and notices, and emails, wait here until they are handed over.

A message is written in the same transaction as the event it reports, so each event yields
exactly one row. Workers claim rows under a lease, send outside any transaction (through the
carrier, or the SMTP relay for the email channel), then record the result only if they still
hold the lease (gateway/delivery/leases.py, with the retry rules). Each claimed batch goes
out concurrently, in one lane per carrier (gateway/delivery/sending.py).

Every outbox row is built here: an SMS (:func:`sms_row`), a reply to an inbound message
(:func:`reply_row`) or an email (:func:`email_row`), queued one at a time (:func:`enqueue`)
or a batch's worth in one statement (:func:`enqueue_all`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.carriers.base import DeliveryReport, SendReceipt, Transport
from gateway.clock import Clock
from gateway.delivery.emails import RenderedEmail
from gateway.delivery.leases import Claimed, claim, record
from gateway.delivery.mail import Mailer, OutboundEmail
from gateway.delivery.replies import PASSWORD_MASK
from gateway.delivery.sending import ReplySender
from gateway.errors import (
    ConflictingDuplicate,
    NotFound,
    PermanentSendError,
    RequeueRefused,
    RetryableSendError,
)
from gateway.models import OutboxMessage
from gateway.ops import metrics
from gateway.settings import EMAIL_CARRIER, Settings
from gateway.states import Channel, DeliveryStatus, OutboxStatus

log = logging.getLogger(__name__)
LEASE_MARGIN = dt.timedelta(seconds=5)  # lease a send must leave unused, for the recording
_COLUMNS = tuple(c.name for c in OutboxMessage.__table__.columns if c.name != "id")
_ADDRESSING = ("message_id", "channel", "carrier", "in_reply_to", "route", "sender", "recipient")


class Answered(Protocol):
    """The columns of an inbound message that its reply is addressed by."""

    id: int
    carrier: str
    carrier_message_id: str
    route: str | None
    sender: str


def sms_row(
    recipient: str, *, carrier: str, text: str, safe_text: str, settings: Settings, now: dt.datetime
) -> dict[str, Any]:
    """Return the outbox row of an SMS from our shortcode, through ``carrier``."""
    return {
        "channel": Channel.SMS,
        "carrier": carrier,
        "sender": settings.shortcode,
        "recipient": recipient,
        "text": text,
        "safe_text": safe_text,
        **_fresh(settings, now),
    }


def reply_row(
    message: Answered, *, text: str, safe_text: str, settings: Settings, now: dt.datetime
) -> dict[str, Any]:
    """Return the outbox row of the reply to an inbound message, back through the carrier
    that delivered it."""
    return {
        **sms_row(
            message.sender,
            carrier=message.carrier,
            text=text,
            safe_text=safe_text,
            settings=settings,
            now=now,
        ),
        "message_id": message.id,
        "in_reply_to": message.carrier_message_id,
        "route": message.route,
    }


def email_row(
    address: str, email: RenderedEmail, *, settings: Settings, now: dt.datetime
) -> dict[str, Any]:
    """Return the outbox row of an email; the sender comes from the settings, never from a
    request."""
    return {
        "channel": Channel.EMAIL,
        "carrier": EMAIL_CARRIER,
        "sender": settings.smtp.sender,
        "recipient": address,
        "subject": email.subject,
        "text": email.text,
        "safe_text": email.safe_text,
        "html": email.html,
        "safe_html": email.safe_html,
        **_fresh(settings, now),
    }


def enqueue(session: Session, row: Mapping[str, Any]) -> OutboxMessage:
    """Queue one message (a row from :func:`sms_row`, :func:`reply_row` or :func:`email_row`)
    in the caller's transaction. An ORM add, so the session's wake-ups see it
    (gateway/delivery/wakeup.py)."""
    message = OutboxMessage(**row)
    session.add(message)
    return message


def enqueue_all(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue many messages with one statement, in the caller's transaction (the hot path:
    a batch's replies and notices). Core, so no wake-up is announced: the worker's inbound
    loop wakes its outbox loop after a pass that found work (gateway/worker.py)."""
    if rows:
        # One executemany needs the same columns in every row: replies and emails differ.
        values = [{name: row.get(name) for name in _COLUMNS} for row in rows]
        connection.execute(insert(OutboxMessage.__table__), values)


def _fresh(settings: Settings, now: dt.datetime) -> dict[str, Any]:
    """The columns of a message not yet tried: due now, given up after the retry horizon."""
    return {
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "give_up_at": now + settings.mt_retry_horizon,
        "created_at": now,
    }


def failed(row: OutboxMessage) -> bool:
    """Tell whether a message never reached its recipient: given up, or reported undelivered."""
    return row.status is OutboxStatus.FAILED or row.delivery_status in (
        DeliveryStatus.FAILED,
        DeliveryStatus.EXPIRED,
    )


def requeue_refusal(row: OutboxMessage, *, later: bool) -> str | None:
    """Say why a reply may not be queued again (a code), or None when it may.

    ``later``: the same message already has a newer reply row (it was queued again).
    """
    if row.channel is not Channel.SMS or row.message_id is None:
        return "not_a_reply"
    if not failed(row):
        return "not_failed"
    if PASSWORD_MASK in row.safe_text:
        return "secret"
    if not row.safe_text:
        return "purged"  # past the retention period: nothing is left to send
    if later:
        return "already_requeued"
    return None


def requeue_reply(
    session: Session, outbox_id: int, *, settings: Settings, now: dt.datetime
) -> OutboxMessage:
    """Queue a failed SMS reply again, as a new outbox row; the failed one stays as history.

    Only a reply that carried no secret: a temporary password is gone from the row once it
    failed (only the masked text is kept), and sending an old one again would be wrong even if
    it were kept: it may have expired or been replaced, and the phone may have changed hands.
    The person texts again for a new one. Refusals raise RequeueRefused with a code.
    """
    row = session.get(OutboxMessage, outbox_id, with_for_update=True)
    if row is None:
        raise RequeueRefused("not_found")
    later = session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.message_id == row.message_id, OutboxMessage.id > row.id
        )
    )
    refusal = requeue_refusal(row, later=later is not None)
    if refusal is not None:
        raise RequeueRefused(refusal)
    # The failed row's addressing (its shortcode too, even if the setting changed since).
    again = enqueue(
        session,
        {name: getattr(row, name) for name in _ADDRESSING}
        | {"text": row.safe_text, "safe_text": row.safe_text, **_fresh(settings, now)},
    )
    session.flush()
    return again


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
    claimed = claim(session_factory, settings, clock, owner)
    if not claimed:  # idle polls would bury the real batches under near-zero timings
        return 0

    def send(row: Claimed) -> SendReceipt | None:
        return _send(session_factory, transports, mailer, row, owner, settings, clock)

    lanes = sender or ReplySender(settings)
    for results in lanes.send_all(claimed, lambda row: row.carrier, send):
        record(session_factory, owner, results, settings, clock)
    if any(row.channel is not Channel.EMAIL for row in claimed):  # timing a mail-only batch
        metrics.observe_batch("replies", time.perf_counter() - started)  # would tell a match
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


def _send(
    session_factory: sessionmaker[Session],
    transports: Mapping[str, Transport],
    mailer: Mailer | None,
    row: Claimed,
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


def _send_timeout(row: Claimed, settings: Settings) -> dt.timedelta:
    carrier = settings.carriers.get(row.carrier)
    seconds = settings.smtp.timeout if carrier is None else carrier.timeout
    return dt.timedelta(seconds=seconds)
