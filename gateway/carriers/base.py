"""What every carrier adapter produces and consumes, whatever its wire format."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol

from gateway.states import DeliveryStatus


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A mobile-originated message as the carrier handed it to us."""

    carrier_message_id: str
    sender: str  # normalised: "84" + 9 digits
    recipient: str
    text: str
    received_at: dt.datetime | None
    route: str | None = None  # the carrier-side connection it came in on (Kannel's SMSC id)


@dataclass(frozen=True, slots=True)
class OutboundSms:
    """A reply to hand to a carrier."""

    reference: str  # our outbox id
    in_reply_to: str | None  # the carrier's id of the message we answer
    sender: str
    recipient: str
    text: str
    route: str | None = None  # send back the way the message came in


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """The carrier accepted an outbound message under its own id."""

    carrier_reference: str | None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A carrier's word on whether a sent message reached the phone."""

    reference: str
    carrier_reference: str | None
    status: DeliveryStatus


class Transport(Protocol):
    """Hands outbound messages to one carrier."""

    def send(self, sms: OutboundSms) -> SendReceipt:
        """Send one message; raise RetryableSendError or PermanentSendError when refused."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    """What a webhook sends back, in the shape the calling carrier kind expects."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def fallback_message_id(sender: str, recipient: str, text: str, timestamp: str) -> str:
    """Derive a stable id for a carrier that sends none (docs/carriers.md, "Idempotency").

    The carrier's own timestamp is part of it, so the same text sent again later by the same
    person is a new message, while a re-delivery of one message keeps its id.
    """
    canonical = json.dumps([sender, recipient, text, timestamp], ensure_ascii=False)
    return "fp-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
