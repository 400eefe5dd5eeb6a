"""A console session ends on the server: at sign-out, and 12 h after sign-in however active.

Each test copies the cookie, as a thief with a look at the browser would, and replays it
from another client once the session should be over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.models import AuditEvent
from gateway.settings import load_settings
from tests.conftest import make_app
from tests.integration.console.conftest import Mailbox, SignIn, csrf_of, enrol, sign_in


def copy_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("gw_console", path="/console")
    assert cookie is not None
    return cookie.value


def replay(app: Flask, cookie: str, path: str) -> int:
    thief = app.test_client()
    thief.set_cookie("gw_console", cookie, path="/console")
    return thief.get(path).status_code


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(
    app: Flask, client: FlaskClient, signed_in: SignIn, session: Session
) -> None:
    signed_in("finance")
    token = csrf_of(client.get("/console/charges"))
    copied = copy_cookie(client)
    assert replay(app, copied, "/console/charges") == 200

    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 302

    assert replay(app, copied, "/console/charges") == 302
    assert replay(app, copied, "/console/refunds") == 302
    outs = session.scalars(select(AuditEvent).where(AuditEvent.action == "staff_sign_out"))
    assert len(outs.all()) == 1


def test_a_member_signs_in_again_after_signing_out(client: FlaskClient, signed_in: SignIn) -> None:
    member = signed_in("operator")
    token = csrf_of(client.get("/console/overview"))
    client.post("/console/sign-out", data={"csrf_token": token})

    assert sign_in(client, member).headers["Location"] == "/console/overview"
    assert client.get("/console/overview").status_code == 200


def test_a_session_ends_12_hours_after_sign_in_however_active(
    app: Flask, client: FlaskClient, signed_in: SignIn, clock: FakeClock
) -> None:
    signed_in("finance")
    for _ in range(35):  # a request every 20 minutes: the idle timeout never strikes
        clock.advance(minutes=20)
        assert client.get("/console/charges").status_code == 200
    clock.advance(minutes=20)  # 12 h to the second since sign-in: still in
    assert client.get("/console/charges").status_code == 200
    copied = copy_cookie(client)

    clock.advance(seconds=1)

    assert replay(app, copied, "/console/charges") == 302
    answer = client.get("/console/charges")
    assert answer.status_code == 302
    assert "hết hạn" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_the_absolute_lifetime_is_a_setting(
    clock: FakeClock, enrolled_elsewhere: Callable[[str], FlaskClient]
) -> None:
    client = enrolled_elsewhere("45m")
    clock.advance(minutes=25)
    assert client.get("/console/charges").status_code == 200
    clock.advance(minutes=20)
    assert client.get("/console/charges").status_code == 200

    clock.advance(seconds=1)

    assert client.get("/console/charges").status_code == 302


@pytest.fixture
def enrolled_elsewhere(
    environ: dict[str, str], clock: FakeClock
) -> Iterator[Callable[[str], FlaskClient]]:
    """Sign a finance member in on an app whose sessions live ``lifetime`` from sign-in."""
    apps: list[Flask] = []

    def make(lifetime: str) -> FlaskClient:
        settings = load_settings({**environ, "GATEWAY_CONSOLE_SESSION_LIFETIME": lifetime})
        app = make_app(settings, clock)
        apps.append(app)
        client = app.test_client()
        member = enrol(client, Mailbox(app.extensions["gateway"]), clock, "finance")
        assert sign_in(client, member).status_code == 302
        return client

    yield make
    for app in apps:
        app.extensions["gateway"].engine.dispose()
