"""Kannel's post-url, get-url and dlr-url against the real app: same intake, Kannel's answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.delivery.carriers import FakeTransport, WebhookRequest, kannel
from gateway.delivery.carriers.base import OutboundSms
from gateway.delivery.carriers.emulators import mo_accepted, mo_request, mt_answer
from gateway.models import InboundMessage, OutboxMessage
from gateway.runtime import Runtime
from gateway.settings import load_settings
from gateway.states import DeliveryStatus
from gateway.worker import Worker
from tests.conftest import base_environ, make_app
from tests.harness import add_account, fake_transports, stored_messages, url_token_carrier
from tests.payloads import path_and_query, replay

TOKEN = "kannel-token-0123456789"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return url_token_carrier(
        base_environ(tmp_path),
        "kannel",
        TOKEN,
        "http://127.0.0.1:9/cgi-bin/sendsms",
        mt_username="gateway",
        mt_password="kannel-pass",
    )


@pytest.fixture
def carriers() -> dict[str, FakeTransport]:
    return fake_transports("kannel")


def test_post_url_is_stored_and_answered_with_an_empty_body(
    client: FlaskClient, session: Session
) -> None:
    response = replay(client, "kannel_mo_post.http")

    assert response.status_code == 202
    assert response.data == b""
    message = session.scalars(select(InboundMessage)).one()
    assert (message.carrier, message.sender, message.text, message.route) == (
        "kannel",
        "84912345678",
        "BH MK 0123456789",
        "FAKE1",
    )


def test_a_repeat_does_no_work_and_gets_the_same_empty_answer(
    client: FlaskClient, session: Session
) -> None:
    replay(client, "kannel_mo_ucs2.http")
    again = replay(client, "kannel_mo_ucs2.http")

    assert (again.status_code, again.data) == (202, b"")
    assert stored_messages(session) == 1
    assert session.scalars(select(InboundMessage.text)).one() == "Bh mk 0123456789 gửi 8079"


def test_get_url_without_id_is_deduplicated_by_the_fallback(
    client: FlaskClient, session: Session
) -> None:
    assert replay(client, "kannel_mo_get_no_id.http").status_code == 202
    assert replay(client, "kannel_mo_get_no_id.http").status_code == 202
    assert stored_messages(session) == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"target": path_and_query("kannel_mo_post.http").replace(TOKEN, "x" * 23)}, 401),
        ({"target": path_and_query("kannel_mo_post.http").replace("to=8079", "to=9029")}, 422),
        (
            {"target": path_and_query("kannel_mo_post.http").replace("0912345678", "02438123456")},
            400,
        ),
        ({"body": b"x" * 17_000}, 413),
    ],
    ids=["wrong-token", "other-shortcode", "landline", "too-large"],
)
def test_refusals_are_non_2xx_with_a_short_body_and_store_nothing(
    client: FlaskClient, session: Session, change: dict[str, Any], status: int
) -> None:
    response = replay(client, "kannel_mo_post.http", **change)

    assert response.status_code == status
    assert len(response.data) < 40
    assert stored_messages(session) == 0


@pytest.mark.parametrize("charset", ["rot13", "zlib", "base64", "hex", "no-such-charset"])
def test_a_charset_that_is_not_a_text_encoding_is_refused_for_good(
    client: FlaskClient, session: Session, charset: str
) -> None:
    # A 4xx, not a 503: Kannel would retry a message that can never be read.
    posted = replay(
        client, "kannel_mo_post.http", headers={"Content-Type": f"text/plain; charset={charset}"}
    )
    got = replay(
        client,
        "kannel_mo_get.http",
        target=path_and_query("kannel_mo_get.http") + f"&charset={charset}",
    )

    assert (posted.status_code, posted.data) == (400, b"invalid_payload")
    assert (got.status_code, got.data) == (400, b"invalid_payload")
    assert stored_messages(session) == 0


def test_allow_list_refuses_other_addresses(environ: dict[str, str], clock: FakeClock) -> None:
    app = make_app(load_settings({**environ, "CARRIER_KANNEL_ALLOW_IPS": "10.0.0.0/8"}), clock)
    client = app.test_client()
    spoofed = {"X-Forwarded-For": "10.0.0.5"}  # no proxy is configured: not to be believed

    assert replay(client, "kannel_mo_post.http", remote_addr="192.0.2.1").status_code == 401
    assert replay(client, "kannel_mo_post.http", headers=spoofed).status_code == 401
    assert replay(client, "kannel_mo_post.http", remote_addr="10.0.0.5").status_code == 202
    app.extensions["gateway"].engine.dispose()


def test_behind_a_proxy_the_allow_list_sees_the_forwarded_address(
    environ: dict[str, str], clock: FakeClock
) -> None:
    settings = load_settings(
        {**environ, "CARRIER_KANNEL_ALLOW_IPS": "10.0.0.0/8", "GATEWAY_PROXY_HOPS": "1"}
    )
    app = make_app(settings, clock)
    client = app.test_client()

    def via_proxy(address: str) -> int:
        forwarded = {"X-Forwarded-For": address}
        return replay(client, "kannel_mo_post.http", headers=forwarded).status_code

    assert via_proxy("192.0.2.1") == 401
    assert via_proxy("10.0.0.5") == 202
    app.extensions["gateway"].engine.dispose()


def test_the_reply_goes_back_through_the_smsc_and_its_dlr_is_recorded_once(
    client: FlaskClient, session: Session, worker: Worker, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session)
    replay(client, "kannel_mo_post.http")
    worker.drain()

    [reply] = carriers["kannel"].sent
    assert reply.recipient == "84912345678"
    assert reply.route == "FAKE1"
    assert reply.text.startswith("Cap lai mat khau thanh cong.")
    target = f"/carriers/kannel/dlr?reference={reply.reference}&status=1&token={TOKEN}"
    for _ in range(2):
        answer = client.get(target)
        assert (answer.status_code, answer.data) == (202, b"")
    row = session.get(OutboxMessage, int(reply.reference))
    assert row is not None and row.delivery_status is DeliveryStatus.DELIVERED


def test_a_dlr_on_the_way_is_acknowledged_and_not_recorded(
    client: FlaskClient, session: Session
) -> None:
    answer = client.get(f"/carriers/kannel/dlr?reference=987&status=8&token={TOKEN}")

    assert answer.status_code == 202


def test_the_simulator_speaks_kannel_both_ways(client: FlaskClient, runtime: Runtime) -> None:
    carrier = runtime.settings.carriers["kannel"]
    mo = mo_request("http://gw", carrier, "0912345678", "8079", "Bh mk 0123456789 gửi 8079")
    target = urlsplit(mo.url)

    answer = client.open(
        f"{target.path}?{target.query}", method=mo.method, data=mo.body, headers=mo.headers
    )

    assert mo_accepted(carrier, answer.status_code, answer.data)
    sms = OutboundSms("1", None, "8079", "84912345678", "Cap lai mat khau")
    url = urlsplit(kannel.prepare_send(sms, carrier, "http://gw"))
    result = mt_answer(carrier, WebhookRequest("GET", url.query.encode(), {}))
    kannel.parse_send_answer(result.status, result.body)
    assert (result.recipient, result.text) == ("84912345678", "Cap lai mat khau")
