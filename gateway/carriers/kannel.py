"""Kannel (docs/kannel.md): an sms-service's post-url or get-url in, sendsms out; its emulator.

Kannel calls ``/carriers/<name>/mo?from=%p&to=%P&id=%I&smsc=%i&ts=%T&token=SECRET`` with the
text as the body (post-url) or as ``&text=%a`` (get-url). It turns any text we answer into an
SMS unless ``max-messages = 0``, so every answer here has an empty body.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from gateway.carriers import kind, wire
from gateway.carriers.base import (
    Answer,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SendReceipt,
    fallback_message_id,
)
from gateway.errors import InvalidPayload, RequestRefused
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus
from parsers import is_gsm7

# User guide, "Delivery reports": %d is one of these; 4 (queued on SMSC) and 8 (delivered to
# SMSC) are steps on the way, acknowledged but not recorded.
DLR_STATUSES = {
    1: DeliveryStatus.DELIVERED,  # delivered to the phone
    2: DeliveryStatus.FAILED,  # not delivered to the phone
    16: DeliveryStatus.FAILED,  # refused by the SMSC
}
DLR_INTERMEDIATE = frozenset({4, 8})
DLR_MASK = 1 | 2 | 16  # only final outcomes come back
CODING_GSM = 0  # our own replies are GSM-7 (gateway/delivery/replies.py checks it at start)
CODING_8BIT = 1
CODING_UCS2 = 2


def parse_inbound(request: wire.WebhookRequest) -> InboundSms:
    """Turn a post-url or get-url call into an InboundSms, or raise InvalidPayload."""
    params = request.query_params()
    if request.method == "POST" and (request.body or "text" not in params):
        raw = request.body
        coding = request.header("X-Kannel-Coding")
        charset = request.charset
    else:
        raw = params.get("text", b"")
        coding = wire.text_field(params.get("coding", b""), "coding") or None
        charset = wire.text_field(params.get("charset", b""), "charset").lower() or None
    text = _decode(raw, coding, charset)
    sender = wire.phone(wire.text_field(params.get("from"), "from"), "from")
    recipient = wire.nonempty(wire.text_field(params.get("to"), "to"), "to")
    stamp = wire.text_field(params.get("ts", b""), "ts")
    message_id = wire.text_field(params.get("id", b""), "id")
    if not message_id:
        if not stamp:
            raise InvalidPayload("id (%I) or ts (%T) is required to recognise a repeat")
        message_id = fallback_message_id(sender, recipient, text, stamp)
    route = wire.text_field(params.get("smsc", b""), "smsc") or request.header("X-Kannel-SMSC")
    return InboundSms(
        carrier_message_id=wire.identifier(message_id, "id"),
        sender=sender,
        recipient=recipient,
        text=text,
        received_at=wire.unix_time(stamp, "ts") if stamp else None,
        route=wire.route(route),
    )


def parse_dlr(request: wire.WebhookRequest) -> DeliveryReport | None:
    """Read a dlr-url call; None for a report on the way (queued, at the SMSC)."""
    params = request.query_params()
    code = wire.number(params.get("status"), "status")
    if code in DLR_INTERMEDIATE:
        return None
    if code not in DLR_STATUSES:
        raise InvalidPayload(f"unknown delivery status {code}")
    reference = wire.identifier(wire.text_field(params.get("reference"), "reference"), "reference")
    return DeliveryReport(reference=reference, carrier_reference=None, status=DLR_STATUSES[code])


def answer_mo(request: wire.WebhookRequest, message_id: int, duplicate: bool) -> Answer:
    """Answer a stored message: 202 with no body, so Kannel sends nothing to the phone."""
    return Answer(202)


def answer_dlr(
    request: wire.WebhookRequest, report: DeliveryReport | None, changed: bool
) -> Answer:
    """Answer a delivery report, recorded or not."""
    return Answer(202)


def answer_refused(request: wire.WebhookRequest, error: RequestRefused) -> Answer:
    """Answer a refusal with its status and only the short error code."""
    return Answer(error.status, error.code.encode())


def answer_failure(request: wire.WebhookRequest) -> Answer:
    """Answer a failure on our side: 503, with no body like every answer here."""
    return Answer(503)


def prepare_send(
    sms: OutboundSms, carrier: CarrierSettings, public_url: str, now: dt.datetime
) -> kind.MtRequest:
    """Build the sendsms GET for one reply, with a dlr-url back to us."""
    dlr_url = (
        f"{kind.webhook_url(public_url, carrier, 'dlr')}?reference={quote(sms.reference, safe='')}"
        f"&status=%d&token={quote(carrier.secret, safe='')}"
    )
    params = [
        ("username", carrier.mt_username or ""),
        ("password", carrier.mt_password or ""),
        ("from", sms.sender),
        ("to", sms.recipient),
        ("text", sms.text),
        ("charset", "UTF-8"),
        # A keyword service's answer may be accented (docs/services.md): Kannel turns the
        # UTF-8 text into UCS-2 when asked for coding 2 (user guide, "sendsms" charset).
        ("coding", str(CODING_GSM if is_gsm7(sms.text) else CODING_UCS2)),
    ]
    # Back the way the message came in (number portability): its SMSC, else the default.
    smsc = sms.route or carrier.smsc
    if smsc:
        params.append(("smsc", smsc))
    params += [("dlr-mask", str(DLR_MASK)), ("dlr-url", dlr_url)]
    separator = "&" if "?" in carrier.mt_url else "?"
    return kind.MtRequest("GET", carrier.mt_url + separator + urlencode(params))


def parse_send_answer(status: int, body: bytes) -> SendReceipt:
    """Read sendsms's answer: 202 "0: Accepted for delivery" (or "3: Queued ...") is success."""
    error = wire.status_error(status)
    if error is not None:
        raise error
    return SendReceipt(carrier_reference=None)  # sendsms names no id; DLRs use our reference


def _decode(raw: bytes, coding: str | None, charset: str | None) -> str:
    # smsbox.c (obey_request, TRANSTYPE_POST_URL): UCS-2 comes as charset="UTF-16BE" with
    # X-Kannel-Coding: 2, 8-bit data as application/octet-stream with coding 1, and 7-bit text
    # as UTF-8 unless the service sets alt-charset.
    if coding not in (None, "0", "1", "2"):
        raise InvalidPayload("X-Kannel-Coding must be 0, 1 or 2")
    ucs2 = coding == str(CODING_UCS2) or charset in wire.UCS2_CHARSETS
    eight_bit = coding == str(CODING_8BIT) and not charset
    return wire.decode_text(raw, ucs2=ucs2, eight_bit=eight_bit, charset=charset)


def emulate_mo(carrier: CarrierSettings, mo: kind.EmulatedMo) -> kind.MoRequest:
    """Post an MO as smsbox's post-url does."""
    query = urlencode(
        {
            "from": mo.sender,
            "to": mo.recipient,
            "id": mo.message_id,
            "smsc": carrier.smsc or "SIM",
            "ts": str(int(mo.sent_at.timestamp())),
            "token": carrier.secret,
        }
    )
    # As smsbox does: GSM text as UTF-8, anything else as UCS-2 (X-Kannel-Coding: 2).
    ucs2 = not is_gsm7(mo.text)
    headers = {
        "Content-Type": f'text/plain; charset="{"UTF-16BE" if ucs2 else "UTF-8"}"',
        "X-Kannel-Coding": "2" if ucs2 else "0",
    }
    body = mo.text.encode("utf-16-be" if ucs2 else "utf-8")
    return kind.MoRequest(mo.message_id, "POST", f"{mo.url}?{query}", headers, body)


def emulate_mo_accepted(status: int, body: bytes) -> bool:
    """Kannel takes any 2xx as stored."""
    return 200 <= status < 300


def emulate_mt_answer(carrier: CarrierSettings, request: wire.WebhookRequest) -> kind.MtResult:
    """Answer a sendsms call as Kannel does, checking the username and password."""
    params = kind.text_params(
        request.query_params() if request.method == "GET" else request.form_params()
    )
    if not kind.mt_credentials_match(params, carrier):
        return kind.MtResult(403, b"Authorization failed for sendsms")
    if not params.get("to"):
        return kind.MtResult(400, b"Missing receiver number, rejected")
    return kind.MtResult(
        202,
        b"0: Accepted for delivery",
        params["to"],
        params.get("text", ""),
        reference=kind.dlr_reference(params.get("dlr-url")),
    )


KIND = kind.CarrierKind(
    name="kannel",
    webhooks=kind.Webhooks(
        parse_inbound, parse_dlr, answer_mo, answer_dlr, answer_refused, answer_failure
    ),
    transport=kind.http_transport(prepare_send, parse_send_answer),
    emulator=kind.Emulator(emulate_mo, emulate_mo_accepted, emulate_mt_answer),
)
