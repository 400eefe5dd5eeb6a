"""Every carrier kind's adapter, found from the one table (kinds.py), and the senders of the
configured carriers.

``KINDS`` loads each kind's module at import, so a line of the table without its module (or a
module without its ``KIND``) fails at start, not at the first message of that kind.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import import_module

import requests

from gateway.carriers import kinds
from gateway.carriers.base import Transport
from gateway.carriers.kind import CarrierKind
from gateway.clock import Clock
from gateway.settings import CarrierSettings, Settings


def _load(entry: kinds.KindEntry) -> CarrierKind:
    kind = getattr(import_module(f"gateway.carriers.{entry.module}"), "KIND", None)
    if not isinstance(kind, CarrierKind) or kind.name != entry.name:
        raise TypeError(
            f"gateway/carriers/{entry.module}.py must define KIND, "
            f"a CarrierKind named {entry.name!r}"
        )
    return kind


KINDS: Mapping[str, CarrierKind] = {name: _load(entry) for name, entry in kinds.KINDS.items()}


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
