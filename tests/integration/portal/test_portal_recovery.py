"""The "forgot password" pages: a person recovers by email in a browser, and every refusal."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.models import EmailRecoveryRequest
from tests.email_harness import add_account_with_email
from tests.integration.portal.conftest import EMAIL, Person, app_with, csrf_of, text

NEW = "mot cau mat khau moi"
OTP_PAGE = "/quen-mat-khau/otp"
_CAPTCHA = re.compile(r'name="captcha_id" value="([0-9a-f]+)"')


def requests_stored(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(EmailRecoveryRequest)) or 0


def set_password(person: Person, otp: str, new: str = NEW, again: str | None = None) -> str:
    data = {"bhxh": "0123456789", "otp": otp, "password": new, "password2": again or new}
    return text(person.submit(OTP_PAGE, data, follow=True))


def test_a_person_recovers_with_the_emailed_code_and_signs_in_with_the_new_password(
    person: Person, session: Session
) -> None:
    add_account_with_email(session)

    asked = person.ask()
    assert asked.status_code == 200
    assert "mã xác thực (OTP) đang được" in text(asked)
    mail = person.mailer.to(EMAIL)[-1]
    otp = person.last_otp()
    assert "old-password-1" not in mail.text and NEW not in mail.text

    done = person.submit(
        OTP_PAGE,
        {"bhxh": "0123456789", "otp": otp, "password": NEW, "password2": NEW},
        follow=True,
    )
    assert done.status_code == 200
    assert "bạn đã đăng nhập" in text(done)
    # The code and the new password prove as much as a sign-in: the account page opens.
    assert "Tài khoản 0123456789" in text(person.client.get("/tai-khoan"))

    refused = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": "old-password-1"})
    assert refused.status_code == 401
    signed_in = person.submit("/dang-nhap", {"bhxh": "0123456789", "password": NEW})
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"].endswith("/tai-khoan")
    assert "Tài khoản 0123456789" in text(person.client.get("/tai-khoan"))


@pytest.mark.parametrize(
    ("bhxh", "email"),
    [("9999999999", EMAIL), ("0123456789", "someone.else@example.vn")],
    ids=["unknown-number", "other-email"],
)
def test_the_answer_is_the_same_whether_or_not_the_pair_matches(
    person: Person, session: Session, bhxh: str, email: str
) -> None:
    add_account_with_email(session)
    matching = text(person.ask())

    other = text(person.ask(bhxh, email))

    strip = re.compile(r'name="csrf_token" value="[^"]*"')
    assert strip.sub("", other.replace(bhxh, "0123456789")) == strip.sub("", matching)
    assert len(person.mailer.to(EMAIL)) == 1  # only the matching pair got a code
    assert person.mailer.to("someone.else@example.vn") == []


def test_a_wrong_captcha_is_refused_stores_nothing_and_uses_up_the_image(
    person: Person, session: Session
) -> None:
    add_account_with_email(session)
    page = person.client.get("/quen-mat-khau")
    captcha_id = _CAPTCHA.search(text(page))[1]  # type: ignore[index]
    right = person.client.get(f"/quen-mat-khau/captcha/{captcha_id}/answer").get_json()["answer"]
    data = {"csrf_token": csrf_of(page), "captcha_id": captcha_id, "bhxh": "0123456789"}
    data["email"] = EMAIL

    wrong = person.client.post("/quen-mat-khau", data={**data, "captcha_answer": "ZZZZZZ"})
    again = person.client.post("/quen-mat-khau", data={**data, "captcha_answer": right})

    assert wrong.status_code == 400
    assert "Mã xác nhận không đúng hoặc đã hết hạn" in text(wrong)
    assert 'aria-describedby="h-captcha_answer e-captcha_answer"' in text(wrong)
    assert again.status_code == 400  # the image was used up by the wrong answer
    assert _CAPTCHA.search(text(wrong))[1] != captcha_id  # type: ignore[index]
    assert requests_stored(session) == 0


@pytest.mark.parametrize(
    ("bhxh", "email", "field", "message"),
    [
        ("01234", EMAIL, "bhxh", "10 chữ số"),
        ("012345678x", EMAIL, "bhxh", "10 chữ số"),
        ("0123456789", "not-an-address", "email", "ten@example.vn"),
        ("", "", "bhxh", "10 chữ số"),
    ],
)
def test_malformed_fields_are_explained_next_to_them_and_change_nothing(
    person: Person, session: Session, bhxh: str, email: str, field: str, message: str
) -> None:
    answer = person.ask(bhxh, email)

    assert answer.status_code == 400
    assert f'id="e-{field}"' in text(answer) and message in text(answer)
    assert 'aria-invalid="true"' in text(answer)
    assert 'value="' + email + '"' in text(answer) or not email  # what was typed stays
    assert requests_stored(session) == 0


def test_a_form_without_its_csrf_token_is_refused(person: Person, session: Session) -> None:
    add_account_with_email(session)
    page = person.client.get("/quen-mat-khau")
    captcha_id = _CAPTCHA.search(text(page))[1]  # type: ignore[index]
    answer = person.client.get(f"/quen-mat-khau/captcha/{captcha_id}/answer").get_json()["answer"]
    data = {"captcha_id": captcha_id, "captcha_answer": answer, "bhxh": "0123456789"}

    forged = person.client.post("/quen-mat-khau", data={**data, "email": EMAIL})
    other_session = Flask.test_client(person.client.application)
    stolen = other_session.post(
        "/quen-mat-khau", data={**data, "email": EMAIL, "csrf_token": csrf_of(page)}
    )

    assert forged.status_code == 400 and stolen.status_code == 400
    assert "Biểu mẫu đã hết hạn" in text(forged)
    assert requests_stored(session) == 0


def test_a_wrong_code_is_refused_in_words(person: Person, session: Session) -> None:
    add_account_with_email(session)
    person.ask()
    otp = person.last_otp()
    wrong = "000000" if otp != "000000" else "111111"

    page = set_password(person, wrong)

    assert "Mã OTP không đúng, đã hết hạn hoặc đã được dùng" in page
    assert 'id="e-otp"' in page


@pytest.mark.parametrize(
    ("new", "again", "message"),
    [
        ("ngan", None, "Mật khẩu mới quá ngắn: cần ít nhất 8 ký tự."),
        ("password123", None, "những mật khẩu phổ biến nhất"),
        ("aaaaaaaaaaaa", None, "chỉ lặp lại một ký tự"),
        ("toi la 0123456789", None, "chứa mã số, số điện thoại hoặc email"),
        (NEW, NEW + "x", "Hai lần nhập mật khẩu mới không giống nhau."),
    ],
    ids=["short", "common", "repeated", "own-number", "mismatch"],
)
def test_a_refused_password_is_explained_and_the_code_still_works(
    person: Person, session: Session, new: str, again: str | None, message: str
) -> None:
    add_account_with_email(session)
    person.ask()
    otp = person.last_otp()

    refused = set_password(person, otp, new, again)
    accepted = set_password(person, otp)

    assert message in refused
    assert 'id="e-password' in refused
    assert "Đã đặt mật khẩu mới" in accepted


def test_wrong_codes_count_the_same_on_the_page_and_in_the_api(
    person: Person, session: Session
) -> None:
    """One implementation, two front doors: five wrong codes lock the code, wherever typed."""
    add_account_with_email(session)
    person.ask()
    otp = person.last_otp()
    wrong = "000000" if otp != "000000" else "111111"
    for _ in range(3):
        set_password(person, wrong)
    for _ in range(2):
        api = person.client.post(
            "/api/v1/recovery/email/verify", json={"bhxh": "0123456789", "otp": wrong}
        )
        assert api.status_code == 400

    locked = set_password(person, otp)

    assert "Mã OTP không đúng" in locked


@pytest.mark.parametrize(
    "path",
    ["/quen-mat-khau", OTP_PAGE, "/dang-nhap"],
)
def test_every_page_carries_the_headers_the_hotline_and_the_sms_alternative(
    person: Person, path: str
) -> None:
    page = person.client.get(path)
    body = text(page)

    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    csp = page.headers["Content-Security-Policy"]
    # Scripts only from this origin (the passkey ceremonies), never inline.
    assert "default-src 'none'" in csp and "script-src 'self';" in csp
    assert "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert '<html lang="vi">' in body
    assert "1900 9068" in body
    assert "BH MK &lt;mã số BHXH&gt;</strong> gửi <strong>8079" in body
    assert "1.000 đ/tin nhắn" in body
    assert "Không nhận được email?" in body  # the same help on every step (SC 3.2.6)
    # No inline script: only the passkey ceremonies and the ALTCHA widget, from this origin.
    scripts = re.findall(r"<script[^>]*>", body)
    assert set(scripts) <= {
        '<script src="/portal/static/passkeys.js" defer>',
        '<script type="module" src="/portal/static/altcha/altcha.min.js">',
        '<script type="module" src="/portal/static/altcha-setup.js">',
    }


def test_the_captcha_side_channel_is_closed_unless_the_test_setting_is_on(
    environ: dict[str, str],
) -> None:
    with app_with(environ, GATEWAY_TEST_CAPTCHA_ANSWERS="false") as app:
        client = app.test_client()
        page = client.get("/quen-mat-khau")
        captcha_id = _CAPTCHA.search(text(page))[1]  # type: ignore[index]
        assert client.get(f"/quen-mat-khau/captcha/{captcha_id}/answer").status_code == 404


def test_the_captcha_side_channel_answers_only_loopback_clients(person: Person) -> None:
    page = person.client.get("/quen-mat-khau")
    captcha_id = _CAPTCHA.search(text(page))[1]  # type: ignore[index]

    remote = person.client.get(
        f"/quen-mat-khau/captcha/{captcha_id}/answer",
        environ_overrides={"REMOTE_ADDR": "203.0.113.7"},
    )

    assert remote.status_code == 404
