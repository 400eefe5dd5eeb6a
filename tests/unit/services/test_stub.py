"""The demo's stand-in keeps the service's half of the contract."""

from __future__ import annotations

import datetime as dt
import json

from werkzeug.test import Client

from gateway.services.contract import signed_headers
from gateway.services.stub import StubService
from gateway.settings import ServiceSettings
from tests.unit.services.test_contract import SECRET

STUB = ServiceSettings("qt", ("BH QT",), "http://unused", SECRET)


def post(client: Client, path: str, body: bytes, webhook_id: str = "8079-1") -> tuple[int, object]:
    headers = signed_headers(SECRET, webhook_id, body, dt.datetime.now(dt.UTC))
    response = client.post(path, data=body, headers=headers)
    return response.status_code, response.get_json(silent=True)


def test_it_answers_from_its_table_and_a_repeat_with_its_first_answer() -> None:
    stub = StubService([STUB], {("qt", "0123456789"): "Da dong 96 thang."})
    client = Client(stub)
    asked = json.dumps({"service": "qt", "argument": "0123456789"}).encode()
    unknown = json.dumps({"service": "qt", "argument": "0999999999"}).encode()

    first = post(client, "/services/qt", asked)
    again = post(client, "/services/qt", unknown)  # the same webhook-id: the first answer
    other = post(client, "/services/qt", unknown, webhook_id="8079-2")

    assert first == again == (200, {"outcome": "answered", "reply": "Da dong 96 thang."})
    assert other[0] == 200 and other[1]["outcome"] == "not_found"  # type: ignore[index]
    assert stub.received == ["8079-1", "8079-1", "8079-2"]


def test_it_refuses_what_the_contract_does_not_allow() -> None:
    client = Client(StubService([STUB], {}))
    bad = {**signed_headers(SECRET, "8079-1", b"{}", dt.datetime.now(dt.UTC))}
    bad["webhook-signature"] = "v1,AAAA"

    assert client.post("/services/qt", data=b"{}", headers=bad).status_code == 401
    assert post(client, "/services/hs", b"{}")[0] == 404
    assert post(client, "/services/qt", b"[1, 2]")[0] == 400
