"""Enrolment: the link's token leaves the URL at once, and the seed waits for a mailed code.

Whoever holds the link (an access log, a forwarded mail, the admin's screen) can open it; only
the member reads their own mailbox. So the TOTP seed is shown to the browser that typed the
code mailed to the member's address, and to no other.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.models import AuditEvent, OutboxMessage, StaffMember
from gateway.runtime import Runtime
from gateway.states import Channel
from tests.integration.console.conftest import (
    ENROL_PAGE,
    PASSWORD,
    Mailbox,
    csrf_of,
    enrol_link,
    open_link,
    secret_on,
)

EMAIL = "lan@example.vn"


@pytest.fixture
def link(runtime: Runtime) -> str:
    return enrol_link(runtime, EMAIL, "finance")


def mails(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.channel == Channel.EMAIL)
    return list(session.scalars(query.order_by(OutboxMessage.id)).all())


def send_code(client: FlaskClient, code: str) -> int:
    token = csrf_of(client.get(ENROL_PAGE))
    answer = client.post(ENROL_PAGE, data={"csrf_token": token, "step": "email", "code": code})
    return answer.status_code


def shows_seed(client: FlaskClient) -> bool:
    page = client.get(ENROL_PAGE).get_data(as_text=True)
    return 'id="totp-secret"' in page or "<svg" in page


def test_the_link_trades_its_token_for_a_strict_cookie_and_a_page_without_it(
    client: FlaskClient, link: str, session: Session
) -> None:
    token = link.rsplit("/", 1)[1]

    swap = client.get(link)

    assert swap.status_code == 200
    html = swap.get_data(as_text=True)
    assert token not in html and 'id="totp-secret"' not in html
    assert f'url={ENROL_PAGE}"' in html  # the browser moves on to the token-less address
    assert swap.headers["Referrer-Policy"] == "no-referrer"
    [cookie] = [c for c in swap.headers.getlist("Set-Cookie") if c.startswith("gw_enrol=")]
    assert token not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/console/enrol" in cookie and "Max-Age=1800" in cookie
    assert session.scalars(select(StaffMember.totp_secret)).one() is None


def test_the_seed_is_shown_only_after_the_code_mailed_to_the_member(
    client: FlaskClient, mailbox: Mailbox, link: str, session: Session
) -> None:
    page = open_link(client, link)

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="totp-secret"' not in html and "<svg" not in html
    assert "l***@example.vn" in html
    [mail] = mails(session)
    sent = (mail.text or "") + (mail.html or "")
    kept = (mail.safe_text or "") + (mail.safe_html or "")
    code = mailbox.code_for(EMAIL)
    assert mail.recipient == EMAIL and "đăng ký" in (mail.subject or "")
    assert code in sent and code not in kept  # the copy kept once the mail is sent
    assert session.scalars(select(StaffMember.totp_secret)).one() is None

    wrong = "000000" if code != "000000" else "111111"
    assert send_code(client, wrong) == 400
    assert not shows_seed(client)

    assert send_code(client, code) == 303
    assert shows_seed(client)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret_on(client.get(ENROL_PAGE)))


def test_whoever_else_opens_the_link_never_sees_the_seed(
    app: Flask, client: FlaskClient, mailbox: Mailbox, link: str, session: Session
) -> None:
    open_link(client, link)
    code = mailbox.code_for(EMAIL)
    assert send_code(client, code) == 303
    thief = app.test_client()

    open_link(thief, link)

    assert not shows_seed(thief)
    assert send_code(thief, code) == 400  # a mailed code works once
    form = {"step": "finish", "password": PASSWORD, "password2": PASSWORD, "code": "123456"}
    token = csrf_of(thief.get(ENROL_PAGE))
    assert thief.post(ENROL_PAGE, data={"csrf_token": token, **form}).status_code == 403
    assert session.scalars(select(StaffMember.password_hash)).one() is None
    assert shows_seed(client)  # the member's browser is not disturbed


def test_a_reload_mails_nothing_more_and_a_new_code_waits_a_minute(
    client: FlaskClient, mailbox: Mailbox, link: str, session: Session, clock: FakeClock
) -> None:
    open_link(client, link)
    first = mailbox.code_for(EMAIL)
    client.get(ENROL_PAGE)
    token = csrf_of(client.get(ENROL_PAGE))
    too_soon = client.post(ENROL_PAGE, data={"csrf_token": token, "step": "resend"})
    assert too_soon.status_code == 303
    assert len(mails(session)) == 1

    clock.advance(seconds=61)
    client.post(ENROL_PAGE, data={"csrf_token": token, "step": "resend"})

    assert len(mails(session)) == 2
    second = mailbox.code_for(EMAIL)
    if first != second:
        assert send_code(client, first) == 400
    assert send_code(client, second) == 303


def test_a_mailed_code_expires_and_the_page_mails_a_fresh_one(
    client: FlaskClient, mailbox: Mailbox, link: str, session: Session, clock: FakeClock
) -> None:
    open_link(client, link)
    old = mailbox.code_for(EMAIL)
    clock.advance(minutes=10, seconds=1)

    assert send_code(client, old) == 400  # its page load mailed the next code

    assert len(mails(session)) == 2
    assert send_code(client, mailbox.code_for(EMAIL)) == 303


def test_ten_wrong_codes_use_up_the_link(
    client: FlaskClient, mailbox: Mailbox, link: str, session: Session
) -> None:
    open_link(client, link)
    code = mailbox.code_for(EMAIL)
    wrong = "000000" if code != "000000" else "111111"

    statuses = [send_code(client, wrong) for _ in range(10)]

    assert statuses == [400] * 10
    assert client.get(ENROL_PAGE).status_code == 404
    assert client.get(link).status_code == 404  # an admin hands out a new one
    refusals = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "staff_enrol_code")
    ).all()
    assert refusals.count("refused") == 10


def test_the_enrolment_cookie_lasts_30_minutes(
    client: FlaskClient, link: str, clock: FakeClock
) -> None:
    open_link(client, link)
    clock.advance(minutes=30, seconds=1)

    assert client.get(ENROL_PAGE).status_code == 404

    assert open_link(client, link).status_code == 200  # the link itself still works


def test_no_cookie_or_a_forged_one_opens_nothing(app: Flask, link: str) -> None:
    stranger = app.test_client()
    assert stranger.get(ENROL_PAGE).status_code == 404
    stranger.set_cookie("gw_enrol", "eyJoIjoiMDAwMCJ9.forged", path="/console/enrol")
    assert stranger.get(ENROL_PAGE).status_code == 404
