"""No lock is held while a password is hashed (issue 17): while one login's hash is paused,
an MO webhook on the same database is accepted within its normal time."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from gateway.accounts.passwords import DEFAULT_HASHER, Hasher
from gateway.clock import FakeClock
from gateway.runtime import Runtime
from tests.conftest import CARRIER_SECRETS, signed_post
from tests.harness import add_account

PAUSE_LIMIT_S = 20.0


class PausedHasher:
    """A real argon2 hasher that stops inside each hash or verify until released."""

    def __init__(self, inner: Hasher) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def _pause(self) -> None:
        self.entered.set()
        assert self.release.wait(PAUSE_LIMIT_S), "the test never released the hasher"

    def hash(self, password: str) -> str:
        self._pause()
        return self.inner.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        self._pause()
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


@pytest.fixture
def paused(app: Flask, runtime: Runtime) -> PausedHasher:
    hasher = PausedHasher(DEFAULT_HASHER)
    app.extensions["gateway"] = dataclasses.replace(runtime, hasher=hasher)
    return hasher


def mo(client: FlaskClient, clock: FakeClock, number: int) -> Any:
    return signed_post(
        client,
        "/carriers/viettel/mo",
        {"id": f"mo-{number}", "from": "0987654321", "to": "8079", "text": "BH MK 0123456789"},
        secret=CARRIER_SECRETS["viettel"],
        clock=clock,
    )


LOGIN = ("/api/v1/auth/login", {"bhxh": "0123456789", "password": "right-password"})
CHANGE = (
    "/api/v1/auth/password",
    {"bhxh": "0123456789", "password": "right-password", "new_password": "a new passphrase"},
)


@pytest.mark.parametrize(("path", "body"), [LOGIN, CHANGE], ids=["login", "password_change"])
def test_a_webhook_is_accepted_while_a_password_hash_is_paused(
    app: Flask,
    session: Session,
    clock: FakeClock,
    paused: PausedHasher,
    path: str,
    body: dict[str, str],
) -> None:
    add_account(session, password="right-password")
    webhook = app.test_client()
    started = time.perf_counter()
    assert mo(webhook, clock, 1).status_code == 200
    idle = time.perf_counter() - started
    answers: list[int] = []
    request: Callable[[], None] = lambda: answers.append(  # noqa: E731
        app.test_client().post(path, json=body).status_code
    )
    hashing = threading.Thread(target=request)
    hashing.start()
    try:
        assert paused.entered.wait(10), "the request never reached the hasher"
        started = time.perf_counter()
        accepted = mo(webhook, clock, 2)
        during = time.perf_counter() - started
    finally:
        paused.release.set()
        hashing.join(PAUSE_LIMIT_S)

    assert accepted.status_code == 200
    # Normal time: well under a second, and nowhere near the 30 s busy timeout a held lock
    # would make it wait for.
    assert during < max(1.0, 10 * idle)
    assert answers == [200]
