"""Signing out ends the session on the server: a copied cookie or token opens nothing after.

Issue 22: the portal's sign-out only cleared the browser's cookie, and a copy of it still
opened /tai-khoan. A login token's lifetime is absolute (GATEWAY_TOKEN_TTL, 1 h by default,
from the sign-in): using it never extends it.
"""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from tests.harness import add_account

PASSWORD = "the right password"


def csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found[1].decode()


def portal_sign_in(client: FlaskClient) -> None:
    token = csrf(client.get("/dang-nhap").data)
    answer = client.post(
        "/dang-nhap", data={"bhxh": "0123456789", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.data


def copied_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("gw_portal")
    assert cookie is not None
    return cookie.value


def test_a_copied_portal_cookie_is_dead_after_sign_out(
    client: FlaskClient, session: Session, environ: dict[str, str]
) -> None:
    add_account(session, password=PASSWORD)
    portal_sign_in(client)
    stolen = copied_cookie(client)
    token = csrf(client.get("/tai-khoan").data)

    out = client.post("/dang-xuat", data={"csrf_token": token})
    assert out.status_code == 303

    thief = client.application.test_client()
    thief.set_cookie("gw_portal", stolen)
    replay = thief.get("/tai-khoan")
    assert replay.status_code == 303
    assert replay.headers["Location"].endswith("/dang-nhap")


def test_a_portal_session_ends_an_hour_after_sign_in_however_busy(
    client: FlaskClient, session: Session, clock: FakeClock
) -> None:
    add_account(session, password=PASSWORD)
    portal_sign_in(client)
    for _ in range(6):  # busy all along: no request extends the session
        clock.advance(minutes=9, seconds=50)
        assert client.get("/tai-khoan").status_code == 200
    clock.advance(minutes=1)

    assert client.get("/tai-khoan").status_code == 303


def test_an_api_token_is_dead_after_logout_and_a_second_logout_is_refused(
    client: FlaskClient, session: Session
) -> None:
    add_account(session, password=PASSWORD)
    login = client.post("/api/v1/auth/login", json={"bhxh": "0123456789", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    other = client.post("/api/v1/auth/login", json={"bhxh": "0123456789", "password": PASSWORD})
    other_headers = {"Authorization": f"Bearer {other.get_json()['token']}"}

    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204

    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401
    # Only that token ended: the app on another phone stays signed in.
    assert client.get("/api/v1/auth/me", headers=other_headers).status_code == 200
