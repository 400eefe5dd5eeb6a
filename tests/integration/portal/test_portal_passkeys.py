"""Passkeys in the portal: sign in, recover and manage them in a browser, and every refusal.

A software authenticator (tests/passkey_authenticator.py) plays the device and the browser's
``navigator.credentials``; the test client plays what static/passkeys.js sends: the page's
CSRF token in X-CSRFToken, the request id only in the portal's cookie.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.clock import FakeClock
from gateway.models import Account, OutboxMessage, Passkey, WebAuthnChallenge
from gateway.states import Channel
from tests.email_harness import add_account_with_email
from tests.integration.portal.conftest import EMAIL, Person, app_with, csrf_of, text
from tests.passkey_authenticator import SoftAuthenticator, b64url

ORIGIN = "http://localhost:8000"
BHXH = "0123456789"
PASSWORD = "old-password-1"
NEW = "mot cau mat khau moi"
NAME = "Điện thoại của tôi"
MANAGE = "/tai-khoan/khoa-truy-cap"
REGISTER_OPTIONS = "/tai-khoan/khoa-truy-cap/tuy-chon"
REGISTER = "/tai-khoan/khoa-truy-cap/them"
SIGN_IN_OPTIONS = "/dang-nhap/khoa-truy-cap/tuy-chon"
SIGN_IN = "/dang-nhap/khoa-truy-cap"
RECOVER_OPTIONS = "/quen-mat-khau/khoa-truy-cap/tuy-chon"
RECOVER = "/quen-mat-khau/khoa-truy-cap"
PROOF_MESSAGE = "Hãy xác nhận lại mật khẩu trước (lần xác nhận trước đã quá 5 phút)."
_DATA_CSRF = re.compile(r'data-csrf="([^"]+)"')
_SCRIPT = re.compile(r"<script\b[^>]*>")


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    # http://localhost is the one plain-http origin browsers accept for passkeys.
    return {**environ, "GATEWAY_PUBLIC_URL": ORIGIN}


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(origin=ORIGIN)


# -- a browser's moves ---------------------------------------------------------------------------


def fresh(person: Person) -> Person:
    """Another browser (its own cookie) for the same mailbox and worker."""
    return Person(person.client.application.test_client(), person.worker, person.mailer)


def data_csrf(response: TestResponse) -> str:
    found = _DATA_CSRF.search(text(response))
    assert found, text(response)[:800]
    return found[1]


def call(client: FlaskClient, url: str, token: str | None, body: Any = None) -> TestResponse:
    """POST JSON as passkeys.js does: the page's CSRF token in the X-CSRFToken header."""
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(url, json={} if body is None else body, headers=headers)


def sign_in(person: Person, bhxh: str = BHXH, password: str = PASSWORD) -> None:
    answer = person.submit("/dang-nhap", {"bhxh": bhxh, "password": password})
    assert answer.status_code == 303, text(answer)[:800]
    assert answer.headers["Location"].endswith("/tai-khoan")


def add_passkey(person: Person, device: SoftAuthenticator, name: str = NAME) -> TestResponse:
    """On the manage page: ask for options, let the device make a passkey, send its answer."""
    token = data_csrf(person.client.get(MANAGE))
    options = call(person.client, REGISTER_OPTIONS, token)
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = device.create(options.get_json()["options"])
    return call(person.client, REGISTER, token, {"credential": credential, "name": name})


def ceremony(
    client: FlaskClient, device: SoftAuthenticator, page: str, options_url: str, verify_url: str
) -> TestResponse:
    """Sign in or recover with a passkey from ``page``, as the button would."""
    token = data_csrf(client.get(page))
    options = call(client, options_url, token)
    assert options.status_code == 200, options.get_data(as_text=True)
    answer = device.get(options.get_json()["options"])
    return call(client, verify_url, token, {"credential": answer})


def recover_with_passkey(person: Person, device: SoftAuthenticator) -> None:
    recovered = ceremony(person.client, device, "/quen-mat-khau", RECOVER_OPTIONS, RECOVER)
    assert recovered.status_code == 200, recovered.get_data(as_text=True)
    assert recovered.get_json() == {"redirect": "/doi-mat-khau"}


# -- what is stored ------------------------------------------------------------------------------


def passkeys_of(session: Session, account_id: int) -> list[Passkey]:
    session.expire_all()
    query = select(Passkey).where(Passkey.account_id == account_id).order_by(Passkey.id)
    return list(session.scalars(query))


def count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def outbox_to(session: Session, recipient: str, after: int = 0) -> list[OutboxMessage]:
    session.expire_all()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.recipient == recipient, OutboxMessage.id > after)
        .order_by(OutboxMessage.id)
    )
    return list(session.scalars(query))


def last_outbox_id(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.max(OutboxMessage.id))) or 0


def account_row(session: Session, account_id: int) -> Account:
    session.expire_all()
    account = session.get(Account, account_id)
    assert account is not None
    return account


@pytest.fixture
def owner(person: Person, session: Session, device: SoftAuthenticator) -> Account:
    """An account (email from BHXH's records) signed in with its password, with a passkey."""
    account = add_account_with_email(session)
    sign_in(person)
    added = add_passkey(person, device)
    assert added.status_code == 200, added.get_data(as_text=True)
    return account


@pytest.fixture
def strangers_passkey(person: Person, session: Session) -> Passkey:
    """Another account's passkey, added in another browser."""
    stranger = add_account_with_email(session, "0987654321", "0987654321", email="b@example.vn")
    browser = fresh(person)
    sign_in(browser, "0987654321")
    added = add_passkey(browser, SoftAuthenticator(origin=ORIGIN), "Khóa của B")
    assert added.status_code == 200, added.get_data(as_text=True)
    [passkey] = passkeys_of(session, stranger.id)
    return passkey


# -- 1. the pages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mode", "options_url", "verify_url"),
    [
        ("/dang-nhap", "sign-in", SIGN_IN_OPTIONS, SIGN_IN),
        ("/quen-mat-khau", "recover", RECOVER_OPTIONS, RECOVER),
    ],
)
def test_sign_in_and_forgot_pages_offer_a_passkey_with_a_script_of_this_origin_only(
    person: Person, path: str, mode: str, options_url: str, verify_url: str
) -> None:
    page = person.client.get(path)
    body = text(page)

    assert page.status_code == 200
    assert f'data-passkey="{mode}"' in body
    assert f'data-options="{options_url}"' in body and f'data-verify="{verify_url}"' in body
    assert data_csrf(page) == csrf_of(page)  # the same token as the page's forms
    passkeys = ['<script src="/portal/static/passkeys.js" defer>']
    # The "forgot password" page also runs the ALTCHA widget (test_portal_recovery.py).
    altcha = [
        '<script type="module" src="/portal/static/altcha/altcha.min.js">',
        '<script type="module" src="/portal/static/altcha-setup.js">',
    ]
    assert _SCRIPT.findall(body) == passkeys + (altcha if mode == "recover" else [])
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    if mode == "sign-in":  # the browser offers passkeys in the identifier's autofill
        assert 'autocomplete="username webauthn"' in body
    with person.client.get("/portal/static/passkeys.js") as script:
        assert script.status_code == 200 and "X-CSRFToken" in text(script)
        assert script.mimetype in ("text/javascript", "application/javascript")


def test_with_passkeys_off_the_pages_offer_none_and_still_work(environ: dict[str, str]) -> None:
    # Browsers refuse an IP as RP ID.
    with app_with(environ, GATEWAY_PUBLIC_URL="http://127.0.0.1:8000") as app:
        with app.extensions["gateway"].session_factory() as db:
            add_account_with_email(db)
        client = app.test_client()
        for path in ("/dang-nhap", "/quen-mat-khau"):
            page = client.get(path)
            assert page.status_code == 200, path
            scripts = re.findall(r"<script[^>]*>", text(page))
            assert "data-passkey" not in text(page), path
            # Only the "forgot password" page's ALTCHA widget is left.
            assert all("altcha" in script for script in scripts), path
            assert bool(scripts) == (path == "/quen-mat-khau"), path
            assert 'name="bhxh"' in text(page), path
        token = csrf_of(client.get("/dang-nhap"))
        options = call(client, SIGN_IN_OPTIONS, token)
        signed_in = client.post(
            "/dang-nhap", data={"csrf_token": token, "bhxh": BHXH, "password": PASSWORD}
        )
        manage = client.get(MANAGE)

    assert options.status_code == 404 and options.get_json()["error"] == "not_found"
    assert signed_in.status_code == 303 and signed_in.headers["Location"].endswith("/tai-khoan")
    assert manage.status_code == 200
    assert "Máy chủ này chưa bật khóa truy cập" in text(manage)
    assert "<script" not in text(manage)


# -- 2. adding one -------------------------------------------------------------------------------


def test_a_signed_in_person_adds_a_passkey_listed_with_its_vietnamese_date(
    person: Person, session: Session, clock: FakeClock, device: SoftAuthenticator
) -> None:
    clock.advance(hours=17)  # 20:00 UTC on 2 November is already 3 November in Việt Nam
    account = add_account_with_email(session)
    sign_in(person)

    added = add_passkey(person, device)

    assert added.status_code == 200 and added.get_json() == {"redirect": MANAGE}
    [stored] = passkeys_of(session, account.id)
    assert stored.name == NAME and stored.created_at == clock.now()
    assert stored.credential_id == b64url(device.credentials[0].credential_id)
    assert account_row(session, account.id).webauthn_user_id is not None
    page = text(person.client.get(MANAGE))
    assert f"Đã thêm khóa truy cập “{NAME}”." in page
    assert f"<strong>{NAME}</strong>" in page
    assert "Thêm ngày 03/11/2026" in page and "Chưa dùng" in page
    [sms] = outbox_to(session, account.phone)
    assert sms.channel is Channel.SMS and "vua them khoa truy cap (passkey) moi" in sms.text
    [mail] = outbox_to(session, EMAIL)
    assert mail.channel is Channel.EMAIL
    assert mail.subject == "Tài khoản VssID vừa có thêm khóa truy cập" and NAME in mail.text
    # A second device: the first passkey is excluded, and an empty name gets a default.
    token = data_csrf(person.client.get(MANAGE))
    options = call(person.client, REGISTER_OPTIONS, token).get_json()["options"]
    assert [d["id"] for d in options["excludeCredentials"]] == [stored.credential_id]
    other = SoftAuthenticator(origin=ORIGIN).create(options)
    second = call(person.client, REGISTER, token, {"credential": other, "name": "  "})
    assert second.status_code == 200
    assert [p.name for p in passkeys_of(session, account.id)] == [NAME, "Khóa truy cập"]


def test_the_add_endpoints_need_a_sign_in_of_the_last_five_minutes(
    person: Person, session: Session, clock: FakeClock, device: SoftAuthenticator
) -> None:
    account = add_account_with_email(session)
    sign_in(person)
    token = data_csrf(person.client.get(MANAGE))
    options = call(person.client, REGISTER_OPTIONS, token).get_json()["options"]
    clock.advance(minutes=6)

    late = call(person.client, REGISTER, token, {"credential": device.create(options)})
    asked = call(person.client, REGISTER_OPTIONS, token)

    for refused in (late, asked):
        assert refused.status_code == 403
        assert refused.get_json() == {"error": "recent_proof_required", "message": PROOF_MESSAGE}
    assert passkeys_of(session, account.id) == []
    assert outbox_to(session, account.phone) == []


# -- 3. CSRF and the request id in the cookie ----------------------------------------------------


def test_the_json_endpoints_refuse_without_the_csrf_header_and_store_nothing(
    person: Person, session: Session, device: SoftAuthenticator
) -> None:
    account = add_account_with_email(session)
    sign_in(person)
    token = data_csrf(person.client.get(MANAGE))
    options = call(person.client, REGISTER_OPTIONS, token).get_json()["options"]
    credential = device.create(options)
    challenges = count(session, WebAuthnChallenge)

    for url in (SIGN_IN_OPTIONS, SIGN_IN, RECOVER_OPTIONS, RECOVER, REGISTER_OPTIONS, REGISTER):
        for header in (None, "not-the-token"):
            body = {"credential": credential, "name": "Kẻ gian"}
            refused = call(person.client, url, header, body)
            assert refused.status_code == 400, (url, header)
            assert "Biểu mẫu đã hết hạn" in text(refused)

    assert count(session, WebAuthnChallenge) == challenges
    assert passkeys_of(session, account.id) == []
    # The refusals used nothing up: the request id is still in the cookie.
    accepted = call(person.client, REGISTER, token, {"credential": credential, "name": NAME})
    assert accepted.status_code == 200
    assert [p.name for p in passkeys_of(session, account.id)] == [NAME]


def test_an_answer_is_only_taken_from_the_browser_that_asked_for_the_options(
    owner: Account, person: Person, session: Session, device: SoftAuthenticator
) -> None:
    alice = fresh(person).client
    token = data_csrf(alice.get("/dang-nhap"))
    answer = device.get(call(alice, SIGN_IN_OPTIONS, token).get_json()["options"])
    [request_id] = session.scalars(
        select(WebAuthnChallenge.id).where(WebAuthnChallenge.purpose == "sign_in")
    )
    mallory = fresh(person).client
    own_token = data_csrf(mallory.get("/dang-nhap"))

    stolen = call(mallory, SIGN_IN, own_token, {"credential": answer, "request_id": request_id})

    assert stolen.status_code == 401
    assert stolen.get_json()["error"] == "invalid_credentials"
    assert stolen.get_json()["message"].startswith("Khóa truy cập không được chấp nhận.")
    assert mallory.get("/tai-khoan").status_code == 303
    session.expire_all()
    assert session.get(WebAuthnChallenge, request_id).used_at is None  # type: ignore[union-attr]
    signed_in = call(alice, SIGN_IN, token, {"credential": answer})
    assert signed_in.status_code == 200 and signed_in.get_json() == {"redirect": "/tai-khoan"}


# -- 4. signing in ---------------------------------------------------------------------------------


def test_a_passkey_signs_in_without_typing_anything_and_its_answer_works_once(
    owner: Account, person: Person, session: Session, clock: FakeClock, device: SoftAuthenticator
) -> None:
    app = person.client.application
    browser = app.test_client()
    token = data_csrf(browser.get("/dang-nhap"))
    options = call(browser, SIGN_IN_OPTIONS, token).get_json()["options"]
    assert not options.get("allowCredentials")  # names no account: a discoverable credential
    assert options["rpId"] == "localhost" and options["userVerification"] == "required"
    cookie = browser.get_cookie("gw_portal", path="/")
    assert cookie is not None
    answer = device.get(options)
    clock.advance(minutes=1)

    signed_in = call(browser, SIGN_IN, token, {"credential": answer})

    assert signed_in.status_code == 200 and signed_in.get_json() == {"redirect": "/tai-khoan"}
    home = browser.get("/tai-khoan")
    assert home.status_code == 200 and f"Tài khoản {BHXH}" in text(home)
    assert 'data-passkey="register"' in text(browser.get(MANAGE))  # a full, fresh session
    [passkey] = passkeys_of(session, owner.id)
    assert passkey.last_used_at == clock.now() and passkey.sign_count == 1
    # The same answer again, from a copy of the cookie that carried its request id...
    thief = app.test_client()
    thief.set_cookie("gw_portal", cookie.value, path="/")
    replayed = call(thief, SIGN_IN, token, {"credential": answer})
    # ...or on a fresh challenge, in the same browser after signing out.
    browser.post("/dang-xuat", data={"csrf_token": csrf_of(home)})
    token = data_csrf(browser.get("/dang-nhap"))
    assert call(browser, SIGN_IN_OPTIONS, token).status_code == 200
    again = call(browser, SIGN_IN, token, {"credential": answer})

    for refused in (replayed, again):
        assert refused.status_code == 401
        assert refused.get_json()["error"] == "invalid_credentials"
    assert thief.get("/tai-khoan").status_code == 303
    assert browser.get("/tai-khoan").status_code == 303
    assert passkeys_of(session, owner.id)[0].sign_count == 1


# -- 5. recovering with a passkey ------------------------------------------------------------------


def test_a_passkey_recovery_sets_the_password_and_removes_what_the_owner_ticks(
    owner: Account,
    person: Person,
    session: Session,
    device: SoftAuthenticator,
    strangers_passkey: Passkey,
) -> None:
    [passkey] = passkeys_of(session, owner.id)
    browser = fresh(person)
    recover_with_passkey(browser, device)
    recovered_sms = outbox_to(session, owner.phone)[-1].text
    assert "vua duoc lay lai mat khau bang khoa truy cap" in recovered_sms
    assert browser.client.get("/tai-khoan").headers["Location"].endswith("/doi-mat-khau")
    page = text(browser.client.get("/doi-mat-khau"))
    assert '<fieldset class="review">' in page
    assert f'name="remove_passkey" value="{passkey.id}"' in page
    assert f"Xóa khóa truy cập “{NAME}”" in page and "(thêm ngày 02/11/2026)" in page
    assert f"Gỡ email {EMAIL}" in page and "(có từ hồ sơ BHXH)" in page
    before = last_outbox_id(session)

    done = browser.submit(
        "/doi-mat-khau",
        {
            "password": NEW,
            "password2": NEW,
            "remove_passkey": [str(passkey.id), str(strangers_passkey.id)],
            "remove_email": "1",
        },
    )

    assert done.status_code == 200, text(done)[:800]
    assert "Đã đổi mật khẩu" in text(done) and "Đã xóa 2 mục bạn chọn." in text(done)
    assert passkeys_of(session, owner.id) == []
    assert [p.id for p in passkeys_of(session, strangers_passkey.account_id)] == [
        strangers_passkey.id
    ]
    account = account_row(session, owner.id)
    assert account.email is None and account.email_added_at is None
    sms = [m.text for m in outbox_to(session, owner.phone, before)]
    assert any("vua bi xoa" in t for t in sms) and any("vua bi go bo" in t for t in sms)
    subjects = [m.subject for m in outbox_to(session, EMAIL, before)]
    assert "Một khóa truy cập của tài khoản VssID đã bị xóa" in subjects
    assert "Địa chỉ email đã được gỡ khỏi tài khoản VssID" in subjects
    assert outbox_to(session, "b@example.vn", before) == []
    assert browser.client.get("/tai-khoan").status_code == 200  # a full session now
    sign_in(fresh(person), password=NEW)


def test_a_refused_password_after_a_passkey_recovery_removes_nothing(
    owner: Account, person: Person, session: Session, device: SoftAuthenticator
) -> None:
    owner.email_added_at = dt.datetime(2026, 3, 14, 20, 0, tzinfo=dt.UTC)  # 15/03 in Hà Nội
    session.commit()
    [passkey] = passkeys_of(session, owner.id)
    browser = fresh(person)
    recover_with_passkey(browser, device)
    assert "(thêm ngày 15/03/2026)" in text(browser.client.get("/doi-mat-khau"))
    before = last_outbox_id(session)

    refused = browser.submit(
        "/doi-mat-khau",
        {
            "password": "12345678",
            "password2": "12345678",
            "remove_passkey": str(passkey.id),
            "remove_email": "1",
        },
    )

    assert refused.status_code == 400
    assert "những mật khẩu phổ biến nhất" in text(refused)
    assert '<fieldset class="review">' in text(refused)  # still offered
    assert [p.id for p in passkeys_of(session, owner.id)] == [passkey.id]
    account = account_row(session, owner.id)
    assert account.email == EMAIL and account.email_added_at == owner.email_added_at
    assert outbox_to(session, owner.phone, before) == []
    assert outbox_to(session, EMAIL, before) == []
    assert browser.client.get("/tai-khoan").status_code == 303  # still restricted
    sign_in(fresh(person))  # the old password still works


# -- 6. the manage page ----------------------------------------------------------------------------


def test_after_five_minutes_removing_needs_the_password_again(
    owner: Account, person: Person, session: Session, clock: FakeClock
) -> None:
    [passkey] = passkeys_of(session, owner.id)
    remove = f"{MANAGE}/{passkey.id}/xoa"
    clock.advance(minutes=6)

    page = text(person.client.get(MANAGE))
    assert 'action="/tai-khoan/xac-nhan"' in page and 'name="current"' in page
    assert f"Xóa “{NAME}”" not in page and "data-passkey" not in page and "<script" not in page
    late = person.submit(remove, {}, page=MANAGE)
    assert late.status_code == 403
    assert PROOF_MESSAGE in text(late) and 'aria-describedby="e-current"' in text(late)
    assert len(passkeys_of(session, owner.id)) == 1

    wrong = person.submit("/tai-khoan/xac-nhan", {"current": "not-my-password"}, page=MANAGE)
    assert wrong.status_code == 401
    assert "Sai mã số hoặc mật khẩu." in text(wrong) and 'id="e-current"' in text(wrong)
    assert person.submit(remove, {}, page=MANAGE).status_code == 403

    confirmed = person.submit("/tai-khoan/xac-nhan", {"current": PASSWORD}, page=MANAGE)
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith(MANAGE)
    assert f"Xóa “{NAME}”" in text(person.client.get(MANAGE))
    before = last_outbox_id(session)
    removed = person.submit(remove, {}, page=MANAGE)

    assert removed.status_code == 303 and removed.headers["Location"].endswith(MANAGE)
    assert passkeys_of(session, owner.id) == []
    assert "Đã xóa khóa truy cập." in text(person.client.get(MANAGE))
    assert any("vua bi xoa" in m.text for m in outbox_to(session, owner.phone, before))
    [mail] = outbox_to(session, EMAIL, before)
    assert mail.subject == "Một khóa truy cập của tài khoản VssID đã bị xóa" and NAME in mail.text


def test_renaming_needs_no_recent_proof_but_needs_a_name(
    owner: Account, person: Person, session: Session, clock: FakeClock
) -> None:
    [passkey] = passkeys_of(session, owner.id)
    rename = f"{MANAGE}/{passkey.id}/doi-ten"
    clock.advance(minutes=6)

    renamed = person.submit(rename, {"name": "  Máy tính   bảng "}, page=MANAGE)
    empty = person.submit(rename, {"name": "   "}, page=MANAGE)

    assert renamed.status_code == 303
    assert empty.status_code == 400
    body = text(empty)
    key = f"name-{passkey.id}"
    assert f'<p class="error" id="e-{key}">Tên cần từ 1 đến 64 ký tự.</p>' in body
    assert f'id="f-{key}"' in body and f'aria-describedby="e-{key}"' in body
    assert 'aria-invalid="true"' in body and f'href="#f-{key}"' in body
    assert [p.name for p in passkeys_of(session, owner.id)] == ["Máy tính bảng"]


def test_another_accounts_passkey_is_neither_removed_nor_renamed(
    owner: Account, person: Person, session: Session, strangers_passkey: Passkey
) -> None:
    theirs = strangers_passkey.id
    before = last_outbox_id(session)

    removed = person.submit(f"{MANAGE}/{theirs}/xoa", {}, page=MANAGE)
    renamed = person.submit(f"{MANAGE}/{theirs}/doi-ten", {"name": "Của tôi"}, page=MANAGE)

    assert removed.status_code == 404
    assert "Không tìm thấy khóa truy cập này" in text(removed)
    assert renamed.status_code == 404
    assert "Không tìm thấy khóa truy cập này" in text(renamed)
    [kept] = passkeys_of(session, strangers_passkey.account_id)
    assert kept.id == theirs and kept.name == "Khóa của B"
    assert len(passkeys_of(session, owner.id)) == 1
    assert outbox_to(session, "b@example.vn", before) == []


# -- 7. the email recovery's last page ------------------------------------------------------------


def test_email_recovery_signs_in_and_removes_the_passkey_ticked_on_its_last_page(
    owner: Account, person: Person, session: Session
) -> None:
    [passkey] = passkeys_of(session, owner.id)
    browser = fresh(person)
    browser.ask()
    otp = browser.last_otp()

    done = browser.submit(
        "/quen-mat-khau/otp",
        {"bhxh": BHXH, "otp": otp, "password": NEW, "password2": NEW},
        follow=True,
    )

    page = text(done)
    assert done.status_code == 200 and "Đã đặt mật khẩu mới" in page
    assert 'action="/tai-khoan/kiem-tra"' in page
    assert f'type="checkbox" id="rm-passkey-{passkey.id}" name="remove_passkey"' in page
    assert browser.client.get("/tai-khoan").status_code == 200  # signed in
    reviewed = browser.client.post(
        "/tai-khoan/kiem-tra",
        data={"csrf_token": csrf_of(done), "remove_passkey": str(passkey.id)},
    )
    assert reviewed.status_code == 303 and reviewed.headers["Location"].endswith("/tai-khoan")
    assert passkeys_of(session, owner.id) == []
    assert account_row(session, owner.id).email == EMAIL  # not ticked: kept
    assert "Đã xóa 1 mục." in text(browser.client.get("/tai-khoan"))


# -- 8. a recovery's restricted session ------------------------------------------------------------


def test_a_passkey_recovery_session_can_neither_manage_nor_add_passkeys(
    owner: Account, person: Person, session: Session, device: SoftAuthenticator
) -> None:
    [passkey] = passkeys_of(session, owner.id)
    browser = fresh(person)
    recover_with_passkey(browser, device)
    token = csrf_of(browser.client.get("/doi-mat-khau"))
    challenges = count(session, WebAuthnChallenge)
    form = {"csrf_token": token}

    answers = [
        browser.client.get(MANAGE),
        call(browser.client, REGISTER_OPTIONS, token),
        call(browser.client, REGISTER, token, {"credential": {}, "name": "Kẻ gian"}),
        browser.client.post(f"{MANAGE}/{passkey.id}/xoa", data=form),
        browser.client.post(f"{MANAGE}/{passkey.id}/doi-ten", data={**form, "name": "X"}),
        browser.client.post("/tai-khoan/xac-nhan", data={**form, "current": PASSWORD}),
        browser.client.post("/tai-khoan/kiem-tra", data={**form, "remove_passkey": passkey.id}),
    ]

    for answer in answers:
        assert answer.status_code == 303, answer.request.path
        assert answer.headers["Location"].endswith("/doi-mat-khau"), answer.request.path
    assert count(session, WebAuthnChallenge) == challenges
    [kept] = passkeys_of(session, owner.id)
    assert kept.name == NAME
    assert browser.client.get("/tai-khoan").status_code == 303  # still restricted


def test_a_stranger_is_sent_to_sign_in_and_cannot_start_adding_a_passkey(
    person: Person, session: Session
) -> None:
    add_account_with_email(session)
    token = data_csrf(person.client.get("/dang-nhap"))
    form = {"csrf_token": token}

    pages = [
        person.client.get(MANAGE),
        person.client.post(f"{MANAGE}/1/xoa", data=form),
        person.client.post(f"{MANAGE}/1/doi-ten", data={**form, "name": "X"}),
        person.client.post("/tai-khoan/xac-nhan", data={**form, "current": PASSWORD}),
        person.client.post("/tai-khoan/kiem-tra", data={**form, "remove_passkey": "1"}),
    ]
    options = call(person.client, REGISTER_OPTIONS, token)

    for page in pages:
        assert page.status_code == 303, page.request.path
        assert page.headers["Location"].endswith("/dang-nhap"), page.request.path
    assert options.status_code == 401 and options.get_json()["error"] == "invalid_credentials"
    assert count(session, WebAuthnChallenge) == 0


def test_an_answer_made_for_another_site_is_refused(
    owner: Account, person: Person, session: Session, device: SoftAuthenticator
) -> None:
    browser = fresh(person).client
    token = data_csrf(browser.get("/dang-nhap"))
    options = call(browser, SIGN_IN_OPTIONS, token).get_json()["options"]
    phished = device.get(options, origin="https://bhxh-gov.example")

    refused = call(browser, SIGN_IN, token, {"credential": phished})

    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_credentials"
    assert browser.get("/tai-khoan").status_code == 303
    assert passkeys_of(session, owner.id)[0].last_used_at is None


# -- refusals at the edges -----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["xoa", "doi-ten"])
def test_a_passkey_id_too_big_for_the_database_is_not_a_crash(
    owner: Account, person: Person, session: Session, action: str
) -> None:
    answer = person.submit(f"{MANAGE}/{'9' * 23}/{action}", {"name": "X"}, page=MANAGE)

    assert answer.status_code in (400, 404)
    assert len(passkeys_of(session, owner.id)) == 1


@pytest.mark.parametrize(
    ("page", "options_url", "verify_url"),
    [("/dang-nhap", SIGN_IN_OPTIONS, SIGN_IN), ("/quen-mat-khau", RECOVER_OPTIONS, RECOVER)],
)
def test_a_malformed_answer_at_sign_in_or_recovery_is_explained_like_a_wrong_one(
    person: Person, page: str, options_url: str, verify_url: str
) -> None:
    token = data_csrf(person.client.get(page))
    assert call(person.client, options_url, token).status_code == 200

    refused = call(person.client, verify_url, token, {"credential": {"id": "x"}})

    # Malformed input is a 400, but the person reads the words of any refused passkey.
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_passkey"
    assert refused.get_json()["message"].startswith("Khóa truy cập không được chấp nhận")


def test_the_portal_ceremonies_count_against_the_per_client_limits_as_the_api_does(
    environ: dict[str, str],
) -> None:
    with app_with(environ, GATEWAY_RATELIMIT_ENABLED="true") as app:
        client = app.test_client()
        token = data_csrf(client.get("/dang-nhap"))
        answers = [call(client, SIGN_IN_OPTIONS, token).status_code for _ in range(11)]

    assert answers[:10] == [200] * 10  # GATEWAY_RATELIMIT_RECOVERY: 10/minute, as the API's
    assert answers[10] == 429
