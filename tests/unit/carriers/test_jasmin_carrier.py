"""The Jasmin adapter's pure halves, against requests captured from Jasmin 0.11.0."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from gateway.carriers import jasmin, wire
from gateway.carriers.base import OutboundSms
from gateway.errors import BadSignature, InvalidPayload
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus
from tests.payloads import recorded
from tests.unit.carriers import NOW, PUBLIC

CARRIER = CarrierSettings(
    "jasmin",
    "jasmin-token-0123456789",
    "http://127.0.0.1:1401/send",
    "jasmin",
    5.0,
    mt_username="gw8079",
    mt_password="jasmin-pass",
)


def test_recorded_mo_parses() -> None:
    sms = jasmin.parse_inbound(recorded("jasmin_mo.http"))

    assert sms.carrier_message_id == "7633e8c8-7bd6-42fc-972b-6d4965c194b6"
    assert (sms.sender, sms.recipient, sms.text) == ("84912345678", "8079", "BH MK 0123456789")
    assert sms.route == "smsc"
    assert sms.received_at is None


@pytest.mark.parametrize(
    ("name", "octet"),
    [
        ("jasmin_mo.http", b"\x00"),
        ("jasmin_mo_ucs2.http", b"\x08"),
        ("jasmin_mo_get.http", b"\x00"),
        ("jasmin_mo_get_ucs2.http", b"\x08"),
    ],
)
def test_jasmin_sends_coding_as_one_raw_octet(name: str, octet: bytes) -> None:
    # What the captures hold, and why a decimal-only reader refused every Jasmin MO.
    assert recorded(name).form_params()["coding"] == octet


@pytest.mark.parametrize("name", ["jasmin_mo_ucs2.http", "jasmin_mo_get_ucs2.http"])
def test_ucs2_decodes_vietnamese_in_post_and_get(name: str) -> None:
    sms = jasmin.parse_inbound(recorded(name))

    assert sms.text == "Bh mk 0123456789 gửi 8079"


def test_ucs2_content_without_binary_decodes_too() -> None:
    request = recorded("jasmin_mo_ucs2.http")
    body = b"&".join(p for p in request.body.split(b"&") if not p.startswith(b"binary="))

    assert jasmin.parse_inbound(dataclasses.replace(request, body=body)).text.endswith("gửi 8079")


def test_get_connector_parses() -> None:
    sms = jasmin.parse_inbound(recorded("jasmin_mo_get.http"))

    assert (sms.carrier_message_id, sms.text) == (
        "72861581-ec83-4320-9d03-da956880dc4f",
        "BH MK 0123456789",
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"\x00", 0),  # Jasmin: the data_coding octet itself
        (b"\x08", 8),
        (b"\x03", 3),
        (b"\xf0", 0xF0),
        (b"0", 0),  # other senders: its decimal text
        (b"8", 8),
        (b"255", 255),
        (b"", 0),  # absent or empty: the SMSC default alphabet
    ],
)
def test_coding_is_read_as_an_octet_or_as_decimal(value: bytes, code: int) -> None:
    assert jasmin.data_coding(value) == code


@pytest.mark.parametrize("value", [b"eight", b"256", b"\x00\x08", b"-1", b"08x"])
def test_a_coding_that_is_neither_is_refused(value: bytes) -> None:
    with pytest.raises(InvalidPayload, match="coding"):
        jasmin.data_coding(value)


def test_decimal_coding_8_still_reads_ucs2() -> None:
    request = recorded("jasmin_mo_ucs2.http")
    body = request.body.replace(b"coding=%08", b"coding=8")

    assert jasmin.parse_inbound(dataclasses.replace(request, body=body)).text.endswith("gửi 8079")


def test_token_is_checked() -> None:
    wire.verify_token(recorded("jasmin_mo.http"), CARRIER)
    with pytest.raises(BadSignature):
        wire.verify_token(
            dataclasses.replace(recorded("jasmin_mo.http"), query=b"token=nope"), CARRIER
        )


def test_stored_and_repeated_messages_are_acknowledged_exactly() -> None:
    request = recorded("jasmin_mo.http")

    for duplicate in (False, True):
        answer = jasmin.answer_mo(request, 7, duplicate)
        assert (answer.status, answer.body) == (200, b"ACK/Jasmin")
    refused = jasmin.answer_refused(request, BadSignature("token"))
    assert refused.status == 401 and b"ACK/Jasmin" not in refused.body


def test_a_refusal_says_why_on_one_line_without_breaking_jasmins_quotes() -> None:
    error = InvalidPayload("unknown message_status 'x\"\nACK/Jasmin'")

    answer = jasmin.answer_refused(recorded("jasmin_mo.http"), error)

    assert answer.status == 400
    assert answer.body == b"Error \"invalid_payload: unknown message_status 'x??ACK/Jasmin'\""


@pytest.mark.parametrize(
    ("name", "reference", "expected"),
    [
        ("jasmin_dlr_delivered.http", "42", DeliveryStatus.DELIVERED),  # level 2, DELIVRD
        ("jasmin_dlr_undelivered.http", "44", DeliveryStatus.FAILED),  # level 2, UNDELIV
        ("jasmin_dlr_submit_refused.http", "43", DeliveryStatus.FAILED),  # level 1, ESME_R*
    ],
)
def test_recorded_dlrs_parse(name: str, reference: str, expected: DeliveryStatus) -> None:
    report = jasmin.parse_dlr(recorded(name))

    assert report is not None
    assert (report.reference, report.status) == (reference, expected)
    assert report.carrier_reference == recorded(name).form_params()["id"].decode()


def test_a_level_1_acceptance_is_acknowledged_and_not_recorded() -> None:
    assert jasmin.parse_dlr(recorded("jasmin_dlr_submit_ok.http")) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("UNDELIV", DeliveryStatus.FAILED),
        ("EXPIRED", DeliveryStatus.EXPIRED),
        ("REJECTD", DeliveryStatus.FAILED),
        ("ESME_RINVNUMDESTS", DeliveryStatus.FAILED),
        ("ESME_ROK", None),
        ("ENROUTE", None),
    ],
)
def test_dlr_statuses(status: str, expected: DeliveryStatus | None) -> None:
    request = recorded("jasmin_dlr_delivered.http")
    body = request.body.replace(b"message_status=DELIVRD", b"message_status=" + status.encode())

    report = jasmin.parse_dlr(dataclasses.replace(request, body=body))

    assert (report and report.status) == expected


def test_an_unknown_dlr_status_is_invalid() -> None:
    request = recorded("jasmin_dlr_delivered.http")
    body = request.body.replace(b"message_status=DELIVRD", b"message_status=GONE")

    with pytest.raises(InvalidPayload, match="message_status"):
        jasmin.parse_dlr(dataclasses.replace(request, body=body))


def test_prepared_send_asks_for_submit_and_terminal_dlrs_back_to_us() -> None:
    sms = OutboundSms("17", "jasmin-id", "8079", "84912345678", "Mat khau: K7PQ")

    request = jasmin.prepare_send(sms, CARRIER, PUBLIC, NOW)

    assert (request.method, request.url) == ("POST", CARRIER.mt_url)
    assert isinstance(request.body, dict)
    form = dict(request.body)
    dlr_url = urlsplit(form.pop("dlr-url"))
    assert form == {
        "username": "gw8079",
        "password": "jasmin-pass",
        "to": "84912345678",
        "from": "8079",
        "content": "Mat khau: K7PQ",
        "coding": "0",
        "dlr": "yes",
        "dlr-level": "3",  # level 1 too: a refused submit_sm is reported
        "dlr-method": "POST",
    }
    assert f"{dlr_url.scheme}://{dlr_url.netloc}{dlr_url.path}" == f"{PUBLIC}/carriers/jasmin/dlr"
    assert parse_qs(dlr_url.query) == {"reference": ["17"], "token": [CARRIER.secret]}


def test_an_accented_reply_goes_as_ucs2_bytes_and_the_emulator_reads_it_back() -> None:
    # A keyword service may answer with accents (docs/services.md).
    sms = OutboundSms("18", None, "8079", "84912345678", "Thẻ BHYT còn giá trị")

    form = jasmin.prepare_send(sms, CARRIER, PUBLIC, NOW).body
    assert isinstance(form, dict)

    assert "content" not in form and form["coding"] == "8"
    assert bytes.fromhex(form["hex-content"]).decode("utf-16-be") == "Thẻ BHYT còn giá trị"
    request = wire.WebhookRequest(
        method="POST",
        query=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode({**form, "username": "gw8079", "password": "jasmin-pass"}).encode(),
    )
    assert jasmin.emulate_mt_answer(CARRIER, request).text == "Thẻ BHYT còn giá trị"
