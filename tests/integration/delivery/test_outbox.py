"""Replies on their way out: back-off, permanent failures, the horizon, leases, DLRs."""

from __future__ import annotations

import datetime as dt

from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.delivery.outbox import dispatch_pending, sms_row
from gateway.errors import PermanentSendError, RetryableSendError
from gateway.models import OutboxMessage
from gateway.runtime import Runtime
from gateway.states import DeliveryStatus, OutboxStatus
from gateway.worker import Worker
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones, add_account


def reply_row(session: Session) -> OutboxMessage:
    session.expire_all()
    return session.scalars(select(OutboxMessage)).one()


def test_retryable_failure_backs_off_then_succeeds(
    phones: Phones,
    session: Session,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
    worker: Worker,
) -> None:
    add_account(session)
    carriers["viettel"].fail_next(RetryableSendError("carrier answered 503"))

    assert phones.text("0912345678", "BH MK 0123456789") == []
    row = reply_row(session)
    assert row.status is OutboxStatus.PENDING
    assert row.last_error == "carrier answered 503"
    delay = row.next_attempt_at - clock.now()
    assert dt.timedelta(seconds=2.5) <= delay <= dt.timedelta(seconds=5)
    assert "Mat khau: **********" not in row.text  # still needed in clear for the next try

    clock.advance(seconds=5)
    worker.drain()
    assert phones.replies("0912345678")[0].startswith("Cap lai mat khau thanh cong.")
    row = reply_row(session)
    assert (row.status, row.attempts, row.carrier_reference) == (OutboxStatus.SENT, 2, "fake-1")


def test_back_off_grows_and_stops_at_the_horizon(
    phones: Phones,
    session: Session,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
    worker: Worker,
) -> None:
    add_account(session)
    carriers["viettel"].fail_next(*[RetryableSendError("timeout")] * 100)
    phones.text("0912345678", "BH MK 0123456789")
    delays = []
    while reply_row(session).status is OutboxStatus.PENDING:
        row = reply_row(session)
        delays.append(row.next_attempt_at - clock.now())
        clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
        worker.drain()

    row = reply_row(session)
    assert row.status is OutboxStatus.FAILED
    assert row.give_up_at - row.created_at == dt.timedelta(hours=1)
    assert clock.now() >= row.give_up_at
    assert delays[3] > delays[0]
    assert max(delays) <= dt.timedelta(minutes=10)
    assert "Mat khau: **********" in row.text  # given up: the password must not linger
    assert phones.replies("0912345678") == []


def test_permanent_failure_fails_at_once(
    phones: Phones, session: Session, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session)
    carriers["viettel"].fail_next(PermanentSendError("carrier answered 400"))

    phones.text("0912345678", "BH MK 0123456789")

    row = reply_row(session)
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
    assert "Mat khau: **********" in row.text


def test_a_dead_workers_claim_is_taken_over_after_the_lease(
    session: Session,
    runtime: Runtime,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
    worker: Worker,
) -> None:
    # A worker claimed the row under a 60 s lease, then died before sending.
    row = _queued_reply(runtime)
    row.status, row.lease_owner, row.attempts = OutboxStatus.SENDING, "dead", 1
    row.lease_until = clock.now() + dt.timedelta(seconds=60)
    with runtime.session_factory.begin() as s:
        s.add(row)

    assert worker.drain() == 0  # still leased to the dead worker
    clock.advance(seconds=61)
    assert worker.drain() == 1

    row = reply_row(session)
    assert (row.status, row.attempts, row.lease_owner) == (OutboxStatus.SENT, 2, None)
    assert len(carriers["viettel"].sent) == 1


def test_a_worker_that_lost_its_lease_records_nothing(
    runtime: Runtime, session: Session, clock: FakeClock
) -> None:
    row = _queued_reply(runtime)
    with runtime.session_factory.begin() as s:
        s.add(row)

    class SlowCarrier(FakeTransport):
        def send(self, sms):  # type: ignore[no-untyped-def]
            # While we were stuck, our lease ran out and another worker took the row over.
            session.execute(update(OutboxMessage).values(lease_owner="other"))
            return super().send(sms)

    dispatch_pending(
        runtime.session_factory,
        {"viettel": SlowCarrier()},
        settings=runtime.settings,
        clock=clock,
        worker_id="slow",
    )

    row = reply_row(session)
    assert (row.status, row.lease_owner, row.sent_at) == (OutboxStatus.SENDING, "other", None)


def _queued_reply(runtime: Runtime) -> OutboxMessage:
    """An SMS due now, built as the gateway builds one (gateway/delivery/outbox.py)."""
    now, settings = runtime.clock.now(), runtime.settings
    row = sms_row(
        "84912345678", carrier="viettel", text="x", safe_text="x", settings=settings, now=now
    )
    return OutboxMessage(**row)


def test_delivery_reports_are_recorded_once(
    phones: Phones, session: Session, client: FlaskClient, clock: FakeClock
) -> None:
    add_account(session)
    phones.text("0912345678", "BH MK 0123456789")
    reference = str(reply_row(session).id)

    def dlr(status: str, ref: str = reference, carrier: str = "viettel") -> tuple[int, dict]:
        response = signed_post(
            client,
            f"/carriers/{carrier}/dlr",
            {"reference": ref, "message_id": "vt-mt-9", "status": status},
            secret=CARRIER_SECRETS[carrier],
            clock=clock,
        )
        return response.status_code, response.get_json()

    assert dlr("delivered") == (200, {"status": "recorded", "reference": reference})
    assert dlr("delivered") == (200, {"status": "duplicate", "reference": reference})
    assert dlr("failed")[0] == 409
    assert dlr("delivered", ref="99999")[0] == 404
    assert dlr("delivered", ref="not-ours")[0] == 404
    assert dlr("delivered", carrier="mobifone")[0] == 404  # not that carrier's reply
    assert dlr("read")[0] == 400
    row = reply_row(session)
    assert row.delivery_status is DeliveryStatus.DELIVERED
    assert row.delivered_at == clock.now()


def test_unsigned_delivery_report_is_refused(client: FlaskClient) -> None:
    response = client.post("/carriers/viettel/dlr", json={"reference": "1", "status": "failed"})

    assert response.status_code == 401
