"""The login throttle counts one account once, and a finished wait allows one guess, not a burst.

Issue 22's findings, tried as an attacker would: alternating the social insurance number and
the CCCD of one account gave it two counters (200 guesses before the cap); eight guesses sent
together when a wait ended were all verified. Both run on SQLite and on PostgreSQL (the suite
reruns with TEST_DATABASE_URL), with real threads and their own sessions.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.accounts.login import AccountContext, log_in
from gateway.clock import FakeClock
from gateway.errors import InvalidCredentials, TooManyAttempts
from gateway.models import AuditEvent, LoginFailure
from gateway.runtime import Runtime
from tests.harness import add_account

BHXH, CCCD = "0123456789", "001099012345"
BURST = 8


def context(runtime: Runtime, clock: FakeClock) -> AccountContext:
    return AccountContext(
        sessions=runtime.session_factory,
        settings=runtime.settings,
        catalog=runtime.catalog,
        hasher=runtime.hasher,
        now=clock.now(),
        client_ip="203.0.113.7",
    )


def counters(session: Session) -> dict[str, int]:
    rows = session.execute(select(LoginFailure.identifier, LoginFailure.consecutive))
    return {identifier: consecutive for identifier, consecutive in rows}


def test_the_number_and_the_cccd_of_one_account_share_one_counter(
    runtime: Runtime, clock: FakeClock, session: Session
) -> None:
    add_account(session, BHXH, personal_id=CCCD, password="the right password")
    for typed in (BHXH, CCCD, BHXH, CCCD):
        with pytest.raises(InvalidCredentials):
            log_in(context(runtime, clock), typed, "a wrong guess")

    assert counters(session) == {BHXH: 4}


def test_an_unknown_identifier_keeps_the_counter_of_what_was_typed(
    runtime: Runtime, clock: FakeClock, session: Session
) -> None:
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            log_in(context(runtime, clock), "0999999999", "a wrong guess")

    assert counters(session) == {"0999999999": 3}


def test_a_success_through_the_cccd_clears_the_accounts_counter(
    runtime: Runtime, clock: FakeClock, session: Session
) -> None:
    add_account(session, BHXH, personal_id=CCCD, password="the right password")
    with pytest.raises(InvalidCredentials):
        log_in(context(runtime, clock), BHXH, "a wrong guess")

    log_in(context(runtime, clock), CCCD, "the right password")

    assert counters(session) == {}


def test_a_burst_at_the_end_of_a_wait_verifies_one_guess(
    runtime: Runtime, clock: FakeClock, session: Session
) -> None:
    add_account(session, BHXH, personal_id=CCCD, password="the right password")
    free = runtime.settings.login_free_failures
    session.add(
        LoginFailure(
            identifier=BHXH,
            consecutive=free + 2,
            last_failed_at=clock.now() - dt.timedelta(hours=1),  # the wait is over
        )
    )
    session.commit()
    start = threading.Barrier(BURST)
    outcomes: list[str] = []

    def guess(n: int) -> None:
        ctx = context(runtime, clock)
        start.wait()
        try:
            log_in(ctx, BHXH if n % 2 else CCCD, f"wrong guess {n}")
        except TooManyAttempts:
            outcomes.append("throttled")
        except InvalidCredentials:
            outcomes.append("verified")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["throttled"] * (BURST - 1) + ["verified"]
    assert counters(session) == {BHXH: free + 3}
    audited = session.scalars(select(AuditEvent.outcome).where(AuditEvent.action == "login"))
    assert sorted(audited) == ["throttled"] * (BURST - 1) + ["wrong_password"]
