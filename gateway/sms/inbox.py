"""Durable intake of inbound messages, with idempotency on the carrier's message id.

This runs on every MO request, so it speaks SQLAlchemy Core on a bare connection: one
``INSERT … ON CONFLICT DO NOTHING RETURNING id`` in a transaction of its own, and a look-up
only for a repeat. No ORM unit of work, no identity map, and the write lock (SQLite) or the
row (PostgreSQL) is held for that one statement. A new message wakes the worker
(gateway/delivery/wakeup.py): a NOTIFY in the same transaction on PostgreSQL, a poke after the
commit on SQLite; a repeat wakes nobody.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Insert, select

from gateway.carriers.base import InboundSms
from gateway.db import insert_unless_present
from gateway.delivery import wakeup
from gateway.errors import ConflictingDuplicate
from gateway.models import InboundMessage
from gateway.ops import metrics
from gateway.states import MessageStatus

_messages = InboundMessage.__table__


@dataclass(frozen=True, slots=True)
class Intake:
    """The stored message and whether this delivery was a repeat of an earlier one."""

    message_id: int
    duplicate: bool


@functools.cache
def _insert_once(dialect_name: str) -> Insert:
    # Built once per process: building it again for every MO cost more than executing it.
    statement = insert_unless_present(dialect_name, _messages, ("carrier", "carrier_message_id"))
    return statement.returning(_messages.c.id)


def content_digest(sms: InboundSms) -> str:
    """Fingerprint what makes two deliveries 'the same message' (sender, recipient, text)."""
    canonical = json.dumps([sms.sender, sms.recipient, sms.text], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def accept_inbound(engine: Engine, carrier: str, sms: InboundSms, now: dt.datetime) -> Intake:
    """Store a delivery once, committed before this returns; a repeat returns the first id.

    Raises ConflictingDuplicate when the id was used before for different content.
    """
    digest = content_digest(sms)
    row = {
        "carrier": carrier,
        "carrier_message_id": sms.carrier_message_id,
        "sender": sms.sender,
        "recipient": sms.recipient,
        "text": sms.text,
        "content_digest": digest,
        "carrier_received_at": sms.received_at,
        "route": sms.route,
        "created_at": now,
        "status": MessageStatus.RECEIVED,
        "replied": False,
        "attempts": 0,
    }
    with engine.begin() as connection:
        # A concurrent delivery of the same id either commits first (then this inserts
        # nothing and the look-up below finds it) or waits for this one: never two rows.
        statement = _insert_once(connection.dialect.name)
        message_id = connection.execute(statement, row).scalar_one_or_none()
        if message_id is not None:
            wakeup.announce(connection, wakeup.INBOUND)
    if message_id is not None:
        wakeup.poke(engine, wakeup.INBOUND)
        metrics.count_received(carrier, duplicate=False)
        return Intake(message_id, duplicate=False)
    with engine.connect() as connection:
        existing_id, existing_digest = _find(connection, carrier, sms.carrier_message_id)
    if existing_digest != digest:
        raise ConflictingDuplicate(
            f"message id {sms.carrier_message_id!r} was already used for different content"
        )
    metrics.count_received(carrier, duplicate=True)
    return Intake(existing_id, duplicate=True)


def _find(connection: Connection, carrier: str, carrier_message_id: str) -> tuple[int, str]:
    query = select(_messages.c.id, _messages.c.content_digest).where(
        _messages.c.carrier == carrier, _messages.c.carrier_message_id == carrier_message_id
    )
    found = connection.execute(query).one()
    return found.id, found.content_digest
