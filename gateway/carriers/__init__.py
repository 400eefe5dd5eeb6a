"""Carrier adapters: pure parse/prepare functions per carrier kind, and a thin send.

Each kind turns a carrier's HTTP request into an :class:`InboundSms` and our
:class:`OutboundSms` into the carrier's request. ``build_transports`` gives the sender for
every configured carrier; tests hand the app a :class:`FakeTransport` instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import requests

from gateway.carriers.base import (
    DeliveryReport,
    InboundSms,
    OutboundSms,
    SendReceipt,
    Transport,
)
from gateway.carriers.fake import FakeTransport
from gateway.carriers.json_api import JsonTransport
from gateway.clock import Clock
from gateway.settings import Settings

__all__ = [
    "DeliveryReport",
    "FakeTransport",
    "InboundSms",
    "JsonTransport",
    "OutboundSms",
    "SendReceipt",
    "Transport",
    "build_transports",
]


def build_transports(settings: Settings, clock: Clock) -> Mapping[str, Transport]:
    """Return a transport for each configured carrier, sharing one HTTP connection pool."""
    http = requests.Session()
    return {
        name: JsonTransport(carrier, clock, http) for name, carrier in settings.carriers.items()
    }
