"""The shape of a carrier kind: an optional webhook half, an outbound half and an emulator.

Each kind's module (json_api, kannel, jasmin, vnmo) ends with ``KIND = CarrierKind(...)``.
The webhook half is optional: a kind whose carrier keeps a connection open to us (SMPP) has
none. What several kinds share lives here once: the URL-token check, the transport that makes
one HTTP call per reply, and the helpers the emulators use.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from gateway.carriers import wire
from gateway.carriers.base import (
    Answer,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SendReceipt,
    Transport,
)
from gateway.carriers.wire import WebhookRequest
from gateway.clock import Clock
from gateway.errors import RequestRefused
from gateway.settings import CarrierSettings, Settings

Verify = Callable[[WebhookRequest, CarrierSettings, dt.datetime, dt.timedelta], None]
MakeTransport = Callable[[CarrierSettings, Settings, Clock, requests.Session], Transport]


def verify_url_token(
    request: WebhookRequest, carrier: CarrierSettings, now: dt.datetime, tolerance: dt.timedelta
) -> None:
    """Check the caller's address and the URL token: the kinds whose gateways cannot sign."""
    wire.verify_token(request, carrier)


@dataclass(frozen=True, slots=True)
class Webhooks:
    """How a kind's gateway calls our webhooks, and how we answer it."""

    parse_inbound: Callable[[WebhookRequest], InboundSms]
    parse_dlr: Callable[[WebhookRequest], DeliveryReport | None]  # None: ack, record nothing
    answer_mo: Callable[[WebhookRequest, int, bool], Answer]
    answer_dlr: Callable[[WebhookRequest, DeliveryReport | None, bool], Answer]
    answer_refused: Callable[[WebhookRequest, RequestRefused], Answer]
    answer_failure: Callable[[WebhookRequest], Answer] | None  # None: the app's JSON 500
    # Unless a kind says otherwise, its gateway calls with GET or POST (Kannel's post-url or
    # get-url; Jasmin's connector and DLR method are its settings) and, unable to sign, proves
    # itself with the token in the URL we gave it: the kinds whose kinds.py line says url_token.
    methods: frozenset[str] = frozenset({"GET", "POST"})
    verify: Verify = verify_url_token


@dataclass(frozen=True, slots=True)
class MtRequest:
    """The HTTP request that hands one reply to a carrier, as a kind's prepare_send builds it."""

    method: str
    url: str
    body: bytes | Mapping[str, str] | None = None  # a mapping is sent as a form
    headers: Mapping[str, str] | None = None


# A kind's pure outbound halves: build the request for one reply (with its carrier, the
# gateway's public URL for a dlr-url, and the time of sending), and read the carrier's answer.
PrepareSend = Callable[[OutboundSms, CarrierSettings, str, dt.datetime], MtRequest]
ParseSendAnswer = Callable[[int, bytes], SendReceipt]


@dataclass(frozen=True, slots=True)
class HttpTransport:
    """Sends each reply to one carrier with one HTTP call, built and read by its kind."""

    prepare_send: PrepareSend
    parse_send_answer: ParseSendAnswer
    carrier: CarrierSettings
    settings: Settings
    clock: Clock
    http: requests.Session

    def send(self, sms: OutboundSms) -> SendReceipt:
        """Make the call once; requests' failures become our send errors (wire.call)."""
        now = self.clock.now()
        request = self.prepare_send(sms, self.carrier, self.settings.public_url, now)
        status, body = wire.call(
            self.http,
            request.method,
            request.url,
            data=request.body,
            headers=request.headers,
            timeout=self.carrier.timeout,
        )
        return self.parse_send_answer(status, body)


def http_transport(prepare_send: PrepareSend, parse_send_answer: ParseSendAnswer) -> MakeTransport:
    """Make a kind's transport from its two pure outbound halves."""
    return functools.partial(HttpTransport, prepare_send, parse_send_answer)


def webhook_url(base_url: str, carrier: CarrierSettings, hook: str) -> str:
    """Return where a carrier calls one of its webhooks ("mo" or "dlr") on the gateway."""
    return f"{base_url}/carriers/{carrier.name}/{hook}"


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


def dlr_reference(dlr_url: str | None) -> str | None:
    """Read our reference back from the dlr-url we gave (Kannel's and Jasmin's MT name no MO)."""
    if not dlr_url:
        return None
    values = parse_qs(urlsplit(dlr_url).query).get("reference")
    return values[0] if values else None


def mt_credentials_match(params: Mapping[str, str], carrier: CarrierSettings) -> bool:
    """Tell whether an MT request names the carrier's MT username and password."""
    given = (params.get("username"), params.get("password"))
    return given == (carrier.mt_username, carrier.mt_password)


def form_mo_request(
    carrier: CarrierSettings, mo: EmulatedMo, form: dict[str, str | bytes]
) -> MoRequest:
    """Post an MO as a form, the carrier's token in the URL (Jasmin's connector, vnmo)."""
    url = f"{mo.url}?{urlencode({'token': carrier.secret})}"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return MoRequest(mo.message_id, "POST", url, headers, urlencode(form).encode())


def text_params(params: dict[str, bytes]) -> dict[str, str]:
    """Read raw parameters as text, replacing what is not UTF-8."""
    return {name: value.decode("utf-8", "replace") for name, value in params.items()}
