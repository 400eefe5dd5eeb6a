"""The Vietnamese MO-receiver convention (docs/vnmo.md): User_ID, Service_ID, ...; its emulator.

Carriers and aggregators post these fields as a form or inside a SOAP envelope and expect
``1`` for accepted, ``0`` or a negative code otherwise, in the shape they used. Field names
match case-insensitively. Every wire name lives in the tables below, so a carrier's exact
spec is dropped in there and nowhere else; the SOAP envelope itself is read and written in
soap.py.
"""

from __future__ import annotations

import datetime as dt
import re

from gateway.carriers import kind, soap, wire
from gateway.carriers.base import Answer, DeliveryReport, InboundSms, OutboundSms, SendReceipt
from gateway.errors import InvalidPayload, PermanentSendError, RequestRefused, RetryableSendError
from gateway.settings import CarrierSettings

# Our name for a field -> the carrier's. MT requests carry the same fields plus the type.
FIELDS = {
    "sender": "User_ID",
    "shortcode": "Service_ID",
    "keyword": "Command_Code",
    "text": "Message",
    "request_id": "Request_ID",
    "operator": "Operator",
    "message_type": "Message_Type",
    "username": "Username",  # sent only when CARRIER_<NAME>_MT_USERNAME is set
    "password": "Password",
}
KEYWORD = "BH"  # the keyword registered for 8079 (`BH MK <id>`), echoed in Command_Code
# A reply to a charged MO is the charged MT of that transaction; anything else is free.
MESSAGE_TYPES = {"charged": "1", "free": "0"}
# Our answers: 1 accepted (a repeat too), 0 try again later, negative: do not retry.
RESULT_ACCEPTED = "1"
RESULT_TRY_LATER = "0"
RESULT_CODES = {
    "bad_signature": "-1",  # wrong token or caller address
    "invalid_payload": "-2",
    "payload_too_large": "-2",
    "unsupported_media_type": "-2",
    "wrong_shortcode": "-3",
    "conflicting_duplicate": "-4",
}
SOAP_RESULT = "return"  # the element holding the code in a SOAP answer
DEFAULT_OPERATION = "messageReceiver"  # what a SOAP answer answers when the call is unreadable
_RESULT_IN_XML = re.compile(rb"<(?:[\w.-]+:)?(?:return|result)\b[^>]*>\s*(-?\d+)\s*<")


def parse_inbound(request: wire.WebhookRequest) -> InboundSms:
    """Turn a form or SOAP MO into an InboundSms, or raise InvalidPayload."""
    if soap.is_soap(request):
        given = soap.read_call(request.body).fields
    else:
        given = {k: wire.decode_text(v, ucs2=False) for k, v in request.form_params().items()}
    fields = {name.lower(): value for name, value in given.items()}

    def field(key: str, *, required: bool = True) -> str:
        value = fields.get(FIELDS[key].lower())
        if value is None and required:
            raise InvalidPayload(f"{FIELDS[key]} is required")
        return (value or "").strip() if key != "text" else (value or "")

    text = field("text") or field("keyword", required=False)
    recipient = wire.nonempty(field("shortcode"), FIELDS["shortcode"])
    operator = field("operator", required=False)
    return InboundSms(
        # Request_ID is part of the convention: without it no repeat could be recognised.
        carrier_message_id=wire.identifier(field("request_id"), FIELDS["request_id"]),
        sender=wire.phone(field("sender"), FIELDS["sender"]),
        recipient=recipient,
        text=text,
        received_at=None,
        route=wire.route(operator),
    )


def parse_dlr(request: wire.WebhookRequest) -> DeliveryReport | None:
    """The convention has no delivery reports."""
    raise InvalidPayload("this carrier kind sends no delivery reports")


def answer_mo(request: wire.WebhookRequest, message_id: int, duplicate: bool) -> Answer:
    """Answer 1 for a stored message or its repeat, in the request's shape."""
    return _answer(request, RESULT_ACCEPTED)


def answer_dlr(
    request: wire.WebhookRequest, report: DeliveryReport | None, changed: bool
) -> Answer:
    """Never reached: parse_dlr refuses every report."""
    return _answer(request, RESULT_ACCEPTED)


def answer_refused(request: wire.WebhookRequest, error: RequestRefused) -> Answer:
    """Answer a refusal with its negative code (0: try again), in the request's shape."""
    return _answer(request, RESULT_CODES.get(error.code, RESULT_TRY_LATER))


def answer_failure(request: wire.WebhookRequest) -> Answer:
    """Answer 0 when we failed on our side: the carrier may try again."""
    return _answer(request, RESULT_TRY_LATER)


def prepare_send(
    sms: OutboundSms, carrier: CarrierSettings, public_url: str, now: dt.datetime
) -> kind.MtRequest:
    """Build the MT form for one reply: the MO's fields plus the message type."""
    values = {
        "sender": sms.recipient,  # User_ID is the phone on both legs
        "shortcode": sms.sender,
        "keyword": KEYWORD,
        "text": sms.text,
        "request_id": sms.in_reply_to or "",
        "message_type": MESSAGE_TYPES["charged" if sms.in_reply_to else "free"],
    }
    operator = sms.route or carrier.smsc
    if operator:
        values["operator"] = operator
    if carrier.mt_username:
        values["username"] = carrier.mt_username
        values["password"] = carrier.mt_password or ""
    form = {FIELDS[key]: value for key, value in values.items()}
    return kind.MtRequest("POST", carrier.mt_url, form)


def parse_send_answer(status: int, body: bytes) -> SendReceipt:
    """Read the MT endpoint's answer: 1 accepted, 0 try again, negative refused."""
    error = wire.status_error(status)
    if error is not None:
        raise error
    stripped = body.strip()
    match = _RESULT_IN_XML.search(stripped) if stripped[:1] == b"<" else None
    code = match[1] if match else stripped
    if code == b"1":
        return SendReceipt(carrier_reference=None)
    if code == b"0":
        raise RetryableSendError("carrier answered 0")
    if re.fullmatch(rb"-\d{1,6}", code):
        raise PermanentSendError(f"carrier answered {code.decode()}")
    raise PermanentSendError("carrier's answer is not a result code")


def emulate_mo(carrier: CarrierSettings, mo: kind.EmulatedMo) -> kind.MoRequest:
    """Post an MO as a form, as an aggregator following the convention does."""
    fields: dict[str, str | bytes] = {
        FIELDS["sender"]: mo.sender,
        FIELDS["shortcode"]: mo.recipient,
        FIELDS["keyword"]: KEYWORD,
        FIELDS["text"]: mo.text,
        FIELDS["request_id"]: mo.message_id,
        FIELDS["operator"]: carrier.smsc or "SIM",
    }
    return kind.form_mo_request(carrier, mo, fields)


def emulate_mo_accepted(status: int, body: bytes) -> bool:
    """Only 1 (as text or inside a SOAP answer) means stored."""
    return status == 200 and (body.strip() == b"1" or b">1<" in body)


def emulate_mt_answer(carrier: CarrierSettings, request: wire.WebhookRequest) -> kind.MtResult:
    """Answer an MT form with 1, or -2 when it names no phone."""
    params = {k.lower(): v for k, v in kind.text_params(request.form_params()).items()}
    to = params.get(FIELDS["sender"].lower())
    if not to:
        return kind.MtResult(200, b"-2")
    return kind.MtResult(
        200,
        b"1",
        to,
        params.get(FIELDS["text"].lower(), ""),
        params.get(FIELDS["request_id"].lower()),
    )


KIND = kind.CarrierKind(
    name="vnmo",
    webhooks=kind.Webhooks(
        parse_inbound, parse_dlr, answer_mo, answer_dlr, answer_refused, answer_failure
    ),
    transport=kind.http_transport(prepare_send, parse_send_answer),
    emulator=kind.Emulator(emulate_mo, emulate_mo_accepted, emulate_mt_answer),
)


def _answer(request: wire.WebhookRequest, code: str) -> Answer:
    if soap.is_soap(request):
        return soap.answer(request.body, SOAP_RESULT, code, DEFAULT_OPERATION)
    return Answer(200, code.encode())
