"""A bounded number of argon2 hashes at once per machine, so a login flood leaves CPUs free."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from gateway.accounts.passwords import HashSlots, hash_password, verify_password
from gateway.clock import FakeClock
from gateway.errors import Busy
from gateway.settings import load_settings
from tests.conftest import make_app

LOGIN = "/api/v1/auth/login"


def test_a_slot_held_by_another_process_makes_the_next_hash_wait_then_refuse(
    tmp_path: Path,
) -> None:
    # Two HashSlots on one folder lock like two gunicorn workers: flock ignores the process.
    worker_a, worker_b = HashSlots(1, tmp_path, wait=0.1), HashSlots(1, tmp_path, wait=0.1)

    with worker_a.held():
        started = time.monotonic()
        with pytest.raises(Busy) as refused, worker_b.held():
            pass
        waited = time.monotonic() - started
    with worker_b.held():  # free again once released
        pass

    assert refused.value.retry_after == 1
    assert 0.09 <= waited < 1.0


def test_threads_of_one_process_share_the_bound(tmp_path: Path) -> None:
    slots = HashSlots(2, tmp_path, wait=0.05)
    inside, release = threading.Barrier(3), threading.Event()

    def hold() -> None:
        with slots.held():
            inside.wait()
            release.wait(5)

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    inside.wait()
    try:
        with pytest.raises(Busy), slots.held():
            pass
    finally:
        release.set()
        for thread in holders:
            thread.join()


def test_a_worker_keeps_one_thread_for_requests_that_hash_nothing(tmp_path: Path) -> None:
    # 4 threads a worker: 3 logins may hold or wait for the slot, and a 4th is refused at
    # once instead of waiting, so the carrier webhook on the same worker finds a thread.
    slots = HashSlots(1, tmp_path, wait=5.0, admitted=3)
    release, got_through = threading.Event(), []

    def login() -> None:
        with slots.held():
            got_through.append(True)
            release.wait(10)

    logins = [threading.Thread(target=login) for _ in range(3)]
    for thread in logins:
        thread.start()
    time.sleep(0.3)  # one holds the slot, two wait for it (up to 5 s)
    try:
        started = time.monotonic()
        with pytest.raises(Busy), slots.held():
            pass
        refused_after = time.monotonic() - started
    finally:
        release.set()
        for thread in logins:
            thread.join()

    assert refused_after < 1.0  # at once, not after the 5 s wait
    assert len(got_through) == 3  # the waiting ones got the slot in turn
    with slots.held():  # and every admission was given back
        pass


def test_hashing_still_works_inside_a_slot(client: FlaskClient) -> None:
    stored = hash_password("mat khau moi 1")

    assert verify_password(stored, "mat khau moi 1")
    assert not verify_password(stored, "mat khau khac")


def test_login_while_every_slot_is_taken_is_429_busy(
    environ: dict[str, str], clock: FakeClock
) -> None:
    settings = load_settings({**environ, "GATEWAY_HASH_CONCURRENCY": "1"})
    app = make_app(settings, clock)
    other_worker = HashSlots(1, settings.instance_dir / "locks", wait=0.1)

    with other_worker.held():
        busy = app.test_client().post(LOGIN, json={"bhxh": "0123456789", "password": "x"})
    later = app.test_client().post(LOGIN, json={"bhxh": "0123456789", "password": "x"})
    app.extensions["gateway"].engine.dispose()

    assert busy.status_code == 429
    assert busy.get_json()["error"] == "busy"
    assert busy.headers["Retry-After"] == "1"
    assert later.status_code == 401
