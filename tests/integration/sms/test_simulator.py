"""``gateway simulate``'s carrier in a box against the real app and a real worker sending over
HTTP: it shows the reply to *this* message, labels other SMS as notices, says at once when the
gateway chose silence, and never makes a reply fail by closing too early."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.carriers.emulators import mo_accepted, mo_request
from gateway.clock import FakeClock
from gateway.delivery.outbox import enqueue, sms_row
from gateway.runtime import Runtime
from gateway.settings import CarrierSettings
from gateway.sms.simulator import Event, MtReceiver, decision_of, watch
from tests.conftest import base_environ
from tests.harness import add_account

PHONE = "0912345678"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["json", "kannel", "jasmin"])
def environ(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    env = base_environ(tmp_path)
    env["GATEWAY_CARRIERS"] = "demo"
    env.update(
        {
            "CARRIER_DEMO_KIND": request.param,
            "CARRIER_DEMO_SECRET": "demo-secret-0123456789abcdef",
            "CARRIER_DEMO_MT_URL": f"http://127.0.0.1:{free_port()}/mt",
            "CARRIER_DEMO_MT_USERNAME": "gateway",
            "CARRIER_DEMO_MT_PASSWORD": "demo-pass",
            "CARRIER_DEMO_ALLOW_IPS": "127.0.0.1/32",
            # One send at a time, so the notice queued first is handed over first.
            "CARRIER_DEMO_MAX_CONNECTIONS": "1",
        }
    )
    return env


@pytest.fixture
def clock() -> FakeClock:
    """Now: the simulated carrier checks signatures against the machine's clock."""
    return FakeClock(dt.datetime.now(dt.UTC))


@pytest.fixture
def receiver(runtime: Runtime) -> Iterator[MtReceiver]:
    with MtReceiver(runtime.settings.carriers["demo"]) as receiver:
        yield receiver


def text(client: FlaskClient, runtime: Runtime, body: str) -> str:
    """Deliver one MO through the webhook as the demo carrier's kind would; return its id."""
    mo = mo_request("http://gw", runtime.settings.carriers["demo"], PHONE, "8079", body)
    target = urlsplit(mo.url)
    answer = client.open(
        f"{target.path}?{target.query}", method=mo.method, data=mo.body, headers=mo.headers
    )
    assert mo_accepted(runtime.settings.carriers["demo"], answer.status_code, answer.data)
    return mo.message_id


def queue_notice(session: Session, runtime: Runtime) -> None:
    """A notice to the phone that answers no message, as a password change queues one."""
    notice = "Mat khau VssID cua ban vua duoc doi."
    now, settings = runtime.clock.now(), runtime.settings
    row = sms_row(
        "84912345678", carrier="demo", text=notice, safe_text=notice, settings=settings, now=now
    )
    enqueue(session, row)
    session.commit()


def simulate(runtime: Runtime, receiver: MtReceiver, message_id: str) -> list[Event]:
    """Run the real worker (sending over HTTP to ``receiver``) while watching for the answer."""
    job = runtime.worker()
    worker = threading.Thread(target=job.drain)
    worker.start()
    try:
        return list(
            watch(
                receiver,
                message_id,
                PHONE,
                20,
                lambda: decision_of(runtime.engine, "demo", message_id),
            )
        )
    finally:
        worker.join(20)


def test_the_reply_to_this_message_is_told_apart_from_a_notice_queued_before_it(
    client: FlaskClient, runtime: Runtime, session: Session, receiver: MtReceiver
) -> None:
    add_account(session)
    queue_notice(session, runtime)
    # Sent before the message arrives: queued together, the outbox would send both at once,
    # in no set order, and the watch ends at the reply.
    assert runtime.worker().dispatch_outbox() == 1
    message_id = text(client, runtime, "BH MK 0123456789")

    events = simulate(runtime, receiver, message_id)

    assert [event.kind for event in events] == ["notice", "reply"]
    assert events[0].reply is not None and events[0].reply.text.startswith("Mat khau VssID")
    assert events[1].reply is not None
    assert events[1].reply.text.startswith("Cap lai mat khau thanh cong.")


def test_a_silenced_message_says_so_at_once_and_shows_no_notice_as_its_reply(
    client: FlaskClient, runtime: Runtime, session: Session, receiver: MtReceiver
) -> None:
    for _ in range(6):  # five answered, the sixth gets the one rate-limit notice
        text(client, runtime, "BH MK 01234")
    runtime.worker().drain()
    while not receiver.replies.empty():
        receiver.replies.get()
    message_id = text(client, runtime, "BH MK 01234")

    started = time.monotonic()
    events = simulate(runtime, receiver, message_id)

    assert [event.kind for event in events] == ["silence"]
    assert events[0].decision is not None and events[0].decision.outcome == "rate_limited"
    assert time.monotonic() - started < 5  # not the 20 s wait


def test_the_carrier_has_answered_in_full_before_the_reply_is_handed_over() -> None:
    # The CLI exits as soon as it holds the reply; an answer not yet written by then is a
    # ChunkedEncodingError for the gateway: a failed send, and a refundable charge.
    port = free_port()
    carrier = CarrierSettings(
        name="demo",
        secret="demo-secret-0123456789abcdef",
        mt_url=f"http://127.0.0.1:{port}/cgi-bin/sendsms",
        kind="kannel",
        timeout=5.0,
        mt_username="gateway",
        mt_password="demo-pass",
    )
    query = urlencode(
        {
            "username": "gateway",
            "password": "demo-pass",
            "to": "84912345678",
            "text": "Cap lai mat khau",
        }
    )
    with MtReceiver(carrier) as receiver:
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", port)) as connection:
                connection.sendall(
                    f"GET /cgi-bin/sendsms?{query} HTTP/1.0\r\nHost: x\r\n\r\n".encode()
                )
                receiver.replies.get(timeout=5)
                connection.setblocking(False)
                answer = connection.recv(65536)
            assert answer.startswith(b"HTTP/1.0 202") and answer.endswith(b"Accepted for delivery")
