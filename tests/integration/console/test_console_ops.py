"""Operators' pages: the overview against the database, a message's trail, the switch."""

from __future__ import annotations

import json
import re
from html import unescape

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.delivery.outbox import enqueue, sms_row
from gateway.models import AuditEvent, OutboxMessage, Switch
from gateway.runtime import Runtime
from gateway.states import OutboxStatus
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import Phones, add_account
from tests.integration.console.conftest import SignIn, csrf_of, post_form, receive, text_of
from tests.integration.finance.test_finance_cli import Month


def test_overview_answers_is_8079_working(
    client: FlaskClient, signed_in: SignIn, month: Month, clock: FakeClock
) -> None:
    signed_in("operator")

    html = client.get("/console/overview").get_data(as_text=True)

    assert text_of(html, "sms-switch") == "BẬT"
    assert text_of(html, "outbox-depth") == "0"
    month_window = html[html.index('id="window-2"') :]
    assert re.search(r"Tin nhắn nhận</th><td class=\"num\">6<", month_window)
    assert re.search(r"· sai cú pháp</td><td class=\"num\">2<", month_window)
    assert re.search(r"· viettel</td><td class=\"num\">5<", month_window)
    assert re.search(r"Thực thu</th><td class=\"num\">6\.000 ₫<", month_window)
    assert text_of(month_window, "failed-2") == "1"
    assert text_of(month_window, "failed-2-viettel") == "1"
    raw = re.search(r'id="overview-chart" data-chart="([^"]+)"', html)
    assert raw
    chart = json.loads(unescape(raw[1]))
    assert len(chart["labels"]) == 30 and chart["labels"][-1] == "03/11"
    totals = {d["label"]: sum(d["data"]) for d in chart["datasets"]}
    assert totals == {
        "không khớp": 2,
        "đã cấp lại mật khẩu": 1,
        "lỗi hệ thống": 1,
        "sai cú pháp": 2,
    }


def test_overview_shows_waiting_replies_and_their_age(
    client: FlaskClient, signed_in: SignIn, phones: Phones, session: Session, clock: FakeClock
) -> None:
    signed_in("operator")
    add_account(session)
    receive(client, clock, "wait-1")
    phones.worker.process_pending()  # decided and queued; the reply is not sent yet
    clock.advance(seconds=90)

    html = client.get("/console/overview").get_data(as_text=True)

    assert text_of(html, "outbox-depth") == "1"
    assert text_of(html, "oldest-unsent") == "1 phút 30 giây"
    phones.worker.drain()
    html = client.get("/console/overview").get_data(as_text=True)
    assert (text_of(html, "outbox-depth"), text_of(html, "oldest-unsent")) == ("0", "—")
    assert text_of(html, "latency-today") == "1 phút 30 giây"
    assert text_of(html, "latency-today-tail") == "p95 1 phút 30 giây · p99 1 phút 30 giây"


def test_failed_replies_count_delivery_reports_per_carrier(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session, clock: FakeClock
) -> None:
    signed_in("operator")
    sent = {
        row.carrier: row
        for row in session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.message_id.is_not(None))
            .order_by(OutboxMessage.id)
        )
    }

    def dlr(row: OutboxMessage, status: str) -> None:
        answer = signed_post(
            client,
            f"/carriers/{row.carrier}/dlr",
            {"reference": str(row.id), "message_id": f"mt-{row.id}", "status": status},
            secret=CARRIER_SECRETS[row.carrier],
            clock=clock,
        )
        assert answer.status_code == 200, answer.get_json()

    dlr(sent["viettel"], "failed")  # what jasmin's UNDELIV and kannel's "undelivered" become
    dlr(sent["mobifone"], "expired")
    html = client.get("/console/overview").get_data(as_text=True)

    month_window = html[html.index('id="window-2"') :]
    # One given up by the outbox (viettel), one failed and one expired by their reports.
    assert text_of(month_window, "failed-2") == "3"
    assert text_of(month_window, "failed-2-viettel") == "2"
    assert text_of(month_window, "failed-2-mobifone") == "1"
    assert 'id="failed-definition"' in html and "báo cáo phát" in html


def test_notices_waiting_do_not_turn_the_reply_cards_red(
    client: FlaskClient,
    signed_in: SignIn,
    phones: Phones,
    session: Session,
    clock: FakeClock,
    runtime: Runtime,
) -> None:
    signed_in("operator")
    add_account(session)
    phones.text("0912345678", "BH MK 0123456789")  # the reply goes; the notice stays queued
    waiting = session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    ).all()
    if not waiting:  # the notice went with the reply: queue one the carrier keeps refusing
        notice, now = "Mat khau da doi", clock.now()
        row = sms_row(
            "84912345678",
            carrier="viettel",
            text=notice,
            safe_text=notice,
            settings=runtime.settings,
            now=now,
        )
        enqueue(session, {**row, "give_up_at": now})
        session.commit()
    clock.advance(minutes=30)

    html = client.get("/console/overview").get_data(as_text=True)

    assert text_of(html, "outbox-depth") == "0" and text_of(html, "oldest-unsent") == "—"
    assert text_of(html, "other-depth").endswith(": 1")
    assert 'class="card bad"><span>Tin trả lời chờ gửi' not in html


def test_flipping_the_switch_needs_a_reason_and_a_confirmation(
    client: FlaskClient, signed_in: SignIn, session: Session
) -> None:
    member = signed_in("operator")

    no_reason = post_form(client, "/console/switches", {"state": "off", "confirm": "yes"})
    unconfirmed = post_form(client, "/console/switches", {"state": "off", "reason": "SMSC down"})
    assert (no_reason.status_code, unconfirmed.status_code) == (400, 400)
    assert session.scalars(select(Switch)).all() == []

    done = post_form(
        client, "/console/switches", {"state": "off", "reason": "SMSC down", "confirm": "yes"}
    )

    assert done.status_code == 303
    assert session.scalars(select(Switch.enabled)).one() is False
    assert text_of(client.get("/console/switches").get_data(as_text=True), "switch-state") == "TẮT"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "switch")).one()
    assert event.subject == member.email
    assert event.detail == "ip=127.0.0.1 sms-reset off: SMSC down"
    history = client.get("/console/switches").get_data(as_text=True)
    row = history[history.index('id="switch-history"') :]
    assert member.email in row and "sms-reset off: SMSC down" in row and "bảng điều khiển" in row


def test_the_switch_state_reaches_the_sms_path(
    client: FlaskClient, signed_in: SignIn, phones: Phones, session: Session
) -> None:
    signed_in("operator")
    add_account(session)
    post_form(client, "/console/switches", {"state": "off", "reason": "test", "confirm": "yes"})

    replies = phones.text("0912345678", "BH MK 0123456789")

    assert len(replies) == 1 and "Mat khau" not in replies[0]
    assert csrf_of(client.get("/console/switches"))
