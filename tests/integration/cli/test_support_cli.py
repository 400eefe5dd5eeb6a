"""Support from the shell: ``accounts show``, ``switch --reason`` and ``outbox requeue``."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from gateway.carriers.fake import FakeTransport
from gateway.errors import PermanentSendError
from gateway.models import AccountState, AuditEvent, OutboxMessage
from gateway.states import OutboxStatus
from tests.harness import Phones, add_account
from tests.integration.finance.test_finance_cli import Run

Month = dict[Outcome | str, LedgerEntry]


def test_accounts_show_prints_the_masked_account(
    run: Run, phones: Phones, session: Session
) -> None:
    account = add_account(session, personal_id="001099012345")
    account.email = "nguyen.van.a@example.vn"
    session.commit()
    phones.text("0912345678", "BH MK 0123456789")

    code, out, _ = run("accounts", "show", "0123456789")
    same, by_cccd, _ = run("accounts", "show", "001099012345")

    assert code == same == 0 and out == by_cccd
    lines = out.splitlines()
    assert lines[0] == f"account {account.id}: bhxh 01******89, personal id 00********45"
    assert lines[1:4] == ["state: active", "phone: 8491****678", "email: ng***@example.vn"]
    assert "passkeys: 0" in lines and "smart otp: off" in lines
    assert "throttle resets: no wait (1/3)" in lines
    assert any(line.endswith("recovery via sms: reset_sent") for line in lines)
    assert "0123456789" not in out and "nguyen.van.a" not in out


def test_accounts_show_a_pending_account_and_failures(run: Run, session: Session) -> None:
    add_account(session, state=AccountState.PENDING)

    code, out, _ = run("accounts", "show", "0123456789")
    unknown, _, said = run("accounts", "show", "0000000000")
    malformed, _, complaint = run("accounts", "show", "12345")

    assert code == 0 and "state: pending" in out
    assert unknown == 1 and "no account with this number" in said
    assert malformed == 2 and "10 or 12 digits" in complaint


def test_switch_needs_a_reason_and_is_audited(run: Run, session: Session) -> None:
    refused, _, said = run("switch", "sms-reset", "off")
    blank, _, _ = run("switch", "sms-reset", "off", "--reason", "  ")
    code, out, _ = run("switch", "sms-reset", "off", "--reason", "SMSC down, ticket 7")

    assert refused == blank == 2 and "--reason" in said
    assert code == 0 and out == "sms-reset: off\n"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "switch")).one()
    assert (event.channel, event.actor) == ("cli", "operator")
    assert event.subject.startswith("cli:") and event.detail == "sms-reset off: SMSC down, ticket 7"


def test_outbox_requeue_sends_a_failed_reply_again_once(
    run: Run, month: Month, session: Session, phones: Phones
) -> None:
    failed = month["reply_failed"]
    reply = session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id == failed.message_id)
    ).one()

    code, out, _ = run("outbox", "requeue", str(reply.id), "--reason", "complaint 9")
    again, _, said = run("outbox", "requeue", str(reply.id), "--reason", "complaint 9")
    phones.worker.drain()

    assert code == 0 and out.startswith("queued again as outbox ")
    assert again == 1 and "already queued again" in said
    rows = session.scalars(
        select(OutboxMessage.status).where(OutboxMessage.message_id == failed.message_id)
    ).all()
    assert rows == [OutboxStatus.FAILED, OutboxStatus.SENT]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "reply_requeue")).one()
    assert event.detail and event.detail.endswith(": complaint 9")


@pytest.mark.parametrize("which", ["secret", "not_failed", "unknown"])
def test_outbox_requeue_refusals(
    run: Run,
    phones: Phones,
    session: Session,
    carriers: dict[str, FakeTransport],
    which: str,
) -> None:
    add_account(session)
    if which == "secret":
        carriers["viettel"].fail_next(PermanentSendError("400 unknown subscriber"))
    phones.text("0912345678", "BH MK 0123456789")
    reply = session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id.is_not(None))
    ).one()
    target = "99999" if which == "unknown" else str(reply.id)

    code, _, said = run("outbox", "requeue", target, "--reason", "x")

    assert code == 1
    expected = {
        "secret": "temporary password",
        "not_failed": "has not failed",
        "unknown": "no outbox row",
    }
    assert expected[which] in said
