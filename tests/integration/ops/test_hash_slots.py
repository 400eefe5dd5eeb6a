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
