"""Support's pages: a message's timeline, the account lookup, the audit trail, requeueing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.errors import PermanentSendError
from gateway.models import AccountState, AuditEvent, OutboxMessage, PasswordIssue
from gateway.states import OutboxStatus
from tests.harness import Phones, add_account
from tests.integration.console.conftest import SignIn, csrf_of, post_form, receive
from tests.integration.finance.test_finance_cli import Month


def timeline_of(client: FlaskClient, message_id: int) -> str:
    answer = client.get(f"/console/messages/{message_id}")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


# --- search -----------------------------------------------------------------------------


def test_search_by_phone_lists_masked_rows_linking_to_timelines(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("support")

    answer = post_form(client, "/console/messages", {"phone": "0912345678"})
    html = answer.get_data(as_text=True)

    assert answer.status_code == 200
    assert html.count('class="trail"') == 3  # reset_sent, wrong_syntax, next day's wrong_syntax
    assert "0912345678" not in html and "84912345678" not in html
    assert "8491****678" in html and "đã cấp lại mật khẩu" in html and "1.000 ₫" in html
    reset = month[Outcome.RESET_SENT].message_id
    assert f'href="/console/messages/{reset}"' in html
    search = session.scalars(select(AuditEvent).where(AuditEvent.action == "console_action")).all()
    assert any("by phone: 3 found" in (e.detail or "") for e in search)
    assert all("0912345678" not in (e.detail or "") for e in search)


def test_search_by_account_carrier_id_and_day(
    client: FlaskClient, signed_in: SignIn, month: Month
) -> None:
    signed_in("support")
    failed = month["reply_failed"]

    by_account = post_form(client, "/console/messages", {"account": "0123456789"})
    by_id = post_form(client, "/console/messages", {"carrier_id": failed.carrier_message_id})
    by_day = post_form(client, "/console/messages", {"day": "03/11/2026"})
    by_both = post_form(client, "/console/messages", {"phone": "0912345678", "day": "2026-11-02"})
    nothing = post_form(client, "/console/messages", {"carrier_id": "no-such-id"})
    unknown = post_form(client, "/console/messages", {"account": "0000000000"})

    # The account's reset, and everything sent from its phone (mistyped texts match no account).
    assert by_account.get_data(as_text=True).count('class="trail"') == 3
    assert by_id.get_data(as_text=True).count('class="trail"') == 1
    assert "thất bại" in by_id.get_data(as_text=True)
    assert by_day.get_data(as_text=True).count('class="trail"') == 1  # Nov 3, local
    assert by_both.get_data(as_text=True).count('class="trail"') == 2
    assert "Không tìm thấy tin nhắn nào" in nothing.get_data(as_text=True)
    assert "Không có tài khoản với mã số này" in unknown.get_data(as_text=True)
    assert "0123456789" not in by_account.get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({}, "ít nhất một điều kiện"),
        ({"phone": "12ab"}, "số điện thoại"),
        ({"account": "12345"}, "10 chữ số BHXH"),
        ({"day": "31/02/2026"}, "dd/mm/yyyy"),
        ({"day": "yesterday"}, "dd/mm/yyyy"),
    ],
)
def test_bad_search_fields_answer_400(
    client: FlaskClient, signed_in: SignIn, form: dict[str, str], says: str
) -> None:
    signed_in("support")

    answer = post_form(client, "/console/messages", form)

    assert answer.status_code == 400 and says in answer.get_data(as_text=True)


# --- the timeline -----------------------------------------------------------------------


def test_the_timeline_tells_the_story_with_secrets_masked(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session, run: Callable
) -> None:
    reset = month[Outcome.RESET_SENT]
    code, out, err = run(
        "charges",
        "refund",
        "--message-id",
        str(reset.message_id),
        "--force",
        "--reason",
        "khieu nai 42",
    )
    assert code == 0, out + err
    signed_in("support")

    html = timeline_of(client, reset.message_id)

    steps = re.findall(r"<strong>([^<]+)</strong>", html[html.index('id="timeline"') :])
    assert steps[:5] == ["Nhận tin", "Xử lý", "Tính cước", "Xếp hàng trả lời", "Nhà mạng đã nhận"]
    assert "Hoàn tiền" in steps
    assert "BH MK 01******89" in html  # what the person sent, the number masked
    assert "••••••••••" in html and "**********" not in html
    assert "Tai khoan: 01******89" in html
    assert "0123456789" not in html and "0912345678" not in html and "84912345678" not in html
    refund = session.scalars(select(LedgerEntry).where(LedgerEntry.refund_of == reset.id)).one()
    assert f"bởi {refund.actor}; lý do: khieu nai 42" in html
    assert 'href="/console/accounts/' in html


def test_the_timeline_of_an_unknown_message_is_404(client: FlaskClient, signed_in: SignIn) -> None:
    signed_in("support")

    answer = client.get("/console/messages/999999")

    assert answer.status_code == 404 and "Không tìm thấy trang" in answer.get_data(as_text=True)


def test_a_pending_reply_never_shows_its_password(
    client: FlaskClient, signed_in: SignIn, phones: Phones, session: Session, clock: FakeClock
) -> None:
    signed_in("support")  # first: enrolling runs the outbox (the staff's mailed codes)
    add_account(session)
    receive(client, clock, "pending-1")
    phones.worker.process_pending()  # decided, not sent: ``text`` holds the password
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.message_id.is_not(None))).one()
    password = re.search(r"Mat khau: (\w+)", row.text)
    assert password and "*" not in password[1]

    html = timeline_of(client, row.message_id or 0)

    assert password[1] not in html
    assert "••••••••••" in html and "Đang chờ gửi" in html


# --- requeue ----------------------------------------------------------------------------


def test_an_operator_requeues_a_failed_reply_once_and_it_is_audited(
    client: FlaskClient,
    signed_in: SignIn,
    month: Month,
    session: Session,
    phones: Phones,
    carriers: dict[str, FakeTransport],
) -> None:
    member = signed_in("operator")
    failed = month["reply_failed"]
    reply = session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id == failed.message_id)
    ).one()
    page = f"/console/messages/{failed.message_id}"
    action = f"{page}/requeue/{reply.id}"
    assert 'id="requeue-button"' in timeline_of(client, failed.message_id)

    unconfirmed = post_form(client, action, {}, page=page)
    done = post_form(client, action, {"confirm": "yes"}, page=page)
    phones.worker.drain()

    assert unconfirmed.status_code == 400
    assert done.status_code == 303 and done.headers["Location"].endswith(page)
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.message_id == failed.message_id)
        .order_by(OutboxMessage.id)
    ).all()
    assert [r.status for r in rows] == [OutboxStatus.FAILED, OutboxStatus.SENT]
    assert rows[1].text == rows[0].safe_text
    assert phones.replies("0944444444")[-1] == rows[0].safe_text
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reply_requeue")).one()
    assert event.subject == member.email and f"message {failed.message_id} " in (event.detail or "")
    html = timeline_of(client, failed.message_id)
    assert "Gửi lại theo yêu cầu" in html and "Xếp hàng gửi lại" in html
    assert 'id="requeue-button"' not in html
    again = post_form(client, action, {"confirm": "yes"}, page=page)
    assert again.status_code == 400 and "đã được gửi lại" in again.get_data(as_text=True)


def test_a_reply_with_a_temporary_password_is_never_sent_again(
    client: FlaskClient,
    signed_in: SignIn,
    phones: Phones,
    session: Session,
    carriers: dict[str, FakeTransport],
) -> None:
    add_account(session)
    carriers["viettel"].fail_next(PermanentSendError("400 unknown subscriber"))
    phones.text("0912345678", "BH MK 0123456789")
    reply = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.message_id.is_not(None), OutboxMessage.status == OutboxStatus.FAILED
        )
    ).one()
    signed_in("operator")
    page = f"/console/messages/{reply.message_id}"

    html = timeline_of(client, reply.message_id or 0)
    answer = post_form(client, f"{page}/requeue/{reply.id}", {"confirm": "yes"}, page=page)

    assert 'id="requeue-button"' not in html and "nhắn lại BH MK" in html
    assert answer.status_code == 400 and "mật khẩu tạm thời" in answer.get_data(as_text=True)
    count = select(func.count(OutboxMessage.id)).where(OutboxMessage.message_id == reply.message_id)
    assert session.scalar(count) == 1


def test_support_reads_the_timeline_but_cannot_requeue(
    client: FlaskClient, signed_in: SignIn, month: Month, session: Session
) -> None:
    signed_in("support")
    failed = month["reply_failed"]
    reply_id = session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.message_id == failed.message_id)
    ).one()
    page = f"/console/messages/{failed.message_id}"

    html = timeline_of(client, failed.message_id)
    token = csrf_of(client.get("/console/messages"))
    answer = client.post(f"{page}/requeue/{reply_id}", data={"csrf_token": token, "confirm": "yes"})

    assert 'id="requeue-button"' not in html
    assert answer.status_code == 403


# --- accounts ---------------------------------------------------------------------------


def test_the_account_page_shows_state_masked_contacts_and_recoveries(
    client: FlaskClient, signed_in: SignIn, phones: Phones, session: Session
) -> None:
    account = add_account(session, personal_id="001099012345")
    account.email = "nguyen.van.a@example.vn"
    session.commit()
    phones.text("0912345678", "BH MK 0123456789")
    signed_in("support")

    by_bhxh = post_form(client, "/console/accounts", {"identifier": "0123456789"})
    by_cccd = post_form(client, "/console/accounts", {"identifier": "001099012345"})
    html = by_bhxh.get_data(as_text=True)

    assert by_bhxh.status_code == by_cccd.status_code == 200
    assert 'id="account-state">đang hoạt động<' in html
    assert "8491****678" in html and "ng***@example.vn" in html
    assert "nguyen.van.a" not in html and "0123456789" not in html and "001099012345" not in html
    assert "khôi phục qua SMS" in html and 'id="account-smart-otp">tắt<' in html
    assert 'id="account-throttled">không<' in html
    assert 'id="account-passkeys">0<' in html
    assert "01******89" in by_cccd.get_data(as_text=True)
    assert client.get(f"/console/accounts/{account.id}").status_code == 200


def test_a_pending_account_and_the_reset_limit_show(
    client: FlaskClient, signed_in: SignIn, session: Session, clock: FakeClock
) -> None:
    account = add_account(session, state=AccountState.PENDING)
    for minutes in (1, 2, 3):
        session.add(
            PasswordIssue(
                account_id=account.id,
                channel="sms",
                issued_at=clock.now() - dt.timedelta(minutes=minutes),
            )
        )
    session.commit()
    signed_in("support")

    html = post_form(client, "/console/accounts", {"identifier": "0123456789"}).get_data(
        as_text=True
    )

    assert 'id="account-state">chờ duyệt<' in html
    assert 'id="account-throttled">có<' in html and "chờ đến" in html and "(3/3)" in html


@pytest.mark.parametrize(
    ("identifier", "status", "says"),
    [("0000000000", 200, "Không có tài khoản"), ("12345", 400, "10 chữ số"), ("", 400, "")],
)
def test_account_lookup_failures(
    client: FlaskClient, signed_in: SignIn, identifier: str, status: int, says: str
) -> None:
    signed_in("support")

    answer = post_form(client, "/console/accounts", {"identifier": identifier})

    assert answer.status_code == status and says in answer.get_data(as_text=True)
    assert client.get("/console/accounts/999999").status_code == 404


# --- the audit trail ----------------------------------------------------------------------


def test_the_audit_page_filters(
    client: FlaskClient, signed_in: SignIn, phones: Phones, session: Session
) -> None:
    account = add_account(session)
    phones.text("0912345678", "BH MK 0123456789")
    member = signed_in("admin")

    everything = client.get("/console/audit").get_data(as_text=True)
    recoveries = client.get("/console/audit?action=recovery&channel=sms").get_data(as_text=True)
    mine = client.get(f"/console/audit?who={member.email}").get_data(as_text=True)
    by_account = client.get(f"/console/audit?account={account.id}").get_data(as_text=True)
    by_day = client.get("/console/audit?from=01/01/2020&to=02/01/2020").get_data(as_text=True)

    assert "khôi phục qua SMS" in everything and "nhân viên đăng nhập" in everything
    assert recoveries.count("<tr>") == 2  # the header and the one recovery
    assert "nhân viên đăng nhập" in mine and "khôi phục qua SMS" not in mine.split("<tbody>")[1]
    assert by_account.count("<tr>") == 2
    assert "Không có sự kiện nào khớp" in by_day
    assert "0912345678" not in everything and "84912345678" not in everything


@pytest.mark.parametrize(
    "query",
    ["from=32/13/2026", "to=tomorrow", "from=02/01/2026&to=01/01/2026", "account=abc", "action=X!"],
)
def test_bad_audit_filters_answer_400(client: FlaskClient, signed_in: SignIn, query: str) -> None:
    signed_in("support")

    assert client.get(f"/console/audit?{query}").status_code == 400


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("finance", "/console/audit", 403),
        ("finance", "/console/messages", 403),
        ("finance", "/console/accounts", 403),
        ("admin", "/console/messages", 403),
        ("support", "/console/overview", 403),
        ("support", "/console/switches", 403),
        ("support", "/console/audit", 200),
        ("operator", "/console/audit", 200),
        ("admin", "/console/audit", 200),
    ],
)
def test_roles(client: FlaskClient, signed_in: SignIn, role: str, path: str, status: int) -> None:
    signed_in(role)

    assert client.get(path).status_code == status


def test_support_lands_on_the_message_search(client: FlaskClient, enrolled: Callable) -> None:
    from tests.integration.console.conftest import sign_in

    member = enrolled("support")

    answer = sign_in(client, member)

    assert answer.status_code == 302 and answer.headers["Location"].endswith("/console/messages")
    page = client.get("/console/messages").get_data(as_text=True)
    assert "hỗ trợ" in page and "Tài khoản" in page and "Nhật ký" in page


def test_the_front_door_leads_to_the_portal(client: FlaskClient) -> None:
    answer = client.get("/")

    assert answer.status_code == 302 and answer.headers["Location"] == "/dang-nhap"
    assert client.get(answer.headers["Location"]).status_code == 200
