"""What every kind's pure halves do alike, as one table per rule, each row one kind's case.

A malformed MO is refused as InvalidPayload, whichever shape it came in; a carrier's answer to
a reply reads as the carrier's id for it (None: it names none) or as the send error the
outbox acts on.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

import pytest

from gateway.carriers import jasmin, json_api, kannel, vnmo
from gateway.carriers.wire import WebhookRequest
from gateway.errors import InvalidPayload, PermanentSendError, RetryableSendError
from tests.payloads import recorded


def _json(body: bytes) -> WebhookRequest:
    return WebhookRequest("POST", b"", {"Content-Type": "application/json"}, body)


def _form(name: str, body: bytes) -> WebhookRequest:
    return dataclasses.replace(recorded(name), body=body)


def _post(query: bytes) -> WebhookRequest:
    return dataclasses.replace(recorded("kannel_mo_post.http"), query=query, body=b"x")


def _name(kind: ModuleType) -> str:
    return kind.__name__.rsplit(".", 1)[1]


MALFORMED_MOS = [
    (json_api, _json(b"[]"), "not-an-object"),
    (json_api, _json(b'{"id": true, "from": "0912345678", "to": "8079", "text": "x"}'), "id-true"),
    (
        json_api,
        _json(b'{"id": "a\\nb", "from": "0912345678", "to": "8079", "text": "x"}'),
        "id-newline",
    ),
    (json_api, _json(b'{"id": "1", "from": 912345678, "to": "8079", "text": "x"}'), "from"),
    (json_api, _json(b'{"id": "1", "from": "0912345678", "to": "", "text": "x"}'), "to"),
    (json_api, _json(b"\xff\xfe"), "not-utf8"),
    (kannel, _post(b"to=8079&id=1&token=t"), "no-sender"),
    (kannel, _post(b"from=0912345678&id=1&token=t"), "no-recipient"),
    (kannel, _post(b"from=0912345678&to=8079&token=t"), "neither-id-nor-ts"),
    (kannel, _post(b"from=02438123456&to=8079&id=1&token=t"), "a-landline"),
    (kannel, _post(b"from=0912345678&to=8079&id=1&ts=yesterday&token=t"), "ts-not-unix-seconds"),
    (kannel, _form("kannel_mo_ucs2.http", b"\x00B\x00"), "odd-length-ucs2"),
    (jasmin, _form("jasmin_mo.http", b"from=0912345678&to=8079&content=x"), "no-id"),
    (jasmin, _form("jasmin_mo.http", b"id=1&to=8079&content=x"), "no-sender"),
    (jasmin, _form("jasmin_mo.http", b"id=1&from=0912345678&to=8079&coding=8&binary=zz"), "hex"),
    (
        jasmin,
        _form("jasmin_mo.http", b"id=1&from=0912345678&to=8079&coding=eight&content=x"),
        "coding",
    ),
    (
        jasmin,
        _form("jasmin_mo.http", b"id=1&from=0912345678&to=8079&coding=%00%08&content=x"),
        "2-octets",
    ),
    (vnmo, _form("vnmo_mo_form.http", b"Service_ID=8079&Message=x&Request_ID=1"), "no-User_ID"),
    (
        vnmo,
        _form("vnmo_mo_form.http", b"User_ID=0912345678&Service_ID=8079&Message=x"),
        "no-Request_ID",
    ),
    (
        vnmo,
        _form("vnmo_mo_form.http", b"User_ID=0912345678&Message=x&Request_ID=1"),
        "no-Service_ID",
    ),
    (
        vnmo,
        _form(
            "vnmo_mo_soap.http",
            b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>",
        ),
        "unclosed",
    ),
    (
        vnmo,
        _form(
            "vnmo_mo_soap.http", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
        ),
        "dtd",
    ),
    (vnmo, _form("vnmo_mo_soap.http", b"<Envelope><Header/></Envelope>"), "no-body"),
]


@pytest.mark.parametrize(
    ("kind", "request_", "what"),
    MALFORMED_MOS,
    ids=[f"{_name(kind)}-{what}" for kind, _, what in MALFORMED_MOS],
)
def test_a_malformed_mo_is_invalid(kind: ModuleType, request_: WebhookRequest, what: str) -> None:
    webhooks = kind.KIND.webhooks
    assert webhooks is not None

    with pytest.raises(InvalidPayload):
        webhooks.parse_inbound(request_)


Permanent, Retryable = PermanentSendError, RetryableSendError
ANSWERS = [
    (json_api, 200, b'{"message_id": "MT-1"}', "MT-1"),
    (json_api, 202, b'{"message_id": 991}', "991"),
    (json_api, 200, b"", None),
    (json_api, 204, b"not json", None),
    (json_api, 429, b"", Retryable),
    (json_api, 500, b"", Retryable),
    (json_api, 503, b"", Retryable),
    (json_api, 400, b"", Permanent),
    (json_api, 401, b"", Permanent),
    (json_api, 404, b"", Permanent),
    (json_api, 301, b"", Permanent),
    (kannel, 202, b"0: Accepted for delivery", None),  # sendsms names no id
    (kannel, 202, b"3: Queued for later delivery", None),
    (kannel, 403, b"Authorization failed for sendsms", Permanent),
    (kannel, 400, b"Missing receiver number, rejected", Permanent),
    (kannel, 503, b"Temporal failure, try again later.", Retryable),
    (kannel, 500, b"Sending failed.", Retryable),
    (kannel, 429, b"", Retryable),
    (
        jasmin,
        200,
        b'Success "07033084-5cfd-4812-90a4-e4d24ffb6e3d"',
        "07033084-5cfd-4812-90a4-e4d24ffb6e3d",
    ),
    (jasmin, 400, b'Error "Mandatory argument to is not found."', Permanent),
    (jasmin, 403, b'Error "Authentication failure for username:gw8079"', Permanent),
    (jasmin, 412, b'Error "No route found"', Permanent),
    (jasmin, 500, b'Error "Cannot send submit_sm"', Retryable),
    (jasmin, 200, b"OK", Permanent),  # 2xx without Success "<id>"
    (vnmo, 200, b"1", None),
    (vnmo, 200, b" 1\r\n", None),
    (vnmo, 200, b"<soap:Envelope><r><return>1</return></r></soap:Envelope>", None),
    (vnmo, 200, b"0", Retryable),  # the convention's "try again later"
    (vnmo, 200, b"-1", Permanent),
    (vnmo, 200, b"<x><result>-5</result></x>", Permanent),
    (vnmo, 200, b"OK", Permanent),
    (vnmo, 503, b"", Retryable),
    (vnmo, 404, b"", Permanent),
]


@pytest.mark.parametrize(
    ("kind", "status", "body", "meaning"),
    ANSWERS,
    ids=[
        f"{kind.__name__.rsplit('.', 1)[1]}-{status}-{body[:12]!r}"
        for kind, status, body, _ in ANSWERS
    ],
)
def test_the_carriers_answer_reads_as(
    kind: ModuleType, status: int, body: bytes, meaning: str | type[Exception] | None
) -> None:
    if isinstance(meaning, type):
        with pytest.raises(meaning):
            kind.parse_send_answer(status, body)
    else:
        assert kind.parse_send_answer(status, body).carrier_reference == meaning
