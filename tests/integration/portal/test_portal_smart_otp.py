"""Smart OTP in the portal: turn it on with the phone's app, prove it again, turn it off,
step up with it on the email and passkey pages, and recover the password with a code.

A person with a browser-like client (tests/integration/portal/conftest.py) plays the
citizen; pyotp plays the authenticator app on the phone, reading the seed from the page as a
person copies it. The fake clock says which 30-second code the app shows; each code is
accepted once per account, so a test moves the clock on before it needs a new one.
"""

from __future__ import annotations

import base64
import io
import re
import urllib.parse

import pyotp
import pytest
import segno
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.clock import FakeClock
from gateway.models import Account, OutboxMessage, Passkey, SmartOtp
from gateway.states import Channel
from tests.email_harness import add_account_with_email
from tests.integration.portal.conftest import EMAIL, Person, csrf_of, text

BHXH = "0123456789"
PASSWORD = "old-password-1"
NEW = "mot cau mat khau moi"
NEW_EMAIL = "a.moi@example.vn"
MANAGE = "/tai-khoan/smart-otp"
ENROL = "/tai-khoan/smart-otp/bat"
ACTIVATE = "/tai-khoan/smart-otp/kich-hoat"
DISABLE = "/tai-khoan/smart-otp/tat"
CONFIRM = "/tai-khoan/smart-otp/xac-nhan"
RECOVER = "/quen-mat-khau/smart-otp"
STEP_UP = "Hãy nhập mã Smart OTP hiện tại trong ứng dụng (mỗi mã chỉ dùng được một lần)."
WRONG_NEW_CODE = "Mã không khớp với Smart OTP mới."
REFUSED = "Mã số hoặc mã Smart OTP không đúng (hoặc mã đã được dùng)."
TODAY = "02/11/2026"  # the fake clock's day in Vietnam
_SEED = re.compile(r'<p class="secret"><code>([A-Z2-7 ]+)</code></p>')
_QR = re.compile(r'<figure class="qr">\s*<img src="(data:image/png;base64,[^"]+)" alt="([^"]+)"')
_OTPAUTH = re.compile(r'href="(otpauth://[^"]+)"')
_SCRIPT = re.compile(r"<script\b[^>]*>")


# -- the person and their phone ------------------------------------------------------------------


def fresh(person: Person) -> Person:
    """Another browser (its own cookie) for the same mailbox and worker."""
    return Person(person.client.application.test_client(), person.worker, person.mailer)


def sign_in(person: Person, password: str = PASSWORD) -> None:
    answer = person.submit("/dang-nhap", {"bhxh": BHXH, "password": password})
    assert answer.status_code == 303, text(answer)[:800]
    assert answer.headers["Location"].endswith("/tai-khoan")


def post(person: Person, path: str, page: TestResponse, data: dict[str, str]) -> TestResponse:
    """Post the form of a page already shown (its CSRF token), then let the worker run."""
    answer = person.client.post(path, data={"csrf_token": csrf_of(page), **data})
    person.worker.drain()
    return answer


def seed_of(page: TestResponse) -> str:
    """Read the seed as a person copies it (groups of 4), checked against the otpauth link."""
    body = text(page)
    shown = _SEED.search(body)
    link = _OTPAUTH.search(body)
    assert shown and link, body[:1500]
    grouped = shown[1]
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})*( [A-Z2-7]{1,3})?", grouped), grouped
    secret = grouped.replace(" ", "")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link[1].replace("&amp;", "&")).query)
    assert query["secret"] == [secret]
    return secret


def code_of(secret: str, clock: FakeClock) -> str:
    """The code the app shows now."""
    return pyotp.TOTP(secret).at(clock.now())


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def start(person: Person) -> TestResponse:
    """Press "Bật Smart OTP" on the status page."""
    shown = person.submit(ENROL, {}, page=MANAGE)
    assert shown.status_code == 200, text(shown)[:1500]
    return shown


def turn_on(person: Person, clock: FakeClock) -> str:
    """Enrol and confirm through the pages; return the seed (its current code is spent)."""
    shown = start(person)
    secret = seed_of(shown)
    done = post(person, ACTIVATE, shown, {"code": code_of(secret, clock)})
    assert done.status_code == 303, text(done)[:1500]
    assert done.headers["Location"].endswith(MANAGE)
    return secret


# -- what is stored ------------------------------------------------------------------------------


def device_of(session: Session, account_id: int) -> SmartOtp | None:
    session.expire_all()
    return session.get(SmartOtp, account_id)


def notices(session: Session, words: str) -> list[OutboxMessage]:
    """The SMS and emails queued so far whose text says ``words``."""
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [row for row in rows if words in row.safe_text or words in (row.subject or "")]


def channels(rows: list[OutboxMessage]) -> set[Channel]:
    return {row.channel for row in rows}


@pytest.fixture
def owner(person: Person, session: Session) -> Account:
    """An account (email from BHXH's records) signed in with its password."""
    account = add_account_with_email(session)
    sign_in(person)
    return account


@pytest.fixture
def enrolled(person: Person, owner: Account, clock: FakeClock) -> str:
    """The owner's Smart OTP, on; the clock moved to the next code. Returns the seed."""
    secret = turn_on(person, clock)
    clock.advance(seconds=30)
    return secret


# -- 1. turning it on ----------------------------------------------------------------------------


def test_a_citizen_turns_smart_otp_on_with_a_code_from_the_app(
    person: Person, owner: Account, session: Session, clock: FakeClock
) -> None:
    before = text(person.client.get(MANAGE))
    assert "Smart OTP chưa bật." in before
    assert f'action="{ENROL}"' in before and ">Bật Smart OTP</button>" in before
    assert f'href="{MANAGE}"' in text(person.client.get("/tai-khoan"))  # Tài khoản → Smart OTP

    shown = start(person)
    secret = seed_of(shown)
    pending = device_of(session, owner.id)
    assert pending is not None and pending.pending_secret == secret and pending.secret is None
    assert f'action="{ACTIVATE}"' in text(shown) and 'name="code"' in text(shown)
    assert 'autocomplete="one-time-code"' in text(shown)

    done = post(person, ACTIVATE, shown, {"code": code_of(secret, clock)})

    assert done.status_code == 303 and done.headers["Location"].endswith(MANAGE)
    status = text(person.client.get(MANAGE))
    assert "Đã bật Smart OTP. Chúng tôi đã báo cho số điện thoại và email." in status
    assert f"Smart OTP đang bật từ ngày {TODAY}." in status
    assert "Chuyển sang điện thoại mới" in status and f'action="{DISABLE}"' in status
    assert "Đã bật Smart OTP" not in text(person.client.get(MANAGE))  # the notice shows once
    device = device_of(session, owner.id)
    assert device is not None
    assert device.secret == secret and device.pending_secret is None
    assert device.enabled_at == clock.now()
    told = notices(session, "vua duoc bat") + notices(session, "vừa được bật")
    assert channels(told) == {Channel.SMS, Channel.EMAIL}
    assert any(row.recipient == EMAIL for row in told)


def test_the_enrol_page_is_a_plain_form_with_a_png_qr_code_of_the_otpauth_link(
    person: Person, owner: Account
) -> None:
    shown = start(person)
    body = text(shown)
    secret = seed_of(shown)

    qr = _QR.search(body)
    assert qr, body[:1500]
    data_url, alt = qr[1], qr[2]
    assert alt.startswith("Mã QR") and "khóa bí mật" in alt  # says what it is, in Vietnamese
    png = base64.b64decode(data_url.removeprefix("data:image/png;base64,"), validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # The picture's modules are those of a QR code of the link shown beside it.
    uri = _OTPAUTH.search(body)[1].replace("&amp;", "&")  # type: ignore[index]
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert "issuer=VssID%20BHXH" in uri
    matrix = segno.make(uri, error="m").matrix
    image = Image.open(io.BytesIO(png)).convert("L")
    scale, border = image.width // (len(matrix) + 4), 2
    assert image.width == image.height == (len(matrix) + 2 * border) * scale
    for row, modules in enumerate(matrix):
        for col, dark in enumerate(modules):
            x, y = (col + border) * scale + scale // 2, (row + border) * scale + scale // 2
            assert (image.getpixel((x, y)) < 128) == bool(dark), (row, col)
    # No script at all; the CSP lets the data: image in and nothing inline.
    assert _SCRIPT.findall(body) == []
    csp = shown.headers["Content-Security-Policy"]
    assert "img-src 'self' data:" in csp and "unsafe-inline" not in csp
    assert shown.headers["Cache-Control"] == "no-store"  # the seed stays out of caches


def test_a_wrong_first_code_shows_the_same_seed_again_with_the_error_at_the_field(
    person: Person, owner: Account, session: Session, clock: FakeClock
) -> None:
    shown = start(person)
    secret = seed_of(shown)

    wrong = post(person, ACTIVATE, shown, {"code": other_than(code_of(secret, clock))})

    assert wrong.status_code == 400
    assert seed_of(wrong) == secret  # the same seed: the phone already holds it
    body = text(wrong)
    assert WRONG_NEW_CODE in body
    assert '<p class="error" id="e-code">' in body and 'aria-describedby="e-code"' in body
    device = device_of(session, owner.id)
    assert device is not None and device.secret is None and device.pending_secret == secret
    assert "Smart OTP chưa bật." in text(person.client.get(MANAGE))

    done = post(person, ACTIVATE, wrong, {"code": code_of(secret, clock)})

    assert done.status_code == 303
    assert f"Smart OTP đang bật từ ngày {TODAY}." in text(person.client.get(MANAGE))


def test_an_empty_first_code_shows_the_same_seed_again(
    person: Person, owner: Account, session: Session
) -> None:
    shown = start(person)
    secret = seed_of(shown)

    empty = post(person, ACTIVATE, shown, {"code": ""})

    assert empty.status_code == 400
    assert 'id="f-code"' in text(empty)  # the summary's link has its field
    assert '<p class="error" id="e-code">' in text(empty)
    assert seed_of(empty) == secret  # the phone already holds it


def test_an_expired_enrolment_is_not_offered_again(
    person: Person, owner: Account, session: Session, clock: FakeClock
) -> None:
    shown = start(person)
    secret = seed_of(shown)
    clock.advance(minutes=16)

    late = post(person, ACTIVATE, shown, {"code": code_of(secret, clock)})

    assert late.status_code in (400, 404)
    assert secret[:4] + " " + secret[4:8] not in text(late)  # not the dead seed again
    assert "Mã không khớp với Smart OTP mới" not in text(late)  # the phone's time is fine
    assert "hết hạn" in text(late)
    assert device_of(session, owner.id).secret is None  # type: ignore[union-attr]


# -- 2. proving it again after five minutes ------------------------------------------------------


def test_after_six_minutes_a_smart_otp_code_confirms_it_is_the_owner(
    person: Person, enrolled: str, clock: FakeClock
) -> None:
    clock.advance(minutes=6)
    page = person.client.get(MANAGE)
    body = text(page)
    assert "Xác nhận đó là bạn" in body and f'action="{CONFIRM}"' in body
    assert 'name="current"' in body and 'name="smart_otp_code"' in body
    assert f'action="{ENROL}"' not in body and f'action="{DISABLE}"' not in body
    late = post(person, DISABLE, page, {"code": code_of(enrolled, clock)})
    assert late.status_code == 403
    assert "đăng nhập đã quá 5 phút" in text(late)

    wrong = post(person, CONFIRM, page, {"smart_otp_code": other_than(code_of(enrolled, clock))})
    assert wrong.status_code == 401
    assert 'id="e-smart_otp_code"' in text(wrong) and "Mã Smart OTP không đúng" in text(wrong)
    clock.advance(seconds=30)  # the code tried on /tat above is still unspent: a new one anyway
    confirmed = post(person, CONFIRM, page, {"smart_otp_code": code_of(enrolled, clock)})

    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith(MANAGE)
    after = text(person.client.get(MANAGE))
    assert "Xác nhận đó là bạn" not in after
    assert f'action="{ENROL}"' in after and f'action="{DISABLE}"' in after


def test_after_six_minutes_the_password_confirms_too(
    person: Person, enrolled: str, clock: FakeClock
) -> None:
    clock.advance(minutes=6)
    page = person.client.get(MANAGE)

    wrong = post(person, CONFIRM, page, {"current": "khong dung"})
    confirmed = post(person, CONFIRM, page, {"current": PASSWORD})

    assert wrong.status_code == 401 and 'id="e-current"' in text(wrong)
    assert confirmed.status_code == 303
    assert f'action="{DISABLE}"' in text(person.client.get(MANAGE))


def test_without_smart_otp_the_confirmation_asks_for_the_password_only(
    person: Person, owner: Account, clock: FakeClock
) -> None:
    clock.advance(minutes=6)
    page = person.client.get(MANAGE)
    body = text(page)

    assert "Xác nhận đó là bạn" in body and 'name="current"' in body
    assert 'name="smart_otp_code"' not in body
    code = post(person, CONFIRM, page, {"smart_otp_code": "123456"})
    assert code.status_code == 401  # no Smart OTP: a code proves nothing
    assert "Xác nhận đó là bạn" in text(person.client.get(MANAGE))


# -- 3. turning it off and replacing the phone ---------------------------------------------------


@pytest.mark.parametrize("typed", ["", "wrong"], ids=["no-code", "wrong-code"])
def test_turning_it_off_needs_a_current_code(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock, typed: str
) -> None:
    page = person.client.get(MANAGE)
    code = other_than(code_of(enrolled, clock)) if typed == "wrong" else ""

    refused = post(person, DISABLE, page, {"code": code})

    assert refused.status_code == 403
    body = text(refused)
    assert f'<p class="error" id="e-code-off">{STEP_UP}</p>' in body  # beside its own field
    off = re.search(r'<input id="f-code-off"[^>]*>', body)
    assert off and 'aria-invalid="true"' in off[0] and 'aria-describedby="e-code-off"' in off[0]
    assert '<a href="#f-code-off">' in body  # the summary leads to it
    assert 'id="e-code"' not in body  # not beside the replace-phone field
    assert f"Smart OTP đang bật từ ngày {TODAY}." in body
    device = device_of(session, owner.id)
    assert device is not None and device.secret == enrolled
    assert notices(session, "vua bi tat") == []


def test_turning_it_off_with_a_code_forgets_the_seed_and_tells_the_owner(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    page = person.client.get(MANAGE)

    done = post(person, DISABLE, page, {"code": code_of(enrolled, clock)})

    assert done.status_code == 303 and done.headers["Location"].endswith(MANAGE)
    status = text(person.client.get(MANAGE))
    assert "Đã tắt Smart OTP. Chúng tôi đã báo cho số điện thoại và email." in status
    assert "Smart OTP chưa bật." in status
    assert device_of(session, owner.id) is None
    told = notices(session, "vua bi tat") + notices(session, "đã bị tắt")
    assert channels(told) == {Channel.SMS, Channel.EMAIL}


def test_replacing_the_phone_needs_the_current_code(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    page = person.client.get(MANAGE)
    assert "Chuyển sang điện thoại mới" in text(page) and ">Thay điện thoại</button>" in text(page)

    refused = post(person, ENROL, page, {})
    wrong = post(person, ENROL, page, {"code": other_than(code_of(enrolled, clock))})
    assert refused.status_code == wrong.status_code == 403
    assert STEP_UP in text(refused) and 'id="e-code"' in text(refused)
    device = device_of(session, owner.id)
    assert device is not None and device.pending_secret is None

    shown = post(person, ENROL, page, {"code": code_of(enrolled, clock)})
    assert shown.status_code == 200
    new = seed_of(shown)
    assert new != enrolled
    device = device_of(session, owner.id)
    assert device is not None and device.secret == enrolled  # the old phone until confirmed
    clock.advance(seconds=30)
    done = post(person, ACTIVATE, shown, {"code": code_of(new, clock)})

    assert done.status_code == 303
    device = device_of(session, owner.id)
    assert device is not None and device.secret == new and device.pending_secret is None
    assert len(notices(session, "vua duoc bat")) == 2  # one SMS at each enrolment
    # The old phone's codes no longer work.
    clock.advance(seconds=30)
    page = person.client.get(MANAGE)
    old = post(person, DISABLE, page, {"code": code_of(enrolled, clock)})
    assert old.status_code == 403
    assert device_of(session, owner.id) is not None


def test_guessing_step_up_codes_is_throttled(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    """A holder of the session (who knows the password) cannot try codes without end."""
    page = person.client.get(MANAGE)
    wrong = other_than(code_of(enrolled, clock))
    for _ in range(6):  # the sign-in throttle's five free failures, then a wait
        assert post(person, DISABLE, page, {"code": wrong}).status_code == 403

    throttled = post(person, DISABLE, page, {"code": code_of(enrolled, clock)})

    assert throttled.status_code == 429
    assert re.search(r"Nhập sai nhiều lần\. Hãy thử lại sau \d+ giây\.", text(throttled))
    assert device_of(session, owner.id) is not None  # the right code waited too
    clock.advance(seconds=30)
    page = person.client.get(MANAGE)
    assert post(person, DISABLE, page, {"code": code_of(enrolled, clock)}).status_code == 303
    assert device_of(session, owner.id) is None


# -- 4. the step-up on the email and passkey pages -----------------------------------------------


def test_changing_the_email_needs_a_code_once_smart_otp_is_on(
    person: Person, owner: Account, session: Session, clock: FakeClock
) -> None:
    assert 'name="smart_otp_code"' not in text(person.client.get("/tai-khoan/email"))
    secret = turn_on(person, clock)
    clock.advance(seconds=30)
    page = person.client.get("/tai-khoan/email")
    assert 'name="smart_otp_code"' in text(page)

    asked = {"current": PASSWORD, "email": NEW_EMAIL}
    missing = post(person, "/tai-khoan/email", page, asked)
    wrong = post(
        person,
        "/tai-khoan/email",
        page,
        {**asked, "smart_otp_code": other_than(code_of(secret, clock))},
    )
    for refused in (missing, wrong):
        assert refused.status_code == 400
        body = text(refused)
        assert '<p class="error" id="e-smart_otp_code">' + STEP_UP in body
        assert 'aria-describedby="e-smart_otp_code"' in body
        assert f'value="{NEW_EMAIL}"' in body  # what was typed stays
    assert person.mailer.to(NEW_EMAIL) == []

    code = code_of(secret, clock)
    asked_with_code = post(person, "/tai-khoan/email", page, {**asked, "smart_otp_code": code})
    again = post(person, "/tai-khoan/email", page, {**asked, "smart_otp_code": code})

    assert asked_with_code.status_code == 200
    assert "Chúng tôi vừa gửi mã" in text(asked_with_code)
    assert len(person.mailer.to(NEW_EMAIL)) == 1
    assert again.status_code == 400 and 'id="e-smart_otp_code"' in text(again)  # spent


def test_removing_a_passkey_needs_a_code_once_smart_otp_is_on(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    passkey = Passkey(
        account_id=owner.id,
        credential_id="Y3JlZGVudGlhbC0x",
        public_key=b"\xa5\x01\x02",
        sign_count=0,
        transports="internal",
        aaguid="00000000-0000-0000-0000-000000000000",
        synced=False,
        backed_up=False,
        name="Điện thoại cũ",
        created_at=clock.now(),
    )
    session.add(passkey)
    session.commit()
    passkey_id = passkey.id
    remove = f"/tai-khoan/khoa-truy-cap/{passkey_id}/xoa"
    page = person.client.get("/tai-khoan/khoa-truy-cap")
    field = f"smart_otp_code-{passkey_id}"
    assert f'id="f-{field}" name="smart_otp_code"' in text(page)

    missing = post(person, remove, page, {})
    wrong = post(person, remove, page, {"smart_otp_code": other_than(code_of(enrolled, clock))})
    for refused in (missing, wrong):
        assert refused.status_code == 403
        assert f'<p class="error" id="e-{field}">' in text(refused)
        assert "Hãy nhập mã Smart OTP hiện tại" in text(refused)
    session.expire_all()
    assert session.get(Passkey, passkey_id) is not None

    done = post(person, remove, page, {"smart_otp_code": code_of(enrolled, clock)})

    assert done.status_code == 303
    session.expire_all()
    assert session.get(Passkey, passkey_id) is None


# -- 5. recovering the password with a code ------------------------------------------------------


def recover(person: Person, bhxh: str, code: str) -> TestResponse:
    return person.submit(RECOVER, {"bhxh": bhxh, "code": code})


def test_the_forgot_page_leads_to_the_smart_otp_recovery(person: Person) -> None:
    forgot = text(person.client.get("/quen-mat-khau"))
    assert f'<a href="{RECOVER}">Lấy lại mật khẩu bằng mã Smart OTP</a>' in forgot

    page = person.client.get(RECOVER)

    body = text(page)
    assert page.status_code == 200
    assert "<h1>Lấy lại mật khẩu bằng Smart OTP</h1>" in body
    assert 'name="bhxh"' in body and 'name="code"' in body
    assert _SCRIPT.findall(body) == []


def test_a_wrong_code_an_unknown_number_and_no_smart_otp_get_the_same_answer(
    person: Person, enrolled: str, session: Session, clock: FakeClock
) -> None:
    add_account_with_email(session, "0987654321", "0913000111", email="b@example.vn")
    browser = fresh(person)
    code = code_of(enrolled, clock)

    answers = {
        bhxh: recover(browser, bhxh, guess)
        for bhxh, guess in (
            (BHXH, other_than(code)),
            ("9999999999", code),
            ("0987654321", code),  # an account without Smart OTP
        )
    }

    strip = re.compile(r'name="csrf_token" value="[^"]*"')
    bodies = {
        strip.sub("", text(answer).replace(bhxh, "NUMBER")) for bhxh, answer in answers.items()
    }
    assert {answer.status_code for answer in answers.values()} == {401}
    assert len(bodies) == 1
    [body] = bodies
    assert f'<p class="error" id="e-code">{REFUSED}</p>' in body
    assert 'value="NUMBER"' in body  # the number typed stays
    assert browser.client.get("/doi-mat-khau").status_code == 303  # nobody signed in


def test_missing_fields_are_explained_next_to_them(person: Person) -> None:
    answer = recover(person, "", "")

    assert answer.status_code == 400
    assert 'id="e-bhxh"' in text(answer) and 'id="e-code"' in text(answer)


def test_a_right_code_leads_to_a_new_password_with_smart_otp_in_the_review(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    browser = fresh(person)

    answer = recover(browser, BHXH, code_of(enrolled, clock))

    assert answer.status_code == 303, text(answer)[:1500]
    assert answer.headers["Location"].endswith("/doi-mat-khau")
    assert browser.client.get("/tai-khoan").status_code == 303  # restricted: that page only
    page = text(browser.client.get("/doi-mat-khau"))
    assert "<h1>Đặt mật khẩu mới</h1>" in page and 'name="current"' not in page
    assert 'name="remove_smart_otp" value="1"' in page
    label = re.search(r'<label for="rm-smart-otp">([^<]+)</label>', page)
    assert label and f"Tắt Smart OTP (bật ngày {TODAY})" in " ".join(label[1].split())
    recovered = notices(session, "lay lai mat khau bang Smart OTP")
    assert [row.channel for row in recovered] == [Channel.SMS]  # and the email below
    assert notices(session, "lấy lại mật khẩu bằng Smart OTP")


def test_ticking_smart_otp_while_setting_the_new_password_turns_it_off(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    browser = fresh(person)
    recover(browser, BHXH, code_of(enrolled, clock))

    done = browser.submit(
        "/doi-mat-khau", {"password": NEW, "password2": NEW, "remove_smart_otp": "1"}
    )

    assert done.status_code == 200
    assert "<h1>Đã đổi mật khẩu</h1>" in text(done) and "Đã xóa 1 mục bạn chọn." in text(done)
    assert device_of(session, owner.id) is None
    told = notices(session, "vua bi tat") + notices(session, "đã bị tắt")
    assert channels(told) == {Channel.SMS, Channel.EMAIL}
    assert "Smart OTP chưa bật." in text(browser.client.get(MANAGE))
    signed_in = fresh(person)
    sign_in(signed_in, NEW)


def test_left_unticked_smart_otp_stays_on_after_the_recovery(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    browser = fresh(person)
    recover(browser, BHXH, code_of(enrolled, clock))

    done = browser.submit("/doi-mat-khau", {"password": NEW, "password2": NEW})

    assert "<h1>Đã đổi mật khẩu</h1>" in text(done) and "Đã xóa" not in text(done)
    device = device_of(session, owner.id)
    assert device is not None and device.secret == enrolled
    assert notices(session, "vua bi tat") == []


def test_a_code_recovers_once(
    person: Person, owner: Account, enrolled: str, clock: FakeClock
) -> None:
    code = code_of(enrolled, clock)
    first = recover(fresh(person), BHXH, code)

    clock.advance(seconds=10)  # the same 30-second step: the app still shows this code
    second = recover(fresh(person), BHXH, code)

    assert first.status_code == 303
    assert second.status_code == 401 and REFUSED in text(second)


def test_the_code_that_turned_smart_otp_on_does_not_recover(
    person: Person, owner: Account, clock: FakeClock
) -> None:
    secret = turn_on(person, clock)

    answer = recover(fresh(person), BHXH, code_of(secret, clock))

    assert answer.status_code == 401


def test_repeated_wrong_codes_make_the_next_try_wait(
    person: Person, owner: Account, enrolled: str, clock: FakeClock
) -> None:
    browser = fresh(person)
    right = code_of(enrolled, clock)
    for _ in range(6):  # five free failures, then each one doubles the wait
        assert recover(browser, BHXH, other_than(right)).status_code == 401

    throttled = recover(browser, BHXH, right)

    assert throttled.status_code == 429
    message = re.search(r'<p class="error" id="e-code">([^<]+)</p>', text(throttled))
    assert message and re.fullmatch(r"Nhập sai nhiều lần\. Hãy thử lại sau \d+ giây\.", message[1])
    assert browser.client.get("/doi-mat-khau").status_code == 303  # the right code waited too
    clock.advance(seconds=5)
    assert recover(browser, BHXH, right).status_code == 303  # after the wait it works


def test_wrong_codes_for_an_unknown_number_are_throttled_alike(
    person: Person, enrolled: str, clock: FakeClock
) -> None:
    for _ in range(6):
        recover(person, "9999999999", "123456")

    throttled = recover(person, "9999999999", "123456")

    assert throttled.status_code == 429
    assert "Hãy thử lại sau" in text(throttled)


def test_the_recovery_session_cannot_turn_smart_otp_off_without_the_review(
    person: Person, owner: Account, enrolled: str, session: Session, clock: FakeClock
) -> None:
    """The restricted session opens /doi-mat-khau only: /tai-khoan/smart-otp/tat sends it back."""
    browser = fresh(person)
    recover(browser, BHXH, code_of(enrolled, clock))
    page = browser.client.get("/doi-mat-khau")

    answer = post(browser, DISABLE, page, {"code": ""})

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/doi-mat-khau")
    assert device_of(session, owner.id) is not None


def test_a_code_typed_as_the_app_shows_it_is_accepted(
    person: Person, owner: Account, session: Session, clock: FakeClock
) -> None:
    shown = start(person)
    secret = seed_of(shown)
    code = code_of(secret, clock)

    done = post(person, ACTIVATE, shown, {"code": f" {code[:3]} {code[3:]} "})

    assert done.status_code == 303
    device = device_of(session, owner.id)
    assert device is not None and device.secret == secret


def test_the_citizen_id_number_recovers_too(
    person: Person, session: Session, clock: FakeClock
) -> None:
    add_account_with_email(session, personal_id="001090012345")
    sign_in(person)
    secret = turn_on(person, clock)
    clock.advance(seconds=30)

    answer = recover(fresh(person), "001090012345", code_of(secret, clock))

    assert answer.status_code == 303 and answer.headers["Location"].endswith("/doi-mat-khau")


def test_wrong_codes_count_in_the_sign_in_throttle_too(
    person: Person, owner: Account, enrolled: str, clock: FakeClock
) -> None:
    """One counter per identifier: guessing codes does not buy fresh password guesses."""
    browser = fresh(person)
    for _ in range(6):
        recover(browser, BHXH, other_than(code_of(enrolled, clock)))

    answer = browser.submit("/dang-nhap", {"bhxh": BHXH, "password": PASSWORD})

    assert answer.status_code == 429
    assert "Hãy thử lại sau" in text(answer)
