"""Carrier adapters: pure parse/prepare functions per carrier kind, and a thin send.

Each kind (``CARRIER_<NAME>_KIND``: json, kannel, jasmin, vnmo) turns a carrier's HTTP request
into an :class:`InboundSms`, answers it in the shape that carrier expects, and turns our
:class:`OutboundSms` into the carrier's MT request. :data:`KINDS` is the one registry;
``build_transports`` gives the sender for every configured carrier; tests hand the app a
:class:`FakeTransport` instead.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from gateway.clock import Clock
from gateway.delivery.carriers import jasmin, json_api, kannel, vnmo
from gateway.delivery.carriers.base import (
    Answer,
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SendReceipt,
    Transport,
)
from gateway.delivery.carriers.fake import FakeTransport
from gateway.delivery.carriers.jasmin import JasminTransport
from gateway.delivery.carriers.json_api import JsonTransport
from gateway.delivery.carriers.kannel import KannelTransport
from gateway.delivery.carriers.vnmo import VnmoTransport
from gateway.delivery.carriers.wire import WebhookRequest
from gateway.errors import RequestRefused
from gateway.settings import CarrierSettings, Settings

__all__ = [
    "KINDS",
    "Answer",
    "CarrierKind",
    "DeliveryReport",
    "FakeTransport",
    "InboundSms",
    "JsonTransport",
    "OutboundSms",
    "SendReceipt",
    "Transport",
    "WebhookRequest",
    "build_transports",
    "kind_of",
]

Verify = Callable[[WebhookRequest, CarrierSettings, dt.datetime, dt.timedelta], None]
MakeTransport = Callable[[CarrierSettings, Settings, Clock, requests.Session], Transport]


@dataclass(frozen=True, slots=True)
class CarrierKind:
    """Everything the webhooks and the outbox need to know about one kind of carrier."""

    name: str
    methods: frozenset[str]  # HTTP methods its gateway calls our webhooks with
    verify: Verify
    parse_inbound: Callable[[WebhookRequest], InboundSms]
    parse_dlr: Callable[[WebhookRequest], DeliveryReport | None]  # None: ack, record nothing
    answer_mo: Callable[[WebhookRequest, int, bool], Answer]
    answer_dlr: Callable[[WebhookRequest, DeliveryReport | None, bool], Answer]
    answer_refused: Callable[[WebhookRequest, RequestRefused], Answer]
    answer_failure: Callable[[WebhookRequest], Answer] | None  # None: the app's JSON 500
    transport: MakeTransport


def _token(check: Callable[[WebhookRequest, CarrierSettings], None]) -> Verify:
    def verify(
        request: WebhookRequest, carrier: CarrierSettings, now: dt.datetime, tolerance: dt.timedelta
    ) -> None:
        check(request, carrier)

    return verify


KINDS: Mapping[str, CarrierKind] = {
    "json": CarrierKind(
        name="json",
        methods=frozenset({"POST"}),
        verify=json_api.verify,
        parse_inbound=lambda request: json_api.parse_inbound(request.body),
        parse_dlr=lambda request: json_api.parse_dlr(request.body),
        answer_mo=json_api.answer_mo,
        answer_dlr=json_api.answer_dlr,
        answer_refused=json_api.answer_refused,
        answer_failure=None,
        transport=lambda carrier, settings, clock, http: JsonTransport(carrier, clock, http),
    ),
    "kannel": CarrierKind(
        name="kannel",
        methods=frozenset({"GET", "POST"}),  # post-url or get-url; dlr-url is always a GET
        verify=_token(kannel.verify),
        parse_inbound=kannel.parse_inbound,
        parse_dlr=kannel.parse_dlr,
        answer_mo=kannel.answer_mo,
        answer_dlr=kannel.answer_dlr,
        answer_refused=kannel.answer_refused,
        answer_failure=lambda request: Answer(503),
        transport=lambda carrier, settings, clock, http: KannelTransport(
            carrier, settings.public_url, http
        ),
    ),
    "jasmin": CarrierKind(
        name="jasmin",
        methods=frozenset({"GET", "POST"}),  # the connector's and the DLR's method are settings
        verify=_token(jasmin.verify),
        parse_inbound=jasmin.parse_inbound,
        parse_dlr=jasmin.parse_dlr,
        answer_mo=jasmin.answer_mo,
        answer_dlr=jasmin.answer_dlr,
        answer_refused=jasmin.answer_refused,
        answer_failure=lambda request: Answer(503, b'Error "internal_error"'),
        transport=lambda carrier, settings, clock, http: JasminTransport(
            carrier, settings.public_url, http
        ),
    ),
    "vnmo": CarrierKind(
        name="vnmo",
        methods=frozenset({"GET", "POST"}),
        verify=_token(vnmo.verify),
        parse_inbound=vnmo.parse_inbound,
        parse_dlr=vnmo.parse_dlr,
        answer_mo=vnmo.answer_mo,
        answer_dlr=vnmo.answer_dlr,
        answer_refused=vnmo.answer_refused,
        answer_failure=vnmo.answer_failure,
        transport=lambda carrier, settings, clock, http: VnmoTransport(carrier, http),
    ),
}


def kind_of(carrier: CarrierSettings) -> CarrierKind:
    """Return the adapter of a carrier's kind (settings only accept known kinds)."""
    return KINDS[carrier.kind]


def build_transports(settings: Settings, clock: Clock) -> Mapping[str, Transport]:
    """Return a transport for each configured carrier, each with its own HTTP session."""
    return {
        name: kind_of(carrier).transport(carrier, settings, clock, http_session(carrier))
        for name, carrier in settings.carriers.items()
    }


def http_session(carrier: CarrierSettings) -> requests.Session:
    """Return the session that sends one carrier's replies.

    Its pool keeps as many connections alive as the carrier's lane may use at once
    (``CARRIER_<NAME>_MAX_CONNECTIONS``), so concurrent replies reuse them. What requests reads
    from the environment (``HTTPS_PROXY``/``HTTP_PROXY`` with ``NO_PROXY``, and
    ``REQUESTS_CA_BUNDLE``) is read here, once: left to requests, that look-up, ~/.netrc
    included, ran for every reply and was a sixth of the worker's CPU per reply.
    """
    http = requests.Session()
    http.trust_env = False
    http.proxies = requests.utils.get_environ_proxies(carrier.mt_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        http.verify = bundle
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1, pool_maxsize=carrier.max_connections
    )
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http
