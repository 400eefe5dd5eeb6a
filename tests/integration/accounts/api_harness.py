"""What the tests of the account API (Smart OTP, passkeys) share: the owner, a cheap hasher, a
login, and the shape of a JSON answer.

Each test module keeps its own fixtures (they differ in what they override), built from these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.accounts.passwords import Argon2Hasher
from gateway.clock import FakeClock
from gateway.models import Account
from gateway.settings import Settings
from tests.conftest import make_app
from tests.email_harness import add_account_with_email

ORIGIN = "http://localhost:8000"
BHXH, PHONE, EMAIL = "0123456789", "0912345678", "nguyen.van.a@example.vn"
PERSONAL_ID = "001099012345"
PASSWORD = "the owners own 1"
NEW_PASSWORD = "a fresh passphrase for VssID"
LOGIN = "/api/v1/auth/login"
# Real argon2, cheap: these rules are about codes, passkeys and sessions, not hashing cost.
FAST = Argon2Hasher(time_cost=1, memory_cost=8)

Body = dict[str, Any]


def fast_app(settings: Settings, clock: FakeClock) -> Iterator[Flask]:
    """Yield the app, hashing passwords with the cheap argon2 parameters (a fixture's body)."""
    app = make_app(settings, clock)
    app.extensions["gateway"] = dataclasses.replace(app.extensions["gateway"], hasher=FAST)
    yield app
    app.extensions["gateway"].engine.dispose()


def add_holder(
    session: Session,
    bhxh: str = BHXH,
    phone: str = PHONE,
    *,
    email: str | None = EMAIL,
    password: str = PASSWORD,
    personal_id: str | None = PERSONAL_ID,
) -> Account:
    """Add an account with a chosen password (hashed cheaply); by default, the owner's."""
    account = add_account_with_email(
        session, bhxh, phone, email=email, password=None, personal_id=personal_id
    )
    account.password_hash = FAST.hash(password)
    session.commit()
    return account


def bearer(token: str | None, code: str | None = None) -> dict[str, str]:
    """The headers of a call with ``token`` (none without one), and a Smart OTP step-up code."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if code is not None:
        headers["X-Smart-OTP"] = code
    return headers


def log_in(client: FlaskClient, bhxh: str = BHXH, password: str = PASSWORD) -> str:
    """Log in with a password; return the session token."""
    answer = client.post(LOGIN, json={"bhxh": bhxh, "password": password})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["token"]  # type: ignore[no-any-return]


def answer(response: TestResponse) -> tuple[int, Any]:
    """The status and JSON body of an answer, to compare in one assert."""
    return response.status_code, response.get_json()


def error(response: TestResponse) -> tuple[int, str | None]:
    """The status and error code of an answer."""
    body = response.get_json(silent=True) or {}
    return response.status_code, body.get("error")


def refusal(status: int, error: str, why: str, reason: str) -> tuple[int, Body]:
    """The status and JSON body of a refusal, as :func:`answer` reads them."""
    return status, {"error": error, "reason": reason, "why": why}
