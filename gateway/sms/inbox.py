"""Durable intake of inbound messages, with idempotency on the carrier's message id."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.delivery.carriers.base import InboundSms
from gateway.errors import ConflictingDuplicate
from gateway.models import InboundMessage
from gateway.ops import metrics
from gateway.states import MessageStatus


@dataclass(frozen=True, slots=True)
class Intake:
    """The stored message and whether this delivery was a repeat of an earlier one."""

    message_id: int
    duplicate: bool


def content_digest(sms: InboundSms) -> str:
    """Fingerprint what makes two deliveries 'the same message' (sender, recipient, text)."""
    canonical = json.dumps([sms.sender, sms.recipient, sms.text], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_delivery(session: Session, carrier: str, carrier_message_id: str) -> InboundMessage | None:
    """Return the message a carrier delivered under its id, if any."""
    query = select(InboundMessage).where(
        InboundMessage.carrier == carrier, InboundMessage.carrier_message_id == carrier_message_id
    )
    return session.scalars(query).one_or_none()


def accept_inbound(session: Session, carrier: str, sms: InboundSms, now: dt.datetime) -> Intake:
    """Store a delivery once and commit; a repeat returns the first message's id.

    Raises ConflictingDuplicate when the id was used before for different content.
    """
    digest = content_digest(sms)
    existing = find_delivery(session, carrier, sms.carrier_message_id)
    if existing is None:
        message = InboundMessage(
            carrier=carrier,
            carrier_message_id=sms.carrier_message_id,
            sender=sms.sender,
            recipient=sms.recipient,
            text=sms.text,
            content_digest=digest,
            carrier_received_at=sms.received_at,
            route=sms.route,
            created_at=now,
            status=MessageStatus.RECEIVED,
        )
        session.add(message)
        try:
            session.commit()
        except IntegrityError:
            # Another request stored the same delivery between our look-up and our insert.
            session.rollback()
            existing = find_delivery(session, carrier, sms.carrier_message_id)
            if existing is None:
                raise
        else:
            metrics.count_received(carrier, duplicate=False)
            return Intake(message.id, duplicate=False)
    if existing.content_digest != digest:
        raise ConflictingDuplicate(
            f"message id {sms.carrier_message_id!r} was already used for different content"
        )
    metrics.count_received(carrier, duplicate=True)
    return Intake(existing.id, duplicate=True)
