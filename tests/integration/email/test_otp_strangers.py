"""A stranger's wrong codes (issue 22): they cannot shut the owner's free recovery, and an
unknown number costs the server the same work as a registered one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from gateway.clock import FakeClock
from gateway.models import Account, AuditEvent, Otp
from gateway.runtime import Runtime
from tests.email_harness import EmailUser, add_account_with_email

OWNER, STRANGER_NUMBER = "0123456789", "0999999999"
EMAIL, NEW = "nguyen.van.a@example.vn", "van.a.moi@example.vn"
VERIFY, CONFIRM = "/api/v1/recovery/email/verify", "/api/v1/account/email/confirm"


@pytest.fixture(autouse=True)
def account(session: Session) -> None:
    add_account_with_email(session, OWNER, "0912345678", EMAIL, password="right-password")


def guess(client: FlaskClient, path: str, code: str, bhxh: str = OWNER) -> int:
    """Send a code as a stranger would: no session, no cookie, just the number."""
    return client.post(path, json={"bhxh": bhxh, "otp": code}).status_code


def other_than(code: str) -> Callable[[int], str]:
    """Return wrong codes, never the right one."""
    return lambda n: f"{(int(code) + 1 + n) % 10**6:06d}"


@pytest.mark.parametrize(
    "paths",
    [[VERIFY] * 5, [CONFIRM] * 5, [VERIFY, CONFIRM] * 5],
    ids=["recovery verify", "email confirm", "both, ten times"],
)
@pytest.mark.parametrize("hours_later", [0, 2], ids=["at once", "and again two hours later"])
def test_a_strangers_wrong_codes_do_not_shut_the_owners_recovery(
    user: EmailUser, client: FlaskClient, clock: FakeClock, paths: list[str], hours_later: int
) -> None:
    """With no live code there is nothing to guess, so nothing is counted: the owner's code,
    asked for right after, arrives and works (it used to be refused for an hour, renewably)."""
    for n, path in enumerate(paths):
        assert guess(client, path, f"{n:06d}") == 400
    clock.advance(hours=hours_later)
    for n, path in enumerate(paths):
        assert guess(client, path, f"{n + 50:06d}") == 400

    user.ask()

    [_otp_email] = user.emails_to()
    answer = user.verify(user.last_otp(), new_password="mat khau rieng cua toi")
    assert answer.status_code == 200, answer.get_json()


def test_a_strangers_wrong_codes_do_not_stop_the_owners_email_change(
    user: EmailUser, client: FlaskClient
) -> None:
    for n in range(6):
        assert guess(client, CONFIRM, f"{n:06d}") == 400
        assert guess(client, VERIFY, f"{n:06d}") == 400

    client.post(
        "/api/v1/account/email",
        json={"bhxh": OWNER, "password": "right-password", "email": NEW},
    )
    user.worker.drain()

    confirmed = client.post(CONFIRM, json={"bhxh": OWNER, "otp": user.last_otp(NEW)})
    assert confirmed.get_json() == {"status": "confirmed"}


def test_guesses_at_a_live_code_kill_only_that_code(
    user: EmailUser, client: FlaskClient, session: Session
) -> None:
    """Five wrong tries still end a code (a 1-in-200,000 chance at most per code); the owner's
    next code starts its own count."""
    user.ask()
    first = user.last_otp()
    wrong = other_than(first)
    for n in range(5):
        assert guess(client, VERIFY, wrong(n)) == 400
    assert user.verify(first).status_code == 400  # killed by the stranger's fifth try
    assert session.scalars(select(Otp.attempts).order_by(Otp.id)).all() == [5]

    user.ask()
    second = user.last_otp()
    for n in range(4):
        assert guess(client, VERIFY, other_than(second)(n)) == 400

    assert user.verify(second, new_password="mat khau rieng cua toi").status_code == 200
    assert session.scalars(select(Otp.attempts).order_by(Otp.id)).all() == [5, 4]


def test_wrong_codes_without_a_live_code_write_nothing_but_the_audit_row(
    client: FlaskClient, session: Session, clock: FakeClock
) -> None:
    before = session.scalars(select(Account.updated_at)).one()
    clock.advance(minutes=1)
    for n in range(7):
        guess(client, VERIFY, f"{n:06d}")
        guess(client, CONFIRM, f"{n:06d}")

    assert session.scalars(select(Account.updated_at)).one() == before
    assert session.scalars(select(Otp)).all() == []
    outcomes = session.scalars(select(AuditEvent.outcome)).all()
    assert outcomes == ["wrong_otp"] * 14


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    """Collect the SQL the app sends while the block runs (the text, not the parameters)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(" ".join(sql.split()))

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)


def work_of(runtime: Runtime, client: FlaskClient, path: str, bhxh: str) -> list[str]:
    """Return the statements one wrong code costs, less the account look-up's own reads (a
    known number's row is read again after its lock: one primary-key read)."""
    with statements(runtime) as seen:
        assert guess(client, path, "000000", bhxh) == 400
    return [sql for sql in seen if not sql.startswith("SELECT accounts.")]


@pytest.mark.parametrize("path", [VERIFY, CONFIRM])
def test_an_unknown_number_costs_the_same_writes_and_reads_as_a_registered_one(
    runtime: Runtime, client: FlaskClient, user: EmailUser, session: Session, path: str
) -> None:
    """Work, not wall-clock time, is compared, so the test cannot be flaky; the times are
    printed (pytest -s) for whoever wants to look."""
    unknown = work_of(runtime, client, path, STRANGER_NUMBER)
    known = work_of(runtime, client, path, OWNER)
    user.ask()  # a live recovery code: a wrong guess at it is counted
    live = work_of(runtime, client, path, OWNER)

    assert unknown == known == live
    assert any(sql.startswith("INSERT INTO audit_events") for sql in unknown)
    assert any(sql.startswith("UPDATE otps") for sql in unknown)
    refused = session.scalars(select(AuditEvent.outcome).where(AuditEvent.outcome == "wrong_otp"))
    assert len(refused.all()) == 3  # an audit row for each, known or not

    timings = {}
    for bhxh in (STRANGER_NUMBER, OWNER):
        start = time.perf_counter()
        for n in range(50):
            guess(client, path, f"{n + 100:06d}", bhxh)
        timings[bhxh] = (time.perf_counter() - start) / 50 * 1000
    print(f"\n{path}: unknown {timings[STRANGER_NUMBER]:.2f} ms, known {timings[OWNER]:.2f} ms")
