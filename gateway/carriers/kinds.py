"""The table of carrier kinds: one line per kind, read by the settings and by the registry.

A line names the kind (``CARRIER_<NAME>_KIND``), the module of gateway/carriers/ that holds
both its directions and its emulator, and the flags the settings check at start. Pure: it
imports nothing of ours, so ``gateway.settings`` may read it (tests/unit/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KindEntry:
    """One carrier kind as the settings and the registry see it."""

    name: str
    module: str  # gateway/carriers/<module>.py defines KIND, its CarrierKind
    # Its MT interface wants CARRIER_<NAME>_MT_USERNAME and _MT_PASSWORD.
    mt_credentials: bool = False
    # Its gateway proves itself with ?token=<secret> in the URL, which proxies and carriers log,
    # so CARRIER_<NAME>_ALLOW_IPS must name its callers.
    url_token: bool = False


KINDS: Mapping[str, KindEntry] = {
    entry.name: entry
    for entry in (
        KindEntry("json", "json_api"),  # the default: our signed JSON contract
        KindEntry("kannel", "kannel", mt_credentials=True, url_token=True),
        KindEntry("jasmin", "jasmin", mt_credentials=True, url_token=True),
        KindEntry("vnmo", "vnmo", url_token=True),
    )
}
