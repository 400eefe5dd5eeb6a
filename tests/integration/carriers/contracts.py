"""Each carrier kind's row of the contract (test_contract.py runs every row), and its app.

A row names the kind's recorded requests (tests/payloads/), how its sender, shortcode and
credentials read in them, and what must come back: the answer to a stored message and to its
repeat, the stored row, the answers to each refusal (nothing stored), the reply and the
delivery report. The quirks files configure their kind's carrier from the same row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.carriers.fake import FakeTransport
from gateway.carriers.vnmo import RESULT_CODES
from gateway.states import DeliveryStatus
from tests.conftest import CARRIER_SECRETS, base_environ
from tests.harness import fake_transports, url_token_carrier


@dataclass(frozen=True)
class Contract:
    """One kind's row: its recorded requests and what the gateway must answer and store."""

    kind: str
    carrier: str  # the configured carrier of that kind
    secret: str  # its URL token, or the key its JSON is signed with
    mo: str  # a recorded MO of the kind
    sender: bytes  # how the sender reads in that MO
    shortcode: bytes  # how 8079 reads in it
    stored: tuple[str, str, str, str | None, str | None]  # id, sender, text, route, received_at
    accepted: str  # the answer's body ("{id}": our message id)
    duplicate: str  # the body for a repeat
    refused: Callable[[str], bytes]  # a refusal code -> the pattern its body matches
    refused_status: int | None = None  # None: the refusal's own HTTP status
    ok_status: int = 200  # the HTTP status of every answer that is no refusal
    dlr: str | None = None  # a recorded final delivery report (None: the kind has none)
    dlr_reference: bytes = b""  # how our reference reads in it
    dlr_status: DeliveryStatus | None = None
    dlr_answers: tuple[str, str] = ("", "")  # first time and again ("{ref}": our reference)
    env: Mapping[str, str] = field(default_factory=dict)  # CARRIER_<NAME>_<KEY> besides the rest
    mt_names_its_id: bool = False  # the MT answer carries the carrier's id for our reply
    mt_carries_the_mo_id: bool = False  # the MT names the message it answers
    mt_carries_our_reference: bool = True  # the MT (or its dlr-url) names our outbox id


def _token_kind(name: str, secret: str, **row: Any) -> Contract:
    return Contract(kind=name, carrier=name, secret=secret, **row)


CONTRACTS = [
    Contract(
        kind="json",
        carrier="viettel",
        secret=CARRIER_SECRETS["viettel"],
        mo="mo_json.json",
        sender=b'"from": "+84912345678"',
        shortcode=b'"to": "8079"',
        stored=(
            "VT-20261125-000183",
            "84912345678",
            "BH MK 0123456789",
            None,
            "2026-11-25T02:30:12+00:00",
        ),
        accepted='{"status": "accepted", "message_id": {id}}',
        duplicate='{"status": "duplicate", "message_id": {id}}',
        refused=lambda code: rb'\{"error": "' + code.encode() + rb'", "reason": ".+"\}',
        dlr="dlr_json.json",
        dlr_reference=b'"reference": "42"',
        dlr_status=DeliveryStatus.EXPIRED,
        dlr_answers=(
            '{"status": "recorded", "reference": "{ref}"}',
            '{"status": "duplicate", "reference": "{ref}"}',
        ),
        mt_names_its_id=True,
        mt_carries_the_mo_id=True,
    ),
    _token_kind(
        "kannel",
        "kannel-token-0123456789",
        mo="kannel_mo_post.http",
        sender=b"from=0912345678",
        shortcode=b"to=8079",
        stored=(
            "b84826ef-b80d-4629-ac97-e54e1f108daa",
            "84912345678",
            "BH MK 0123456789",
            "FAKE1",
            "2026-11-25T03:55:58+00:00",
        ),
        accepted="",  # Kannel would send any text we answer to the phone
        duplicate="",
        ok_status=202,
        refused=lambda code: re.escape(code.encode()),
        dlr="kannel_dlr_delivered.http",
        dlr_reference=b"reference=5",
        dlr_status=DeliveryStatus.DELIVERED,
        env={"MT_URL": "http://127.0.0.1:9/cgi-bin/sendsms", "MT_USERNAME": "gateway"}
        | {"MT_PASSWORD": "kannel-pass"},
    ),
    _token_kind(
        "jasmin",
        "jasmin-token-0123456789",
        mo="jasmin_mo.http",
        sender=b"from=0912345678",
        shortcode=b"to=8079",
        stored=(
            "7633e8c8-7bd6-42fc-972b-6d4965c194b6",
            "84912345678",
            "BH MK 0123456789",
            "smsc",
            None,
        ),
        accepted="ACK/Jasmin",
        duplicate="ACK/Jasmin",
        refused=lambda code: b'Error "' + code.encode() + b': [^"]*"',
        dlr="jasmin_dlr_delivered.http",
        dlr_reference=b"reference=42",
        dlr_status=DeliveryStatus.DELIVERED,
        dlr_answers=("ACK/Jasmin", "ACK/Jasmin"),
        env={"MT_URL": "http://127.0.0.1:9/send", "MT_USERNAME": "gw8079"}
        | {"MT_PASSWORD": "jasmin-pass"},
        mt_names_its_id=True,
    ),
    _token_kind(
        "vnmo",
        "vnmo-token-01234567890",
        mo="vnmo_mo_form.http",
        sender=b"User_ID=84912345678",
        shortcode=b"Service_ID=8079",
        stored=("VNP-20261125-0000917", "84912345678", "BH MK 0123456789", "VINAPHONE", None),
        accepted="1",
        duplicate="1",
        refused=lambda code: re.escape(RESULT_CODES.get(code, "0").encode()),
        refused_status=200,  # the convention answers every request with 200 and a code
        env={"MT_URL": "http://127.0.0.1:9/mt"},
        mt_carries_the_mo_id=True,
        mt_carries_our_reference=False,
    ),
]
ROWS = {row.kind: row for row in CONTRACTS}


def contract_environ(tmp_path: Path, row: Contract) -> dict[str, str]:
    env = base_environ(tmp_path)
    if row.kind == "json":
        return env
    extra = {key.lower(): value for key, value in row.env.items() if key != "MT_URL"}
    return url_token_carrier(env, row.kind, row.secret, row.env["MT_URL"], **extra)


def contract_carriers(row: Contract) -> dict[str, FakeTransport]:
    return fake_transports(*([] if row.kind == "json" else [row.carrier]))
