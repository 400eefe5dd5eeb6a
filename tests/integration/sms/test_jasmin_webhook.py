"""Jasmin's MO connector and DLRs against the real app: ACK/Jasmin exactly when stored."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.delivery.carriers import FakeTransport, WebhookRequest, jasmin
from gateway.delivery.carriers.base import OutboundSms
from gateway.delivery.carriers.emulators import mo_accepted, mo_request, mt_answer
from gateway.models import InboundMessage, OutboxMessage
from gateway.runtime import Runtime
from gateway.states import DeliveryStatus
from gateway.worker import Worker
from tests.conftest import base_environ
from tests.harness import add_account, fake_transports, stored_messages, url_token_carrier
from tests.payloads import path_and_query, recorded, replay

TOKEN = "jasmin-token-0123456789"


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return url_token_carrier(
        base_environ(tmp_path),
        "jasmin",
        TOKEN,
        "http://127.0.0.1:9/send",
        mt_username="gw8079",
        mt_password="jasmin-pass",
    )


@pytest.fixture
def carriers() -> dict[str, FakeTransport]:
    return fake_transports("jasmin")


def test_stored_message_and_its_repeat_are_both_acknowledged(
    client: FlaskClient, session: Session
) -> None:
    first = replay(client, "jasmin_mo_ucs2.http")
    again = replay(client, "jasmin_mo_ucs2.http")

    assert (first.status_code, first.data) == (200, b"ACK/Jasmin")
    assert (again.status_code, again.data) == (200, b"ACK/Jasmin")
    assert stored_messages(session) == 1
    message = session.scalars(select(InboundMessage)).one()
    assert (message.carrier, message.text) == ("jasmin", "Bh mk 0123456789 gửi 8079")


def test_get_connector_is_acknowledged(client: FlaskClient, session: Session) -> None:
    assert replay(client, "jasmin_mo_get.http").data == b"ACK/Jasmin"
    assert stored_messages(session) == 1


@pytest.mark.parametrize(
    "target",
    [
        "/carriers/jasmin/mo?token=wrong-token-0123456789",
        "/carriers/jasmin/mo",
    ],
    ids=["wrong-token", "no-token"],
)
def test_a_bad_token_is_not_acknowledged(
    client: FlaskClient, session: Session, target: str
) -> None:
    response = replay(client, "jasmin_mo.http", target=target)

    assert response.status_code == 401
    assert b"ACK/Jasmin" not in response.data
    assert stored_messages(session) == 0


def test_other_shortcode_is_not_acknowledged(client: FlaskClient, session: Session) -> None:
    request_body = recorded("jasmin_mo.http").body
    response = replay(client, "jasmin_mo.http", body=request_body.replace(b"to=8079", b"to=9029"))

    assert response.status_code == 422
    assert response.data != b"ACK/Jasmin"
    assert stored_messages(session) == 0


@pytest.mark.parametrize("coding", [b"coding=%00%08", b"coding=256", b"coding=eight"])
def test_a_coding_jasmin_never_sends_is_refused_and_stores_nothing(
    client: FlaskClient, session: Session, coding: bytes
) -> None:
    body = recorded("jasmin_mo.http").body.replace(b"coding=%00", coding)

    response = replay(client, "jasmin_mo.http", body=body)

    assert response.status_code == 400
    assert b"coding" in response.data and b"ACK/Jasmin" not in response.data
    assert stored_messages(session) == 0


def test_a_forged_dlr_without_the_token_changes_nothing(
    client: FlaskClient, session: Session, worker: Worker, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session)
    replay(client, "jasmin_mo.http")
    worker.drain()
    [reply] = carriers["jasmin"].sent
    target = f"/carriers/jasmin/dlr?reference={reply.reference}&token=forged-token-0123456789"

    answer = replay(client, "jasmin_dlr_submit_refused.http", target=target)

    assert answer.status_code == 401 and answer.data != b"ACK/Jasmin"
    row = session.get(OutboxMessage, int(reply.reference))
    assert row is not None and row.delivery_status is None


def test_reply_and_dlr_round_trip(
    client: FlaskClient, session: Session, worker: Worker, carriers: dict[str, FakeTransport]
) -> None:
    add_account(session)
    replay(client, "jasmin_mo.http")
    worker.drain()
    [reply] = carriers["jasmin"].sent
    assert reply.text.startswith("Cap lai mat khau thanh cong.")

    target = path_and_query("jasmin_dlr_delivered.http").replace(
        "reference=42", f"reference={reply.reference}"
    )
    for _ in range(2):
        answer = replay(client, "jasmin_dlr_delivered.http", target=target)
        assert (answer.status_code, answer.data) == (200, b"ACK/Jasmin")
    row = session.get(OutboxMessage, int(reply.reference))
    assert row is not None
    assert row.delivery_status is DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("jasmin_dlr_submit_refused.http", DeliveryStatus.FAILED),  # level 1: ESME_RINVDSTADR
        ("jasmin_dlr_submit_ok.http", None),  # level 1: ESME_ROK, the phone has yet to answer
        ("jasmin_dlr_undelivered.http", DeliveryStatus.FAILED),
    ],
)
def test_level_1_and_2_reports_on_a_reply(
    client: FlaskClient,
    session: Session,
    worker: Worker,
    carriers: dict[str, FakeTransport],
    name: str,
    expected: DeliveryStatus | None,
) -> None:
    add_account(session)
    replay(client, "jasmin_mo_get_ucs2.http")
    worker.drain()
    [reply] = carriers["jasmin"].sent
    reference = recorded(name).query_params()["reference"].decode()
    target = path_and_query(name).replace(f"reference={reference}", f"reference={reply.reference}")

    answer = replay(client, name, target=target)

    assert (answer.status_code, answer.data) == (200, b"ACK/Jasmin")
    row = session.get(OutboxMessage, int(reply.reference))
    assert row is not None
    session.refresh(row)
    assert row.delivery_status is expected


def test_dlr_for_an_unknown_reference_is_not_acknowledged(client: FlaskClient) -> None:
    answer = replay(client, "jasmin_dlr_delivered.http")

    assert answer.status_code == 404
    assert answer.data != b"ACK/Jasmin"


def test_the_simulator_speaks_jasmin_both_ways(client: FlaskClient, runtime: Runtime) -> None:
    carrier = runtime.settings.carriers["jasmin"]
    mo = mo_request("http://gw", carrier, "0912345678", "8079", "Bh mk 0123456789 gửi 8079")
    target = urlsplit(mo.url)

    answer = client.open(
        f"{target.path}?{target.query}", method=mo.method, data=mo.body, headers=mo.headers
    )

    assert mo_accepted(carrier, answer.status_code, answer.data)
    sms = OutboundSms("1", None, "8079", "84912345678", "Cap lai mat khau")
    form = urlencode(jasmin.prepare_send(sms, carrier, "http://gw")).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    result = mt_answer(carrier, WebhookRequest("POST", b"", headers, form))
    assert jasmin.parse_send_answer(result.status, result.body).carrier_reference
    assert (result.recipient, result.text) == ("84912345678", "Cap lai mat khau")
