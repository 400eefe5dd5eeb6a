"""The JSON kind's own contract (docs/carriers.md): every answer of POST /carriers/<carrier>/mo;
nothing stored on refusal. What every kind keeps is in test_contract.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.carriers.signing import signature
from gateway.clock import FakeClock
from gateway.models import InboundMessage
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import stored_messages

KIND = "json"
SECRET = CARRIER_SECRETS["viettel"]
MO = {"id": "vt-1", "from": "0912345678", "to": "8079", "text": "BH MK 0123456789"}


def post(client: FlaskClient, clock: FakeClock, payload: Any = MO, **kwargs: Any) -> Any:
    return signed_post(
        client, "/carriers/viettel/mo", payload, secret=SECRET, clock=clock, **kwargs
    )


def test_first_delivery_is_accepted_and_stored_normalised(
    client: FlaskClient, clock: FakeClock, session: Session
) -> None:
    response = post(client, clock, {**MO, "received_at": "2026-11-02T10:00:00+07:00"})

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "accepted"
    message = session.get(InboundMessage, body["message_id"])
    assert message is not None
    assert (message.carrier, message.carrier_message_id, message.sender, message.text) == (
        "viettel",
        "vt-1",
        "84912345678",
        "BH MK 0123456789",
    )
    assert message.carrier_received_at is not None
    assert message.carrier_received_at.isoformat() == "2026-11-02T03:00:00+00:00"


def test_repeat_with_same_content_is_a_duplicate_with_the_same_id(
    client: FlaskClient, clock: FakeClock, session: Session
) -> None:
    first = post(client, clock).get_json()
    clock.advance(seconds=30)
    again = post(client, clock)

    assert again.status_code == 200
    assert again.get_json() == {"status": "duplicate", "message_id": first["message_id"]}
    assert stored_messages(session) == 1


def test_same_id_from_another_carrier_is_another_message(
    client: FlaskClient, clock: FakeClock, session: Session
) -> None:
    post(client, clock)
    other = signed_post(
        client, "/carriers/mobifone/mo", MO, secret=CARRIER_SECRETS["mobifone"], clock=clock
    )

    assert other.get_json()["status"] == "accepted"
    assert stored_messages(session) == 2


def test_same_id_with_other_content_is_a_conflict(
    client: FlaskClient, clock: FakeClock, session: Session
) -> None:
    post(client, clock)
    response = post(client, clock, {**MO, "text": "BH MK 0999999999"})

    assert response.status_code == 409
    assert response.get_json()["error"] == "conflicting_duplicate"
    assert stored_messages(session) == 1


def _unsigned(client: FlaskClient, clock: FakeClock) -> Any:
    return client.post("/carriers/viettel/mo", json=MO)


def _wrong_secret(client: FlaskClient, clock: FakeClock) -> Any:
    return signed_post(client, "/carriers/viettel/mo", MO, secret="x" * 20, clock=clock)


def _stale(client: FlaskClient, clock: FakeClock) -> Any:
    response_clock = FakeClock(clock.now())
    response_clock.advance(seconds=-301)
    return signed_post(client, "/carriers/viettel/mo", MO, secret=SECRET, clock=response_clock)


def _tampered(client: FlaskClient, clock: FakeClock) -> Any:
    body = json.dumps(MO).encode()
    timestamp = str(int(clock.now().timestamp()))
    headers = {
        "X-Gateway-Timestamp": timestamp,
        "X-Gateway-Signature": signature(SECRET, timestamp, body),
        "Content-Type": "application/json",
    }
    return client.post("/carriers/viettel/mo", data=body.replace(b"0912", b"0987"), headers=headers)


def _other_carriers_secret(client: FlaskClient, clock: FakeClock) -> Any:
    return signed_post(
        client, "/carriers/viettel/mo", MO, secret=CARRIER_SECRETS["mobifone"], clock=clock
    )


def _unknown_carrier(client: FlaskClient, clock: FakeClock) -> Any:
    return signed_post(client, "/carriers/nocarrier/mo", MO, secret=SECRET, clock=clock)


def _too_large(client: FlaskClient, clock: FakeClock) -> Any:
    return post(client, clock, {**MO, "text": "x" * 17_000})


def _not_json_type(client: FlaskClient, clock: FakeClock) -> Any:
    return post(client, clock, b"id=1&from=0912345678", headers={"Content-Type": "text/plain"})


def _bad_json(client: FlaskClient, clock: FakeClock) -> Any:
    return post(client, clock, b'{"id": "1", "from": ')


def _payload(**changes: Any) -> Callable[[FlaskClient, FakeClock], Any]:
    def send(client: FlaskClient, clock: FakeClock) -> Any:
        data = {key: value for key, value in {**MO, **changes}.items() if value is not ...}
        return post(client, clock, data)

    return send


REFUSALS = [
    pytest.param(_unsigned, 401, "bad_signature", id="no-signature"),
    pytest.param(_wrong_secret, 401, "bad_signature", id="wrong-secret"),
    pytest.param(_other_carriers_secret, 401, "bad_signature", id="other-carriers-secret"),
    pytest.param(_stale, 401, "bad_signature", id="stale-timestamp"),
    pytest.param(_tampered, 401, "bad_signature", id="body-changed-after-signing"),
    pytest.param(_unknown_carrier, 404, "unknown_carrier", id="unknown-carrier"),
    pytest.param(_too_large, 413, "payload_too_large", id="body-over-16KiB"),
    pytest.param(_not_json_type, 415, "unsupported_media_type", id="not-json"),
    pytest.param(_bad_json, 400, "invalid_payload", id="malformed-json"),
    pytest.param(_payload(id=...), 400, "invalid_payload", id="no-id"),
    pytest.param(_payload(id=""), 400, "invalid_payload", id="empty-id"),
    pytest.param(_payload(text=None), 400, "invalid_payload", id="text-null"),
    pytest.param(_payload(**{"from": "not a phone"}), 400, "invalid_payload", id="bad-sender"),
    pytest.param(_payload(**{"from": "02438123456"}), 400, "invalid_payload", id="landline"),
    pytest.param(_payload(received_at="yesterday"), 400, "invalid_payload", id="bad-time"),
    pytest.param(
        _payload(received_at="2026-11-02T10:00:00"), 400, "invalid_payload", id="naive-time"
    ),
    pytest.param(_payload(to="9029"), 422, "wrong_shortcode", id="other-shortcode"),
]


@pytest.mark.parametrize(("send", "status", "code"), REFUSALS)
def test_refused_requests_store_nothing(
    client: FlaskClient,
    clock: FakeClock,
    session: Session,
    send: Callable[[FlaskClient, FakeClock], Any],
    status: int,
    code: str,
) -> None:
    response = send(client, clock)

    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code
    assert body["reason"]
    assert stored_messages(session) == 0


def test_a_refused_request_leaves_the_id_free_for_the_real_message(
    client: FlaskClient, clock: FakeClock
) -> None:
    assert post(client, clock, {**MO, "to": "9029"}).status_code == 422
    assert post(client, clock).get_json()["status"] == "accepted"


def test_old_eleven_digit_sender_is_stored_in_its_new_form(
    client: FlaskClient, clock: FakeClock, session: Session
) -> None:
    response = post(client, clock, {**MO, "from": "+84 1629 123 456"})

    message = session.get(InboundMessage, response.get_json()["message_id"])
    assert message is not None
    assert message.sender == "84329123456"
