"""One Smart OTP code raced by many requests at once is accepted exactly once.

Each thread has its own test client (or its own database session) and all start together on a
barrier. This must hold on SQLite and on PostgreSQL alike: the suite reruns with
TEST_DATABASE_URL (tests/conftest.py, ``shared_database_url``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.accounts import smart_otp, smart_otp_recovery, totp
from gateway.accounts.sessions import issue_token
from gateway.clock import FakeClock
from gateway.models import Account, AuditEvent, LoginFailure, OutboxMessage, SmartOtp
from gateway.runtime import Runtime
from gateway.states import Channel
from tests.email_harness import add_account_with_email

THREADS = 10
BHXH = "0123456789"
RECOVER = "/api/v1/recovery/smart-otp"
VERIFY = "/api/v1/smart-otp/verify"

T = TypeVar("T")


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """More free failures than threads: the losers of a race must meet the code rule, not a
    throttle wait that the earlier losers' failures would start."""
    environ["GATEWAY_LOGIN_FREE_FAILURES"] = str(2 * THREADS)
    return environ


@pytest.fixture
def seed(session: Session, clock: FakeClock) -> str:
    """The owner's Smart OTP, on since a minute ago; its codes are unused."""
    account = add_account_with_email(session, BHXH, "0912345678")
    secret = totp.new_secret()
    session.add(
        SmartOtp(account_id=account.id, secret=secret, enabled_at=clock.now(), last_step=None)
    )
    session.commit()
    clock.advance(minutes=1)
    return secret


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads that start together; re-raise any thread's exception."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=120) for future in futures]


def post_recover(app: Flask, code: str) -> Callable[[], int]:
    client = app.test_client()
    return lambda: client.post(RECOVER, json={"bhxh": BHXH, "code": code}).status_code


def test_one_code_posted_by_many_at_once_recovers_once(
    app: Flask, session: Session, clock: FakeClock, seed: str
) -> None:
    code = pyotp.TOTP(seed).at(clock.now())

    statuses = at_once([post_recover(app, code) for _ in range(THREADS)])

    assert sorted(statuses) == [200] + [401] * (THREADS - 1)
    recovered = session.scalars(
        select(AuditEvent.outcome).where(AuditEvent.action == "smart_otp_recovery")
    ).all()
    assert sorted(recovered) == ["smart_otp"] + ["wrong_code"] * (THREADS - 1)
    notices = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == Channel.SMS))
    assert len(notices.all()) == 1  # one recovery, told once
    step = int(clock.now().timestamp()) // totp.STEP_SECONDS
    assert session.scalars(select(SmartOtp.last_step)).one() == step


def test_use_code_in_many_sessions_at_once_is_true_once(
    runtime: Runtime, session: Session, clock: FakeClock, seed: str
) -> None:
    account_id = session.scalars(select(Account.id)).one()
    code = pyotp.TOTP(seed).at(clock.now())
    now = clock.now()

    def use() -> bool:
        with runtime.session_factory.begin() as own:
            return smart_otp.use_code(own, account_id, code, now)

    results = at_once([use for _ in range(THREADS)])

    assert results.count(True) == 1, results
    with runtime.session_factory.begin() as own:
        assert smart_otp.use_code(own, account_id, code, now) is False  # and spent


def hold_until_everyone_has_read(module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the race certain: no request takes its try before all have read the count."""
    barrier = threading.Barrier(THREADS)
    original = module.take_try

    def everyone_has_read(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "take_try", everyone_has_read)


def past_the_free_failures(runtime: Runtime, session: Session, clock: FakeClock) -> None:
    """The owner's counter just past the free failures, its 2-second wait over."""
    past_free = runtime.settings.login_free_failures + 1
    session.add(LoginFailure(identifier=BHXH, consecutive=past_free, last_failed_at=clock.now()))
    session.commit()
    clock.advance(seconds=10)


def wrong_code(seed: str, clock: FakeClock) -> str:
    window = {pyotp.TOTP(seed).at(clock.now(), counter_offset=s) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222") if c not in window)


def post_step_up(app: Flask, token: str, code: str) -> Callable[[], int]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    return lambda: client.post(VERIFY, json={"code": code}, headers=headers).status_code


# Where a code is guessed: the module whose throttle it meets, and one guess's request.
GUESSED_AT = {
    "recovery": (smart_otp_recovery, lambda app, token, code: post_recover(app, code)),
    "step-up": (smart_otp, post_step_up),
}


@pytest.mark.parametrize("door", sorted(GUESSED_AT))
def test_guesses_sent_together_when_a_wait_ends_check_one_code(
    door: str,
    app: Flask,
    runtime: Runtime,
    session: Session,
    clock: FakeClock,
    seed: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As for passwords: past the free failures, each finished wait allows one guess."""
    module, guess = GUESSED_AT[door]
    account = session.scalars(select(Account)).one()
    token = issue_token(account, settings=runtime.settings, restricted=False, now=clock.now())
    past_the_free_failures(runtime, session, clock)
    hold_until_everyone_has_read(module, monkeypatch)
    code = wrong_code(seed, clock)

    statuses = at_once([guess(app, token, code) for _ in range(THREADS)])

    assert sorted(statuses) == [401] + [429] * (THREADS - 1)
    assert session.scalars(select(LoginFailure.consecutive)).one() == (
        runtime.settings.login_free_failures + 2
    )
