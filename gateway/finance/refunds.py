"""Refunding one message: one use case for ``gateway charges refund --message-id`` and the console.

A refund outside the policy (a complaint about a served message) is *forced*: it needs a reason,
which is stored on the refund entry. The door checks who may ask; this module decides what is
refunded, through ``billing.refunds`` like every other refund.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from billing.refunds import RefundPolicy, find_charge, refund_charge, reply_failed
from gateway.finance.errors import FinanceRefused

REASON_REQUIRED = "--force needs --reason: say why this charge is refunded (it is stored)"


@dataclass(frozen=True, slots=True)
class OneRefund:
    """One message to refund, by our id or by carrier and the carrier's id."""

    message_id: int | None = None
    carrier: str | None = None
    carrier_message_id: str | None = None
    reason: str | None = None
    amount_vnd: int | None = None
    force: bool = False


@dataclass(frozen=True, slots=True)
class ChargeState:
    """A charge as a refund form shows it before asking for confirmation."""

    charge: LedgerEntry
    reply_failed: bool
    refundable: bool  # under the policy; a forced refund ignores it
    refunded: bool


def check_reason(ask: OneRefund) -> None:
    """Refuse a forced refund without a reason (``reason_required``)."""
    if ask.force and not (ask.reason and ask.reason.strip()):
        raise FinanceRefused("reason_required", REASON_REQUIRED)


def charge_state(session: Session, policy: RefundPolicy, ask: OneRefund) -> ChargeState:
    """Find the charge of one message and say whether the policy and the ledger allow a refund.

    Raises ``billing.errors.NotCharged`` when the message has no charge.
    """
    charge = _find(session, ask)
    failed = bool(session.scalar(select(reply_failed(literal(charge.message_id)))))
    refunded = session.scalar(
        select(LedgerEntry.id).where(
            LedgerEntry.message_id == charge.message_id, LedgerEntry.kind == EntryKind.REFUND
        )
    )
    return ChargeState(
        charge, failed, policy.refundable(charge.outcome, failed), refunded is not None
    )


def refund_message(
    session: Session, policy: RefundPolicy, ask: OneRefund, *, actor: str, at: dt.datetime
) -> LedgerEntry:
    """Append the refund of one message; the caller commits.

    Raises FinanceRefused ``reason_required`` (forced without a reason), and billing's
    RefundRefused: NotCharged, AlreadyRefunded, RefundExceedsCharge, NotRefundable.
    """
    check_reason(ask)
    return refund_charge(
        session,
        _find(session, ask),
        policy,
        reason=ask.reason.strip() if ask.reason else None,
        actor=actor,
        at=at,
        amount_vnd=ask.amount_vnd,
        force=ask.force,
    )


def _find(session: Session, ask: OneRefund) -> LedgerEntry:
    return find_charge(
        session,
        message_id=ask.message_id,
        carrier=ask.carrier,
        carrier_message_id=ask.carrier_message_id,
    )
