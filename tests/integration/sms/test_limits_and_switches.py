"""Rate limits, the SMS-reset switch and system errors, as transcripts."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.models import Account, InboundMessage, PasswordIssue
from gateway.ops.switches import SMS_RESET, set_switch
from gateway.runtime import Runtime
from gateway.settings import load_settings
from tests.conftest import make_app
from tests.harness import Phones, add_account

RESET = "Cap lai mat khau thanh cong."
LIMITED = "Ban da yeu cau cap lai mat khau qua nhieu lan."
# Each transcript runs decided in batches and decided one by one; both must end the same.
pytestmark = pytest.mark.usefixtures("sms_path")


def outcomes(session: Session) -> list[Outcome | None]:
    session.expire_all()
    return list(session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)))


def test_three_new_passwords_per_account_a_day_then_one_notice_then_silence(
    phones: Phones, session: Session, clock: FakeClock
) -> None:
    add_account(session, "0123456789", "0912345678")
    replies = []
    for _ in range(5):
        replies += phones.text("0912345678", "BH MK 0123456789")
        clock.advance(minutes=20)  # stay under the per-phone limit of 5 an hour

    assert [r.split(".")[0] + "." for r in replies] == [RESET, RESET, RESET, LIMITED]
    assert "thu lai sau 24 gio" in replies[3]
    assert outcomes(session)[3:] == [Outcome.RATE_LIMITED, Outcome.RATE_LIMITED]
    assert session.scalar(select(func.count(PasswordIssue.id))) == 3
    assert session.scalar(select(func.count(LedgerEntry.id))) == 5  # every message is billed

    clock.advance(hours=24)
    assert phones.text("0912345678", "BH MK 0123456789")[0].startswith(RESET)


def test_five_messages_per_phone_an_hour_then_one_notice_then_silence(
    phones: Phones, session: Session, clock: FakeClock
) -> None:
    replies = [phones.text("0912345678", "hello") for _ in range(8)]

    assert [len(r) for r in replies] == [1, 1, 1, 1, 1, 1, 0, 0]
    assert replies[5][0].startswith(LIMITED)
    assert "thu lai sau 1 gio" in replies[5][0]
    assert outcomes(session)[5:] == [Outcome.RATE_LIMITED] * 3

    clock.advance(minutes=61)
    assert phones.text("0912345678", "hello")[0].startswith("Sai cu phap.")


def test_someone_else_texting_cannot_use_up_the_owners_limit(
    phones: Phones, session: Session, clock: FakeClock
) -> None:
    add_account(session, "0123456789", "0912345678")
    for _ in range(5):
        phones.text("0987654321", "BH MK 0123456789")

    assert phones.text("0912345678", "BH MK 0123456789")[0].startswith(RESET)


def test_old_password_keeps_working_until_the_temporary_one_is_used(
    phones: Phones, session: Session, client: FlaskClient
) -> None:
    add_account(session, "0123456789", "0912345678", password="old-password-1")
    phones.text("0912345678", "BH MK 0123456789")

    login = client.post(
        "/api/v1/auth/login", json={"bhxh": "0123456789", "password": "old-password-1"}
    )
    assert login.status_code == 200
    assert login.get_json()["must_change_password"] is False


def test_switch_turns_sms_resets_off_without_a_restart(
    phones: Phones, session: Session, runtime: Runtime
) -> None:
    add_account(session, "0123456789", "0912345678")
    with runtime.session_factory.begin() as s:
        set_switch(s, SMS_RESET, False, runtime.clock.now())

    [reply] = phones.text("0912345678", "BH MK 0123456789")

    assert "email" in reply and "VNeID" in reply
    assert outcomes(session) == [Outcome.SERVICE_DISABLED]
    account = session.scalars(select(Account)).one()
    assert account.temp_password_hash is None


def test_setting_turns_sms_resets_off(
    environ: dict[str, str], clock: FakeClock, carriers: dict[str, FakeTransport]
) -> None:
    app = make_app(load_settings({**environ, "GATEWAY_SMS_RESET_ENABLED": "false"}), clock)
    runtime: Runtime = app.extensions["gateway"]
    phones = Phones(app.test_client(), runtime.worker(carriers), carriers, clock)

    [reply] = phones.text("0912345678", "BH MK 0123456789")

    assert reply.startswith("Dich vu cap lai mat khau qua SMS da dung.")
    runtime.engine.dispose()


class Boom(RuntimeError):
    pass


def test_a_message_that_keeps_failing_ends_as_system_error_charged_once(
    phones: Phones, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(session, "0123456789", "0912345678")

    def broken(*args: object, **kwargs: object) -> None:
        raise Boom("database went away")

    # Broken for the batch and for the batches of one that follow a failed batch.
    monkeypatch.setattr("gateway.sms.batch.find_accounts", broken)
    [reply] = phones.text("0912345678", "BH MK 0123456789")

    assert reply.startswith("He thong dang gian doan")
    assert outcomes(session) == [Outcome.SYSTEM_ERROR]
    message = session.scalars(select(InboundMessage)).one()
    assert (message.attempts, message.last_error) == (3, "Boom")
    assert session.scalar(select(func.count(LedgerEntry.id))) == 1
    assert session.scalar(select(func.count(PasswordIssue.id))) == 0


def test_a_passing_failure_is_retried_and_succeeds(
    phones: Phones, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.sms import batch

    add_account(session, "0123456789", "0912345678")
    real = batch.find_accounts
    calls = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise Boom("once")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("gateway.sms.batch.find_accounts", flaky)

    assert phones.text("0912345678", "BH MK 0123456789")[0].startswith(RESET)
    assert len(calls) > 1  # the failed batch, then the batch of one that succeeded
    assert session.scalar(select(func.count(PasswordIssue.id))) == 1
    assert session.scalar(select(InboundMessage.attempts)) == 0
