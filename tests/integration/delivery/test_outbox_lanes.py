"""A batch of replies goes out concurrently per carrier and keeps every outbox rule.

84912345001 > xin chao      (via viettel, answered slowly)
84912345002 > xin chao      (via mobifone, answered at once)
both get exactly one reply, recorded once; a row whose lease would run out mid-send is renewed
first, and one taken over meanwhile is not sent at all.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.carriers.base import OutboundSms, SendReceipt
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.delivery.outbox import dispatch_pending, enqueue, sms_row
from gateway.delivery.sending import ReplySender
from gateway.models import InboundMessage, OutboxMessage
from gateway.runtime import Runtime
from gateway.states import MessageStatus, OutboxStatus
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones


class CountingCarrier(FakeTransport):
    """Accepts after ``pause`` seconds and remembers how many sends overlapped at most."""

    def __init__(self, pause: float) -> None:
        super().__init__()
        self.pause = pause
        self.in_flight = 0
        self.widest = 0
        self._count = threading.Lock()

    def send(self, sms: OutboundSms) -> SendReceipt:
        with self._count:
            self.in_flight += 1
            self.widest = max(self.widest, self.in_flight)
        time.sleep(self.pause)
        with self._count:
            self.in_flight -= 1
        return super().send(sms)


class LateClock(FakeClock):
    """Reads ``start`` once, for the claim; every later reading is ``late`` on, as after a
    long batch. ``meanwhile`` runs at the first reading after the claim."""

    def __init__(
        self,
        start: dt.datetime,
        late: dt.timedelta,
        meanwhile: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(start)
        self.late, self.meanwhile = late, meanwhile
        self.readings = 0

    def now(self) -> dt.datetime:
        self.readings += 1
        if self.readings == 2 and self.meanwhile is not None:
            self.meanwhile()
        return super().now() + (self.late if self.readings > 1 else dt.timedelta())


def queue(runtime: Runtime, clock: FakeClock, carrier: str, count: int) -> None:
    now, settings = clock.now(), runtime.settings
    with runtime.session_factory.begin() as session:
        for n in range(count):
            text = f"reply {n}"
            recipient = f"849123{n:05d}"
            row = sms_row(
                recipient, carrier=carrier, text=text, safe_text=text, settings=settings, now=now
            )
            enqueue(session, row)


def test_a_batch_goes_out_in_parallel_lanes_and_each_reply_is_recorded_once(
    runtime: Runtime, session: Session, clock: FakeClock
) -> None:
    queue(runtime, clock, "viettel", 12)
    queue(runtime, clock, "mobifone", 12)
    carriers = {"viettel": CountingCarrier(0.05), "mobifone": CountingCarrier(0.0)}

    attempted = dispatch_pending(
        runtime.session_factory,
        carriers,
        settings=runtime.settings,
        clock=clock,
        sender=ReplySender(runtime.settings),
    )

    assert attempted == 24
    assert 1 < carriers["viettel"].widest <= 8  # concurrent, within the default lane width
    rows = session.scalars(select(OutboxMessage)).all()
    assert {row.status for row in rows} == {OutboxStatus.SENT}
    assert {row.lease_owner for row in rows} == {None}
    references = {(row.carrier, row.carrier_reference) for row in rows}
    assert len(references) == 24 and all(reference for _, reference in references)
    for carrier in carriers.values():  # every reply handed over exactly once
        assert len(carrier.sent) == 12
        assert len({sms.reference for sms in carrier.sent}) == 12


def test_a_lease_too_short_for_the_send_is_renewed_before_sending(
    runtime: Runtime, session: Session, clock: FakeClock
) -> None:
    queue(runtime, clock, "viettel", 1)
    seen_leases = []

    class Watching(FakeTransport):
        def send(self, sms: OutboundSms) -> SendReceipt:
            seen_leases.append(session.scalar(select(OutboxMessage.lease_until)))
            return super().send(sms)

    slow = LateClock(clock.now(), dt.timedelta(seconds=55))
    dispatch_pending(
        runtime.session_factory, {"viettel": Watching()}, settings=runtime.settings, clock=slow
    )

    start = clock.now()
    assert seen_leases == [start + dt.timedelta(seconds=55) + runtime.settings.worker_lease]
    assert session.scalar(select(OutboxMessage.status)) is OutboxStatus.SENT


def test_a_row_taken_over_before_its_late_send_is_not_sent(
    runtime: Runtime, session: Session, clock: FakeClock
) -> None:
    queue(runtime, clock, "viettel", 1)
    carrier = FakeTransport()

    # After the claim, time jumps past the lease and another worker takes the row.
    taken_over = LateClock(
        clock.now(),
        dt.timedelta(seconds=61),
        lambda: session.execute(update(OutboxMessage).values(lease_owner="other")),
    )
    dispatch_pending(
        runtime.session_factory, {"viettel": carrier}, settings=runtime.settings, clock=taken_over
    )

    assert carrier.sent == []
    row = session.scalars(select(OutboxMessage)).one()
    assert (row.status, row.lease_owner) == (OutboxStatus.SENDING, "other")


def test_the_running_worker_decides_and_sends_side_by_side(
    phones: Phones, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    for n in range(30):
        response = signed_post(
            phones.client,
            "/carriers/viettel/mo",
            {"id": f"run-{n}", "from": f"09123450{n:02d}", "to": "8079", "text": "xin chao"},
            secret=CARRIER_SECRETS["viettel"],
            clock=phones.clock,
        )
        assert response.status_code == 200
    stop = threading.Event()
    worker = threading.Thread(target=phones.worker.run, args=(stop,))
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while len(carriers["viettel"].sent) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=20)

    assert not worker.is_alive()
    assert len({sms.recipient for sms in carriers["viettel"].sent}) == 30
    assert len(carriers["viettel"].sent) == 30  # one reply each, none sent twice
    received = select(func.count()).where(InboundMessage.status == MessageStatus.RECEIVED)
    assert session.scalar(received) == 0
    unsent = select(func.count()).where(OutboxMessage.status != OutboxStatus.SENT)
    assert session.scalar(unsent) == 0
