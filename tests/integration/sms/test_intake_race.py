"""A carrier that re-delivers one MO many times at once still gets one stored message.

Carriers retry when our answer is slow, and a replaying attacker can fire the same signed
request from many connections: the intake must store it once, answer every copy with the
same id, and refuse a copy whose content differs, whatever the interleaving.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.carriers.base import InboundSms
from gateway.errors import ConflictingDuplicate
from gateway.models import InboundMessage
from gateway.runtime import Runtime
from gateway.sms.inbox import Intake, accept_inbound
from gateway.states import MessageStatus

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
COPIES = 24


def sms(text: str = "BH MK 0123456789", carrier_id: str = "vt-race") -> InboundSms:
    return InboundSms(carrier_id, "84912345678", "8079", text, None)


def accept_all(runtime: Runtime, deliveries: list[InboundSms]) -> list[Intake | Exception]:
    def accept(delivery: InboundSms) -> Intake | Exception:
        try:
            return accept_inbound(runtime.engine, "viettel", delivery, NOW)
        except ConflictingDuplicate as exc:
            return exc

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(accept, deliveries))


def test_concurrent_copies_store_one_message_and_share_its_id(
    runtime: Runtime, session: Session
) -> None:
    results = accept_all(runtime, [sms() for _ in range(COPIES)])

    intakes = [r for r in results if isinstance(r, Intake)]
    assert len(intakes) == COPIES
    assert len({intake.message_id for intake in intakes}) == 1
    assert [intake.duplicate for intake in intakes].count(False) == 1
    assert session.scalar(select(func.count(InboundMessage.id))) == 1
    message = session.scalars(select(InboundMessage)).one()
    assert (message.status, message.attempts, message.replied) == (
        MessageStatus.RECEIVED,
        0,
        False,
    )


def test_concurrent_copies_with_other_content_are_refused_and_change_nothing(
    runtime: Runtime, session: Session
) -> None:
    texts = ["BH MK 0123456789" if i % 2 else "BH MK 9999999999" for i in range(COPIES)]

    results = accept_all(runtime, [sms(text) for text in texts])

    stored = session.scalars(select(InboundMessage)).one()
    for text, result in zip(texts, results, strict=True):
        if text == stored.text:
            assert isinstance(result, Intake) and result.message_id == stored.id
        else:
            assert isinstance(result, ConflictingDuplicate)
    assert sum(isinstance(r, Intake) and not r.duplicate for r in results) == 1


def test_a_new_id_is_a_new_message(runtime: Runtime, session: Session) -> None:
    first = accept_inbound(runtime.engine, "viettel", sms(carrier_id="vt-a"), NOW)
    second = accept_inbound(runtime.engine, "viettel", sms(carrier_id="vt-b"), NOW)
    other_carrier = accept_inbound(runtime.engine, "mobifone", sms(carrier_id="vt-a"), NOW)

    assert not (first.duplicate or second.duplicate or other_carrier.duplicate)
    assert len({first.message_id, second.message_id, other_carrier.message_id}) == 3
    assert session.scalar(select(func.count(InboundMessage.id))) == 3


@pytest.mark.parametrize("carrier_id", ["vt-1", "x" * 128])
def test_a_repeat_after_the_first_is_a_duplicate(runtime: Runtime, carrier_id: str) -> None:
    first = accept_inbound(runtime.engine, "viettel", sms(carrier_id=carrier_id), NOW)
    again = accept_inbound(runtime.engine, "viettel", sms(carrier_id=carrier_id), NOW)

    assert again == Intake(first.message_id, duplicate=True)
