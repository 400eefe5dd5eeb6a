"""Refunds: new entries pointing at their charge; never twice, never more, never from nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.errors import AlreadyRefunded, NotCharged, NotRefundable, RefundExceedsCharge
from billing.ledger import EntryKind, LedgerEntry, charge_row, insert_charges, record_charge
from billing.outcomes import Outcome
from billing.periods import local_days
from billing.refunds import RefundPolicy, find_charge, refund_all, refund_charge, refundable_charges
from gateway.carriers.fake import FakeTransport
from gateway.errors import PermanentSendError
from gateway.models import InboundMessage
from gateway.runtime import Runtime
from gateway.states import MessageStatus
from tests.harness import Phones, add_account

NOW = dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


def add_charge(
    session: Session,
    outcome: Outcome = Outcome.SYSTEM_ERROR,
    *,
    carrier: str = "viettel",
    at: dt.datetime = NOW,
    amount: int = 1000,
    phone: str = "84912345678",
) -> LedgerEntry:
    """Store a processed inbound message and its charge, as the worker would."""
    n = next(_ids)
    message = InboundMessage(
        carrier=carrier,
        carrier_message_id=f"cm-{n}",
        sender=phone,
        recipient="8079",
        text="BH MK",
        content_digest="0" * 64,
        created_at=at,
        status=MessageStatus.PROCESSED,
        outcome=outcome,
        replied=False,
        attempts=0,
        processed_at=at,
    )
    session.add(message)
    session.flush()
    row = charge_row(
        message_id=message.id,
        carrier=carrier,
        carrier_message_id=message.carrier_message_id,
        shortcode="8079",
        phone=phone,
        amount_vnd=amount,
        outcome=outcome,
        tariff=f"8079:{amount}",
        at=at,
    )
    entry = record_charge(session, row)
    session.commit()
    return entry


@pytest.fixture
def ledger(runtime: Runtime) -> Iterator[Session]:
    """A session that writes as the CLI does: in transactions, with savepoints."""
    with runtime.session_factory() as session:
        yield session


def refund(session: Session, charge: LedgerEntry, **kwargs: object) -> LedgerEntry:
    entry = refund_charge(
        session,
        charge,
        RefundPolicy(),
        reason=None,
        actor="ketoan",
        at=NOW,
        **kwargs,  # type: ignore[arg-type]
    )
    session.commit()
    return entry


def test_a_refund_is_a_new_entry_that_points_at_its_charge(ledger: Session) -> None:
    charge = add_charge(ledger)

    entry = refund(ledger, charge)

    assert (entry.kind, entry.amount_vnd, entry.refund_of) == (EntryKind.REFUND, 1000, charge.id)
    assert (entry.reason, entry.actor, entry.message_id) == (
        "system_error",
        "ketoan",
        charge.message_id,
    )
    ledger.expire_all()
    assert ledger.get(LedgerEntry, charge.id).amount_vnd == 1000  # type: ignore[union-attr]


def test_refunding_twice_is_refused_with_the_first_refund_named(ledger: Session) -> None:
    charge = add_charge(ledger)
    first = refund(ledger, charge)

    with pytest.raises(AlreadyRefunded) as caught:
        refund(ledger, charge)

    assert str(caught.value) == (
        f"message {charge.message_id} was already refunded: entry {first.id}, "
        "1000 VND on 2026-11-02 03:00 UTC by ketoan"
    )


def test_the_database_itself_holds_one_refund_per_message(ledger: Session) -> None:
    charge = add_charge(ledger)
    refund(ledger, charge)
    copy = LedgerEntry(
        message_id=charge.message_id,
        carrier="viettel",
        carrier_message_id="x",
        shortcode="8079",
        phone="84912345678",
        amount_vnd=1,
        kind=EntryKind.REFUND,
        outcome=charge.outcome,
        tariff="t",
        created_at=NOW,
        refund_of=charge.id,
    )
    ledger.add(copy)

    with pytest.raises(IntegrityError):
        ledger.commit()
    ledger.rollback()


@pytest.mark.parametrize("amount", [1001, 0, -5])
def test_a_refund_never_exceeds_the_charge(ledger: Session, amount: int) -> None:
    charge = add_charge(ledger)

    with pytest.raises(RefundExceedsCharge, match="must be 1 to 1000 VND"):
        refund(ledger, charge, amount_vnd=amount)


def test_a_partial_refund_is_allowed_once(ledger: Session) -> None:
    charge = add_charge(ledger)

    assert refund(ledger, charge, amount_vnd=400).amount_vnd == 400
    with pytest.raises(AlreadyRefunded):
        refund(ledger, charge, amount_vnd=600)


def test_nothing_to_refund_without_a_charge(ledger: Session) -> None:
    with pytest.raises(NotCharged, match="message 999 has no charge"):
        find_charge(ledger, message_id=999)
    with pytest.raises(NotCharged, match="viettel message 'nope' has no charge"):
        find_charge(ledger, carrier="viettel", carrier_message_id="nope")


def test_a_served_message_needs_force(ledger: Session) -> None:
    charge = add_charge(ledger, Outcome.RESET_SENT)

    with pytest.raises(NotRefundable, match=r"\(reset_sent\) is not refundable"):
        refund(ledger, charge)
    assert refund(ledger, charge, force=True).amount_vnd == 1000


def test_a_filter_refunds_what_is_refundable_in_the_period_once(ledger: Session) -> None:
    inside = add_charge(
        ledger, Outcome.SYSTEM_ERROR, at=dt.datetime(2026, 10, 31, 17, 0, tzinfo=dt.UTC)
    )
    add_charge(ledger, Outcome.SYSTEM_ERROR, at=dt.datetime(2026, 10, 31, 16, 59, tzinfo=dt.UTC))
    add_charge(ledger, Outcome.RESET_SENT)
    syntax = add_charge(ledger, Outcome.WRONG_SYNTAX)
    period = local_days("2026-11-01", "2026-11-30")

    strict = refundable_charges(ledger, RefundPolicy(), period)
    lenient = refundable_charges(ledger, RefundPolicy(refund_wrong_syntax=True), period)

    assert [c.charge.id for c in strict] == [inside.id]
    assert [c.charge.id for c in lenient] == [inside.id, syntax.id]
    refunds, skipped = refund_all(ledger, strict, RefundPolicy(), reason=None, actor="a", at=NOW)
    ledger.commit()
    assert (len(refunds), skipped) == (1, [])
    assert refundable_charges(ledger, RefundPolicy(), period) == []


def test_a_reply_that_finally_failed_makes_the_charge_refundable(
    phones: Phones, session: Session, ledger: Session, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session, "0123456789", "0912345678")
    carriers["viettel"].fail_next(PermanentSendError("400 bad destination"))

    phones.text("0912345678", "BH MK 0123456789")

    [candidate] = refundable_charges(ledger, RefundPolicy(), local_days("2026-11-02", "2026-11-02"))
    assert (candidate.charge.outcome, candidate.reply_failed) == (Outcome.RESET_SENT, True)
    entry = refund_charge(ledger, candidate.charge, RefundPolicy(), reason=None, actor="a", at=NOW)
    ledger.commit()
    assert entry.reason == "reply failed"
    assert session.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all() == [
        EntryKind.CHARGE,
        EntryKind.REFUND,
    ]


def test_a_batch_charge_is_the_same_row_as_a_single_one(ledger: Session) -> None:
    single = add_charge(ledger, Outcome.NOT_MATCHED, amount=700)
    other = add_charge(ledger, Outcome.NOT_MATCHED, amount=700)
    columns = [c for c in LedgerEntry.__table__.c if c.name not in {"id", "message_id"}]
    row = charge_row(
        message_id=other.message_id,
        carrier=single.carrier,
        carrier_message_id=single.carrier_message_id,
        shortcode=single.shortcode,
        phone=single.phone,
        amount_vnd=700,
        outcome=Outcome.NOT_MATCHED,
        tariff=single.tariff,
        at=NOW,
    )
    ledger.delete(other)
    ledger.flush()

    insert_charges(ledger.connection(), [row])

    stored = ledger.execute(
        select(*columns).where(LedgerEntry.kind == EntryKind.CHARGE).order_by(LedgerEntry.id)
    ).all()
    assert stored[0] == stored[1]
    with pytest.raises(ValueError, match="cannot be negative"):
        charge_row(
            message_id=1,
            carrier="viettel",
            carrier_message_id="cm",
            shortcode="8079",
            phone="84912345678",
            amount_vnd=-1,
            outcome=Outcome.NOT_MATCHED,
            tariff="8079:1000",
            at=NOW,
        )
