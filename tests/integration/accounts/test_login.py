"""Login and password change: the temporary password logs in once and must then be changed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.models import AccountState
from tests.harness import Phones, add_account


def login(client: FlaskClient, password: str, bhxh: str = "0123456789") -> Any:
    return client.post("/api/v1/auth/login", json={"bhxh": bhxh, "password": password})


def change(client: FlaskClient, password: str, new: str, bhxh: str = "0123456789") -> Any:
    return client.post(
        "/api/v1/auth/password", json={"bhxh": bhxh, "password": password, "new_password": new}
    )


@pytest.fixture
def temporary(phones: Phones, session: Session) -> str:
    """Text for a new password and return it."""
    add_account(session, "0123456789", "0912345678", password="old-password-1")
    [reply] = phones.text("0912345678", "BH MK 0123456789")
    match = re.search(r"Mat khau: (\w+)\.", reply)
    assert match
    return match[1]


def test_temporary_password_logs_in_once_and_must_be_changed(
    client: FlaskClient, temporary: str
) -> None:
    first = login(client, temporary)
    assert first.status_code == 200
    assert first.get_json()["must_change_password"] is True
    assert first.get_json()["token"]

    assert login(client, temporary).status_code == 401


def test_the_restricted_session_sets_a_password_that_retires_both_old_ones(
    client: FlaskClient, temporary: str
) -> None:
    token = login(client, temporary).get_json()["token"]

    changed = client.post(
        "/api/v1/auth/password",
        json={"new_password": "my new password"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert changed.status_code == 200
    assert changed.get_json()["must_change_password"] is False
    assert login(client, temporary).status_code == 401
    assert login(client, "old-password-1").status_code == 401
    fresh = login(client, "my new password")
    assert fresh.status_code == 200
    assert fresh.get_json()["must_change_password"] is False
    assert change(client, temporary, "another password").status_code == 401


def test_temporary_password_expires(client: FlaskClient, temporary: str, clock: FakeClock) -> None:
    clock.advance(minutes=15, seconds=1)

    assert login(client, temporary).status_code == 401
    assert login(client, "old-password-1").status_code == 200


def test_a_newer_temporary_password_replaces_the_older(
    client: FlaskClient, temporary: str, phones: Phones
) -> None:
    [reply] = phones.text("0912345678", "BH MK 0123456789")
    newer = re.search(r"Mat khau: (\w+)\.", reply)[1]  # type: ignore[index]

    assert login(client, temporary).status_code == 401
    assert login(client, newer).status_code == 200


def test_five_wrong_passwords_are_free_then_each_waits_twice_as_long(
    client: FlaskClient, session: Session, clock: FakeClock
) -> None:
    add_account(session, password="right-password")

    assert [login(client, "wrong-password").status_code for _ in range(6)] == [401] * 6
    waiting = login(client, "right-password")
    assert waiting.status_code == 429
    assert waiting.get_json() == {
        "error": "too_many_attempts",
        "reason": "too many wrong passwords; try again in 3 s",
        "why": "login_wait",
    }

    clock.advance(seconds=2)
    assert login(client, "wrong-password").status_code == 401  # the 7th: now 4 s
    clock.advance(seconds=3)
    assert login(client, "right-password").status_code == 429
    clock.advance(seconds=1)
    assert login(client, "right-password").status_code == 200


def test_unknown_and_pending_accounts_look_like_wrong_passwords(
    client: FlaskClient, session: Session
) -> None:
    add_account(session, "0123456789", state=AccountState.PENDING, password="right-password")

    pending = login(client, "right-password")
    unknown = login(client, "right-password", bhxh="0999999999")

    assert pending.status_code == unknown.status_code == 401
    assert (
        pending.get_json()
        == unknown.get_json()
        == {
            "error": "invalid_credentials",
            "reason": "wrong number or password",
            "why": "wrong_password",
        }
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"bhxh": "0123456789"}, 400),
        ({"bhxh": 123456789, "password": "x"}, 400),
        ({"bhxh": "0123456789", "password": ""}, 400),
        ([], 400),
    ],
)
def test_malformed_login_is_a_400(client: FlaskClient, body: Any, status: int) -> None:
    response = client.post("/api/v1/auth/login", json=body)

    assert response.status_code == status
    assert response.get_json()["error"] == "invalid_payload"


def test_login_wants_json(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/login", data="bhxh=1&password=2")

    assert response.status_code == 415


def test_new_password_needs_eight_characters(client: FlaskClient, session: Session) -> None:
    add_account(session, password="right-password")

    response = change(client, "right-password", "short")

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "weak_password",
        "reason": "the new password is too short: use at least 8 characters",
        "why": "password_too_short",
    }
    assert login(client, "right-password").status_code == 200


def test_change_with_a_wrong_password_counts_towards_the_throttle(
    client: FlaskClient, session: Session
) -> None:
    add_account(session, password="right-password")

    for _ in range(6):
        assert change(client, "wrong-password", "whatever-new-1").status_code == 401

    assert login(client, "right-password").status_code == 429


def test_token_opens_the_account_until_the_password_changes(
    client: FlaskClient, session: Session
) -> None:
    add_account(session, password="right-password")
    token = login(client, "right-password").get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}

    assert client.get("/api/v1/auth/me", headers=headers).get_json() == {
        "bhxh": "0123456789",
        "must_change_password": False,
        "passkeys": 0,
        "smart_otp": False,
    }
    assert change(client, "right-password", "a brand new one").status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401
