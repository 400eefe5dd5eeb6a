"""Messages decided in batches: what one batch holds counts against itself, as one by one did.

Each test posts several messages before the worker runs, so they are decided in the same
batch (or, with GATEWAY_WORKER_BATCH_SIZE=2, across batches), then checks the invariants:
one outcome and one charge per message, at most the allowed new passwords, one notice per
window, and the last password the only one that works.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.accounts.passwords import keyed_hash
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.models import Account, AuditEvent, InboundMessage, OutboxMessage, PasswordIssue
from gateway.runtime import Runtime
from gateway.settings import load_settings
from gateway.sms import batch_store
from gateway.worker import Worker
from tests.conftest import CARRIER_SECRETS, SECRET_KEY, make_app, signed_post
from tests.harness import add_account

PASSWORD = re.compile(r"Mat khau: ([A-Z2-9]{10})\.")
RESET = "Cap lai mat khau thanh cong."
LIMITED = "Ban da yeu cau cap lai mat khau qua nhieu lan."
_ids = itertools.count(1)


def post(client: FlaskClient, clock: FakeClock, phone: str, text: str) -> None:
    """Store one MO without running the worker."""
    payload = {"id": f"batch-{next(_ids)}", "from": phone, "to": "8079", "text": text}
    response = signed_post(
        client, "/carriers/viettel/mo", payload, secret=CARRIER_SECRETS["viettel"], clock=clock
    )
    assert response.status_code == 200, response.get_json()


@dataclass
class Sms:
    """The carrier's MO door, the worker behind it and the database they write."""

    client: FlaskClient
    worker: Worker
    carriers: dict[str, FakeTransport]
    clock: FakeClock
    session: Session

    def post(self, phone: str, text: str) -> None:
        post(self.client, self.clock, phone, text)


@pytest.fixture
def sms(
    client: FlaskClient,
    worker: Worker,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
    session: Session,
) -> Sms:
    return Sms(client, worker, carriers, clock, session)


def outcomes(session: Session) -> list[tuple[str, Outcome | None, bool]]:
    query = select(InboundMessage.sender, InboundMessage.outcome, InboundMessage.replied)
    return [tuple(row) for row in session.execute(query.order_by(InboundMessage.id))]


def replies(carriers: dict[str, FakeTransport], phone: str) -> list[str]:
    return [sms.text for sms in carriers["viettel"].sent if sms.recipient == phone]


def assert_charged_once_each(session: Session) -> None:
    messages = session.scalar(select(func.count(InboundMessage.id)))
    charged = session.scalar(select(func.count(func.distinct(LedgerEntry.message_id))))
    assert session.scalar(select(func.count(LedgerEntry.id))) == charged == messages
    assert session.scalar(select(func.count(AuditEvent.id))) == messages
    answered = session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.replied))
    assert session.scalar(select(func.count(OutboxMessage.message_id))) == answered


def test_one_phone_many_times_in_one_batch_counts_against_itself(sms: Sms) -> None:
    add_account(sms.session, "0123456789", "0912345678")
    for _ in range(7):
        sms.post("0912345678", "BH MK 0123456789")

    assert sms.worker.process_inbound() == 7  # one batch
    sms.worker.drain()

    texts = replies(sms.carriers, "84912345678")
    assert [t.split(".")[0] + "." for t in texts] == [RESET, RESET, RESET, LIMITED]
    assert "thu lai sau 24 gio" in texts[3]
    assert [outcome for _, outcome, _ in outcomes(sms.session)] == [Outcome.RESET_SENT] * 3 + [
        Outcome.RATE_LIMITED
    ] * 4
    assert sms.session.scalar(select(func.count(PasswordIssue.id))) == 3
    # The last password voided the earlier two: only its hash is stored.
    last = PASSWORD.search(texts[2])
    assert last is not None
    account = sms.session.scalars(select(Account)).one()
    assert account.temp_password_hash == keyed_hash(SECRET_KEY, last[1])
    for earlier in texts[:2]:
        match = PASSWORD.search(earlier)
        assert match is not None and keyed_hash(SECRET_KEY, match[1]) != account.temp_password_hash
    assert_charged_once_each(sms.session)


def test_five_messages_per_phone_hold_within_one_batch(sms: Sms) -> None:
    for _ in range(8):
        sms.post("0912345678", "hello")

    assert sms.worker.process_inbound() == 8
    sms.worker.drain()

    texts = replies(sms.carriers, "84912345678")
    assert [t.split(".")[0] + "." for t in texts] == ["Sai cu phap."] * 5 + [LIMITED]
    assert "thu lai sau 1 gio" in texts[5]
    assert [o for _, o, _ in outcomes(sms.session)] == [Outcome.WRONG_SYNTAX] * 5 + [
        Outcome.RATE_LIMITED
    ] * 3
    assert [replied for _, _, replied in outcomes(sms.session)][5:] == [True, False, False]
    assert_charged_once_each(sms.session)


def test_one_account_from_two_phones_and_both_numbers_in_one_batch(sms: Sms) -> None:
    add_account(sms.session, "0123456789", "0912345678", personal_id="001099012345")
    sms.post("0987654321", "BH MK 0123456789")  # someone else's phone
    sms.post("0912345678", "BH MK 0123456789")
    sms.post("0912345678", "BH MK 001099012345")
    sms.post("0987654321", "BH MK 001099012345")
    sms.post("0912345678", "BH MK 001099012345")
    sms.post("0912345678", "BH MK 0123456789")  # the fourth for the account

    sms.worker.drain()

    assert [outcome for _, outcome, _ in outcomes(sms.session)] == [
        Outcome.NOT_MATCHED,
        Outcome.RESET_SENT,
        Outcome.RESET_SENT,
        Outcome.NOT_MATCHED,
        Outcome.RESET_SENT,
        Outcome.RATE_LIMITED,
    ]
    assert sms.session.scalar(select(func.count(PasswordIssue.id))) == 3
    # The other phone never touched the account, nor learnt that it exists.
    other = replies(sms.carriers, "84987654321")
    assert len(set(other)) == 1 and other[0].startswith("So dien thoai va ma so BHXH khong khop")
    stranger = select(InboundMessage.account_id).where(InboundMessage.sender == "84987654321")
    assert set(sms.session.scalars(stranger)) == {None}
    assert_charged_once_each(sms.session)


@pytest.fixture
def small_batches(
    environ: dict[str, str], clock: FakeClock, carriers: dict[str, FakeTransport]
) -> Iterator[tuple[FlaskClient, Worker, Runtime]]:
    app = make_app(load_settings({**environ, "GATEWAY_WORKER_BATCH_SIZE": "2"}), clock)
    runtime: Runtime = app.extensions["gateway"]
    yield app.test_client(), runtime.worker(carriers), runtime
    runtime.engine.dispose()


def test_limits_hold_across_batches(
    small_batches: tuple[FlaskClient, Worker, Runtime],
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
) -> None:
    client, worker, runtime = small_batches
    with runtime.session_factory() as session:
        add_account(session, "0123456789", "0912345678")
    for _ in range(5):
        post(client, clock, "0912345678", "BH MK 0123456789")
    for _ in range(3):
        post(client, clock, "0933333333", "hello")

    assert worker.process_inbound() == 2  # batches of two
    worker.drain()

    texts = replies(carriers, "84912345678")
    assert [t.split(".")[0] + "." for t in texts] == [RESET, RESET, RESET, LIMITED]
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count(PasswordIssue.id))) == 3
        assert len(replies(carriers, "84933333333")) == 3
        assert_charged_once_each(session)


def test_a_poison_message_ends_as_system_error_and_its_batch_is_decided_one_by_one(
    sms: Sms, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.sms import batch

    add_account(sms.session, "0123456789", "0912345678")
    add_account(sms.session, "0999999999", "0911111111")
    real = batch.find_accounts

    def poisoned(session: Session, identifiers: list[str]) -> object:
        if "0999999999" in identifiers:
            raise RuntimeError("poison")
        return real(session, identifiers)

    monkeypatch.setattr("gateway.sms.batch.find_accounts", poisoned)
    sms.post("0912345678", "BH MK 0123456789")
    sms.post("0911111111", "BH MK 0999999999")
    sms.post("0922222222", "BH MK")

    sms.worker.drain()

    assert [outcome for _, outcome, _ in outcomes(sms.session)] == [
        Outcome.RESET_SENT,
        Outcome.SYSTEM_ERROR,
        Outcome.WRONG_SYNTAX,
    ]
    assert replies(sms.carriers, "84911111111")[0].startswith("He thong dang gian doan")
    assert sms.session.scalar(select(func.count(PasswordIssue.id))) == 1
    assert_charged_once_each(sms.session)


def test_a_batch_that_fails_while_writing_leaves_nothing_behind(
    sms: Sms, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(sms.session, "0123456789", "0912345678")
    real_flush = batch_store.Writes.flush
    flushed = []

    def crash_after_writing(self: batch_store.Writes, session: Session) -> None:
        real_flush(self, session)  # every row of the batch written ...
        flushed.append(len(self.charged))
        if len(flushed) == 1:
            raise RuntimeError("crash before commit")  # ... and then none of them committed

    monkeypatch.setattr(batch_store.Writes, "flush", crash_after_writing)
    for _ in range(4):
        sms.post("0912345678", "BH MK 0123456789")

    sms.worker.drain()

    assert flushed == [4, 1, 1, 1, 1]  # the batch that crashed, then each message alone
    assert [outcome for _, outcome, _ in outcomes(sms.session)] == [Outcome.RESET_SENT] * 3 + [
        Outcome.RATE_LIMITED
    ]
    assert sms.session.scalar(select(func.count(PasswordIssue.id))) == 3
    assert len(replies(sms.carriers, "84912345678")) == 4
    assert_charged_once_each(sms.session)


def test_a_message_decided_elsewhere_under_the_batch_rolls_the_batch_back(
    sms: Sms, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from gateway.sms import batch

    real = batch.read_counts
    first = []

    def meanwhile(session: Session, *args: object) -> object:
        # As if another writer had decided the first message after the batch re-checked it.
        if not first:
            first.append(session.scalar(select(func.min(InboundMessage.id))))
            session.execute(
                InboundMessage.__table__.update()
                .where(InboundMessage.id == first[0])
                .values(status="processed", outcome="wrong_syntax", replied=False)
            )
        return real(session, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("gateway.sms.batch.read_counts", meanwhile)
    sms.post("0912345678", "hello")
    sms.post("0922222222", "hello")

    sms.worker.drain()

    # The batch saw one row fewer than it decided and wrote nothing (the stand-in for the
    # other writer rolled back with it); one by one then decided both, once each.
    assert "batch of 2 messages failed (RuntimeError)" in caplog.text
    assert [o for _, o, _ in outcomes(sms.session)] == [Outcome.WRONG_SYNTAX] * 2
    assert [len(replies(sms.carriers, phone)) for phone in ("84912345678", "84922222222")] == [1, 1]
    assert_charged_once_each(sms.session)
