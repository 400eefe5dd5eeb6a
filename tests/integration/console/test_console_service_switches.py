"""The keyword services' switches on the console's switch page: seen, set by hand with a reason,
and shown when a service's failures turned one off."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.models import Switch
from gateway.ops.switches import AUTO, service_switch, set_switch
from gateway.runtime import Runtime
from tests.integration.console.conftest import SignIn, post_form

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    environ.update(
        {
            "GATEWAY_SERVICES": "qt",
            "SERVICE_QT_KEYWORDS": "BH QT,BHXH QT",
            "SERVICE_QT_URL": "http://127.0.0.1:9/services/qt",
            "SERVICE_QT_SECRET": SECRET,
        }
    )
    return environ


def row_of(client: FlaskClient, service: str) -> str:
    page = client.get("/console/switches").get_data(as_text=True)
    start = page.index(f'id="service-{service}"')
    return page[start : page.index("</tr>", start)]


def test_an_operator_sees_each_service_and_turns_one_off_with_a_reason(
    client: FlaskClient, signed_in: SignIn, session: Session
) -> None:
    member = signed_in("operator")
    assert "BH QT, BHXH QT" in row_of(client, "qt") and "BẬT" in row_of(client, "qt")

    unconfirmed = post_form(
        client, "/console/switches", {"name": "service-qt", "state": "off", "reason": "bao tri"}
    )
    unknown = post_form(
        client,
        "/console/switches",
        {"name": "service-hs", "state": "off", "reason": "x", "confirm": "yes"},
    )
    assert (unconfirmed.status_code, unknown.status_code) == (400, 400)
    done = post_form(
        client,
        "/console/switches",
        {"name": "service-qt", "state": "off", "reason": "bao tri QT", "confirm": "yes"},
    )

    assert done.status_code == 303
    switch = session.get(Switch, service_switch("qt"))
    assert switch is not None
    assert (switch.enabled, switch.actor, switch.reason) == (False, member.email, "bao tri QT")
    assert "TẮT" in row_of(client, "qt") and "bao tri QT" in row_of(client, "qt")
    history = client.get("/console/switches").get_data(as_text=True)
    assert "service-qt off: bao tri QT" in history[history.index('id="switch-history"') :]


def test_a_switch_its_failures_turned_off_says_so(
    client: FlaskClient, signed_in: SignIn, runtime: Runtime
) -> None:
    signed_in("operator")
    with runtime.session_factory.begin() as session:
        reason = "5 forwards in a row interrupted, the last by timeout"
        set_switch(session, "service-qt", False, runtime.clock.now(), actor=AUTO, reason=reason)

    row = row_of(client, "qt")

    assert "TẮT" in row and "tự động" in row and "the last by timeout" in row
