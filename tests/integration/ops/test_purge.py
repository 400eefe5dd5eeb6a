"""`gateway purge`: past the retention period nothing identifies a person; counts remain."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.models import AuditEvent, EmailRecoveryRequest, InboundMessage, OutboxMessage
from gateway.runtime import Runtime
from tests.email_harness import APP_CREDENTIAL
from tests.harness import Phones, add_account

APP = {"X-App-Credential": APP_CREDENTIAL}


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    environ["GATEWAY_APP_CREDENTIAL"] = APP_CREDENTIAL
    return environ


def purge(runtime: Runtime, *args: str) -> Result:
    return CliRunner().invoke(cli, ["purge", *args], obj={"runtime": runtime})


def test_old_messages_lose_their_text_and_numbers_but_keep_counts_and_charges(
    phones: Phones, session: Session, runtime: Runtime, clock: FakeClock
) -> None:
    add_account(session)
    session.commit()
    phones.text("0912345678", "BH MK 0123456789")
    clock.advance(days=91)
    phones.text("0912345678", "BH MK 0123456789")  # recent: kept whole
    ledger_before = session.scalars(select(LedgerEntry.phone)).all()
    audit_before = session.scalar(select(func.count(AuditEvent.id)))

    result = purge(runtime, "--older-than", "90d")

    assert result.exit_code == 0, result.output
    assert "messages: 1" in result.output
    old, recent = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert (old.text, old.content_digest, old.sender) == ("", "", "8491****678")
    assert old.outcome is not None and old.carrier_message_id
    assert recent.text == "BH MK 0123456789"
    assert recent.sender == "84912345678"
    first_reply = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    assert first_reply is not None
    assert (first_reply.text, first_reply.safe_text) == ("", "")
    assert "912345678" not in first_reply.recipient
    assert session.scalars(select(LedgerEntry.phone)).all() == ledger_before
    assert session.scalar(select(func.count(AuditEvent.id))) == audit_before


def test_purging_twice_changes_nothing_more(
    phones: Phones, session: Session, runtime: Runtime, clock: FakeClock
) -> None:
    phones.text("0912345678", "BH MK 0123456789")
    clock.advance(days=100)

    first, second = purge(runtime), purge(runtime)

    assert "messages: 1" in first.output
    assert "messages: 0" in second.output


def test_old_recovery_requests_are_masked(
    client: FlaskClient, session: Session, runtime: Runtime, clock: FakeClock
) -> None:
    client.post(
        "/api/v1/recovery/email",
        json={"bhxh": "0123456789", "email": "a@example.vn"},
        headers=APP,
    )
    clock.advance(days=91)

    purge(runtime)

    row = session.scalars(select(EmailRecoveryRequest)).one()
    assert row.identifier != "0123456789"
    assert "*" in row.identifier
    assert row.email_hash == ""


def test_a_retention_under_a_day_or_malformed_is_refused(runtime: Runtime) -> None:
    for value in ("1h", "soon"):
        result = purge(runtime, "--older-than", value)
        assert result.exit_code == 2
        assert "--older-than" in result.output
