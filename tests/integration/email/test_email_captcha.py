"""The portal solves a captcha: single use, expiring, stored hashed; the app skips it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.email.captcha import create_captcha
from gateway.models import Captcha, EmailRecoveryRequest
from gateway.runtime import Runtime
from tests.email_harness import APP_CREDENTIAL

ASK = {"bhxh": "0123456789", "email": "nguyen.van.a@example.vn"}


def challenge(runtime: Runtime, clock: FakeClock, answer: str = "K7PQ2") -> str:
    with runtime.session_factory.begin() as session:
        return create_captcha(session, settings=runtime.settings, now=clock.now(), answer=answer).id


def ask(client: FlaskClient, captcha_id: str | None, answer: str | None) -> Any:
    body: dict[str, Any] = dict(ASK)
    if captcha_id is not None:
        body |= {"captcha_id": captcha_id, "captcha_answer": answer}
    return client.post("/api/v1/recovery/email", json=body)


def test_a_captcha_is_an_id_and_a_png_with_its_answer_stored_hashed(
    client: FlaskClient, session: Session
) -> None:
    response = client.get("/api/v1/captcha")

    body = response.get_json()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body["expires_in"] == 300
    header, _, data = body["image"].partition(",")
    assert header == "data:image/png;base64"
    assert base64.b64decode(data).startswith(b"\x89PNG\r\n\x1a\n")
    stored = session.get(Captcha, body["captcha_id"])
    assert stored is not None and len(stored.answer_hash) == 64


def test_the_portal_must_solve_the_captcha(
    client: FlaskClient, runtime: Runtime, clock: FakeClock, session: Session
) -> None:
    missing = ask(client, None, None)
    right = ask(client, challenge(runtime, clock), "k7pq2")  # case does not matter

    assert (missing.status_code, missing.get_json()["error"]) == (400, "invalid_captcha")
    assert right.status_code == 202
    assert session.scalars(select(EmailRecoveryRequest.via)).all() == ["portal"]


def test_a_captcha_answer_is_single_use(
    client: FlaskClient, runtime: Runtime, clock: FakeClock
) -> None:
    captcha_id = challenge(runtime, clock)

    assert ask(client, captcha_id, "K7PQ2").status_code == 202
    again = ask(client, captcha_id, "K7PQ2")

    assert (again.status_code, again.get_json()["error"]) == (400, "invalid_captcha")


def test_a_wrong_answer_uses_the_captcha_up(
    client: FlaskClient, runtime: Runtime, clock: FakeClock
) -> None:
    captcha_id = challenge(runtime, clock)

    assert ask(client, captcha_id, "WRONG").status_code == 400
    assert ask(client, captcha_id, "K7PQ2").status_code == 400


def test_a_captcha_expires(client: FlaskClient, runtime: Runtime, clock: FakeClock) -> None:
    captcha_id = challenge(runtime, clock)
    clock.advance(minutes=5, seconds=1)

    assert ask(client, captcha_id, "K7PQ2").status_code == 400


def test_the_app_skips_the_captcha_with_its_credential(
    client: FlaskClient, session: Session
) -> None:
    app = client.post(
        "/api/v1/recovery/email", json=ASK, headers={"X-App-Credential": APP_CREDENTIAL}
    )
    impostor = client.post(
        "/api/v1/recovery/email", json=ASK, headers={"X-App-Credential": "not-the-app-credential"}
    )

    assert app.status_code == 202
    assert impostor.status_code == 401
    assert session.scalars(select(EmailRecoveryRequest.via)).all() == ["app"]


@pytest.mark.parametrize(
    "body",
    [
        {"bhxh": "01234", "email": "a@example.vn"},
        {"bhxh": "0123456789", "email": "not-an-address"},
        {"bhxh": "0123456789"},
    ],
)
def test_malformed_requests_are_refused_before_anything_is_stored(
    client: FlaskClient, session: Session, body: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/recovery/email", json=body, headers={"X-App-Credential": APP_CREDENTIAL}
    )

    assert (response.status_code, response.get_json()["error"]) == (400, "invalid_payload")
    assert session.scalars(select(EmailRecoveryRequest)).all() == []
