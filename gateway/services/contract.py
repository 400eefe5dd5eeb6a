"""The contract with the agency's systems, both halves pure: the signed request the gateway
sends and the answer it accepts (docs/services.md).

The request is a JSON body signed with the Standard Webhooks scheme: ``webhook-id`` is the
message's id, the same on every retry, so the service can answer a repeat without doing the
work twice; ``webhook-timestamp`` and ``webhook-signature`` (HMAC-SHA256 with the
``whsec_`` secret) let it refuse anyone else. The answer is ``{"reply": "...", "outcome":
"answered|not_found|refused"}``; a reply is sent as one SMS of at most three segments, GSM-7 or
UCS-2, without control characters, or the answer counts as a failure.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from standardwebhooks import Webhook

from billing.outcomes import Outcome
from gateway.services.errors import ForwardFailed
from parsers import segments

MAX_SEGMENTS = 3
MAX_ANSWER_BYTES = 4096  # a three-segment reply in JSON, with room; more is not an answer
ANSWERS = {
    "answered": Outcome.ANSWERED,
    "not_found": Outcome.NOT_FOUND,
    "refused": Outcome.REFUSED,
}


@dataclass(frozen=True, slots=True)
class Forward:
    """What one message asks of its service."""

    webhook_id: str
    service: str
    keyword: str
    argument: str
    phone: str
    carrier: str
    received_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """A service's usable answer: how it ended and the SMS to send back."""

    outcome: Outcome
    reply: str


def webhook_id(shortcode: str, message_id: int) -> str:
    """Name a message for its service: the same on every retry of it, unique per shortcode."""
    return f"{shortcode}-{message_id}"


def request_body(forward: Forward) -> bytes:
    """The JSON body of a forward, exactly as signed and sent."""
    body = {
        "message_id": forward.webhook_id,
        "service": forward.service,
        "keyword": forward.keyword,
        "argument": forward.argument,
        "phone": forward.phone,
        "carrier": forward.carrier,
        "received_at": forward.received_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signed_headers(secret: str, message_id: str, body: bytes, at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers that sign ``body`` at ``at`` (the wall clock's time: the
    service refuses timestamps more than five minutes away from its own)."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def read_answer(body: bytes) -> Answer:
    """Read a service's 200 answer; raise ForwardFailed("bad_answer") unless it keeps the
    contract."""
    if len(body) > MAX_ANSWER_BYTES:
        raise ForwardFailed("bad_answer", "too large")
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ForwardFailed("bad_answer", "not JSON") from None
    if not isinstance(data, dict):
        raise ForwardFailed("bad_answer", "not an object")
    outcome, reply = ANSWERS.get(data.get("outcome")), data.get("reply")
    if outcome is None:
        raise ForwardFailed("bad_answer", "unknown outcome")
    if not isinstance(reply, str):
        raise ForwardFailed("bad_answer", "no reply")
    return Answer(outcome, check_reply(reply))


def check_reply(reply: str) -> str:
    """Return ``reply`` if it can go out as one SMS of at most three segments; raise
    ForwardFailed("bad_answer") if it is empty, has control characters or cannot."""
    text = reply.strip()
    if not text:
        raise ForwardFailed("bad_answer", "empty reply")
    # A line feed is GSM-7 and reads well; other controls (and format characters such as
    # bidi overrides) could hide text from the citizen or upset a handset.
    if any(unicodedata.category(ch) in {"Cc", "Cf"} and ch != "\n" for ch in text):
        raise ForwardFailed("bad_answer", "control characters")
    if any(ord(ch) > 0xFFFF for ch in text):  # UCS-2 is the BMP only: no emoji
        raise ForwardFailed("bad_answer", "outside UCS-2")
    if segments(text) > MAX_SEGMENTS:
        raise ForwardFailed("bad_answer", f"more than {MAX_SEGMENTS} segments")
    return text
