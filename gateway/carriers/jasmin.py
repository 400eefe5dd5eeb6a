"""Jasmin (docs/jasmin.md): its MO HTTP connector in, its HTTP API's /send out; its emulator.

Jasmin re-sends an MO or a DLR (3 times, 30 s apart) until it gets 200 with the body
``ACK/Jasmin`` (Jasmin manual, "HTTP API" > "Receiving SMS-MO"), so a stored message and a
repeat of one are both acknowledged, and nothing else is. The requests in
``tests/payloads/jasmin_*`` were captured from Jasmin 0.11.0; tests/e2e/test_jasmin.py runs it.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
import uuid
from urllib.parse import urlencode

from gateway.carriers import kind, wire
from gateway.carriers.base import Answer, DeliveryReport, InboundSms, OutboundSms, SendReceipt
from gateway.errors import InvalidPayload, PermanentSendError, RequestRefused
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus
from parsers import is_gsm7

ACK = b"ACK/Jasmin"
CODING_GSM = 0  # SMSC default alphabet: our own replies, and any GSM-7 text
CODING_LATIN1 = 3
CODING_UCS2 = 8
# Level 3: the SMSC's answer to submit_sm (level 1) and what happened at the phone (level 2).
# With level 2 alone, a reply the SMSC refuses at submit time is never reported ("Receiving
# DLR"), and its row would stay ``sent`` for ever.
DLR_LEVEL = 3
# message_status of a level-2 DLR (SMPP 3.4 appendix B stat values); ACCEPTD and ENROUTE are
# steps on the way, acknowledged but not recorded, as is a level-1 ESME_ROK. A level-1 ESME_*
# error is the SMSC refusing the submit_sm.
DLR_STATUSES = {
    "DELIVRD": DeliveryStatus.DELIVERED,
    "EXPIRED": DeliveryStatus.EXPIRED,
    "UNDELIV": DeliveryStatus.FAILED,
    "REJECTD": DeliveryStatus.FAILED,
    "DELETED": DeliveryStatus.FAILED,
    "UNKNOWN": DeliveryStatus.FAILED,
}
DLR_INTERMEDIATE = frozenset({"ACCEPTD", "ENROUTE", "ESME_ROK"})
_MAX_REASON = 200
_SUCCESS = re.compile(rb'^\s*Success\s+"([^"]{1,128})"\s*$')


def parse_inbound(request: wire.WebhookRequest) -> InboundSms:
    """Turn the MO connector's form (POST) or query (GET) into an InboundSms."""
    params = request.form_params()
    code = data_coding(params.get("coding", b""))
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
    recipient = wire.nonempty(wire.text_field(params.get("to"), "to"), "to")
    connector = wire.text_field(params.get("origin-connector", b""), "origin-connector")
    return InboundSms(
        carrier_message_id=wire.identifier(wire.text_field(params.get("id"), "id"), "id"),
        sender=wire.phone(wire.text_field(params.get("from"), "from"), "from"),
        recipient=recipient,
        text=text,
        received_at=None,  # Jasmin sends validity (an expiry), not the time of receipt
        route=wire.route(connector),
    )


def data_coding(value: bytes) -> int:
    """Read ``coding``: Jasmin sends the data_coding octet itself, others its decimal text.

    Jasmin's connector posts ``coding=%00`` (GSM) or ``coding=%08`` (UCS-2), one raw octet
    (its own tests assert ``coding == b'\\x08'``); a sender following the manual's table sends
    ``0`` or ``8``. An ASCII digit is read as decimal: octets 0x30-0x39 (reserved in SMPP 3.4,
    compressed text in GSM 03.38) do not occur in practice. Absent or empty is the SMSC default
    alphabet.
    """
    if not value:
        return CODING_GSM
    if value.isdigit() and len(value) <= 3 and int(value) <= 0xFF:
        return int(value)
    if len(value) == 1:
        return value[0]
    raise InvalidPayload("coding must be one octet or a decimal number up to 255")


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
        carrier_reference=jasmin_id[: wire.MAX_ID_LENGTH] or None,
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
    """Refuse without ACK/Jasmin, in Jasmin's own ``Error "..."`` style, with the reason.

    Jasmin writes the body of a refused MO or DLR into its thrower log, so the reason is where
    its operator looks (``Error "invalid_payload: coding must be ..."``).
    """
    reason = re.sub(r'["\\\x00-\x1f\x7f]', "?", error.reason)[:_MAX_REASON]
    return Answer(error.status, f'Error "{error.code}: {reason}"'.encode())


def answer_failure(request: wire.WebhookRequest) -> Answer:
    """Answer a failure on our side without ACK/Jasmin, so Jasmin posts the request again."""
    return Answer(503, b'Error "internal_error"')


def prepare_send(
    sms: OutboundSms, carrier: CarrierSettings, public_url: str, now: dt.datetime
) -> kind.MtRequest:
    """Build the /send form for one reply, asking for a terminal-level DLR back to us."""
    query = urlencode({"reference": sms.reference, "token": carrier.secret})
    dlr_url = f"{kind.webhook_url(public_url, carrier, 'dlr')}?{query}"
    form = {
        "username": carrier.mt_username or "",
        "password": carrier.mt_password or "",
        "to": sms.recipient,
        "from": sms.sender,
        **_content(sms.text),
        "dlr": "yes",
        "dlr-url": dlr_url,
        "dlr-level": str(DLR_LEVEL),
        "dlr-method": "POST",
    }
    return kind.MtRequest("POST", carrier.mt_url, form)


def _content(text: str) -> dict[str, str]:
    """The text as /send takes it: GSM-7 as ``content``; anything else (a keyword service's
    accented answer, docs/services.md) as UCS-2 bytes in ``hex-content`` with coding 8, which
    no charset on the way can change."""
    if is_gsm7(text):
        return {"content": text, "coding": str(CODING_GSM)}
    return {"hex-content": text.encode("utf-16-be").hex(), "coding": str(CODING_UCS2)}


def parse_send_answer(status: int, body: bytes) -> SendReceipt:
    """Read /send's answer: 200 ``Success "<id>"`` is success, with Jasmin's message id."""
    error = wire.status_error(status)
    if error is not None:
        raise error
    match = _SUCCESS.match(body)
    if match is None:
        raise PermanentSendError('Jasmin answered 2xx without Success "<id>"')
    return SendReceipt(carrier_reference=match[1].decode("utf-8", "replace"))


def emulate_mo(carrier: CarrierSettings, mo: kind.EmulatedMo) -> kind.MoRequest:
    """Post an MO as Jasmin's MO HTTP connector does."""
    gsm = is_gsm7(mo.text)
    raw = mo.text.encode("utf-8" if gsm else "utf-16-be")
    form: dict[str, str | bytes] = {
        "id": mo.message_id,
        "from": mo.sender,
        "to": mo.recipient,
        "origin-connector": carrier.smsc or "sim",
        "priority": "0",
        "coding": b"\x00" if gsm else b"\x08",  # one raw octet, as Jasmin's connector sends
        "content": raw,
        "binary": raw.hex(),
    }
    return kind.form_mo_request(carrier, mo, form)


def emulate_mo_accepted(status: int, body: bytes) -> bool:
    """Jasmin takes only 200 ``ACK/Jasmin`` as stored."""
    return status == 200 and body.strip() == ACK


def emulate_mt_answer(carrier: CarrierSettings, request: wire.WebhookRequest) -> kind.MtResult:
    """Answer a /send call as Jasmin's HTTP API does, checking the username and password."""
    params = kind.text_params(request.form_params())
    if not kind.mt_credentials_match(params, carrier):
        return kind.MtResult(
            403,
            f'Error "Authentication failure for username:{params.get("username")}"'.encode(),
        )
    reference = uuid.uuid4()
    text = params.get("content", "")
    if "hex-content" in params:
        raw = bytes.fromhex(params["hex-content"])
        text = raw.decode("utf-16-be" if params.get("coding") == str(CODING_UCS2) else "utf-8")
    return kind.MtResult(
        200,
        f'Success "{reference}"'.encode(),
        params.get("to"),
        text,
        reference=kind.dlr_reference(params.get("dlr-url")),
    )


KIND = kind.CarrierKind(
    name="jasmin",
    webhooks=kind.Webhooks(
        parse_inbound, parse_dlr, answer_mo, answer_dlr, answer_refused, answer_failure
    ),
    transport=kind.http_transport(prepare_send, parse_send_answer),
    emulator=kind.Emulator(emulate_mo, emulate_mo_accepted, emulate_mt_answer),
)
