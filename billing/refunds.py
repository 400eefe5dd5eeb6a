"""Refunds: which charges are refundable, and the refund entries that give money back.

Decree 77/2012 and Directive 04/CT-BTTTT required refunds for messages that failed technically
or were not served; whether a wrong syntax is refunded has varied, so it is a setting. A reset
refused because the SIM changed recently is not served either: the citizen paid for nothing of
their doing. A refund is a new ledger entry pointing at its charge: the ledger stays append-only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    String,
    and_,
    exists,
    false,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from billing.base import Base
from billing.errors import AlreadyRefunded, NotCharged, NotRefundable, RefundExceedsCharge
from billing.ledger import EntryKind, LedgerEntry, refund_entry
from billing.outcomes import Outcome
from billing.periods import Period

log = logging.getLogger(__name__)

# Refundable whatever the policy's settings (docs/finance.md, "Refund policy").
ALWAYS_REFUNDABLE = (Outcome.SYSTEM_ERROR, Outcome.SIM_SWAPPED, Outcome.INTERRUPTED)


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    """Which charges may be refunded."""

    refund_wrong_syntax: bool = False

    def refundable(self, outcome: Outcome, reply_failed: bool) -> bool:
        """Tell whether a charge with this outcome (and reply fate) is refundable."""
        if outcome in ALWAYS_REFUNDABLE or reply_failed:
            return True
        return outcome is Outcome.WRONG_SYNTAX and self.refund_wrong_syntax

    def refundable_sql(
        self, outcome: SQLColumnExpression[Outcome], reply_failed: ColumnElement[bool]
    ) -> ColumnElement[bool]:
        """SQL: :meth:`refundable` for a row's outcome and reply fate (the export uses it)."""
        refundable = [outcome.in_(ALWAYS_REFUNDABLE), reply_failed]
        if self.refund_wrong_syntax:
            refundable.append(outcome == Outcome.WRONG_SYNTAX)
        return or_(*refundable)

    def reason(self, outcome: Outcome, reply_failed: bool) -> str:
        """Say why a refundable charge is refundable, for the refund entry."""
        if reply_failed and outcome not in ALWAYS_REFUNDABLE:
            return "reply failed"
        return outcome.value


def reply_failed(message_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """SQL: the reply to this message finally failed (given up on, or reported undelivered)."""
    outbox = Base.metadata.tables.get("outbox")
    if outbox is None:  # billing used without the gateway's tables: there are no replies
        return false()
    # Compared as text: the enums belong to the gateway layer, which billing must not import.
    status = type_coerce(outbox.c.status, String())
    delivery = type_coerce(outbox.c.delivery_status, String())
    return exists().where(
        outbox.c.message_id == message_id,
        or_(status == "failed", delivery.in_(("failed", "expired"))),
    )


def find_charge(
    session: Session,
    *,
    message_id: int | None = None,
    carrier: str | None = None,
    carrier_message_id: str | None = None,
) -> LedgerEntry:
    """Return the charge of one message, by our id or by carrier and carrier id."""
    query = select(LedgerEntry).where(LedgerEntry.kind == EntryKind.CHARGE)
    if message_id is not None:
        query = query.where(LedgerEntry.message_id == message_id)
        name = f"message {message_id}"
    elif carrier is not None and carrier_message_id is not None:
        query = query.where(
            LedgerEntry.carrier == carrier, LedgerEntry.carrier_message_id == carrier_message_id
        )
        name = f"{carrier} message {carrier_message_id!r}"
    else:
        raise ValueError("give a message id, or a carrier and the carrier's message id")
    charge = session.scalars(query).one_or_none()
    if charge is None:
        raise NotCharged(f"{name} has no charge in the ledger; there is nothing to refund")
    return charge


def refund_charge(
    session: Session,
    charge: LedgerEntry,
    policy: RefundPolicy,
    *,
    reason: str | None,
    actor: str,
    at: dt.datetime,
    amount_vnd: int | None = None,
    force: bool = False,
) -> LedgerEntry:
    """Append the refund of one charge; refuse a second refund, an excess or a non-refundable."""
    if charge.kind is not EntryKind.CHARGE:
        raise NotCharged(f"entry {charge.id} is a refund, not a charge")
    amount = charge.amount_vnd if amount_vnd is None else amount_vnd
    if amount <= 0 or amount > charge.amount_vnd:
        raise RefundExceedsCharge(
            f"a refund of message {charge.message_id} must be 1 to {charge.amount_vnd} VND "
            f"(the charge), not {amount}"
        )
    failed = bool(session.scalar(select(reply_failed(literal(charge.message_id)))))
    if not force and not policy.refundable(charge.outcome, failed):
        raise NotRefundable(
            f"message {charge.message_id} ({charge.outcome.value}) is not refundable under the "
            "policy; give a reason and --force to refund it anyway"
        )
    _refuse_second(session, charge)
    refund = refund_entry(
        charge,
        amount_vnd=amount,
        reason=reason or policy.reason(charge.outcome, failed),
        actor=actor,
        at=at,
    )
    try:
        with session.begin_nested():
            session.add(refund)
    except IntegrityError as exc:
        # Another run refunded it between our check and our insert: the unique key decided.
        raise AlreadyRefunded(f"message {charge.message_id} was already refunded") from exc
    return refund


def _refuse_second(session: Session, charge: LedgerEntry) -> None:
    earlier = session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.message_id == charge.message_id, LedgerEntry.kind == EntryKind.REFUND
        )
    ).one_or_none()
    if earlier is not None:
        raise AlreadyRefunded(
            f"message {charge.message_id} was already refunded: entry {earlier.id}, "
            f"{earlier.amount_vnd} VND on {earlier.created_at:%Y-%m-%d %H:%M} UTC "
            f"by {earlier.actor or 'unknown'}"
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    """A refundable charge with no refund yet."""

    charge: LedgerEntry
    reply_failed: bool


def refundable_charges(
    session: Session,
    policy: RefundPolicy,
    period: Period,
    *,
    carriers: Collection[str] = (),
    outcomes: Collection[Outcome] = (),
) -> list[Candidate]:
    """Return the refundable charges made in ``period`` that have no refund yet, oldest first."""
    refund = aliased(LedgerEntry)
    failed = reply_failed(LedgerEntry.message_id)
    query = (
        select(LedgerEntry, failed.label("reply_failed"))
        .where(
            LedgerEntry.kind == EntryKind.CHARGE,
            LedgerEntry.created_at >= period.start,
            LedgerEntry.created_at < period.end,
            policy.refundable_sql(LedgerEntry.outcome, failed),
            ~exists().where(
                and_(refund.message_id == LedgerEntry.message_id, refund.kind == EntryKind.REFUND)
            ),
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    )
    if carriers:
        query = query.where(LedgerEntry.carrier.in_(carriers))
    if outcomes:
        query = query.where(LedgerEntry.outcome.in_(outcomes))
    return [Candidate(charge, bool(failed_)) for charge, failed_ in session.execute(query)]


def refund_all(
    session: Session,
    candidates: Sequence[Candidate],
    policy: RefundPolicy,
    *,
    reason: str | None,
    actor: str,
    at: dt.datetime,
) -> tuple[list[LedgerEntry], list[str]]:
    """Refund each candidate; return the refunds and why any was skipped (refunded meanwhile)."""
    refunds: list[LedgerEntry] = []
    skipped: list[str] = []
    for candidate in candidates:
        try:
            refunds.append(
                refund_charge(session, candidate.charge, policy, reason=reason, actor=actor, at=at)
            )
        except AlreadyRefunded as exc:
            skipped.append(str(exc))
    log.info("refunded %s charges (%s skipped) for %s", len(refunds), len(skipped), actor)
    return refunds, skipped
