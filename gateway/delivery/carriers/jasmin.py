"""Jasmin (docs/jasmin.md): its MO HTTP connector in, its HTTP API's /send out.

Jasmin re-sends an MO or a DLR (3 times, 30 s apart) until it gets 200 with the exact body
``ACK/Jasmin`` (Jasmin manual, "HTTP API" > "Receiving SMS-MO"), so a stored message and a
repeat of one are both acknowledged, and nothing else is.
"""

from __future__ import annotations

import binascii
import re
from urllib.parse import urlencode

import requests

from gateway.delivery.carriers import wire
from gateway.delivery.carriers.base import (
    Answer,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SendReceipt,
)
from gateway.errors import InvalidPayload, PermanentSendError, RequestRefused
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus

ACK = b"ACK/Jasmin"
CODING_GSM = 0  # SMSC default alphabet; our replies are GSM-7
CODING_LATIN1 = 3
CODING_UCS2 = 8
DLR_LEVEL = 2  # terminal level: only what happened at the phone ("Receiving DLR")
# message_status of a level 2/3 DLR (SMPP 3.4 appendix B stat values); ACCEPTD and ENROUTE
# are steps on the way, acknowledged but not recorded, as is a level-1 ESME_ROK.
DLR_STATUSES = {
    "DELIVRD": DeliveryStatus.DELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "UNDELIV": DeliveryStatus.FAILED,
    "REJECTD": DeliveryStatus.FAILED,
    "DELETED": DeliveryStatus.FAILED,
    "UNKNOWN": DeliveryStatus.FAILED,
}
DLR_INTERMEDIATE = frozenset({"ACCEPTD", "ENROUTE", "ESME_ROK"})
_SUCCESS = re.compile(rb'^\s*Success\s+"([^"]{1,128})"\s*$')


def verify(request: wire.WebhookRequest, carrier: CarrierSettings) -> None:
    """Check the caller's address and the URL token."""
    wire.verify_token(request, carrier)


def parse_inbound(request: wire.WebhookRequest) -> InboundSms:
    """Turn the MO connector's form (POST) or query (GET) into an InboundSms."""
    params = request.form_params()
    code = wire.number(params.get("coding", b"0") or b"0", "coding")
    if params.get("binary"):
        # "binary" is the hex of the raw short message: lossless where "content" may not be.
        try:
            raw = binascii.unhexlify(params["binary"].strip())
        except (binascii.Error, ValueError):
            raise InvalidPayload("binary must be hexadecimal") from None
    else:
        raw = params.get("content", b"")
    text = wire.decode_text(
        raw,
        ucs2=code == CODING_UCS2,
        eight_bit=code not in (CODING_UCS2, CODING_LATIN1),
        charset="latin-1" if code == CODING_LATIN1 else None,
    )
    recipient = wire.text_field(params.get("to"), "to")
    if not recipient:
        raise InvalidPayload("to must not be empty")
    connector = wire.text_field(params.get("origin-connector", b""), "origin-connector")
    return InboundSms(
        carrier_message_id=wire.identifier(wire.text_field(params.get("id"), "id"), "id"),
        sender=wire.phone(wire.text_field(params.get("from"), "from"), "from"),
        recipient=recipient,
        text=text,
        received_at=None,  # Jasmin sends validity (an expiry), not the time of receipt
        route=connector[:64] or None,
    )


def parse_dlr(request: wire.WebhookRequest) -> DeliveryReport | None:
    """Read a DLR; our reference is in the dlr-url we gave, Jasmin's id in the form."""
    params = request.form_params()
    status = wire.text_field(params.get("message_status"), "message_status").upper()
    if status in DLR_INTERMEDIATE:
        return None
    if status.startswith("ESME_"):
        delivery = DeliveryStatus.FAILED  # level 1: the SMSC refused the submit_sm
    elif status in DLR_STATUSES:
        delivery = DLR_STATUSES[status]
    else:
        raise InvalidPayload(f"unknown message_status {status!r}")
    query = request.query_params()
    reference = wire.text_field(query.get("reference"), "reference")
    jasmin_id = wire.text_field(params.get("id", b""), "id")
    return DeliveryReport(
        reference=wire.identifier(reference, "reference"),
        carrier_reference=jasmin_id[:128] or None,
        status=delivery,
    )


def answer_mo(request: wire.WebhookRequest, message_id: int, duplicate: bool) -> Answer:
    """Acknowledge a stored message, first delivery or repeat alike."""
    return Answer(200, ACK)


def answer_dlr(
    request: wire.WebhookRequest, report: DeliveryReport | None, changed: bool
) -> Answer:
    """Acknowledge a delivery report, recorded, repeated or on the way."""
    return Answer(200, ACK)


def answer_refused(request: wire.WebhookRequest, error: RequestRefused) -> Answer:
    """Refuse without ACK/Jasmin, in Jasmin's own ``Error "..."`` style."""
    return Answer(error.status, f'Error "{error.code}"'.encode())


def prepare_send(sms: OutboundSms, carrier: CarrierSettings, public_url: str) -> dict[str, str]:
    """Build the /send form for one reply, asking for a terminal-level DLR back to us."""
    query = urlencode({"reference": sms.reference, "token": carrier.secret})
    dlr_url = f"{public_url}/carriers/{carrier.name}/dlr?{query}"
    return {
        "username": carrier.mt_username or "",
        "password": carrier.mt_password or "",
        "to": sms.recipient,
        "from": sms.sender,
        "content": sms.text,
        "coding": str(CODING_GSM),
        "dlr": "yes",
        "dlr-url": dlr_url,
        "dlr-level": str(DLR_LEVEL),
        "dlr-method": "POST",
    }


def parse_send_answer(status: int, body: bytes) -> SendReceipt:
    """Read /send's answer: 200 ``Success "<id>"`` is success, with Jasmin's message id."""
    error = wire.status_error(status)
    if error is not None:
        raise error
    match = _SUCCESS.match(body)
    if match is None:
        raise PermanentSendError('Jasmin answered 2xx without Success "<id>"')
    return SendReceipt(carrier_reference=match[1].decode("utf-8", "replace"))


class JasminTransport:
    """Sends replies through one Jasmin's HTTP API."""

    def __init__(self, carrier: CarrierSettings, public_url: str, http: requests.Session) -> None:
        self._carrier = carrier
        self._public_url = public_url
        self._http = http

    def send(self, sms: OutboundSms) -> SendReceipt:
        """POST /send once; translate failures into our send errors."""
        form = prepare_send(sms, self._carrier, self._public_url)
        status, body = wire.call(
            self._http, "POST", self._carrier.mt_url, data=form, timeout=self._carrier.timeout
        )
        return parse_send_answer(status, body)
