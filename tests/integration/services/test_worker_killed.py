"""A worker killed (SIGKILL) while a service holds its forward: the forward is taken again
after the lease with the same webhook-id, and the message is charged and answered once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.models import InboundMessage, OutboxMessage, ServiceForward
from gateway.states import ForwardStatus
from gateway.worker import Worker
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.service_server import ANSWERS, Scripted

ROOT = Path(__file__).resolve().parents[3]
# A worker as `gateway worker` runs it, but replying through recording carriers.
WORKER = """
import os, threading
from gateway.carriers.fake import FakeTransport
from gateway.runtime import build_runtime
from gateway.settings import load_settings
runtime = build_runtime(load_settings(os.environ))
transports = {name: FakeTransport() for name in os.environ["GATEWAY_CARRIERS"].split(",")}
runtime.worker(transports).run(threading.Event())
"""
MO = {"id": "mo-killed-1", "from": "0912345678", "to": "8079", "text": "BH QT 0123456789"}


@pytest.fixture
def clock() -> FakeClock:
    # The killed worker runs on the real clock: the one here must agree with its lease.
    return FakeClock(dt.datetime.now(dt.UTC))


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    environ["SERVICE_QT_TIMEOUT"] = "20"  # the kill, not the timeout, ends the first forward
    return environ


def count(session: Session, column: object) -> int:
    return session.scalar(select(func.count(column))) or 0  # type: ignore[arg-type]


def test_a_worker_killed_mid_forward_never_forwards_or_charges_twice(
    environ: dict[str, str],
    client: FlaskClient,
    session: Session,
    service: Scripted,
    worker: Worker,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
) -> None:
    service.script = ["slow:3"]  # the service is busy with it when the worker dies
    secret = CARRIER_SECRETS["viettel"]
    assert (
        signed_post(client, "/carriers/viettel/mo", MO, secret=secret, clock=clock).status_code
        == 200
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **environ}
    victim = subprocess.Popen([sys.executable, "-c", WORKER], env=env)
    try:
        deadline = time.monotonic() + 60
        while not service.attempts and time.monotonic() < deadline:
            time.sleep(0.01)
        assert service.attempts, "the worker never forwarded"
    finally:
        os.kill(victim.pid, signal.SIGKILL)  # mid-forward: no chance to clean up
        victim.wait(timeout=10)

    claimed = session.scalars(select(ServiceForward)).one()
    assert (claimed.status, claimed.attempts) == (ForwardStatus.PENDING, 1)
    assert count(session, LedgerEntry.id) == count(session, OutboxMessage.id) == 0
    # The carrier repeats the MO meanwhile: the same answer, no second message.
    assert (
        signed_post(client, "/carriers/viettel/mo", MO, secret=secret, clock=clock).status_code
        == 200
    )
    assert count(session, InboundMessage.id) == 1

    clock.advance(seconds=90)  # past GATEWAY_WORKER_LEASE (60 s) from its claim: due again
    worker.drain()

    assert len(service.attempts) == 2 and len(set(service.attempts)) == 1
    assert count(session, LedgerEntry.id) == 1
    assert count(session, OutboxMessage.id) == 1
    assert [sms.text for sms in carriers["viettel"].sent] == [ANSWERS[("qt", "0123456789")]]
