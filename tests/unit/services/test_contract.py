"""The contract with the agency's services: the signed request and the answers accepted."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from billing.outcomes import Outcome
from gateway.services.contract import (
    Answer,
    Forward,
    check_reply,
    read_answer,
    request_body,
    signed_headers,
    webhook_id,
)
from gateway.services.errors import ForwardFailed
from gateway.services.stub import DEMO_ANSWERS, read_answers

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
FORWARD = Forward(
    webhook_id=webhook_id("8079", 42),
    service="qt",
    keyword="BH QT",
    argument="0123456789",
    phone="84912345678",
    carrier="viettel",
    received_at=dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC),
)


def test_the_request_verifies_with_the_standardwebhooks_package_on_the_service_side() -> None:
    body = request_body(FORWARD)
    headers = signed_headers(SECRET, FORWARD.webhook_id, body, dt.datetime.now(dt.UTC))

    payload = Webhook(SECRET).verify(body, headers)

    assert headers["webhook-id"] == "8079-42"
    assert payload == {
        "message_id": "8079-42",
        "service": "qt",
        "keyword": "BH QT",
        "argument": "0123456789",
        "phone": "84912345678",
        "carrier": "viettel",
        "received_at": "2026-11-02T03:00:00+00:00",
    }


def test_a_service_with_another_secret_refuses_the_request() -> None:
    body = request_body(FORWARD)
    headers = signed_headers(SECRET, FORWARD.webhook_id, body, dt.datetime.now(dt.UTC))
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()

    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_a_changed_body_does_not_verify() -> None:
    body = request_body(FORWARD)
    headers = signed_headers(SECRET, FORWARD.webhook_id, body, dt.datetime.now(dt.UTC))

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"0123456789", b"0987654321"), headers)


def answer(reply: object, outcome: object = "answered") -> bytes:
    return json.dumps({"reply": reply, "outcome": outcome}).encode()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (answer("Da dong 96 thang."), Answer(Outcome.ANSWERED, "Da dong 96 thang.")),
        (answer("  Khong tim thay. ", "not_found"), Answer(Outcome.NOT_FOUND, "Khong tim thay.")),
        (answer("Tu choi.", "refused"), Answer(Outcome.REFUSED, "Tu choi.")),
        (answer("Thẻ còn giá trị."), Answer(Outcome.ANSWERED, "Thẻ còn giá trị.")),  # UCS-2
        (answer("dong 1\ndong 2"), Answer(Outcome.ANSWERED, "dong 1\ndong 2")),
        (answer("x" * 459), Answer(Outcome.ANSWERED, "x" * 459)),  # three GSM-7 segments
    ],
)
def test_an_answer_that_keeps_the_contract_is_read(body: bytes, expected: Answer) -> None:
    assert read_answer(body) == expected


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "not an object"),
        (answer("ok", "maybe"), "unknown outcome"),
        (answer(None), "no reply"),
        (answer("   "), "empty reply"),
        (answer("ring\u0007"), "control characters"),
        (answer("left\u202eright"), "control characters"),
        (answer("x" * 460), "more than 3 segments"),
        (answer("ệ" * 202), "more than 3 segments"),  # UCS-2: 201 characters at most
        (answer("ok \U0001f600"), "outside UCS-2"),
        (answer("x" * 5000), "too large"),
    ],
)
def test_an_answer_that_breaks_the_contract_is_a_failure(body: bytes, why: str) -> None:
    with pytest.raises(ForwardFailed) as failed:
        read_answer(body)

    assert failed.value.code == "bad_answer"
    assert why in str(failed.value)


def test_every_answer_of_the_demo_stand_in_keeps_the_contract() -> None:
    answers = read_answers(DEMO_ANSWERS)

    assert {service for service, _ in answers} == {"qt", "the", "hs"}
    assert all(check_reply(reply) == reply for reply in answers.values())
