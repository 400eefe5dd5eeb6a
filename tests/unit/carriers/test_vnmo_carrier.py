"""The Vietnamese MO-receiver adapter's pure halves: form and SOAP, one field table."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from gateway.carriers import vnmo
from gateway.carriers.base import OutboundSms
from gateway.errors import (
    BadSignature,
    ConflictingDuplicate,
    InvalidPayload,
    WrongShortcode,
)
from gateway.settings import CarrierSettings
from tests.payloads import recorded
from tests.unit.carriers import NOW, PUBLIC

CARRIER = CarrierSettings(
    "vnmo", "vnmo-token-01234567890", "https://mt.example.vn/mt", "vnmo", 5.0, smsc="VINAPHONE"
)


def test_recorded_form_parses() -> None:
    sms = vnmo.parse_inbound(recorded("vnmo_mo_form.http"))

    assert sms.carrier_message_id == "VNP-20261125-0000917"
    assert (sms.sender, sms.recipient, sms.text) == ("84912345678", "8079", "BH MK 0123456789")
    assert sms.route == "VINAPHONE"


def test_recorded_soap_parses_with_any_case_of_field_names() -> None:
    sms = vnmo.parse_inbound(recorded("vnmo_mo_soap.http"))

    assert sms.carrier_message_id == "VT-20261125-000184"
    assert (sms.sender, sms.text, sms.route) == (
        "84912345678",
        "Bh mk 0123456789 gửi 8079",
        "VIETTEL",
    )


def test_form_field_names_match_case_insensitively() -> None:
    request = recorded("vnmo_mo_form.http")
    body = request.body.replace(b"User_ID", b"USER_ID").replace(b"Request_ID", b"request_id")

    assert vnmo.parse_inbound(dataclasses.replace(request, body=body)).sender == "84912345678"


def test_form_answers_are_bare_codes() -> None:
    request = recorded("vnmo_mo_form.http")

    assert vnmo.answer_mo(request, 1, False).body == b"1"
    assert vnmo.answer_mo(request, 1, True).body == b"1"
    assert vnmo.answer_refused(request, BadSignature("x")).body == b"-1"
    assert vnmo.answer_refused(request, InvalidPayload("x")).body == b"-2"
    assert vnmo.answer_refused(request, WrongShortcode("x")).body == b"-3"
    assert vnmo.answer_refused(request, ConflictingDuplicate("x")).body == b"-4"
    assert vnmo.answer_failure(request).body == b"0"


def test_soap_answers_are_soap_responses_to_the_same_operation() -> None:
    answer = vnmo.answer_mo(recorded("vnmo_mo_soap.http"), 1, False)

    assert answer.status == 200
    assert answer.content_type.startswith("text/xml")
    root = ET.fromstring(answer.body)  # noqa: S314 - our own answer, not untrusted input
    response = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/{http://moreceiver.cp.vn/}messageReceiverResponse"
    )
    assert response is not None
    assert response.findtext("return") == "1"


def test_prepared_mt_echoes_the_mo_fields_and_says_charged() -> None:
    sms = OutboundSms("17", "VNP-1", "8079", "84912345678", "Mat khau: K7PQ", route="VINAPHONE")

    request = vnmo.prepare_send(sms, CARRIER, PUBLIC, NOW)

    assert (request.method, request.url) == ("POST", CARRIER.mt_url)
    assert request.body == {
        "User_ID": "84912345678",
        "Service_ID": "8079",
        "Command_Code": "BH",
        "Message": "Mat khau: K7PQ",
        "Request_ID": "VNP-1",
        "Operator": "VINAPHONE",
        "Message_Type": "1",
    }


def test_an_mt_that_answers_no_mo_is_free() -> None:
    sms = OutboundSms("18", None, "8079", "84912345678", "x")

    with_login = dataclasses.replace(CARRIER, mt_username="cp", mt_password="pw")
    form = vnmo.prepare_send(sms, with_login, PUBLIC, NOW).body

    assert isinstance(form, dict)
    assert form["Message_Type"] == "0"
    assert (form["Operator"], form["Username"], form["Password"]) == ("VINAPHONE", "cp", "pw")
