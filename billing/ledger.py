"""The append-only charge ledger: one charge per inbound message, refunds as new entries.

Every ledger row is built here: one charge (:func:`record_charge`), a batch of charges
(:func:`charge_row` or :func:`message_charge` + :func:`insert_charges`), a refund
(:func:`refund_entry`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Connection,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from billing.base import Base, UTCDateTime, enum_column
from billing.errors import DuplicateCharge
from billing.outcomes import RECOVERY, Outcome
from billing.tariffs import TariffBook


class EntryKind(enum.Enum):
    """A ledger entry either takes money (charge) or gives it back (refund)."""

    CHARGE = "charge"
    REFUND = "refund"


class LedgerEntry(Base):
    """One line of the ledger; never updated, never deleted."""

    __tablename__ = "ledger_entries"
    # The database, not only the code, holds "at most one charge (and one refund) per message".
    __table_args__ = (
        UniqueConstraint("message_id", "kind"),
        # Money moves one way per kind; the kind says which, so the amount is never negative.
        CheckConstraint("amount_vnd >= 0", name="amount_not_negative"),
        CheckConstraint(
            "(kind = 'charge' AND refund_of IS NULL)"
            " OR (kind = 'refund' AND refund_of IS NOT NULL)",
            name="refund_refers_to_charge",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(32), index=True)
    carrier_message_id: Mapped[str] = mapped_column(String(128))
    shortcode: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(16))
    amount_vnd: Mapped[int] = mapped_column(Integer)
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind))
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome))
    tariff: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # When the carrier took the message (its time if it gave one): carriers bill and reconcile
    # by it, while ``created_at`` is when this entry was written.
    message_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    refund_of: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(64))
    # The keyword service the message asked for: "recovery" (BH MK, built in) or a configured
    # one (qt, the, ...); each has its own tariff, and the summaries split by it.
    service: Mapped[str] = mapped_column(String(32), server_default=RECOVERY, index=True)


def charge_row(
    *,
    message_id: int,
    carrier: str,
    carrier_message_id: str,
    shortcode: str,
    phone: str,
    amount_vnd: int,
    outcome: Outcome,
    tariff: str,
    at: dt.datetime,
    message_at: dt.datetime | None = None,
    service: str = RECOVERY,
) -> dict[str, Any]:
    """Return the column values of one message's charge (``message_at`` defaults to ``at``)."""
    if amount_vnd < 0:
        raise ValueError("a charge cannot be negative")
    return {
        "message_id": message_id,
        "carrier": carrier,
        "carrier_message_id": carrier_message_id,
        "shortcode": shortcode,
        "phone": phone,
        "amount_vnd": amount_vnd,
        "kind": EntryKind.CHARGE,
        "outcome": outcome,
        "tariff": tariff,
        "created_at": at,
        "message_at": message_at or at,
        "service": service,
    }


class Billable(Protocol):
    """The columns of an inbound message that price and name its charge."""

    id: int
    carrier: str
    carrier_message_id: str
    sender: str
    recipient: str
    carrier_received_at: dt.datetime | None
    created_at: dt.datetime


def message_charge(
    message: Billable,
    *,
    tariffs: TariffBook,
    fallback_vnd: int,
    outcome: Outcome,
    at: dt.datetime,
    service: str = RECOVERY,
) -> dict[str, Any]:
    """Price ``message`` at the tariff in force at its time (the carrier bills by its own time
    of the message) and return the column values of its charge."""
    message_at = message.carrier_received_at or message.created_at
    tariff = tariffs.price(message.carrier, message.recipient, message_at, fallback_vnd)
    return charge_row(
        message_id=message.id,
        carrier=message.carrier,
        carrier_message_id=message.carrier_message_id,
        shortcode=message.recipient,
        phone=message.sender,
        amount_vnd=tariff.amount_vnd,
        outcome=outcome,
        tariff=tariff.label,
        at=at,
        message_at=message_at,
        service=service,
    )


def record_charge(session: Session, row: Mapping[str, Any]) -> LedgerEntry:
    """Append one charge (a row from :func:`charge_row` or :func:`message_charge`); a second
    charge for the same message raises DuplicateCharge."""
    entry = LedgerEntry(**row)
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError as exc:
        raise DuplicateCharge(f"message {row['message_id']} is already charged") from exc
    return entry


def insert_charges(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append many charges (rows from :func:`charge_row`) with one statement, in the caller's
    transaction; a message charged twice fails the whole statement (IntegrityError)."""
    if rows:
        connection.execute(insert(LedgerEntry), list(rows))


def refund_entry(
    charge: LedgerEntry, *, amount_vnd: int, reason: str, actor: str, at: dt.datetime
) -> LedgerEntry:
    """Build (not add) the entry that refunds ``amount_vnd`` of ``charge``; the caller checks
    the policy and the amount."""
    return LedgerEntry(
        message_id=charge.message_id,
        carrier=charge.carrier,
        carrier_message_id=charge.carrier_message_id,
        shortcode=charge.shortcode,
        phone=charge.phone,
        amount_vnd=amount_vnd,
        kind=EntryKind.REFUND,
        outcome=charge.outcome,
        tariff=charge.tariff,
        created_at=at,
        message_at=charge.message_at,
        refund_of=charge.id,
        service=charge.service,
        reason=reason[:200],
        actor=actor[:64],
    )


def charges_for(session: Session, message_id: int) -> list[LedgerEntry]:
    """Return the ledger entries of one inbound message, oldest first."""
    query = select(LedgerEntry).where(LedgerEntry.message_id == message_id).order_by(LedgerEntry.id)
    return list(session.scalars(query))
