"""The worker is woken when work is committed, long before its poll, and still polls without.

The poll interval is set to a minute here, so a reply that arrives within seconds was woken:
by the intake's NOTIFY or datagram, then by the decision (the outbox loop), or by a session
that queued an outbox row. The same tests run on SQLite and, with TEST_DATABASE_URL, on
PostgreSQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from gateway.accounts.notices import enqueue_sms
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.db import make_engine
from gateway.delivery import wakeup
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.worker import Worker
from tests.conftest import CARRIER_SECRETS, shared_database_url, signed_post

POLL = "60"  # a reply within seconds can only have been woken
WITHIN = 10.0  # seconds: generous for a loaded machine, far below the poll
on_sqlite = pytest.mark.skipif(shared_database_url() is not None, reason="SQLite's socket")


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    environ["GATEWAY_WORKER_POLL_INTERVAL"] = POLL
    return environ


@contextlib.contextmanager
def running(worker: Worker) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # its first passes (nothing to do), and the listener's start
        yield thread
    finally:
        stop.set()
        thread.join(5)


def eventually(check: Callable[[], bool], within: float = WITHIN) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, "not woken"
        time.sleep(0.01)
    return time.monotonic() - started


def text(client: FlaskClient, clock: FakeClock, message_id: str, phone: str) -> None:
    response = signed_post(
        client,
        "/carriers/viettel/mo",
        {"id": message_id, "from": phone, "to": "8079", "text": "BH MK 0123456789"},
        secret=CARRIER_SECRETS["viettel"],
        clock=clock,
    )
    assert response.status_code == 200


def test_a_message_is_answered_long_before_the_poll(
    client: FlaskClient, worker: Worker, carriers: dict[str, FakeTransport], clock: FakeClock
) -> None:
    with running(worker):
        for n in range(3):  # each one woken, not only the first
            text(client, clock, f"wake-{n}", f"8491234500{n}")
            eventually(lambda n=n: len(carriers["viettel"].sent) == n + 1)


def test_a_row_queued_by_a_session_wakes_the_outbox(
    runtime: Runtime, worker: Worker, carriers: dict[str, FakeTransport], settings: Settings
) -> None:
    with running(worker):
        with runtime.session_factory.begin() as session:
            enqueue_sms(
                session,
                "84912345678",
                text="Thong bao",
                safe_text="Thong bao",
                settings=settings,
                now=runtime.clock.now(),
            )
        eventually(lambda: sum(len(t.sent) for t in carriers.values()) == 1)


def test_a_stopped_worker_stops_at_once_despite_the_long_poll(worker: Worker) -> None:
    with running(worker) as thread:
        pass
    assert not thread.is_alive()


def test_without_wake_ups_the_worker_polls(
    environ: dict[str, str],
    client: FlaskClient,
    runtime: Runtime,
    carriers: dict[str, FakeTransport],
    clock: FakeClock,
) -> None:
    settings = dataclasses.replace(runtime.settings, worker_wakeup=False, worker_poll_interval=0.2)
    worker = dataclasses.replace(runtime.worker(carriers), settings=settings)
    with running(worker):
        text(client, clock, "polled", "84912345600")
        eventually(lambda: len(carriers["viettel"].sent) == 1)


# --- SQLite's socket ------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'wake.db'}")
    yield engine
    engine.dispose()


@contextlib.contextmanager
def listening(engine: Engine) -> Iterator[dict[str, threading.Event]]:
    events = {topic: threading.Event() for topic in wakeup.TOPICS}
    stop = threading.Event()
    listener = wakeup.Listener(engine, events, stop)
    listener.start()
    try:
        yield events
    finally:
        stop.set()
        listener.join()


@on_sqlite
def test_a_poke_reaches_the_listener_and_only_its_topic(engine: Engine) -> None:
    with listening(engine) as events:
        eventually(lambda: all(e.is_set() for e in events.values()))  # set once on listening
        for event in events.values():
            event.clear()
        wakeup.poke(engine, wakeup.OUTBOX)
        eventually(events[wakeup.OUTBOX].is_set)
        assert not events[wakeup.INBOUND].is_set()


@on_sqlite
def test_one_process_owns_the_socket_and_another_takes_it_over(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wakeup, "TAKE_OVER_SECONDS", 0.05)
    with contextlib.ExitStack() as first_running, listening(engine) as second:
        first = first_running.enter_context(listening(engine))
        eventually(lambda: first[wakeup.INBOUND].is_set() or second[wakeup.INBOUND].is_set())
        owner, other = (first, second) if first[wakeup.INBOUND].is_set() else (second, first)
        time.sleep(0.3)
        assert not other[wakeup.INBOUND].is_set()  # one owner at a time
        owner[wakeup.INBOUND].clear()
        wakeup.poke(engine, wakeup.INBOUND)
        eventually(owner[wakeup.INBOUND].is_set)
        if owner is first:
            first_running.close()  # the owner stops: the other takes the socket over
            eventually(second[wakeup.INBOUND].is_set)
            second[wakeup.INBOUND].clear()
            wakeup.poke(engine, wakeup.INBOUND)
            eventually(second[wakeup.INBOUND].is_set)
    # Both gone: the socket file went with its owner, and a poke finds nobody, quietly.
    path = wakeup.socket_path(engine)
    assert path is not None and not os.path.exists(path)
    wakeup.poke(engine, wakeup.INBOUND)


@on_sqlite
def test_a_dead_owners_socket_is_taken_over(engine: Engine) -> None:
    path = wakeup.socket_path(engine)
    assert path is not None
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(path)
    dead.close()  # the file stays, as after a SIGKILL; nobody holds the lock
    wakeup.poke(engine, wakeup.INBOUND)  # refused: quietly nothing
    with listening(engine) as events:
        eventually(events[wakeup.INBOUND].is_set)
        events[wakeup.INBOUND].clear()
        wakeup.poke(engine, wakeup.INBOUND)
        eventually(events[wakeup.INBOUND].is_set)


def test_no_socket_for_memory_or_a_path_too_long(tmp_path: Path) -> None:
    memory = make_engine("sqlite://")
    long = make_engine(f"sqlite:///{tmp_path / ('x' * 120)}.db")

    assert wakeup.socket_path(memory) is None
    assert wakeup.socket_path(long) is None
    wakeup.poke(long, wakeup.INBOUND)  # nothing to poke: no error either
    memory.dispose()
    long.dispose()
