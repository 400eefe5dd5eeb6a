"""The JSON carrier adapter's pure halves, against recorded payloads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from gateway.carriers.base import OutboundSms
from gateway.carriers.json_api import (
    parse_dlr,
    parse_inbound,
    prepare_send,
)
from gateway.carriers.signing import signature
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus
from tests.unit.carriers import NOW, PUBLIC

PAYLOADS = Path(__file__).parents[2] / "payloads"
CARRIER = CarrierSettings("viettel", "s" * 20, "https://mt.example.vn/send", "json", 5.0)


def test_recorded_mo_parses() -> None:
    sms = parse_inbound((PAYLOADS / "mo_json.json").read_bytes())

    assert sms.carrier_message_id == "VT-20261125-000183"
    assert sms.sender == "84912345678"
    assert sms.recipient == "8079"
    assert sms.text == "BH MK 0123456789"
    assert sms.received_at == dt.datetime(2026, 11, 25, 2, 30, 12, tzinfo=dt.UTC)


def test_numeric_ids_are_kept_as_text() -> None:
    body = json.dumps({"id": 123, "from": "0912345678", "to": "8079", "text": ""}).encode()

    assert parse_inbound(body).carrier_message_id == "123"


def test_recorded_dlr_parses() -> None:
    report = parse_dlr((PAYLOADS / "dlr_json.json").read_bytes())

    assert (report.reference, report.carrier_reference, report.status) == (
        "42",
        "VT-MT-7781",
        DeliveryStatus.EXPIRED,
    )


def test_prepared_reply_is_signed_json() -> None:
    sms = OutboundSms("17", "VT-1", "8079", "84912345678", "Cap lai mat khau thanh cong.")

    request = prepare_send(sms, CARRIER, PUBLIC, NOW)

    assert (request.method, request.url) == ("POST", "https://mt.example.vn/send")
    assert isinstance(request.body, bytes) and request.headers is not None
    assert json.loads(request.body) == {
        "reference": "17",
        "in_reply_to": "VT-1",
        "from": "8079",
        "to": "84912345678",
        "text": "Cap lai mat khau thanh cong.",
    }
    timestamp = request.headers["X-Gateway-Timestamp"]
    assert request.headers["X-Gateway-Signature"] == signature(
        CARRIER.secret, timestamp, request.body
    )
    assert request.headers["Content-Type"] == "application/json"
