"""The contract every carrier kind keeps, as one table run for each kind against the real app.

The table is contracts.py: a row names the kind's recorded requests (tests/payloads/), how its
sender, shortcode and credentials read in them, and what must come back: the answer to a
stored message and to its repeat, the stored row, the answers to each refusal (nothing
stored), the reply and the delivery report, and the kind's emulator both ways. What only one
kind does lives in ``test_<kind>_quirks.py`` beside this file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.carriers.base import OutboundSms
from gateway.carriers.emulators import mo_accepted, mo_request, mt_answer
from gateway.carriers.fake import FakeTransport
from gateway.carriers.kind import MtResult, verify_url_token
from gateway.carriers.kinds import KINDS as KIND_TABLE
from gateway.carriers.registry import KINDS, kind_of
from gateway.carriers.signing import signed_headers
from gateway.carriers.wire import WebhookRequest
from gateway.clock import FakeClock, SystemClock
from gateway.errors import ConfigError, PermanentSendError
from gateway.models import InboundMessage, OutboxMessage
from gateway.runtime import Runtime
from gateway.settings import load_settings
from gateway.worker import Worker
from tests.conftest import make_app
from tests.harness import add_account, stored_messages
from tests.integration.carriers.contracts import CONTRACTS, Contract, contract_environ
from tests.payloads import HERE, path_and_query, recorded, replay
from tests.scrape import Scrape, grew


@pytest.fixture(params=CONTRACTS, ids=[c.kind for c in CONTRACTS])
def contract(request: pytest.FixtureRequest) -> Contract:
    row: Contract = request.param
    return row


@pytest.fixture
def reply(
    client: FlaskClient,
    clock: FakeClock,
    session: Session,
    worker: Worker,
    carriers: dict[str, FakeTransport],
    contract: Contract,
) -> OutboundSms:
    """Our reply to the kind's recorded MO, as its carrier was handed it."""
    add_account(session)
    send(client, contract, clock, call(contract, contract.mo))
    worker.drain()
    [sent] = carriers[contract.carrier].sent
    return sent


@pytest.fixture
def dlr(contract: Contract) -> str:
    """The kind's recorded final delivery report; a kind that sends none skips the test."""
    if contract.dlr is None:
        pytest.skip(f"{contract.kind} sends no delivery reports")
    return contract.dlr


# --- sending a recorded request, as recorded or changed ------------------------------------


@dataclass(frozen=True)
class Call:
    """A recorded request about to be sent: its target and body, free to change."""

    name: str
    target: str
    body: bytes

    def replace(self, old: bytes, new: bytes) -> Call:
        """Change a part wherever it reads: in the URL or in the body."""
        target = self.target.replace(old.decode(), new.decode())
        return dataclasses.replace(self, target=target, body=self.body.replace(old, new))


def call(row: Contract, name: str) -> Call:
    if name.endswith(".json"):  # our contract: a body, signed when sent
        path = "dlr" if name.startswith("dlr") else "mo"
        return Call(name, f"/carriers/{row.carrier}/{path}", (HERE / name).read_bytes())
    return Call(name, path_and_query(name), recorded(name).body)


UNSIGNED = ""


def send(
    client: FlaskClient,
    row: Contract,
    clock: FakeClock,
    request: Call,
    *,
    secret: str | None = None,
    headers: Mapping[str, str] | None = None,
    remote_addr: str = "127.0.0.1",
) -> Any:
    if not request.name.endswith(".json"):
        return replay(
            client,
            request.name,
            target=request.target,
            body=request.body,
            headers=dict(headers or {}),
            remote_addr=remote_addr,
        )
    key = row.secret if secret is None else secret
    signed = signed_headers(key, request.body, clock.now()) if key != UNSIGNED else {}
    return client.post(
        request.target,
        data=request.body,
        headers={"Content-Type": "application/json", **signed, **(headers or {})},
        environ_base={"REMOTE_ADDR": remote_addr},
    )


def wrong_caller(client: FlaskClient, row: Contract, clock: FakeClock, request: Call) -> Any:
    if row.kind == "json":
        return send(client, row, clock, request, secret="x" * 20)
    forged = request.replace(row.secret.encode(), b"x" * len(row.secret))
    return send(client, row, clock, forged)


def no_caller(client: FlaskClient, row: Contract, clock: FakeClock, request: Call) -> Any:
    if row.kind == "json":
        return send(client, row, clock, request, secret=UNSIGNED)
    target = re.sub(r"[?&]token=[^&]*", "", request.target)
    return send(client, row, clock, dataclasses.replace(request, target=target))


def assert_refused(row: Contract, response: Any, code: str, status: int) -> None:
    assert response.status_code == (row.refused_status or status)
    assert re.fullmatch(row.refused(code), response.data), response.data


# --- the table, run for every kind ---------------------------------------------------------


def test_every_kind_has_a_row_and_every_row_a_kind() -> None:
    assert [row.kind for row in CONTRACTS] == list(KINDS) == list(KIND_TABLE)


def test_a_message_is_stored_once_and_answered_alike_when_repeated(
    client: FlaskClient, clock: FakeClock, session: Session, contract: Contract
) -> None:
    first = send(client, contract, clock, call(contract, contract.mo))
    again = send(client, contract, clock, call(contract, contract.mo))

    message = session.scalars(select(InboundMessage)).one()
    received = message.carrier_received_at
    assert (
        message.carrier,
        message.carrier_message_id,
        message.sender,
        message.text,
        message.route,
        None if received is None else received.astimezone(dt.UTC).isoformat(),
    ) == (contract.carrier, *contract.stored)
    assert (first.status_code, first.data) == (
        contract.ok_status,
        contract.accepted.replace("{id}", str(message.id)).encode(),
    )
    assert (again.status_code, again.data) == (
        first.status_code,
        contract.duplicate.replace("{id}", str(message.id)).encode(),
    )


def _other_shortcode(row: Contract, request: Call) -> Call:
    return request.replace(row.shortcode, row.shortcode.replace(b"8079", b"9029"))


def _landline(row: Contract, request: Call) -> Call:
    return request.replace(row.sender, re.sub(rb"\+?\d+", b"02438123456", row.sender))


def _too_large(row: Contract, request: Call) -> Call:
    return dataclasses.replace(request, body=b"x" * 17_000)


REFUSALS = [
    pytest.param(_other_shortcode, "wrong_shortcode", 422, id="other-shortcode"),
    pytest.param(_landline, "invalid_payload", 400, id="landline"),
    pytest.param(_too_large, "payload_too_large", 413, id="too-large"),
]


@pytest.mark.parametrize(("change", "code", "status"), REFUSALS)
def test_a_refusal_is_answered_in_the_kinds_shape_and_stores_nothing(
    client: FlaskClient,
    clock: FakeClock,
    session: Session,
    contract: Contract,
    change: Callable[[Contract, Call], Call],
    code: str,
    status: int,
) -> None:
    response = send(client, contract, clock, change(contract, call(contract, contract.mo)))

    assert_refused(contract, response, code, status)
    assert stored_messages(session) == 0


@pytest.mark.parametrize("caller", [wrong_caller, no_caller], ids=["wrong", "missing"])
def test_a_caller_without_the_secret_is_refused(
    client: FlaskClient,
    clock: FakeClock,
    session: Session,
    contract: Contract,
    caller: Callable[..., Any],
) -> None:
    response = caller(client, contract, clock, call(contract, contract.mo))

    assert_refused(contract, response, "bad_signature", 401)
    assert stored_messages(session) == 0


def test_the_same_id_with_other_text_is_a_counted_refusal(
    client: FlaskClient, clock: FakeClock, session: Session, contract: Contract
) -> None:
    send(client, contract, clock, call(contract, contract.mo))
    mo = call(contract, contract.mo)
    # Jasmin's binary (the text in hex) wins over its content.
    text = mo.body.replace(b"0123456789", b"0999999999")
    other = dataclasses.replace(
        mo, body=text.replace(b"3031323334353637383", b"3039393939393939393")
    )
    before = Scrape(client)

    response = send(client, contract, clock, other)

    assert_refused(contract, response, "conflicting_duplicate", 409)
    assert stored_messages(session) == 1
    after = Scrape(client)
    # Counted even where the answer is an HTTP 200 (vnmo), which the metric could not read.
    assert (
        grew(before, after, "gateway_requests_refused_total", reason="conflicting_duplicate") == 1
    )


def test_the_allow_list_refuses_other_addresses(
    tmp_path: Path, clock: FakeClock, contract: Contract
) -> None:
    env = contract_environ(tmp_path, contract)
    allow = {f"CARRIER_{contract.carrier.upper()}_ALLOW_IPS": "10.0.0.0/8"}
    app = make_app(load_settings({**env, **allow}), clock)
    client = app.test_client()
    spoofed = {"X-Forwarded-For": "10.0.0.5"}  # no proxy is configured: not to be believed

    def status(**kwargs: Any) -> int:
        code: int = send(client, contract, clock, call(contract, contract.mo), **kwargs).status_code
        return code

    refused = contract.refused_status or 401
    assert status(remote_addr="192.0.2.1") == refused
    assert status(headers=spoofed) == refused
    assert status(remote_addr="10.0.0.5") == contract.ok_status
    app.extensions["gateway"].engine.dispose()


def test_behind_a_proxy_the_allow_list_sees_the_forwarded_address(
    tmp_path: Path, clock: FakeClock, contract: Contract
) -> None:
    env = contract_environ(tmp_path, contract)
    allow = {f"CARRIER_{contract.carrier.upper()}_ALLOW_IPS": "10.0.0.0/8"}
    app = make_app(load_settings({**env, **allow, "GATEWAY_PROXY_HOPS": "1"}), clock)
    client = app.test_client()

    def via_proxy(address: str) -> Any:
        forwarded = {"X-Forwarded-For": address}
        return send(client, contract, clock, call(contract, contract.mo), headers=forwarded)

    assert_refused(contract, via_proxy("192.0.2.1"), "bad_signature", 401)
    assert via_proxy("10.0.0.5").status_code == contract.ok_status
    app.extensions["gateway"].engine.dispose()


def test_the_reply_goes_back_the_way_the_message_came(
    contract: Contract, reply: OutboundSms
) -> None:
    message_id, sender, _text, route, _at = contract.stored
    assert (reply.recipient, reply.in_reply_to, reply.route) == (sender, message_id, route)
    assert reply.text.startswith("Cap lai mat khau thanh cong.")


def _dlr_for(row: Contract, dlr: str, reference: str) -> Call:
    ours = re.sub(rb"\d+", reference.encode(), row.dlr_reference)
    return call(row, dlr).replace(row.dlr_reference, ours)


def test_a_delivery_report_is_recorded_once_and_a_forged_one_not_at_all(
    client: FlaskClient,
    clock: FakeClock,
    session: Session,
    contract: Contract,
    dlr: str,
    reply: OutboundSms,
) -> None:
    report = _dlr_for(contract, dlr, reply.reference)
    row = session.get(OutboxMessage, int(reply.reference))
    assert row is not None

    forged = wrong_caller(client, contract, clock, report)

    assert_refused(contract, forged, "bad_signature", 401)
    session.refresh(row)
    assert row.delivery_status is None

    answers = [send(client, contract, clock, report) for _ in "12"]

    assert [(a.status_code, a.data) for a in answers] == [
        (contract.ok_status, body.replace("{ref}", reply.reference).encode())
        for body in contract.dlr_answers
    ]
    session.refresh(row)
    assert row.delivery_status is contract.dlr_status


def test_a_delivery_report_on_no_reply_of_ours_is_refused(
    client: FlaskClient, clock: FakeClock, contract: Contract, dlr: str
) -> None:
    answer = send(client, contract, clock, call(contract, dlr))

    assert_refused(contract, answer, "not_found", 404)


class EmulatedGateway(requests.adapters.BaseAdapter):
    """Answers our MT requests with the kind's emulator, in place of the network."""

    def __init__(self, carrier: Any) -> None:
        super().__init__()
        self.carrier = carrier
        self.results: list[MtResult] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = request.body or b""
        url = urlsplit(request.url or "")
        hook = WebhookRequest(
            request.method or "GET",
            url.query.encode(),
            dict(request.headers),
            body.encode() if isinstance(body, str) else body,
        )
        result = mt_answer(self.carrier, hook)
        self.results.append(result)
        response = requests.Response()
        response.status_code, response._content = result.status, result.body
        response.request, response.url = request, request.url or ""
        return response

    def close(self) -> None:
        pass


def test_the_emulator_speaks_the_kind_both_ways(
    client: FlaskClient, clock: FakeClock, runtime: Runtime, contract: Contract
) -> None:
    # The emulators sign and check at the time of day, not at the tests' clock.
    clock.advance(seconds=(dt.datetime.now(dt.UTC) - clock.now()).total_seconds())
    carrier = runtime.settings.carriers[contract.carrier]
    mo = mo_request("http://gw", carrier, "0912345678", "8079", "Bh mk 0123456789 gửi 8079")
    target = urlsplit(mo.url)

    answer = client.open(
        f"{target.path}?{target.query}", method=mo.method, data=mo.body, headers=mo.headers
    )

    assert mo_accepted(carrier, answer.status_code, answer.data)
    gateway = EmulatedGateway(carrier)
    http = requests.Session()
    http.mount("http://", gateway)
    transport = kind_of(carrier).transport(carrier, runtime.settings, SystemClock(), http)
    receipt = transport.send(OutboundSms("1", mo.message_id, "8079", "84912345678", "Cap lai"))
    [result] = gateway.results
    assert (result.recipient, result.text) == ("84912345678", "Cap lai")
    assert result.in_reply_to == (mo.message_id if contract.mt_carries_the_mo_id else None)
    assert result.reference == ("1" if contract.mt_carries_our_reference else None)
    assert bool(receipt.carrier_reference) is contract.mt_names_its_id


def test_the_kinds_flags_hold(tmp_path: Path, contract: Contract, runtime: Runtime) -> None:
    flags = KIND_TABLE[contract.kind]
    env = contract_environ(tmp_path, contract)
    prefix = f"CARRIER_{contract.carrier.upper()}_"

    def refused(*dropped: str) -> bool:
        try:
            load_settings({k: v for k, v in env.items() if k not in dropped})
        except ConfigError:
            return True
        return False

    assert refused(prefix + "ALLOW_IPS") is flags.url_token
    # The flag that makes the settings demand ALLOW_IPS is the check the webhooks make.
    webhooks = KINDS[contract.kind].webhooks
    assert webhooks is not None and (webhooks.verify is verify_url_token) is flags.url_token
    assert refused(prefix + "MT_PASSWORD") is flags.mt_credentials
    # A kind that wants MT credentials is refused by its emulated gateway with wrong ones.
    carrier = runtime.settings.carriers[contract.carrier]
    http = requests.Session()
    http.mount("http://", EmulatedGateway(carrier))
    wrong = dataclasses.replace(carrier, mt_password="wrong")
    transport = kind_of(carrier).transport(wrong, runtime.settings, SystemClock(), http)
    sms = OutboundSms("1", None, "8079", "84912345678", "Cap lai")
    if flags.mt_credentials:
        with pytest.raises(PermanentSendError):
            transport.send(sms)
    else:
        transport.send(sms)


def test_the_json_bodies_above_are_what_the_json_kind_answers() -> None:
    # The rows compare bytes: make sure the JSON row's templates are JSON once filled in.
    row = CONTRACTS[0]
    for template in (row.accepted, row.duplicate):
        assert json.loads(template.replace("{id}", "1"))["message_id"] == 1
