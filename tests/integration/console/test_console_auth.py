"""Staff sign-in: enrolment by link, password + TOTP, throttling, roles, CSRF, headers."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.accounts.passwords import DEFAULT_HASHER, Hasher
from gateway.app import create_app
from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.console.words import WORDS
from gateway.errors import Why
from gateway.models import AuditEvent, StaffMember
from gateway.runtime import Runtime
from tests.conftest import make_app
from tests.integration.console.conftest import (
    ENROL_PAGE,
    PASSWORD,
    Mailbox,
    Member,
    SignIn,
    csrf_of,
    enrol_link,
    finish_enrolment,
    post_form,
    secret_on,
    seed_page,
    sign_in,
)

REFUSED = WORDS[Why.STAFF_SIGN_IN_REFUSED]  # the page text, whatever the English message says


@pytest.fixture
def staff_cli(runtime: Runtime, environ: dict[str, str]) -> Callable[..., Result]:
    """Run ``gateway staff ...`` against the test's database (migrated by ``runtime``), as an
    operator would: a runtime of its own, from the environment."""
    return lambda *args: CliRunner().invoke(cli, ["staff", *args], env=environ, obj={})


def test_staff_add_prints_a_link_that_enrols_once(
    client: FlaskClient, clock: FakeClock, mailbox: Mailbox, staff_cli: Callable[..., Result]
) -> None:
    result = staff_cli("add", "Lan@Example.vn", "--role", "finance")
    assert result.exit_code == 0, result.output
    link = re.search(r"http://localhost:8000(/console/enrol/\S+)", result.stdout)
    assert link

    page = seed_page(client, mailbox, link[1], "lan@example.vn")
    assert page.status_code == 200
    assert "<svg" in page.get_data(as_text=True)  # the QR code, inline
    member = Member("lan@example.vn", "finance", secret_on(page), clock)
    assert finish_enrolment(client, page, member.code()).status_code == 200

    assert client.get(link[1]).status_code == 404  # used up
    assert client.get(ENROL_PAGE).status_code == 404
    assert sign_in(client, member).headers["Location"] == "/console/charges"


def test_staff_role_changes_the_role_ends_sessions_and_says_so(
    runtime: Runtime, staff_cli: Callable[..., Result]
) -> None:
    assert staff_cli("add", "a@example.vn", "--role", "admin").exit_code == 0
    with runtime.session_factory() as session:
        version = session.scalars(select(StaffMember.session_version)).one()

    changed = staff_cli("role", "A@example.vn", "finance")
    same = staff_cli("role", "a@example.vn", "finance")
    unknown = staff_cli("role", "b@example.vn", "finance")
    bad = staff_cli("role", "a@example.vn", "boss")

    assert changed.exit_code == 0 and "admin -> finance" in changed.output
    assert same.exit_code == 0 and "already finance" in same.output
    assert (unknown.exit_code, bad.exit_code) == (2, 2)
    with runtime.session_factory() as session:
        member = session.scalars(select(StaffMember)).one()
        roles = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "staff_role"))
        assert (member.role, member.session_version) == ("finance", version + 1)
        assert [detail for detail in roles if detail and "admin -> finance" in detail]


def test_staff_add_refuses_a_bad_role_or_a_second_add(staff_cli: Callable[..., Result]) -> None:
    assert staff_cli("add", "a@example.vn", "--role", "boss").exit_code == 2
    assert staff_cli("add", "not-an-email", "--role", "admin").exit_code == 2
    assert staff_cli("add", "a@example.vn", "--role", "admin").exit_code == 0
    again = staff_cli("add", "A@example.vn", "--role", "finance")
    assert again.exit_code == 2
    assert "already a staff member" in again.output


@pytest.mark.parametrize(
    ("password", "password2", "good_code", "message"),
    [
        ("short", "short", True, "Mật khẩu quá ngắn: cần ít nhất 12 ký tự."),
        (PASSWORD, PASSWORD + "x", True, "Hai lần nhập mật khẩu không giống nhau."),
        (PASSWORD, PASSWORD, False, "Mã trong ứng dụng xác thực không đúng hoặc đã hết hạn."),
        ("x lan@example.vn y", "x lan@example.vn y", True, "Mật khẩu chứa địa chỉ email của bạn."),
    ],
)
def test_enrolment_refuses_a_bad_password_or_code_and_sets_nothing(
    client: FlaskClient,
    runtime: Runtime,
    mailbox: Mailbox,
    session: Session,
    clock: FakeClock,
    password: str,
    password2: str,
    good_code: bool,
    message: str,
) -> None:
    link = enrol_link(runtime, "lan@example.vn", "finance")
    page = seed_page(client, mailbox, link, "lan@example.vn")
    secret = secret_on(page)
    code = pyotp.TOTP(secret).at(clock.now()) if good_code else "000000"
    form = {"step": "finish", "password": password, "password2": password2, "code": code}

    answer = client.post(ENROL_PAGE, data={"csrf_token": csrf_of(page), **form})

    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert message in body
    # Vietnamese, and no word of what staff do not have (an account number, a phone).
    assert not any(english in body for english in ("at least", "differ", "expired", "account"))
    assert "mã số" not in body and "số điện thoại" not in body
    assert secret_on(answer) == secret  # the same seed, to try again
    staff = session.scalars(select(StaffMember)).one()
    assert staff.password_hash is None and staff.enrolled_at is None
    assert client.get(link).status_code == 200  # the link still works


def test_an_expired_or_made_up_link_enrols_nobody(
    client: FlaskClient, runtime: Runtime, clock: FakeClock
) -> None:
    link = enrol_link(runtime, "lan@example.vn", "finance")
    clock.advance(hours=24, seconds=1)

    assert client.get(link).status_code == 404
    assert client.get("/console/enrol/" + "A" * 43).status_code == 404


def test_sign_in_needs_the_password_and_a_fresh_code(
    client: FlaskClient, enrolled: Callable[..., Member], clock: FakeClock
) -> None:
    member = enrolled("operator")
    wrong_password = sign_in(client, member, password="not the password")
    token = csrf_of(client.get("/console/sign-in"))
    no_code = client.post(
        "/console/sign-in",
        data={"csrf_token": token, "email": member.email, "password": PASSWORD, "code": "123456"},
    )
    unknown = post_form(
        client, "/console/sign-in", {"email": "x@example.vn", "password": PASSWORD, "code": "1"}
    )

    for answer in (wrong_password, no_code, unknown):
        assert answer.status_code == 401
        assert REFUSED in answer.get_data(as_text=True)
    good = sign_in(client, member)
    assert good.status_code == 302 and good.headers["Location"] == "/console/overview"


def test_a_code_signs_in_only_once(
    client: FlaskClient, enrolled: Callable[..., Member], clock: FakeClock
) -> None:
    member = enrolled("operator")
    code = member.code()
    form = {"email": member.email, "password": PASSWORD, "code": code}
    assert post_form(client, "/console/sign-in", form).status_code == 302
    other = client.application.test_client()

    replay = post_form(other, "/console/sign-in", form)

    assert replay.status_code == 401


def test_wrong_sign_ins_make_the_next_wait_longer_and_land_in_the_audit(
    client: FlaskClient, enrolled: Callable[..., Member], clock: FakeClock, session: Session
) -> None:
    member = enrolled("finance")
    for _ in range(3):
        assert sign_in(client, member, password="guess").status_code == 401

    # The third failure blocks the next try for 1 s, even with the right password.
    blocked = post_form(
        client,
        "/console/sign-in",
        {
            "email": member.email,
            "password": PASSWORD,
            "code": pyotp.TOTP(member.secret).at(clock.now()),
        },
    )
    assert blocked.status_code == 401
    assert REFUSED in blocked.get_data(as_text=True)
    for expected in (2, 4, 8):
        assert sign_in(client, member, password="guess").status_code == 401  # code() waits 30 s
        session.expire_all()
        staff = session.scalars(select(StaffMember)).one()
        assert staff.blocked_until is not None
        assert (staff.blocked_until - clock.now()).total_seconds() == expected
    assert sign_in(client, member).status_code == 302

    events = session.scalars(select(AuditEvent).where(AuditEvent.channel == "console")).all()
    outcomes = [(e.action, e.outcome) for e in events if e.action == "staff_sign_in"]
    assert outcomes.count(("staff_sign_in", "refused")) == 6
    assert outcomes.count(("staff_sign_in", "throttled")) == 1
    assert outcomes[-1] == ("staff_sign_in", "ok")
    assert all(e.detail and e.detail.startswith("ip=127.0.0.1") for e in events)
    assert all(PASSWORD not in (e.detail or "") for e in events)


class CountingHasher:
    """The real hasher, noting which stored hash each verification ran against."""

    def __init__(self, inner: Hasher) -> None:
        self.inner = inner
        self.verified: list[str | None] = []

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        self.verified.append(password_hash)
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


def error_of(answer: TestResponse) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', answer.get_data(as_text=True))
    assert found, answer.get_data(as_text=True)
    return found[1]


def test_a_blocked_try_gets_the_answer_and_the_hash_of_any_failure(
    app: Flask,
    client: FlaskClient,
    runtime: Runtime,
    enrolled: Callable[..., Member],
    clock: FakeClock,
    session: Session,
) -> None:
    member = enrolled("finance")
    for _ in range(3):
        assert sign_in(client, member, password="guess").status_code == 401
    hasher = CountingHasher(DEFAULT_HASHER)
    app.extensions["gateway"] = dataclasses.replace(runtime, hasher=hasher)
    now_code = pyotp.TOTP(member.secret).at(clock.now())  # in the 1 s wait: no clock move

    blocked = post_form(
        client,
        "/console/sign-in",
        {"email": member.email, "password": PASSWORD, "code": now_code},
    )
    stranger = post_form(
        client,
        "/console/sign-in",
        {"email": "nobody@example.vn", "password": PASSWORD, "code": now_code},
    )

    assert blocked.status_code == stranger.status_code == 401
    assert error_of(blocked) == error_of(stranger) == REFUSED
    staff = session.scalars(select(StaffMember)).one()
    assert hasher.verified == [staff.password_hash, None]  # one argon2 check each
    assert staff.failed_signins == 3  # a try during the wait does not lengthen it


def test_a_form_without_its_csrf_token_changes_nothing(
    client: FlaskClient, signed_in: SignIn, session: Session
) -> None:
    signed_in("operator")

    forged = client.post(
        "/console/switches", data={"state": "off", "reason": "attack", "confirm": "yes"}
    )
    wrong = client.post(
        "/console/switches",
        data={"csrf_token": "x" * 40, "state": "off", "reason": "attack", "confirm": "yes"},
    )

    assert forged.status_code == 400 and wrong.status_code == 400
    assert "Phiên biểu mẫu" in forged.get_data(as_text=True)
    assert client.get("/console/switches").get_data(as_text=True).count("BẬT") >= 1
    from gateway.models import Switch

    assert session.scalars(select(Switch)).all() == []


def test_a_token_from_another_session_is_refused(
    app: Flask, enrolled: Callable[..., Member]
) -> None:
    mallory, victim = app.test_client(), app.test_client()
    sign_in(victim, enrolled("operator"))
    token = csrf_of(mallory.get("/console/sign-in"))  # valid, but for Mallory's session

    forged = victim.post(
        "/console/switches",
        data={"csrf_token": token, "state": "off", "reason": "x", "confirm": "yes"},
    )

    assert forged.status_code == 400


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("finance", "/console/overview"),
        ("finance", "/console/switches"),
        ("finance", "/console/messages"),
        ("operator", "/console/charges"),
        ("operator", "/console/charges.csv"),
        ("operator", "/console/reconciliation"),
        ("operator", "/console/refunds"),
        ("admin", "/console/charges"),
        ("admin", "/console/overview"),
        ("finance", "/console/staff"),
        ("operator", "/console/staff"),
    ],
)
def test_a_page_outside_ones_role_answers_403(
    client: FlaskClient, signed_in: SignIn, session: Session, role: str, path: str
) -> None:
    signed_in(role)

    answer = client.get(path)

    assert answer.status_code == 403
    assert "ngoài vai trò" in answer.get_data(as_text=True)
    denied = session.scalars(select(AuditEvent).where(AuditEvent.outcome == "forbidden")).one()
    assert path in (denied.detail or "")


@pytest.mark.parametrize("path", ["/console/overview", "/console/charges", "/console/staff"])
def test_without_a_session_every_page_sends_to_sign_in(client: FlaskClient, path: str) -> None:
    answer = client.get(path)

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/sign-in")


def test_a_session_ends_after_the_idle_timeout(
    client: FlaskClient, signed_in: SignIn, clock: FakeClock
) -> None:
    signed_in("operator")
    clock.advance(minutes=29)
    assert client.get("/console/overview").status_code == 200  # activity extends it
    clock.advance(minutes=29)
    assert client.get("/console/overview").status_code == 200

    clock.advance(minutes=30, seconds=1)
    answer = client.get("/console/overview")

    assert answer.status_code == 302
    assert "hết hạn" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_disabling_a_member_ends_their_session(
    client: FlaskClient, signed_in: SignIn, runtime: Runtime
) -> None:
    member = signed_in("finance")
    from gateway.console.staff import disable_staff

    with runtime.session_factory.begin() as session:
        disable_staff(session, member.email, runtime.clock.now())

    assert client.get("/console/charges").status_code == 302
    assert sign_in(client, member).status_code == 401


def test_sign_out_ends_the_session(client: FlaskClient, signed_in: SignIn) -> None:
    signed_in("finance")
    token = csrf_of(client.get("/console/charges"))

    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/console/charges").status_code == 302


def test_pages_forbid_inline_script_and_framing(client: FlaskClient, signed_in: SignIn) -> None:
    signed_in("finance")

    for path in ("/console/sign-in", "/console/charges", "/console/reconciliation"):
        answer = client.get(path)
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        html = answer.get_data(as_text=True)
        assert '<html lang="vi">' in html
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
        assert " style=" not in html and "<style" not in html
        assert re.findall(r"<[^>]*\son[a-z]+=", html) == []  # no inline event handler


def test_the_session_cookie_is_secure_httponly_and_lax(
    environ: dict[str, str], clock: FakeClock, tmp_path: Path
) -> None:
    environ["GATEWAY_CONSOLE_SECURE_COOKIES"] = "true"
    from gateway.settings import load_settings

    app = make_app(load_settings(environ), clock)
    client = app.test_client()

    answer = client.get("/console/sign-in")

    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/console" in cookie
    app.extensions["gateway"].engine.dispose()


def test_a_cookie_signed_with_another_key_or_from_before_a_reset_gets_no_session(
    app: Flask,
    environ: dict[str, str],
    clock: FakeClock,
    enrolled: Callable[..., Member],
    runtime: Runtime,
) -> None:
    member = enrolled("finance")
    from gateway.console.staff import reset_staff
    from gateway.settings import load_settings

    # Mallory runs her own copy of the gateway, on the same data, with her own secret key.
    forger = create_app(load_settings({**environ, "GATEWAY_SECRET_KEY": "m" * 32}), clock=clock)
    try:
        mallory = forger.test_client()
        assert sign_in(mallory, member).status_code == 302
        forged = mallory.get_cookie("gw_console", path="/console")
    finally:
        forger.extensions["gateway"].engine.dispose()
    assert forged is not None
    victim_app = app.test_client()
    victim_app.set_cookie("gw_console", forged.value, path="/console")
    assert victim_app.get("/console/charges").status_code == 302

    honest = app.test_client()
    assert sign_in(honest, member).status_code == 302
    old = honest.get_cookie("gw_console", path="/console")
    assert old is not None and honest.get("/console/charges").status_code == 200
    with runtime.session_factory.begin() as session:
        reset_staff(
            session,
            member.email,
            secret_key=runtime.settings.secret_key,
            now=clock.now(),
            ttl=runtime.settings.console_enrol_ttl,
        )
    replayed = app.test_client()
    replayed.set_cookie("gw_console", old.value, path="/console")
    assert replayed.get("/console/charges").status_code == 302
