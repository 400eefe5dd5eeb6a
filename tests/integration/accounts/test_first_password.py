"""First passwords: SMS before 22 Oct 2021, email from then; SMS routed by home carrier."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.carriers.fake import FakeTransport
from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.delivery.mail import FakeMailer
from gateway.models import Account, AccountState, AuditEvent, OutboxMessage
from gateway.runtime import Runtime
from gateway.worker import Worker
from tests.conftest import base_environ
from tests.email_harness import PASSWORD, add_account_with_email

ACTIVATION_CODE = re.compile(r"Mã kích hoạt: (\w+)")

EMAIL = "tran.thi.b@example.vn"


def gateway(runtime: Runtime, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj={"runtime": runtime})


def pending(session: Session, phone: str = "0961234567", email: str | None = EMAIL) -> None:
    add_account_with_email(
        session, "0123456789", phone, email, password=None, state=AccountState.PENDING
    )


def sms_texts(carriers: dict[str, FakeTransport]) -> dict[str, list[str]]:
    return {name: [sms.text for sms in t.sent] for name, t in carriers.items() if t.sent}


@pytest.mark.parametrize(
    ("approved_at", "email", "channel"),
    [
        ("2021-10-21T23:59", EMAIL, "sms"),
        ("2021-10-22", EMAIL, "email"),
        ("2024-05-01", None, "sms"),  # no email on file: SMS after all
    ],
)
def test_the_first_password_goes_by_sms_or_email_by_approval_date(
    runtime: Runtime,
    session: Session,
    mail_worker: Worker,
    mailer: FakeMailer,
    carriers: dict[str, FakeTransport],
    client: FlaskClient,
    approved_at: str,
    email: str | None,
    channel: str,
) -> None:
    pending(session, email=email)

    result = gateway(runtime, "accounts", "approve", "0123456789", "--approved-at", approved_at)
    mail_worker.drain()

    assert result.exit_code == 0, result.output
    assert f"first password queued by {channel}" in result.output
    if channel == "email":
        assert sms_texts(carriers) == {}
        [sent] = mailer.to(EMAIL)
        assert sent.subject == "Tài khoản VssID của bạn đã được phê duyệt"
        assert not PASSWORD.search(sent.text), "no password in any mail"
        assert "/kich-hoat" in sent.text
        password = ACTIVATION_CODE.search(sent.text)[1]  # type: ignore[index]
    else:
        assert mailer.sent == []
        [text] = carriers["viettel"].texts_to("84961234567")  # 096: Viettel, the home carrier
        password = re.search(r"Mat khau: (\w+)\.", text)[1]  # type: ignore[index]
    login = client.post("/api/v1/auth/login", json={"bhxh": "0123456789", "password": password})
    assert login.get_json()["must_change_password"] is True


@pytest.mark.parametrize(
    ("phone", "carrier"),
    [("0901234567", "mobifone"), ("0961234567", "viettel"), ("0912345678", "viettel")],
    ids=["home carrier mobifone", "home carrier viettel", "vinaphone: not ours, the default"],
)
def test_an_sms_that_answers_nothing_goes_by_the_home_carrier(
    runtime: Runtime,
    session: Session,
    mail_worker: Worker,
    carriers: dict[str, FakeTransport],
    phone: str,
    carrier: str,
) -> None:
    pending(session, phone=phone, email=None)

    gateway(runtime, "accounts", "approve", "0123456789")
    mail_worker.drain()

    assert list(sms_texts(carriers)) == [carrier]


class TestDefaultCarrier:
    @pytest.fixture
    def environ(self, tmp_path: Path) -> dict[str, str]:
        return {**base_environ(tmp_path), "GATEWAY_DEFAULT_CARRIER": "mobifone"}

    def test_the_default_carrier_is_a_setting(
        self,
        runtime: Runtime,
        session: Session,
        mail_worker: Worker,
        carriers: dict[str, FakeTransport],
    ) -> None:
        pending(session, phone="0912345678", email=None)

        gateway(runtime, "accounts", "approve", "0123456789")
        mail_worker.drain()

        assert list(sms_texts(carriers)) == ["mobifone"]


def test_approving_twice_sends_nothing_more(
    runtime: Runtime, session: Session, mail_worker: Worker, mailer: FakeMailer
) -> None:
    pending(session)

    assert gateway(runtime, "accounts", "approve", "0123456789").exit_code == 0
    again = gateway(runtime, "accounts", "approve", "0123456789")
    unknown = gateway(runtime, "accounts", "approve", "0999999999")
    mail_worker.drain()

    assert again.exit_code == unknown.exit_code == 1
    assert "is active" in again.output
    assert len(mailer.sent) == 1
    [event] = session.scalars(select(AuditEvent)).all()
    assert (event.action, event.channel, event.actor, event.outcome) == (
        "first_password",
        "email",
        "operator",
        "sent",
    )


def test_an_import_can_issue_first_passwords_once(
    runtime: Runtime,
    session: Session,
    mail_worker: Worker,
    mailer: FakeMailer,
    carriers: dict[str, FakeTransport],
    tmp_path: Path,
) -> None:
    csv = tmp_path / "accounts.csv"
    csv.write_text(
        "bhxh,phone,email,approved_at\n"
        "0100000001,0961000001,,2021-03-01\n"  # before the cutover: SMS
        "0100000002,0961000002,b@example.vn,2022-03-01\n"  # after, with an email: email
        "0100000003,0961000003,,2022-03-01\n"  # after, without an email: SMS
        "0100000004,0961000004,d@example.vn,\n",  # not approved: nothing
        encoding="utf-8",
    )

    first = gateway(runtime, "accounts", "import", str(csv), "--issue-first-passwords")
    second = gateway(runtime, "accounts", "import", str(csv), "--issue-first-passwords")
    mail_worker.drain()

    assert "first passwords queued: 2 by SMS, 1 by email" in first.output
    assert "first passwords queued: 0 by SMS, 0 by email" in second.output
    assert [e.recipient for e in mailer.sent] == ["b@example.vn"]
    assert sorted(s.recipient for s in carriers["viettel"].sent) == ["84961000001", "84961000003"]
    states = dict(session.execute(select(Account.bhxh, Account.state)).all())
    assert states["0100000004"] is AccountState.PENDING


def test_the_emailed_activation_code_leads_once_to_set_your_password_within_a_day(
    runtime: Runtime,
    session: Session,
    mail_worker: Worker,
    mailer: FakeMailer,
    client: FlaskClient,
    clock: FakeClock,
) -> None:
    """Issue 22: no password in any mail; a single-use code, at most 24 h, to /kich-hoat."""
    pending(session)
    gateway(runtime, "accounts", "approve", "0123456789")
    mail_worker.drain()
    [sent] = mailer.to(EMAIL)
    code = ACTIVATION_CODE.search(sent.text)[1]  # type: ignore[index]
    kept = session.scalars(select(OutboxMessage.safe_text)).all()
    assert kept and not any(code in text for text in kept)  # the outbox's copy is masked

    page = client.get("/kich-hoat")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)[1].decode()  # type: ignore[index]
    form = {"bhxh": "0123456789", "code": code.lower(), "csrf_token": token}
    late = runtime.settings.first_password_ttl + dt.timedelta(seconds=1)
    clock.advance(seconds=late.total_seconds())
    expired = client.post("/kich-hoat", data=form)
    assert expired.status_code == 401

    clock.advance(seconds=-late.total_seconds() + 60)
    opened = client.post("/kich-hoat", data=form)
    assert opened.status_code == 303
    assert opened.headers["Location"].endswith("/doi-mat-khau")
    again = client.application.test_client().post("/kich-hoat", data=form)
    assert again.status_code in (400, 401)  # the CSRF of another browser, or used: never in
