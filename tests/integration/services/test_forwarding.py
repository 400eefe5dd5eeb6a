"""Keyword services as transcripts: a person texts BH QT / BH THE, the agency's system answers
through the gateway, which charges each message once at its service's tariff."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.export import export_lines, write_csv
from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from billing.periods import Period
from billing.reconcile import Billed, reconcile, render
from billing.refunds import RefundPolicy
from billing.summary import SERVICE, summarise
from gateway.clock import FakeClock
from gateway.finance.reconciliation_report import render_vi
from gateway.models import InboundMessage, OutboxMessage, ServiceForward, Switch
from gateway.ops import metrics
from gateway.ops.retention import purge
from gateway.ops.switches import service_switch
from gateway.runtime import Runtime
from gateway.sms import batch
from gateway.states import ForwardStatus
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones, add_account
from tests.service_server import ANSWERS, Scripted

PHONE = "0912345678"
MO_PATH = "/carriers/viettel/mo"
INTERRUPTED = (
    "Dich vu tam thoi gian doan, yeu cau cua ban chua duoc tra loi. "
    "Vui long thu lai sau. Ho tro: 1900 9068"
)


def charges(session: Session) -> list[tuple[str, Outcome, int]]:
    entries = session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    return [(e.service, e.outcome, e.amount_vnd) for e in entries]


def forward(session: Session) -> ServiceForward:
    return session.scalars(select(ServiceForward).order_by(ServiceForward.id.desc())).first()  # type: ignore[return-value]


@pytest.mark.usefixtures("sms_path")  # the fallback decides them the same
def test_three_keywords_from_one_phone_each_get_their_reply_and_charge(
    phones: Phones, session: Session
) -> None:
    add_account(session, "0123456789", PHONE)

    assert phones.text(PHONE, "bh qt 0123 456 789") == [ANSWERS[("qt", "0123456789")]]
    assert phones.text(PHONE, "BH THE 0123456789") == [ANSWERS[("the", "0123456789")]]
    [reset] = phones.text(PHONE, "BH MK 0123456789")

    assert reset.startswith("Cap lai mat khau thanh cong. Tai khoan: 0123456789/Mat khau: ")
    assert charges(session) == [
        ("qt", Outcome.ANSWERED, 2000),  # SERVICE_QT_TARIFF
        ("the", Outcome.ANSWERED, 1000),  # the shortcode's tariff
        ("recovery", Outcome.RESET_SENT, 1000),
    ]
    outcomes = session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)).all()
    assert outcomes == [Outcome.ANSWERED, Outcome.ANSWERED, Outcome.RESET_SENT]


def test_a_number_the_service_does_not_know_is_answered_not_found(
    phones: Phones, session: Session
) -> None:
    [reply] = phones.text(PHONE, "BHXH QT 0999999999")

    assert reply.startswith("Khong tim thay thong tin cho ma 0999999999.")
    assert charges(session) == [("qt", Outcome.NOT_FOUND, 2000)]


@pytest.mark.usefixtures("sms_path")  # the fallback decides them the same
def test_an_unknown_keyword_gets_every_service_syntax_in_one_segment(
    phones: Phones, session: Session, service: Scripted
) -> None:
    assert phones.text(PHONE, "xin chao") == [
        "Sai cu phap. Soan: BH MK <ma so BHXH>, BH QT <ma so BHXH>, BH THE <ma so BHXH> "
        "gui 8079. Ho tro: 1900 9068"
    ]
    assert charges(session) == [("recovery", Outcome.WRONG_SYNTAX, 1000)]
    assert service.attempts == []


@pytest.mark.usefixtures("sms_path")  # the fallback decides them the same
def test_a_service_keyword_with_a_bad_number_gets_its_own_syntax_unforwarded(
    phones: Phones, session: Session, service: Scripted
) -> None:
    assert phones.text(PHONE, "BH QT 0123") == [
        "Sai cu phap. Soan: BH QT <ma so BHXH> gui 8079. Ho tro: 1900 9068"
    ]
    assert charges(session) == [("qt", Outcome.WRONG_SYNTAX, 2000)]
    assert service.attempts == []


def test_a_5xx_is_retried_with_the_same_webhook_id_and_answered_once(
    phones: Phones, session: Session, service: Scripted, clock: FakeClock
) -> None:
    service.script = [503]

    assert phones.text(PHONE, "BH QT 0123456789") == []
    assert (forward(session).attempts, forward(session).last_error) == (1, "http_503")
    assert charges(session) == []

    clock.advance(seconds=5)  # GATEWAY_MT_BACKOFF_BASE
    phones.worker.drain()

    assert phones.replies(PHONE) == [ANSWERS[("qt", "0123456789")]]
    assert len(service.attempts) == 2 and len(set(service.attempts)) == 1
    assert charges(session) == [("qt", Outcome.ANSWERED, 2000)]
    assert forward(session).status is ForwardStatus.DONE


@pytest.mark.parametrize(
    ("script", "error"),
    [
        pytest.param(["slow:1.5"] * 3, "timeout", id="timeout"),
        pytest.param([500] * 3, "http_500", id="5xx"),
        pytest.param(["junk"] * 3, "bad_answer", id="junk"),
    ],
)
def test_a_service_failing_until_the_horizon_gets_interrupted_and_a_refundable_charge(
    phones: Phones,
    session: Session,
    service: Scripted,
    clock: FakeClock,
    script: list[object],
    error: str,
) -> None:
    service.script = script

    assert phones.text(PHONE, "BH THE 0123456789") == []
    assert forward(session).last_error == error
    clock.advance(minutes=11)  # past GATEWAY_SERVICES_RETRY_HORIZON
    phones.worker.drain()

    assert phones.replies(PHONE) == [INTERRUPTED]
    assert charges(session) == [("the", Outcome.INTERRUPTED, 1000)]
    assert RefundPolicy().refundable(Outcome.INTERRUPTED, reply_failed=False)
    assert (forward(session).outcome, forward(session).last_error) == (Outcome.INTERRUPTED, error)
    assert session.scalar(select(OutboxMessage.text)) == INTERRUPTED


@pytest.mark.parametrize("service_secret", ["whsec_" + "b3RoZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNk"])
def test_a_signature_the_service_refuses_is_a_failure(
    phones: Phones, session: Session, service: Scripted, clock: FakeClock
) -> None:
    assert phones.text(PHONE, "BH QT 0123456789") == []

    assert forward(session).last_error == "http_401"
    assert service.stub.received == []  # nothing verified: the stand-in did no work
    clock.advance(minutes=11)
    phones.worker.drain()
    assert phones.replies(PHONE) == [INTERRUPTED]


def test_a_service_that_keeps_failing_trips_its_switch_and_is_answered_at_once(
    phones: Phones, session: Session, service: Scripted, clock: FakeClock
) -> None:
    service.script = [500] * 10
    for phone in ("0912000001", "0912000002"):  # GATEWAY_SERVICES_TRIP_AFTER=2
        phones.text(phone, "BH QT 0123456789")
    clock.advance(minutes=11)
    phones.worker.drain()

    switch = session.get(Switch, service_switch("qt"))
    assert switch is not None and switch.enabled is False
    assert switch.actor == "auto" and "2 forwards in a row interrupted" in (switch.reason or "")
    tried = len(service.attempts)

    assert phones.text("0912000003", "BH QT 0123456789") == [INTERRUPTED]
    assert len(service.attempts) == tried  # not forwarded while off
    service.script = []  # the other service is well
    assert phones.text("0912000003", "BH THE 0123456789") == [ANSWERS[("the", "0123456789")]]
    assert charges(session)[-2:] == [
        ("qt", Outcome.INTERRUPTED, 2000),
        ("the", Outcome.ANSWERED, 1000),
    ]


def test_the_summary_and_the_export_split_by_service_and_refund_the_interrupted(
    phones: Phones, runtime: Runtime, service: Scripted, clock: FakeClock
) -> None:
    phones.text(PHONE, "BH QT 0123456789")
    phones.text(PHONE, "BH MK 0123456789")
    service.script = [500] * 3
    phones.text(PHONE, "BH THE 0123456789")
    clock.advance(minutes=11)
    phones.worker.drain()
    month = Period(clock.now() - dt.timedelta(days=1), clock.now() + dt.timedelta(days=1))

    with runtime.session_factory() as session:  # in a transaction: both stream their rows
        by_service = summarise(session, month).totals_by(SERVICE)
        stream = io.StringIO()
        write_csv(stream, export_lines(session, month, RefundPolicy()), bom=False)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))

    assert {name: line.charged_vnd for name, line in by_service.items()} == {
        "qt": 2000,
        "recovery": 1000,
        "the": 1000,
    }
    assert [(r["service"], r["outcome"], r["refundable"]) for r in rows] == [
        ("qt", "answered", "no"),
        ("recovery", "not_matched", "no"),
        ("the", "interrupted", "yes"),
    ]


def test_reconciliation_names_the_service_of_a_charge_the_carrier_priced_otherwise(
    phones: Phones, session: Session, clock: FakeClock
) -> None:
    phones.text(PHONE, "BH QT 0123456789")  # 2000 by SERVICE_QT_TARIFF
    charge = session.scalars(select(LedgerEntry)).one()
    month = Period(clock.now() - dt.timedelta(days=1), clock.now() + dt.timedelta(days=1))
    theirs = [Billed(charge.carrier_message_id, charge.phone, clock.now(), 1000, line=2)]

    report = reconcile(session, "viettel", theirs, month)

    assert [d.kind for d in report.differences] == ["amount_mismatch"]
    assert (
        f"  {charge.carrier_message_id} (line 2): ours [qt] 8491****678 2000 theirs"
        in "\n".join(render(report, "viettel"))
    )
    # The console's download and --lang vi, written apart, must say it too.
    assert (
        f"  {charge.carrier_message_id} (dòng 2): ta [qt] 8491****678 2.000 ₫; "
        "nhà mạng 8491****678 1.000 ₫" in "\n".join(render_vi(report, "viettel"))
    )


def test_purge_masks_what_a_service_was_asked_once_past_retention(
    phones: Phones, session: Session, clock: FakeClock, runtime: Runtime
) -> None:
    phones.text(PHONE, "BH QT 0123456789")
    clock.advance(days=91)

    with runtime.session_factory() as purging:
        report = purge(purging, clock.now(), runtime.settings.retention, runtime.settings)

    assert report.service_arguments == 1
    assert forward(session).argument == "01******89"


def test_forwards_due_together_go_out_together(
    phones: Phones, session: Session, service: Scripted, clock: FakeClock
) -> None:
    service.script = ["slow:0.9"] * 4  # each answers just inside SERVICE_QT_TIMEOUT (1 s)
    for n in range(4):
        text = "BH QT 0123456789"
        body = {"id": f"mo-together-{n}", "from": f"091200010{n}", "to": "8079", "text": text}
        secret = CARRIER_SECRETS["viettel"]
        posted = signed_post(
            phones.client, "/carriers/viettel/mo", body, secret=secret, clock=clock
        )
        assert posted.status_code == 200

    started = time.monotonic()
    phones.worker.drain()

    assert time.monotonic() - started < 3.0  # one after the other would take 3.6 s
    assert [o for _, o, _ in charges(session)] == [Outcome.ANSWERED] * 4


def test_a_service_message_that_cannot_be_decided_is_charged_at_its_service_tariff(
    phones: Phones, session: Session, service: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(batch, "find_accounts", broken)

    replies = phones.text(PHONE, "BH QT 0123456789")

    assert len(replies) == 1 and replies[0].startswith("He thong dang gian doan")
    assert charges(session) == [("qt", Outcome.SYSTEM_ERROR, 2000)]
    assert service.attempts == []


def test_each_forward_is_counted_by_its_answer_or_its_failure(
    phones: Phones, service: Scripted, clock: FakeClock
) -> None:
    def counted(result: str) -> float:
        registry = metrics._metrics().registry
        labels = {"service": "qt", "result": result}
        return registry.get_sample_value("gateway_service_forwards_total", labels) or 0.0

    before = counted("answered"), counted("http_503")
    service.script = [503]
    phones.text(PHONE, "BH QT 0123456789")
    clock.advance(seconds=5)
    phones.worker.drain()

    assert (counted("answered") - before[0], counted("http_503") - before[1]) == (1, 1)


def test_an_accented_answer_is_sent_as_it_is(phones: Phones, session: Session) -> None:
    assert phones.text(PHONE, "BH THE 0987654321") == [ANSWERS[("the", "0987654321")]]
    assert charges(session) == [("the", Outcome.ANSWERED, 1000)]


def test_a_hanging_service_does_not_hold_up_the_password_resets(
    phones: Phones, session: Session, service: Scripted, clock: FakeClock
) -> None:
    add_account(session, "0123456789", PHONE)
    service.script = ["slow:0.9"]  # inside SERVICE_QT_TIMEOUT (1 s), but slow
    secret = CARRIER_SECRETS["viettel"]
    for n, (phone, text) in enumerate(
        [("0912000009", "BH QT 0123456789"), (PHONE, "BH MK 0123456789")]
    ):
        body = {"id": f"mo-hanging-{n}", "from": phone, "to": "8079", "text": text}
        assert (
            signed_post(phones.client, MO_PATH, body, secret=secret, clock=clock).status_code == 200
        )
        started = time.monotonic()
        phones.worker.run_once()
        assert time.monotonic() - started < 0.8  # one pass waits a moment, not the service

    [reset] = phones.replies(PHONE)
    assert reset.startswith("Cap lai mat khau thanh cong.")
    assert phones.replies("0912000009") == []  # still being answered
    phones.worker.drain()
    assert phones.replies("0912000009") == [ANSWERS[("qt", "0123456789")]]


@pytest.mark.usefixtures("sms_path")  # the fallback decides them the same
def test_the_phone_limit_on_a_service_message_does_not_speak_of_passwords(
    phones: Phones, session: Session
) -> None:
    texts = [phones.text(PHONE, "BH QT 0123456789") for _ in range(6)]  # the limit is 5

    assert texts[:5] == [[ANSWERS[("qt", "0123456789")]]] * 5
    assert texts[5] == [
        "Ban da gui qua nhieu tin nhan den 8079. Vui long thu lai sau 1 gio. Ho tro: 1900 9068"
    ]
    # A reset asked over the limit is told as it always was, and only once a window.
    assert phones.text(PHONE, "BH MK 0123456789") == []
    assert charges(session)[5:] == [
        ("qt", Outcome.RATE_LIMITED, 2000),
        ("recovery", Outcome.RATE_LIMITED, 1000),
    ]
