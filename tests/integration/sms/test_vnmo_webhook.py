"""The Vietnamese MO-receiver convention against the real app: 1 or a code, form or SOAP."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.delivery.carriers import FakeTransport, WebhookRequest, vnmo
from gateway.delivery.carriers.base import OutboundSms
from gateway.delivery.carriers.emulators import mo_accepted, mo_request, mt_answer
from gateway.models import InboundMessage
from gateway.runtime import Runtime
from gateway.worker import Worker
from tests.conftest import base_environ
from tests.harness import add_account, fake_transports, stored_messages, url_token_carrier
from tests.payloads import path_and_query, recorded, replay
from tests.scrape import Scrape, grew

TOKEN = "vnmo-token-01234567890"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return url_token_carrier(base_environ(tmp_path), "vnmo", TOKEN, "http://127.0.0.1:9/mt")


@pytest.fixture
def carriers() -> dict[str, FakeTransport]:
    return fake_transports("vnmo")


def test_form_is_answered_1_also_for_a_repeat(client: FlaskClient, session: Session) -> None:
    assert replay(client, "vnmo_mo_form.http").data == b"1"
    assert replay(client, "vnmo_mo_form.http").data == b"1"
    assert stored_messages(session) == 1


def test_soap_is_answered_in_soap(client: FlaskClient, session: Session) -> None:
    response = replay(client, "vnmo_mo_soap.http")

    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert b"<return>1</return>" in response.data
    assert session.scalars(select(InboundMessage.text)).one() == "Bh mk 0123456789 gửi 8079"


@pytest.mark.parametrize(
    ("name", "target", "body", "code"),
    [
        ("vnmo_mo_form.http", "/carriers/vnmo/mo?token=nope", None, b"-1"),
        ("vnmo_mo_form.http", None, b"User_ID=0912345678&Service_ID=8079&Message=x", b"-2"),
        (
            "vnmo_mo_form.http",
            None,
            b"User_ID=0912345678&Service_ID=9029&Message=x&Request_ID=1",
            b"-3",
        ),
        ("vnmo_mo_soap.http", "/carriers/vnmo/mo?token=nope", None, b"<return>-1</return>"),
    ],
    ids=["form-bad-token", "form-no-request-id", "form-other-shortcode", "soap-bad-token"],
)
def test_refusals_answer_negative_codes_in_the_same_shape(
    client: FlaskClient,
    session: Session,
    name: str,
    target: str | None,
    body: bytes | None,
    code: bytes,
) -> None:
    response = replay(
        client,
        name,
        target=target or path_and_query(name),
        body=recorded(name).body if body is None else body,
    )

    assert code in response.data
    assert stored_messages(session) == 0


def test_the_same_request_id_with_other_text_is_minus_4(
    client: FlaskClient, session: Session
) -> None:
    replay(client, "vnmo_mo_form.http")
    body = recorded("vnmo_mo_form.http").body.replace(b"0123456789", b"0999999999")

    assert replay(client, "vnmo_mo_form.http", body=body).data == b"-4"
    assert stored_messages(session) == 1


def test_the_reply_is_the_same_flow(
    client: FlaskClient, session: Session, worker: Worker, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session)
    replay(client, "vnmo_mo_form.http")
    worker.drain()

    [reply] = carriers["vnmo"].sent
    assert (reply.in_reply_to, reply.route) == ("VNP-20261125-0000917", "VINAPHONE")
    assert reply.text.startswith("Cap lai mat khau thanh cong.")


def test_the_simulator_speaks_vnmo_both_ways(client: FlaskClient, runtime: Runtime) -> None:
    carrier = runtime.settings.carriers["vnmo"]
    mo = mo_request("http://gw", carrier, "0912345678", "8079", "BH MK 0123456789")
    target = urlsplit(mo.url)

    answer = client.open(
        f"{target.path}?{target.query}", method=mo.method, data=mo.body, headers=mo.headers
    )

    assert mo_accepted(carrier, answer.status_code, answer.data)
    sms = OutboundSms("1", mo.message_id, "8079", "84912345678", "Cap lai mat khau")
    form = urlencode(vnmo.prepare_send(sms, carrier)).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = mt_answer(carrier, WebhookRequest("POST", b"", headers, form))
    vnmo.parse_send_answer(result.status, result.body)
    assert (result.recipient, result.in_reply_to) == ("84912345678", mo.message_id)


def test_a_refusal_answered_with_http_200_still_counts_as_refused(client: FlaskClient) -> None:
    replay(client, "vnmo_mo_form.http")
    body = recorded("vnmo_mo_form.http").body.replace(b"BH+MK", b"BH+MK+0999")
    before = Scrape(client)

    answer = replay(client, "vnmo_mo_form.http", body=body)

    assert (answer.status_code, answer.data) == (200, b"-4")
    after = Scrape(client)
    assert (
        grew(before, after, "gateway_requests_refused_total", reason="conflicting_duplicate") == 1
    )
