"""No puzzle on the way back (WCAG 2.2 SC 3.3.8): the ALTCHA proof of work on /quen-mat-khau.

The browser's widget is played by the ``altcha`` library itself: it solves the challenge the
page carries, as the widget would, and the form posts the payload in the ``altcha`` field.
Also here: post/redirect/get for each step, the pasted code, the 429 page.
"""

from __future__ import annotations

import html
import json
import re

import altcha
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.models import EmailRecoveryRequest
from gateway.settings import load_settings
from tests.conftest import make_app
from tests.email_harness import add_account_with_email
from tests.integration.portal.conftest import EMAIL, Person, csrf_of, text

_CHALLENGE = re.compile(r'<altcha-widget name="altcha" challenge="([^"]+)"')
NEW = "mot cau mat khau moi"


def requests_stored(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(EmailRecoveryRequest)) or 0


def solve(page_text: str) -> str:
    """Do the widget's work on the page's challenge; return the payload it would post."""
    found = _CHALLENGE.search(page_text)
    assert found, page_text[:500]
    challenge = altcha.Challenge.from_dict(json.loads(html.unescape(found[1])))
    solution = altcha.solve_challenge(challenge, timeout=30)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def post_with_proof(person: Person, payload: str | None = None, **fields: str) -> object:
    page = person.client.get("/quen-mat-khau")
    data = {
        "csrf_token": csrf_of(page),
        "altcha": payload if payload is not None else solve(text(page)),
        "bhxh": "0123456789",
        "email": EMAIL,
        **fields,
    }
    response = person.client.post("/quen-mat-khau", data=data)
    person.worker.drain()
    return response


def test_the_page_asks_no_puzzle_of_a_browser_with_javascript(person: Person) -> None:
    body = text(person.client.get("/quen-mat-khau"))

    assert "<altcha-widget" in body
    # The image and its answer field are there only for a browser without JavaScript.
    noscript = re.search(r"<noscript>(.*?)</noscript>", body, re.S)
    assert noscript and 'name="captcha_answer"' in noscript[1]
    assert body.count('name="captcha_answer"') == 1
    assert "Gửi mã đến email" in body and "Lấy mật khẩu" not in body


def test_a_solved_challenge_sends_the_code_and_the_address_bar_names_the_next_step(
    person: Person, session: Session
) -> None:
    add_account_with_email(session)

    sent = post_with_proof(person)

    assert sent.status_code == 303  # type: ignore[attr-defined]
    assert sent.headers["Location"].endswith("/quen-mat-khau/otp")  # type: ignore[attr-defined]
    assert requests_stored(session) == 1
    step = text(person.client.get("/quen-mat-khau/otp"))
    assert "mã xác thực (OTP) đang được" in step and "có hiệu lực trong 10 phút" in step
    # The number is not asked twice in one flow (SC 3.3.7): shown, and sent along.
    assert '<input type="hidden" name="bhxh" value="0123456789">' in step
    assert 'autocomplete="one-time-code"' in step and 'inputmode="numeric"' in step
    # A reload shows the step again without posting anything, nor saying "sent" twice.
    again = text(person.client.get("/quen-mat-khau/otp"))
    assert "đang được" not in again and requests_stored(session) == 1


def test_a_solution_works_once(person: Person, session: Session) -> None:
    add_account_with_email(session)
    page = person.client.get("/quen-mat-khau")
    payload = solve(text(page))
    data = {"csrf_token": csrf_of(page), "altcha": payload, "bhxh": "0123456789", "email": EMAIL}

    first = person.client.post("/quen-mat-khau", data=data)
    replayed = person.client.post("/quen-mat-khau", data=data)

    assert first.status_code == 303
    assert replayed.status_code == 400
    assert "Trình duyệt chưa tự kiểm tra được" in text(replayed)
    # After a refused proof the image is offered too, outside <noscript>: always a way through.
    assert re.search(r'<input id="f-captcha_answer"', text(replayed))
    assert "<noscript>" not in text(replayed).split("<form", 1)[1].split("</form>")[0]
    assert requests_stored(session) == 1


def test_an_expired_challenge_is_refused_before_anything_is_stored(
    app: Flask, clock: FakeClock, person: Person, session: Session
) -> None:
    add_account_with_email(session)
    page = person.client.get("/quen-mat-khau")
    payload = solve(text(page))
    clock.advance(minutes=6)  # GATEWAY_CAPTCHA_TTL is 5 minutes

    late = person.client.post(
        "/quen-mat-khau",
        data={"csrf_token": csrf_of(page), "altcha": payload, "bhxh": "0123456789", "email": EMAIL},
    )

    assert late.status_code == 400
    assert requests_stored(session) == 0


@pytest.mark.parametrize(
    "payload",
    ["bm90IGpzb24=", "x" * 5000, "%%%"],
    ids=["not-json", "too-long", "not-base64"],
)
def test_a_forged_payload_is_refused(person: Person, session: Session, payload: str) -> None:
    add_account_with_email(session)

    refused = post_with_proof(person, payload)

    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert requests_stored(session) == 0


def test_a_challenge_signed_with_another_key_is_refused(person: Person, session: Session) -> None:
    add_account_with_email(session)
    challenge = altcha.create_challenge(
        algorithm="PBKDF2/SHA-256", cost=10, data={"expires": 2**40}, hmac_secret="not ours"
    )
    solution = altcha.solve_challenge(challenge)
    assert solution is not None

    refused = post_with_proof(person, altcha.Payload(challenge, solution).to_base64())

    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert requests_stored(session) == 0


@pytest.mark.parametrize("typed", ["{} {}", "{}-{}", " {}  {} "])
def test_the_code_may_be_pasted_with_spaces_or_a_hyphen(
    person: Person, session: Session, typed: str
) -> None:
    add_account_with_email(session)
    person.ask()
    otp = person.last_otp()

    done = person.submit(
        "/quen-mat-khau/otp",
        {
            "bhxh": "0123456789",
            "otp": typed.format(otp[:3], otp[3:]),
            "password": NEW,
            "password2": NEW,
        },
    )

    assert done.status_code == 303
    assert done.headers["Location"].endswith("/quen-mat-khau/xong")
    result = person.client.get("/quen-mat-khau/xong")
    assert "bạn đã đăng nhập" in text(result)
    assert "số điện thoại và email đã đăng ký" in text(result)
    # The result page is for right after the recovery: a reload posts nothing.
    assert person.client.get("/quen-mat-khau/xong").status_code == 200


def test_the_result_page_is_only_for_someone_who_just_recovered(person: Person) -> None:
    away = person.client.get("/quen-mat-khau/xong")

    assert away.status_code == 303 and away.headers["Location"].endswith("/quen-mat-khau")


def test_the_429_page_says_how_long_to_wait_and_keeps_what_was_typed(
    environ: dict[str, str],
) -> None:
    environ["GATEWAY_RATELIMIT_ENABLED"] = "true"
    environ["GATEWAY_RATELIMIT_RECOVERY"] = "2/minute"
    app = make_app(load_settings(environ), FakeClock())
    client = app.test_client()
    page = client.get("/quen-mat-khau")
    data = {"csrf_token": csrf_of(page), "bhxh": "0123456789", "email": EMAIL}

    client.post("/quen-mat-khau", data=data)
    limited = client.post("/quen-mat-khau", data=data)

    assert limited.status_code == 429
    body = text(limited)
    assert re.search(r"Hãy đợi \d+ (giây|phút) rồi thử lại", body)
    assert int(limited.headers["Retry-After"]) > 0
    assert "mã số 0123456789" in body and f"email {EMAIL}" in body
    assert 'href="/quen-mat-khau">Thử lại' in body
    # The retry, once the wait is over, finds the fields filled in (never a password).
    with client.session_transaction("/quen-mat-khau") as kept:
        assert kept["kept"] == {"bhxh": "0123456789", "email": EMAIL}
