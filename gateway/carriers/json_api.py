"""Our own JSON contract (docs/carriers.md): signed JSON in, signed JSON out; its emulator.

``parse_inbound``, ``parse_dlr``, ``prepare_send`` and ``parse_send_answer`` are pure and
tested against recorded payloads; ``http_transport`` (kind.py) adds the one HTTP call.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from gateway import fields
from gateway.carriers import kind, signing, wire
from gateway.carriers.base import Answer, DeliveryReport, InboundSms, OutboundSms, SendReceipt
from gateway.errors import (
    BadSignature,
    InvalidPayload,
    PermanentSendError,
    RequestRefused,
    RetryableSendError,
    UnsupportedMediaType,
)
from gateway.settings import CarrierSettings
from gateway.states import DeliveryStatus


def verify(
    request: wire.WebhookRequest,
    carrier: CarrierSettings,
    now: dt.datetime,
    tolerance: dt.timedelta,
) -> None:
    """Check the caller's address, the media type and the HMAC signature of the body."""
    wire.verify_caller(request, carrier)
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    _verify_signature(request, carrier, now, tolerance)


def answer_mo(request: wire.WebhookRequest, message_id: int, duplicate: bool) -> Answer:
    """Answer a stored message or its repeat with our id for it."""
    status = "duplicate" if duplicate else "accepted"
    return _json_answer(200, {"status": status, "message_id": message_id})


def answer_dlr(
    request: wire.WebhookRequest, report: DeliveryReport | None, changed: bool
) -> Answer:
    """Answer a delivery report: recorded the first time, duplicate after."""
    reference = None if report is None else report.reference
    return _json_answer(
        200, {"status": "recorded" if changed else "duplicate", "reference": reference}
    )


def answer_refused(request: wire.WebhookRequest, error: RequestRefused) -> Answer:
    """Answer a refusal as every JSON error: its code and a human reason."""
    return _json_answer(error.status, {"error": error.code, "reason": error.reason})


def parse_inbound(body: bytes) -> InboundSms:
    """Turn a carrier's MO JSON body into an InboundSms, or raise InvalidPayload."""
    data = _json_object(body)
    received_at = data.get("received_at")
    return InboundSms(
        carrier_message_id=_identifier(data, "id"),
        sender=_phone(data.get("from")),
        recipient=_string(data, "to", max_length=16).strip(),
        text=_string(data, "text", max_length=wire.MAX_TEXT_LENGTH, allow_empty=True),
        received_at=None if received_at is None else fields.iso_moment(received_at, "received_at"),
    )


def parse_dlr(body: bytes) -> DeliveryReport:
    """Turn a carrier's delivery report JSON into a DeliveryReport, or raise InvalidPayload."""
    data = _json_object(body)
    status = data.get("status")
    try:
        delivery = DeliveryStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in DeliveryStatus)
        raise InvalidPayload(f"status must be one of {allowed}") from None
    carrier_reference = data.get("message_id")
    return DeliveryReport(
        reference=_identifier(data, "reference"),
        carrier_reference=None if carrier_reference is None else _identifier(data, "message_id"),
        status=delivery,
    )


def prepare_send(
    sms: OutboundSms, carrier: CarrierSettings, public_url: str, now: dt.datetime
) -> kind.MtRequest:
    """Build the signed MT request for one reply."""
    payload = {
        "reference": sms.reference,
        "in_reply_to": sms.in_reply_to,
        "from": sms.sender,
        "to": sms.recipient,
        "text": sms.text,
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return kind.MtRequest("POST", carrier.mt_url, body, _signed_json(carrier, body, now))


def parse_send_answer(status: int, body: bytes) -> SendReceipt:
    """Read the carrier's answer to an MT request: a receipt, or a send error."""
    if status == 429 or status >= 500:
        raise RetryableSendError(f"carrier answered {status}")
    if not 200 <= status < 300:
        raise PermanentSendError(f"carrier answered {status}")
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        data = {}
    reference = data.get("message_id") if isinstance(data, dict) else None
    carrier_reference = None if reference is None else str(reference)[: wire.MAX_ID_LENGTH]
    return SendReceipt(carrier_reference=carrier_reference)


def emulate_mo(carrier: CarrierSettings, mo: kind.EmulatedMo) -> kind.MoRequest:
    """Post an MO under our contract, signed."""
    body = json.dumps(
        {"id": mo.message_id, "from": mo.sender, "to": mo.recipient, "text": mo.text},
        ensure_ascii=False,
    ).encode()
    return kind.MoRequest(
        mo.message_id, "POST", mo.url, _signed_json(carrier, body, mo.sent_at), body
    )


def emulate_mo_accepted(status: int, body: bytes) -> bool:
    """A 200 means stored (accepted or duplicate)."""
    return status == 200


def emulate_mt_answer(carrier: CarrierSettings, request: wire.WebhookRequest) -> kind.MtResult:
    """Answer a signed MT as a carrier under our contract does, checking the signature."""
    try:
        _verify_signature(request, carrier, dt.datetime.now(dt.UTC), dt.timedelta(seconds=300))
        data = json.loads(request.body)
    except (BadSignature, ValueError):
        return kind.MtResult(401, b'{"error": "bad_signature"}')
    answer = json.dumps({"message_id": f"sim-mt-{uuid.uuid4().hex[:12]}"}).encode()
    return kind.MtResult(
        200,
        answer,
        data.get("to"),
        data.get("text"),
        data.get("in_reply_to"),
        None if data.get("reference") is None else str(data["reference"]),
    )


KIND = kind.CarrierKind(
    name="json",
    webhooks=kind.Webhooks(
        lambda request: parse_inbound(request.body),
        lambda request: parse_dlr(request.body),
        answer_mo,
        answer_dlr,
        answer_refused,
        answer_failure=None,
        methods=frozenset({"POST"}),
        verify=verify,
    ),
    transport=kind.http_transport(prepare_send, parse_send_answer),
    emulator=kind.Emulator(emulate_mo, emulate_mo_accepted, emulate_mt_answer),
)


def _signed_json(carrier: CarrierSettings, body: bytes, now: dt.datetime) -> dict[str, str]:
    return {"Content-Type": "application/json", **signing.signed_headers(carrier.secret, body, now)}


def _verify_signature(
    request: wire.WebhookRequest,
    carrier: CarrierSettings,
    now: dt.datetime,
    tolerance: dt.timedelta,
) -> None:
    signing.verify(
        carrier.secret,
        request.header(signing.TIMESTAMP_HEADER),
        request.header(signing.SIGNATURE_HEADER),
        request.body,
        now=now,
        tolerance=tolerance,
    )


def _json_answer(status: int, payload: dict[str, Any]) -> Answer:
    return Answer(status, json.dumps(payload).encode(), "application/json")


def _json_object(body: bytes) -> dict[str, Any]:
    data = fields.load_json(body)
    if not isinstance(data, dict):
        raise InvalidPayload("body must be a JSON object")
    return data


def _string(data: dict[str, Any], name: str, *, max_length: int, allow_empty: bool = False) -> str:
    value = fields.text(data.get(name), name, max_length=max_length, allow_empty=allow_empty)
    if not allow_empty and not value.strip():
        raise InvalidPayload(f"{name} must not be empty")
    return value


def _identifier(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidPayload(f"{name} must be a string")
    return wire.identifier(value.strip(), name)


def _phone(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidPayload("from must be a string")
    return wire.phone(value, "from")
