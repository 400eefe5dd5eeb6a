"""Each kind's carrier gateway in miniature: how it posts an MO and how it answers an MT.

``gateway simulate`` and the tests use these to play Kannel, Jasmin, a Vietnamese MO
aggregator or a JSON carrier against a running gateway.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from gateway.delivery.carriers import signing
from gateway.delivery.carriers.jasmin import ACK
from gateway.delivery.carriers.vnmo import FIELDS, KEYWORD
from gateway.delivery.carriers.wire import WebhookRequest
from gateway.errors import BadSignature
from gateway.settings import CarrierSettings
from parsers import is_gsm7


@dataclass(frozen=True, slots=True)
class MoRequest:
    """The HTTP request a carrier gateway makes to deliver one MO."""

    message_id: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class MtResult:
    """What the carrier answers an MT request, and the reply it carried (None: refused)."""

    status: int
    body: bytes
    recipient: str | None = None
    text: str | None = None
    in_reply_to: str | None = None
    reference: str | None = None  # our outbox id, from the dlr-url or the JSON body


def mo_request(
    gateway_url: str, carrier: CarrierSettings, sender: str, recipient: str, text: str
) -> MoRequest:
    """Build the request ``carrier``'s kind would make for one MO."""
    url = f"{gateway_url.rstrip('/')}/carriers/{carrier.name}/mo"
    message_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    if carrier.kind == "kannel":
        query = urlencode(
            {
                "from": sender,
                "to": recipient,
                "id": message_id,
                "smsc": carrier.smsc or "SIM",
                "ts": str(int(now.timestamp())),
                "token": carrier.secret,
            }
        )
        # As smsbox does: GSM text as UTF-8, anything else as UCS-2 (X-Kannel-Coding: 2).
        ucs2 = not is_gsm7(text)
        headers = {
            "Content-Type": f'text/plain; charset="{"UTF-16BE" if ucs2 else "UTF-8"}"',
            "X-Kannel-Coding": "2" if ucs2 else "0",
        }
        body = text.encode("utf-16-be" if ucs2 else "utf-8")
        return MoRequest(message_id, "POST", f"{url}?{query}", headers, body)
    if carrier.kind == "jasmin":
        gsm = is_gsm7(text)
        raw = text.encode("utf-8" if gsm else "utf-16-be")
        form: dict[str, str | bytes] = {
            "id": message_id,
            "from": sender,
            "to": recipient,
            "origin-connector": carrier.smsc or "sim",
            "priority": "0",
            "coding": b"\x00" if gsm else b"\x08",  # one raw octet, as Jasmin's connector sends
            "content": raw,
            "binary": raw.hex(),
        }
        return MoRequest(
            message_id,
            "POST",
            f"{url}?{urlencode({'token': carrier.secret})}",
            _form(),
            _encode(form),
        )
    if carrier.kind == "vnmo":
        fields: dict[str, str | bytes] = {
            FIELDS["sender"]: sender,
            FIELDS["shortcode"]: recipient,
            FIELDS["keyword"]: KEYWORD,
            FIELDS["text"]: text,
            FIELDS["request_id"]: message_id,
            FIELDS["operator"]: carrier.smsc or "SIM",
        }
        return MoRequest(
            message_id,
            "POST",
            f"{url}?{urlencode({'token': carrier.secret})}",
            _form(),
            _encode(fields),
        )
    body = json.dumps(
        {"id": message_id, "from": sender, "to": recipient, "text": text}, ensure_ascii=False
    ).encode()
    headers = {
        "Content-Type": "application/json",
        **signing.signed_headers(carrier.secret, body, now),
    }
    return MoRequest(message_id, "POST", url, headers, body)


def mo_accepted(carrier: CarrierSettings, status: int, body: bytes) -> bool:
    """Tell whether the gateway's answer means "stored" in ``carrier``'s kind."""
    if carrier.kind == "kannel":
        return 200 <= status < 300
    if carrier.kind == "jasmin":
        return status == 200 and body.strip() == ACK
    if carrier.kind == "vnmo":
        return status == 200 and (body.strip() == b"1" or b">1<" in body)
    return status == 200


def mt_answer(carrier: CarrierSettings, request: WebhookRequest) -> MtResult:
    """Answer one MT request as ``carrier``'s gateway would, checking its credentials."""
    if carrier.kind == "kannel":
        params = _text_params(
            request.query_params() if request.method == "GET" else request.form_params()
        )
        if (params.get("username"), params.get("password")) != (
            carrier.mt_username,
            carrier.mt_password,
        ):
            return MtResult(403, b"Authorization failed for sendsms")
        if not params.get("to"):
            return MtResult(400, b"Missing receiver number, rejected")
        return MtResult(
            202,
            b"0: Accepted for delivery",
            params["to"],
            params.get("text", ""),
            reference=_dlr_reference(params.get("dlr-url")),
        )
    if carrier.kind == "jasmin":
        params = _text_params(request.form_params())
        if (params.get("username"), params.get("password")) != (
            carrier.mt_username,
            carrier.mt_password,
        ):
            return MtResult(
                403,
                f'Error "Authentication failure for username:{params.get("username")}"'.encode(),
            )
        reference = uuid.uuid4()
        return MtResult(
            200,
            f'Success "{reference}"'.encode(),
            params.get("to"),
            params.get("content", ""),
            reference=_dlr_reference(params.get("dlr-url")),
        )
    if carrier.kind == "vnmo":
        params = {k.lower(): v for k, v in _text_params(request.form_params()).items()}
        to = params.get(FIELDS["sender"].lower())
        if not to:
            return MtResult(200, b"-2")
        return MtResult(
            200,
            b"1",
            to,
            params.get(FIELDS["text"].lower(), ""),
            params.get(FIELDS["request_id"].lower()),
        )
    try:
        signing.verify(
            carrier.secret,
            request.header(signing.TIMESTAMP_HEADER),
            request.header(signing.SIGNATURE_HEADER),
            request.body,
            now=dt.datetime.now(dt.UTC),
            tolerance=dt.timedelta(seconds=300),
        )
        data = json.loads(request.body)
    except (BadSignature, ValueError):
        return MtResult(401, b'{"error": "bad_signature"}')
    answer = json.dumps({"message_id": f"sim-mt-{uuid.uuid4().hex[:12]}"}).encode()
    return MtResult(
        200,
        answer,
        data.get("to"),
        data.get("text"),
        data.get("in_reply_to"),
        None if data.get("reference") is None else str(data["reference"]),
    )


def _dlr_reference(dlr_url: str | None) -> str | None:
    """Read our reference back from the dlr-url we gave (Kannel's and Jasmin's MT name no MO)."""
    if not dlr_url:
        return None
    values = parse_qs(urlsplit(dlr_url).query).get("reference")
    return values[0] if values else None


def _form() -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded"}


def _encode(form: dict[str, str | bytes]) -> bytes:
    return urlencode(form).encode()


def _text_params(params: dict[str, bytes]) -> dict[str, str]:
    return {name: value.decode("utf-8", "replace") for name, value in params.items()}
