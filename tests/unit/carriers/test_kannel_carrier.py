"""The Kannel adapter's pure halves, against requests recorded from Kannel 1.4.5."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.carriers import kannel, wire
from gateway.carriers.base import OutboundSms, fallback_message_id
from gateway.errors import BadSignature
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus
from tests.payloads import recorded
from tests.unit.carriers import NOW, PUBLIC

CARRIER = CarrierSettings(
    "kannel",
    "kannel-token-0123456789",
    "http://127.0.0.1:13013/cgi-bin/sendsms",
    "kannel",
    5.0,
    mt_username="gateway",
    mt_password="kannel-pass",
    smsc="DEFAULT-SMSC",
)


def test_recorded_post_url_parses() -> None:
    sms = kannel.parse_inbound(recorded("kannel_mo_post.http"))

    assert sms.carrier_message_id == "b84826ef-b80d-4629-ac97-e54e1f108daa"
    assert (sms.sender, sms.recipient, sms.text) == ("84912345678", "8079", "BH MK 0123456789")
    assert sms.route == "FAKE1"
    assert sms.received_at == dt.datetime(2026, 11, 25, 3, 55, 58, tzinfo=dt.UTC)


def test_recorded_ucs2_body_decodes_vietnamese() -> None:
    sms = kannel.parse_inbound(recorded("kannel_mo_ucs2.http"))

    assert sms.text == "Bh mk 0123456789 gửi 8079"


def test_ucs2_is_recognised_by_the_coding_header_alone() -> None:
    request = recorded("kannel_mo_ucs2.http")
    headers = {**request.headers, "Content-Type": "application/octet-stream"}

    sms = kannel.parse_inbound(dataclasses.replace(request, headers=headers))

    assert sms.text == "Bh mk 0123456789 gửi 8079"


def test_eight_bit_body_decodes_as_utf8_when_it_is() -> None:
    sms = kannel.parse_inbound(recorded("kannel_mo_8bit.http"))

    assert sms.text == "BH MK 0123456789 gửi"
    assert sms.sender == "84912345678"
    assert sms.route == "VT-SMPP"


def test_eight_bit_body_that_is_not_utf8_reads_as_latin1() -> None:
    request = dataclasses.replace(recorded("kannel_mo_8bit.http"), body=b"BH MK 0123456789 \xe9")

    assert kannel.parse_inbound(request).text == "BH MK 0123456789 é"


def test_alt_charset_is_honoured() -> None:
    request = recorded("kannel_mo_post.http")
    headers = {**request.headers, "Content-Type": 'text/plain; charset="ISO-8859-1"'}

    sms = kannel.parse_inbound(dataclasses.replace(request, headers=headers, body=b"BH MK \xe9"))

    assert sms.text == "BH MK é"


def test_get_url_takes_the_text_from_the_query() -> None:
    sms = kannel.parse_inbound(recorded("kannel_mo_get.http"))

    assert sms.text == "BH MK 0123456789"
    assert sms.carrier_message_id == "5d0f3a52-8c1e-4bb5-a3a3-7d5f9d2e6b01"


def test_without_an_id_the_fallback_hashes_sender_recipient_text_and_time() -> None:
    sms = kannel.parse_inbound(recorded("kannel_mo_get_no_id.http"))

    assert sms.carrier_message_id == fallback_message_id(
        "84912345678", "8079", "BH MK 0123456789", "1795579000"
    )
    assert sms.carrier_message_id.startswith("fp-")


def test_the_fallback_changes_with_the_time_and_the_text() -> None:
    ids = {
        fallback_message_id("84912345678", "8079", "BH MK 0123456789", "1795579000"),
        fallback_message_id("84912345678", "8079", "BH MK 0123456789", "1795579001"),
        fallback_message_id("84912345678", "8079", "BH MK 0123456780", "1795579000"),
    }
    assert len(ids) == 3


def test_the_recorded_token_verifies() -> None:
    wire.verify_token(recorded("kannel_mo_post.http"), CARRIER)


@pytest.mark.parametrize("token", [b"", b"kannel-token-012345678", b"kannel-token-01234567890"])
def test_a_wrong_or_missing_token_is_refused(token: bytes) -> None:
    query = b"from=0912345678&to=8079&id=1&token=" + token
    request = dataclasses.replace(recorded("kannel_mo_post.http"), query=query)

    with pytest.raises(BadSignature):
        wire.verify_token(request, CARRIER)


def test_the_allow_list_is_checked_against_the_peer_address() -> None:
    allowed = dataclasses.replace(CARRIER, allow_ips=(ipaddress.ip_network("10.0.0.0/8"),))

    wire.verify_token(recorded("kannel_mo_post.http", remote_addr="10.1.2.3"), allowed)
    with pytest.raises(BadSignature):
        wire.verify_token(recorded("kannel_mo_post.http", remote_addr="127.0.0.1"), allowed)


@pytest.mark.parametrize(
    ("name", "status"),
    [("kannel_dlr_delivered.http", DeliveryStatus.DELIVERED), ("kannel_dlr_at_smsc.http", None)],
)
def test_recorded_dlrs(name: str, status: DeliveryStatus | None) -> None:
    report = kannel.parse_dlr(recorded(name))

    assert (report and report.status) == status
    if report:
        assert report.reference == "5"


@pytest.mark.parametrize(("code", "status"), [(2, "failed"), (16, "failed"), (1, "delivered")])
def test_final_dlr_codes(code: int, status: str) -> None:
    query = f"reference=9&status={code}&token=t".encode()
    request = dataclasses.replace(recorded("kannel_dlr_delivered.http"), query=query)

    report = kannel.parse_dlr(request)

    assert report is not None and report.status.value == status


def test_answers_have_no_body_so_kannel_sends_no_sms() -> None:
    request = recorded("kannel_mo_post.http")

    first, repeat = kannel.answer_mo(request, 1, False), kannel.answer_mo(request, 1, True)

    assert (first.status, first.body) == (202, b"")
    assert (repeat.status, repeat.body) == (202, b"")
    assert kannel.answer_refused(request, BadSignature("token")).status == 401


def test_prepared_sendsms_goes_back_through_the_smsc_it_came_in_on() -> None:
    sms = OutboundSms("17", "kannel-id-1", "8079", "84912345678", "Mat khau: K7PQ", route="FAKE1")

    request = kannel.prepare_send(sms, CARRIER, PUBLIC, NOW)

    assert request.method == "GET"
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CARRIER.mt_url
    params = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert params == {
        "username": "gateway",
        "password": "kannel-pass",
        "from": "8079",
        "to": "84912345678",
        "text": "Mat khau: K7PQ",
        "charset": "UTF-8",
        "coding": "0",
        "smsc": "FAKE1",
        "dlr-mask": "19",
        "dlr-url": f"{PUBLIC}/carriers/kannel/dlr?reference=17&status=%d&token={CARRIER.secret}",
    }


def test_without_a_route_the_default_smsc_is_used() -> None:
    sms = OutboundSms("17", None, "8079", "84912345678", "x")

    params = parse_qs(urlsplit(kannel.prepare_send(sms, CARRIER, PUBLIC, NOW).url).query)

    assert params["smsc"] == ["DEFAULT-SMSC"]


def test_an_accented_reply_is_sent_as_ucs2_and_a_gsm7_one_as_before() -> None:
    # A keyword service may answer with accents (docs/services.md); Kannel converts the UTF-8
    # text to UCS-2 for coding 2.
    accented = OutboundSms("18", None, "8079", "84912345678", "Thẻ BHYT còn giá trị")
    plain = OutboundSms("19", None, "8079", "84912345678", "The BHYT con gia tri")

    sent = {
        sms.reference: parse_qs(urlsplit(kannel.prepare_send(sms, CARRIER, PUBLIC, NOW).url).query)
        for sms in (accented, plain)
    }

    assert (sent["18"]["coding"], sent["18"]["charset"]) == (["2"], ["UTF-8"])
    assert sent["18"]["text"] == ["Thẻ BHYT còn giá trị"]
    assert sent["19"]["coding"] == ["0"]
