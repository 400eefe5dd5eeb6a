"""The whole SMS path over real sockets: gunicorn, the worker process and a carrier stand-in.

    carrier stand-in --MO--> gunicorn (2 workers) --> database <-- gateway worker --MT--> stand-in

Everything listens on 127.0.0.1. The processes are started once per module and stopped in
fixture teardown, whatever happens in between.
"""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.stand_in import CarrierStandIn, MtRequest
from tests.e2e.support import (
    CARRIER,
    REPLY_DEADLINE,
    Gateway,
    new_mo_id,
    post_mo,
    serving_gateway,
    settle,
    signed_post,
)

pytestmark = pytest.mark.e2e


ACCOUNT = "0123456789"
ACCOUNT_PHONE = "0912345678"
RESET_REPLY = re.compile(
    r"Cap lai mat khau thanh cong\. Tai khoan: 0123456789/Mat khau: ([A-Z2-9]{10})\. "
    r"Dung 1 lan trong 15 phut\. Dang nhap VssID va doi mat khau\."
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, carrier: CarrierStandIn) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp("gateway")
    accounts = ["0123456789,0912 345 678,,2026-01-15"]
    with serving_gateway(workdir, carrier, accounts=accounts) as (running, _):
        yield running


# --- helpers ------------------------------------------------------------------------------


def login(gateway: Gateway, password: str) -> requests.Response:
    return requests.post(
        f"{gateway.url}/api/v1/auth/login",
        json={"bhxh": ACCOUNT, "password": password},
        timeout=10,
    )


@dataclass(frozen=True)
class Reset:
    """The first password-reset MO of the module and what came of it."""

    mo_id: str
    answer: dict[str, Any]
    reply: MtRequest


@pytest.fixture(scope="module")
def reset(gateway: Gateway, carrier: CarrierStandIn) -> Reset:
    mo_id = new_mo_id()
    response = post_mo(gateway, f"BH MK {ACCOUNT}", ACCOUNT_PHONE, mo_id)
    assert response.status_code == 200, response.text
    return Reset(mo_id, response.json(), carrier.wait_for_reply(mo_id, gateway))


# --- the tests ----------------------------------------------------------------------------


def test_reset_reply_is_signed_and_its_password_logs_in_once(
    gateway: Gateway, carrier: CarrierStandIn, reset: Reset
) -> None:
    assert reset.answer["status"] == "accepted"
    reply = reset.reply
    assert reply.signature_ok, reply.headers
    assert reply.headers.get("Content-Type") == "application/json"
    assert reply.payload["to"] == "84912345678"
    assert reply.payload["from"] == "8079"
    assert reply.payload["in_reply_to"] == reset.mo_id
    match = RESET_REPLY.fullmatch(reply.payload["text"])
    assert match, reply.payload["text"]
    temporary = match[1]

    first = login(gateway, temporary)
    assert first.status_code == 200, first.text
    assert first.json()["must_change_password"] is True

    changed = requests.post(
        f"{gateway.url}/api/v1/auth/password",
        json={"new_password": "my-own-password-1"},
        headers={"Authorization": f"Bearer {first.json()['token']}"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "changed"

    assert login(gateway, temporary).status_code == 401
    chosen = login(gateway, "my-own-password-1")
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["must_change_password"] is False


def test_repeated_mo_gets_the_same_answer_and_no_second_reply(
    gateway: Gateway, carrier: CarrierStandIn, reset: Reset
) -> None:
    again = post_mo(gateway, f"BH MK {ACCOUNT}", ACCOUNT_PHONE, reset.mo_id)

    assert again.status_code == 200, again.text
    assert again.json() == {"status": "duplicate", "message_id": reset.answer["message_id"]}
    settle(gateway, carrier)
    assert len(carrier.replies_to(reset.mo_id)) == 1


def test_delivery_report_is_recorded_for_our_reference_only(gateway: Gateway, reset: Reset) -> None:
    dlr_url = f"{gateway.url}/carriers/{CARRIER}/dlr"
    reference = reset.reply.payload["reference"]

    known = signed_post(
        dlr_url,
        {"reference": reference, "message_id": reset.reply.message_id, "status": "delivered"},
    )
    unknown = signed_post(
        dlr_url, {"reference": "987654321", "message_id": "vt-mt-x", "status": "delivered"}
    )

    assert known.status_code == 200, known.text
    assert known.json() == {"status": "recorded", "reference": reference}
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"] == "not_found"


def test_concurrent_deliveries_of_one_mo_store_it_once(
    gateway: Gateway, carrier: CarrierStandIn
) -> None:
    deliveries = 20
    mo_id = new_mo_id()
    start = threading.Barrier(deliveries)

    def deliver(_: int) -> requests.Response:
        start.wait(timeout=REPLY_DEADLINE)
        return post_mo(gateway, f"BH MK {ACCOUNT}", "0977 000 111", mo_id)

    with ThreadPoolExecutor(max_workers=deliveries) as pool:
        responses = list(pool.map(deliver, range(deliveries)))

    assert [r.status_code for r in responses] == [200] * deliveries, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert collections.Counter(a["status"] for a in answers) == {
        "accepted": 1,
        "duplicate": deliveries - 1,
    }
    assert len({a["message_id"] for a in answers}) == 1
    carrier.wait_for_reply(mo_id, gateway)
    settle(gateway, carrier)
    assert len(carrier.replies_to(mo_id)) == 1


def test_a_wrong_signature_is_refused_and_never_answered(
    gateway: Gateway, carrier: CarrierStandIn
) -> None:
    mo_id = new_mo_id()

    refused = post_mo(
        gateway, f"BH MK {ACCOUNT}", ACCOUNT_PHONE, mo_id, secret="not-the-carrier-secret-000"
    )

    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "bad_signature"
    settle(gateway, carrier)
    assert carrier.replies_to(mo_id) == []
