"""The shape of a carrier kind: an optional webhook half, an outbound half and an emulator.

Each kind's module (json_api, kannel, jasmin, vnmo) ends with ``KIND = CarrierKind(...)``.
The webhook half is optional: a kind whose carrier keeps a connection open to us (SMPP) has
none. The helpers at the end are what the emulators share.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from gateway.carriers.base import Answer, DeliveryReport, InboundSms, Transport
from gateway.carriers.wire import WebhookRequest
from gateway.clock import Clock
from gateway.errors import RequestRefused
from gateway.settings import CarrierSettings, Settings

Verify = Callable[[WebhookRequest, CarrierSettings, dt.datetime, dt.timedelta], None]
MakeTransport = Callable[[CarrierSettings, Settings, Clock, requests.Session], Transport]


@dataclass(frozen=True, slots=True)
class Webhooks:
    """How a kind's gateway calls our webhooks, and how we answer it."""

    methods: frozenset[str]  # HTTP methods its gateway calls our webhooks with
    verify: Verify
    parse_inbound: Callable[[WebhookRequest], InboundSms]
    parse_dlr: Callable[[WebhookRequest], DeliveryReport | None]  # None: ack, record nothing
    answer_mo: Callable[[WebhookRequest, int, bool], Answer]
    answer_dlr: Callable[[WebhookRequest, DeliveryReport | None, bool], Answer]
    answer_refused: Callable[[WebhookRequest, RequestRefused], Answer]
    answer_failure: Callable[[WebhookRequest], Answer] | None  # None: the app's JSON 500


@dataclass(frozen=True, slots=True)
class EmulatedMo:
    """One MO an emulator is to deliver, and where."""

    url: str  # the gateway's /carriers/<name>/mo
    message_id: str
    sent_at: dt.datetime
    sender: str
    recipient: str
    text: str


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


@dataclass(frozen=True, slots=True)
class Emulator:
    """A kind's carrier gateway in miniature: how it posts an MO and answers an MT."""

    mo_request: Callable[[CarrierSettings, EmulatedMo], MoRequest]
    mo_accepted: Callable[[int, bytes], bool]  # does this answer mean "stored"?
    mt_answer: Callable[[CarrierSettings, WebhookRequest], MtResult]


@dataclass(frozen=True, slots=True)
class CarrierKind:
    """Everything the webhooks, the outbox and the simulator need to know about one kind."""

    name: str
    webhooks: Webhooks | None  # None: its carrier does not call us over HTTP
    transport: MakeTransport
    emulator: Emulator


def by_token(check: Callable[[WebhookRequest, CarrierSettings], None]) -> Verify:
    """Adapt a URL-token check, which needs neither a clock nor a tolerance, to Verify."""

    def verify(
        request: WebhookRequest, carrier: CarrierSettings, now: dt.datetime, tolerance: dt.timedelta
    ) -> None:
        check(request, carrier)

    return verify


def dlr_reference(dlr_url: str | None) -> str | None:
    """Read our reference back from the dlr-url we gave (Kannel's and Jasmin's MT name no MO)."""
    if not dlr_url:
        return None
    values = parse_qs(urlsplit(dlr_url).query).get("reference")
    return values[0] if values else None


def form_headers() -> dict[str, str]:
    """Return the headers of a form POST."""
    return {"Content-Type": "application/x-www-form-urlencoded"}


def form_body(form: dict[str, str | bytes]) -> bytes:
    """Encode a form, its values as text or raw bytes."""
    return urlencode(form).encode()


def text_params(params: dict[str, bytes]) -> dict[str, str]:
    """Read raw parameters as text, replacing what is not UTF-8."""
    return {name: value.decode("utf-8", "replace") for name, value in params.items()}
