"""Sign in, the temporary password's one page, changing the email, and the portal's cookie."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.delivery.mail import FakeMailer
from gateway.models import Account
from gateway.settings import load_settings
from gateway.worker import Worker
from tests.conftest import make_app
from tests.email_harness import add_account_with_email
from tests.harness import Phones
from tests.integration.portal.conftest import Person, app_with, text

NEW = "mot cau mat khau moi"
NEW_EMAIL = "a.moi@example.vn"


@pytest.fixture
def temporary(phones: Phones, session: Session) -> str:
    """Text for a temporary password and return it."""
    add_account_with_email(session)
    [reply] = phones.text("0912345678", "BH MK 0123456789")
    found = re.search(r"Mat khau: (\w+)\.", reply)
    assert found
    return found[1]


def sign_in(person: Person, password: str) -> str:
    answer = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": password})
    return answer.headers.get("Location", "") if answer.status_code == 303 else text(answer)


def test_a_temporary_password_leads_to_the_set_password_page_and_nowhere_else(
    person: Person, temporary: str
) -> None:
    assert sign_in(person, temporary).endswith("/doi-mat-khau")

    for elsewhere in ("/tai-khoan", "/tai-khoan/email", "/quen-mat-khau", "/dang-nhap"):
        answer = person.client.get(elsewhere)
        assert answer.status_code == 303, elsewhere
        assert answer.headers["Location"].endswith("/doi-mat-khau")
    page = text(person.client.get("/doi-mat-khau"))
    assert "mật khẩu tạm thời" in page and 'name="current"' not in page

    done = person.submit("/doi-mat-khau", {"password": NEW, "password2": NEW})

    assert "Đã đổi mật khẩu" in text(done)
    assert person.client.get("/tai-khoan").status_code == 200
    assert sign_in(person, NEW).endswith("/tai-khoan")


def test_the_temporary_password_signs_in_once(person: Person, temporary: str) -> None:
    sign_in(person, temporary)
    other = Person(person.client.application.test_client(), person.worker, person.mailer)

    again = sign_in(other, temporary)

    assert "Mật khẩu tạm thời này đã được dùng" in again


def test_a_weak_password_after_a_temporary_one_is_explained(person: Person, temporary: str) -> None:
    sign_in(person, temporary)

    refused = person.submit("/doi-mat-khau", {"password": "12345678", "password2": "12345678"})

    assert refused.status_code == 400
    assert "những mật khẩu phổ biến nhất" in text(refused)
    assert person.client.get("/tai-khoan").status_code == 303  # still restricted


@pytest.mark.parametrize("password", ["wrong-password", "khong dung"])
def test_a_wrong_password_is_refused_in_words(
    person: Person, session: Session, password: str
) -> None:
    add_account_with_email(session)

    answer = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": password})

    assert answer.status_code == 401
    assert "Sai mã số hoặc mật khẩu." in text(answer)
    assert person.client.get("/tai-khoan").status_code == 303


def test_wrong_passwords_in_the_api_throttle_the_page_too(person: Person, session: Session) -> None:
    add_account_with_email(session)
    for _ in range(5):
        api = person.client.post(
            "/api/v1/auth/login", json={"bhxh": "0123456789", "password": "wrong"}
        )
        assert api.status_code == 401
    person.submit("/dang-nhap", {"bhxh": "0123456789", "password": "wrong"})

    throttled = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": "old-password-1"})

    assert throttled.status_code == 429
    assert "Hãy thử lại sau" in text(throttled)


def test_the_email_changes_after_the_password_and_the_code_sent_to_the_new_address(
    person: Person, session: Session
) -> None:
    account = add_account_with_email(session)
    sign_in(person, "old-password-1")

    asked = person.submit("/tai-khoan/email", {"current": "old-password-1", "email": NEW_EMAIL})
    assert "Chúng tôi vừa gửi mã" in text(asked)
    code = re.search(r"\b(\d{6})\b", person.mailer.to(NEW_EMAIL)[-1].text)
    assert code
    wrong = "000000" if code[1] != "000000" else "111111"
    refused = person.submit("/tai-khoan/email", {"step": "code", "otp": wrong})
    done = person.submit("/tai-khoan/email", {"step": "code", "otp": code[1]})

    assert "Mã không đúng" in text(refused)
    assert "Đã cập nhật email" in text(done) and NEW_EMAIL in text(done)
    session.expire_all()
    assert session.get(Account, account.id).email == NEW_EMAIL  # type: ignore[union-attr]


def test_changing_the_email_needs_the_real_password(person: Person, session: Session) -> None:
    account = add_account_with_email(session)
    sign_in(person, "old-password-1")

    refused = person.submit("/tai-khoan/email", {"current": "wrong", "email": NEW_EMAIL})
    malformed = person.submit("/tai-khoan/email", {"current": "old-password-1", "email": "x"})

    assert refused.status_code == 400
    assert "Sai mã số hoặc mật khẩu." in text(refused)
    assert 'id="e-email"' in text(malformed)
    assert person.mailer.to(NEW_EMAIL) == []
    session.expire_all()
    assert session.get(Account, account.id).email == "nguyen.van.a@example.vn"  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["/tai-khoan", "/tai-khoan/email", "/doi-mat-khau"])
def test_account_pages_send_a_stranger_to_sign_in(person: Person, path: str) -> None:
    answer = person.client.get(path)

    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/dang-nhap")


def test_the_portal_cookie_is_its_own(person: Person, session: Session) -> None:
    add_account_with_email(session)
    sign_in(person, "old-password-1")
    client = person.client

    cookie = client.get_cookie("gw_portal", path="/")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert client.get_cookie("gw_console", path="/console") is None
    assert client.get("/console/charges").status_code == 302  # no console session from it
    api = client.post("/api/v1/auth/login", json={"bhxh": "0123456789", "password": "x"})
    assert "Set-Cookie" not in api.headers  # the JSON API never gets a cookie


def test_a_portal_cookie_signed_with_another_key_opens_nothing(
    person: Person, session: Session, environ: dict[str, str]
) -> None:
    add_account_with_email(session)
    with app_with(environ, GATEWAY_SECRET_KEY="m" * 32) as forger:
        mallory = Person(forger.test_client(), person.worker, person.mailer)
        sign_in(mallory, "old-password-1")
        forged = mallory.client.get_cookie("gw_portal", path="/")
    assert forged is not None

    person.client.set_cookie("gw_portal", forged.value, path="/")

    assert person.client.get("/tai-khoan").status_code == 303


def test_secure_cookies_are_the_default(environ: dict[str, str], session: Session) -> None:
    environ.pop("GATEWAY_PORTAL_SECURE_COOKIES")
    environ.pop("GATEWAY_TEST_CAPTCHA_ANSWERS")
    with app_with(environ) as app:
        answer = app.test_client().get("/dang-nhap")

    assert "Secure" in answer.headers["Set-Cookie"]


@pytest.mark.parametrize("field", ["bhxh", "password"])
def test_a_nul_in_any_field_is_refused_at_the_edge(
    person: Person, session: Session, field: str
) -> None:
    add_account_with_email(session)
    data = {"bhxh": "0123456789", "password": "old-password-1"}
    data[field] += "\x00"

    answer = person.submit("/dang-nhap", data)

    assert answer.status_code == 400
    assert "Yêu cầu không hợp lệ" in text(answer)
    assert person.client.get("/tai-khoan").status_code == 303


def test_per_client_limits_hold_on_the_pages_and_answer_in_vietnamese(
    environ: dict[str, str], mail_worker: Worker, mailer: FakeMailer
) -> None:
    """The API's per-address login limit (10 a minute) counts the sign-in page too."""
    environ["GATEWAY_RATELIMIT_ENABLED"] = "true"
    app = make_app(load_settings(environ), FakeClock())
    person = Person(app.test_client(), mail_worker, mailer)
    for _ in range(10):
        person.submit("/dang-nhap", {"bhxh": "0999999999", "password": "guess"})

    limited = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": "old-password-1"})

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert "quá nhiều yêu cầu từ địa chỉ mạng này" in text(limited)
    assert limited.headers["Content-Security-Policy"].startswith("default-src 'none'")
    app.extensions["gateway"].engine.dispose()


def test_rewording_the_english_reason_changes_no_word_of_the_page(
    person: Person, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account_with_email(session)
    before = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": "khong dung"})
    monkeypatch.setattr("gateway.accounts.login.WRONG", "that number and password do not match")

    after = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": "khong dung"})

    assert before.status_code == after.status_code == 401
    assert text(before) == text(after)  # the CSRF token aside, nothing differs
    assert "Sai mã số hoặc mật khẩu." in text(after)
    assert "match" not in text(after)
