"""Several worker processes share one queue without doing anything twice, even when one dies.

Each test seeds thousands of received messages (half the phones registered for an account,
every phone texting 6 or 7 times, so the rate limits are hit concurrently), runs
real `gateway worker` processes against one database and a carrier stand-in, and then
checks every invariant: one outcome and one charge per message, at most the allowed new
passwords per account, at most one rate-limit notice per phone, one reply row per answered
message, and every reply handed to the carrier.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from billing.ledger import EntryKind, LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.base import InboundSms
from gateway.db import make_engine
from gateway.models import Account, AccountState, InboundMessage, OutboxMessage, PasswordIssue
from gateway.sms.inbox import content_digest
from gateway.states import MessageStatus, OutboxStatus
from tests.conftest import fresh_database
from tests.e2e.stand_in import CarrierStandIn, serving_carrier
from tests.e2e.support import CARRIER, CARRIER_SECRET, gateway_environ, process, run_cli

pytestmark = pytest.mark.e2e

DRAIN_DEADLINE = 240.0  # seconds for the workers to finish everything


@pytest.fixture
def carrier() -> Iterator[CarrierStandIn]:
    with serving_carrier(CARRIER_SECRET) as stand_in:
        yield stand_in


@dataclass
class Seeded:
    """A migrated, seeded database, the workers' environment and the workers started on it."""

    env: dict[str, str]
    engine: Engine
    workdir: Path
    _workers: contextlib.ExitStack

    def worker(self, name: str) -> tuple[subprocess.Popen[bytes], Path]:
        """Start a `gateway worker` process, stopped when the block ends; return it and its log."""
        return self._workers.enter_context(process(name, ["worker"], self.env, self.workdir))


@contextlib.contextmanager
def seeded_gateway(
    tmp_path: Path, carrier: CarrierStandIn, messages: int, phones: int
) -> Iterator[Seeded]:
    """Yield a database seeded with ``messages`` from ``phones``, for workers to drain."""
    with fresh_database(tmp_path) as url:
        env = gateway_environ(tmp_path, carrier, url)
        env.update(
            {
                "GATEWAY_LIMIT_RESETS_PER_ACCOUNT": "3",
                "GATEWAY_LIMIT_MESSAGES_PER_PHONE": "5",
                "GATEWAY_WORKER_BATCH_SIZE": "50",
                "GATEWAY_WORKER_LEASE": "12s",  # outlasts carrier (5 s) and SMTP (10 s) timeouts
                "GATEWAY_LOG_LEVEL": "WARNING",
            }
        )
        run_cli(env, tmp_path, "init-db")
        engine = make_engine(url)
        _seed(engine, messages, phones)
        try:
            with contextlib.ExitStack() as workers:
                yield Seeded(env, engine, tmp_path, workers)
        finally:
            engine.dispose()


def _phone(index: int) -> str:
    return f"8491{index:07d}"


def _seed(engine: Engine, messages: int, phones: int) -> None:
    registered = phones // 2
    now = dt.datetime.now(dt.UTC)
    accounts = [
        {
            "bhxh": f"{index:010d}",
            "phone": _phone(index),
            "state": AccountState.ACTIVE,
            "approved_at": now,
            "must_change_password": False,
            "temp_password_logged_in": False,
            "created_at": now,
            "updated_at": now,
        }
        for index in range(registered)
    ]
    rows = []
    for number in range(messages):
        index = number % phones
        text = (
            f"BH MK {index:010d}"
            if index < registered
            else ("xin chao", "BH MK 0999999999")[index % 2]
        )
        sms = InboundSms(f"seed-{number}", _phone(index), "8079", text, None)
        rows.append(
            {
                "carrier": CARRIER,
                "carrier_message_id": sms.carrier_message_id,
                "sender": sms.sender,
                "recipient": sms.recipient,
                "text": sms.text,
                "content_digest": content_digest(sms),
                "created_at": now,
                "status": MessageStatus.RECEIVED,
                "replied": False,
                "attempts": 0,
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(Account), accounts)
        connection.execute(insert(InboundMessage), rows)


def _remaining(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        received = connection.scalar(
            select(func.count()).where(InboundMessage.status == MessageStatus.RECEIVED)
        )
        unsent = connection.scalar(
            select(func.count()).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
            )
        )
    return received or 0, unsent or 0


def _wait_drained(engine: Engine, logs: list[Path]) -> None:
    deadline = time.monotonic() + DRAIN_DEADLINE
    while time.monotonic() < deadline:
        if _remaining(engine) == (0, 0):
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
    pytest.fail(f"not drained within {DRAIN_DEADLINE} s: {_remaining(engine)}\n{tails}")


def _check_invariants(
    engine: Engine, carrier: CarrierStandIn, messages: int, phones: int
) -> collections.Counter[str]:
    """Assert every invariant; return how often the carrier got each reference."""
    with engine.connect() as connection:
        outcomes = dict(
            connection.execute(
                select(InboundMessage.id, InboundMessage.outcome).where(
                    InboundMessage.status == MessageStatus.PROCESSED
                )
            ).all()
        )
        charges = collections.Counter(
            connection.scalars(
                select(LedgerEntry.message_id).where(LedgerEntry.kind == EntryKind.CHARGE)
            )
        )
        issues = collections.Counter(connection.scalars(select(PasswordIssue.account_id)))
        resets = collections.Counter(
            connection.scalars(
                select(InboundMessage.account_id).where(
                    InboundMessage.outcome == Outcome.RESET_SENT
                )
            )
        )
        notices = collections.Counter(
            connection.scalars(
                select(InboundMessage.sender).where(
                    InboundMessage.outcome == Outcome.RATE_LIMITED,
                    InboundMessage.replied.is_(True),
                )
            )
        )
        replied = set(connection.scalars(select(InboundMessage.id).where(InboundMessage.replied)))
        outbox = list(
            connection.execute(
                select(OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.status)
            )
        )

    assert len(outcomes) == messages and None not in outcomes.values()
    assert set(charges) == set(outcomes) and set(charges.values()) == {1}
    # Every phone texted 6 or 7 times: a registered one got 3 new passwords, then one notice;
    # any other phone got one notice after its 5th message; then silence.
    assert issues == resets
    assert len(issues) == phones // 2 and set(issues.values()) == {3}
    assert set(notices.values()) == {1} and len(notices) == phones
    assert sorted(message_id for _, message_id, _ in outbox) == sorted(replied)
    assert {status for _, _, status in outbox} == {OutboxStatus.SENT}
    received = collections.Counter(r.payload["reference"] for r in carrier.received)
    assert set(received) == {str(row_id) for row_id, _, _ in outbox}
    assert all(r.signature_ok for r in carrier.received)
    return received


def test_three_workers_share_five_thousand_messages(
    tmp_path: Path, carrier: CarrierStandIn
) -> None:
    with seeded_gateway(tmp_path, carrier, 5000, 800) as seeded:
        logs = [seeded.worker(f"worker-{number}")[1] for number in range(3)]
        _wait_drained(seeded.engine, logs)

        received = _check_invariants(seeded.engine, carrier, 5000, 800)

    assert set(received.values()) == {1}, "a reply was handed to the carrier twice"


def test_a_killed_worker_is_replaced_and_nothing_is_done_twice(
    tmp_path: Path, carrier: CarrierStandIn
) -> None:
    with seeded_gateway(tmp_path, carrier, 2400, 400) as seeded:
        victim, victim_log = seeded.worker("victim")
        _, other_log = seeded.worker("other")
        deadline = time.monotonic() + DRAIN_DEADLINE
        while _remaining(seeded.engine)[0] > 1600 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(victim.pid, signal.SIGKILL)  # mid-batch: no chance to clean up
        victim.wait(timeout=10)
        _, spare_log = seeded.worker("replacement")
        _wait_drained(seeded.engine, [victim_log, other_log, spare_log])

        received = _check_invariants(seeded.engine, carrier, 2400, 400)

    # A reply the victim handed over but had not yet marked sent goes out once more under the
    # same reference (at-least-once); the carrier drops the repeat. At most one batch of them.
    assert sum(count - 1 for count in received.values()) <= 50
