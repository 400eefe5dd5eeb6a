"""Play any configured carrier's gateway: post an MO, read our answer, answer an MT.

Each kind's module holds its own emulator (``KIND.emulator``); ``gateway simulate`` and the
tests call these three, which pick it by the carrier's kind.
"""

from __future__ import annotations

import datetime as dt
import uuid

from gateway.carriers.kind import EmulatedMo, MoRequest, MtResult, webhook_url
from gateway.carriers.registry import kind_of
from gateway.carriers.wire import WebhookRequest
from gateway.settings import CarrierSettings

__all__ = ["MoRequest", "MtResult", "mo_accepted", "mo_request", "mt_answer"]


def mo_request(
    gateway_url: str, carrier: CarrierSettings, sender: str, recipient: str, text: str
) -> MoRequest:
    """Build the request ``carrier``'s kind would make for one MO."""
    mo = EmulatedMo(
        url=webhook_url(gateway_url.rstrip("/"), carrier, "mo"),
        message_id=str(uuid.uuid4()),
        sent_at=dt.datetime.now(dt.UTC),
        sender=sender,
        recipient=recipient,
        text=text,
    )
    return kind_of(carrier).emulator.mo_request(carrier, mo)


def mo_accepted(carrier: CarrierSettings, status: int, body: bytes) -> bool:
    """Tell whether the gateway's answer means "stored" in ``carrier``'s kind."""
    return kind_of(carrier).emulator.mo_accepted(status, body)


def mt_answer(carrier: CarrierSettings, request: WebhookRequest) -> MtResult:
    """Answer one MT request as ``carrier``'s gateway would, checking its credentials."""
    return kind_of(carrier).emulator.mt_answer(carrier, request)
