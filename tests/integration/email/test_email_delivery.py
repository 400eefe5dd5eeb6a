"""Emails through a real SMTP server on loopback: UTF-8 text and HTML, retries on 451, no loss."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.email.recovery import process_requests
from gateway.models import OutboxMessage
from gateway.runtime import Runtime
from gateway.states import OutboxStatus
from gateway.worker import Worker
from tests.email_harness import APP_CREDENTIAL, OTP, add_account_with_email
from tests.integration.email.conftest import loopback_smtp
from tests.smtp_server import SmtpServer

EMAIL = "nguyen.van.a@example.vn"


@pytest.fixture
def environ(environ: dict[str, str], smtp_server: SmtpServer) -> dict[str, str]:
    """The email tests' settings, sending to the SMTP server on loopback."""
    return {
        **environ,
        **loopback_smtp(smtp_server.port),
        "GATEWAY_SMTP_FROM": "Bảo hiểm xã hội Việt Nam <no-reply@baohiemxahoi.example>",
        "GATEWAY_PORTAL_URL": "https://portal.example.vn",
    }


@pytest.fixture
def smtp_worker(runtime: Runtime) -> Worker:
    """A worker with the real SMTP mailer of the settings (no fake in the way)."""
    return runtime.worker({})


@pytest.fixture
def asked(client: FlaskClient, session: Session) -> None:
    """An account asked for a recovery OTP; it waits in the outbox."""
    add_account_with_email(session, email=EMAIL)
    response = client.post(
        "/api/v1/recovery/email",
        json={"bhxh": "0123456789", "email": EMAIL},
        headers={"X-App-Credential": APP_CREDENTIAL},
    )
    assert response.status_code == 202


def email_row(session: Session) -> OutboxMessage:
    session.expire_all()
    return session.scalars(select(OutboxMessage)).one()


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    assert body is not None and body.get_content_type() == f"text/{subtype}"
    assert body.get_content_charset() == "utf-8"
    return body.get_content()  # type: ignore[no-any-return]


@pytest.mark.usefixtures("asked")
def test_the_otp_arrives_in_vietnamese_as_utf8_text_and_html(
    smtp_worker: Worker, smtp_server: SmtpServer
) -> None:
    smtp_worker.drain()

    [message] = smtp_server.messages
    assert message["Subject"] == "Mã xác thực cấp lại mật khẩu VssID"
    assert message["From"] == "Bảo hiểm xã hội Việt Nam <no-reply@baohiemxahoi.example>"
    assert message["To"] == EMAIL
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@baohiemxahoi.example>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = part(message, "plain"), part(message, "html")
    assert OTP.search(text) and OTP.search(html.replace("<strong>", "").replace("</strong>", ""))
    assert "Không cung cấp mã này cho bất kỳ ai" in text
    assert '<html lang="vi">' in html
    assert smtp_server.handler.envelopes == [("no-reply@baohiemxahoi.example", [EMAIL])]


@pytest.mark.usefixtures("asked")
def test_a_451_is_retried_with_back_off_until_delivered(
    smtp_worker: Worker, smtp_server: SmtpServer, session: Session, clock: FakeClock
) -> None:
    smtp_server.refuse_next("451 4.3.0 Try again later", "451 4.3.0 Try again later")

    smtp_worker.drain()
    row = email_row(session)
    assert (row.status, row.attempts, row.last_error) == (
        OutboxStatus.PENDING,
        1,
        "SMTP answered 451",
    )
    assert OTP.search(row.text), "the code is still needed for the next try"
    first_delay = row.next_attempt_at - clock.now()
    assert dt.timedelta(seconds=2.5) <= first_delay <= dt.timedelta(seconds=5)

    for _ in range(2):
        clock.advance(seconds=(email_row(session).next_attempt_at - clock.now()).total_seconds())
        smtp_worker.drain()

    row = email_row(session)
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)
    assert len(smtp_server.messages) == 1
    assert not OTP.search(row.text) and not OTP.search(row.html or "")
    assert row.carrier_reference == smtp_server.messages[0]["Message-ID"]


@pytest.mark.usefixtures("asked")
def test_a_5xx_answer_fails_at_once(
    smtp_worker: Worker, smtp_server: SmtpServer, session: Session
) -> None:
    smtp_server.refuse_next("550 5.1.1 Mailbox unavailable")

    smtp_worker.drain()

    row = email_row(session)
    assert (row.status, row.attempts, row.last_error) == (
        OutboxStatus.FAILED,
        1,
        "SMTP answered 550",
    )
    assert "******" in row.text and not OTP.search(row.text)


@pytest.mark.usefixtures("asked")
def test_a_relay_that_is_down_is_retried(
    smtp_worker: Worker, smtp_server: SmtpServer, session: Session
) -> None:
    smtp_server.stop()

    smtp_worker.drain()

    row = email_row(session)
    assert row.status is OutboxStatus.PENDING
    assert row.last_error is not None and row.last_error.startswith("SMTP connection failed")


@pytest.mark.usefixtures("asked")
def test_an_email_claimed_by_a_worker_that_died_is_sent_once(
    runtime: Runtime,
    smtp_worker: Worker,
    smtp_server: SmtpServer,
    session: Session,
    clock: FakeClock,
) -> None:
    # The request is matched and its email queued; then a worker claims it and dies.
    process_requests(runtime.session_factory, settings=runtime.settings, clock=clock)
    session.execute(
        update(OutboxMessage).values(
            status=OutboxStatus.SENDING,
            lease_owner="dead",
            attempts=1,
            lease_until=clock.now() + dt.timedelta(seconds=60),
        )
    )

    assert smtp_worker.drain() == 0  # still leased to the dead worker
    clock.advance(seconds=61)
    smtp_worker.drain()
    smtp_worker.drain()

    assert len(smtp_server.messages) == 1
    assert email_row(session).status is OutboxStatus.SENT
