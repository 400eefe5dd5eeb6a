"""`gateway purge`: past the retention period nothing identifies a person; counts remain."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.models import (
    AuditEvent,
    EmailRecoveryRequest,
    InboundMessage,
    LoginFailure,
    OutboxMessage,
)
from gateway.runtime import Runtime
from gateway.settings import load_settings
from tests.conftest import base_environ, make_app
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


def login(client: FlaskClient, bhxh: str, ip: str = "203.0.113.7") -> None:
    answer = client.post(
        "/api/v1/auth/login",
        json={"bhxh": bhxh, "password": "not-the-password-1"},
        environ_base={"REMOTE_ADDR": ip},
    )
    assert answer.status_code == 401


def failures(session: Session) -> dict[str, int]:
    rows = session.execute(select(LoginFailure.identifier, LoginFailure.consecutive)).all()
    return {identifier: consecutive for identifier, consecutive in rows}


def test_login_failures_idle_past_retention_go_unless_they_still_block(
    client: FlaskClient, session: Session, runtime: Runtime, clock: FakeClock
) -> None:
    add_account(session)
    session.commit()
    login(client, "0123456789")  # the owner mistyped the password
    login(client, "0123456788")  # a typo in the number: nobody has it
    # A hundred in a row: only a recovery unlocks it, however long ago the last one was.
    session.add(LoginFailure(identifier="0100000009", consecutive=100, last_failed_at=clock.now()))
    session.commit()
    clock.advance(days=91)
    login(client, "0199999999")  # recent: its wait and its count still matter
    assert len(failures(session)) == 4

    first, second = purge(runtime), purge(runtime)

    assert first.exit_code == 0, first.output
    assert "login failures: 2" in first.output
    assert failures(session) == {"0100000009": 100, "0199999999": 1}
    assert "login failures: 0" in second.output
    assert failures(session) == {"0100000009": 100, "0199999999": 1}


def test_a_login_wait_longer_than_the_retention_period_is_kept_until_it_ends(
    tmp_path: Path, clock: FakeClock
) -> None:
    environ = {**base_environ(tmp_path), "GATEWAY_LOGIN_DELAY_CAP": "30d"}
    app = make_app(load_settings(environ), clock)
    runtime: Runtime = app.extensions["gateway"]
    with runtime.session_factory() as session:
        session.add(
            LoginFailure(identifier="0123456789", consecutive=40, last_failed_at=clock.now())
        )
        session.commit()
    clock.advance(days=10)

    kept = purge(runtime, "--older-than", "7d")
    clock.advance(days=21)
    gone = purge(runtime, "--older-than", "7d")

    assert "login failures: 0" in kept.output
    assert "login failures: 1" in gone.output
    runtime.engine.dispose()


def test_old_audit_rows_stay_whole_but_lose_the_client_ip(
    client: FlaskClient, session: Session, runtime: Runtime, clock: FakeClock
) -> None:
    add_account(session)
    session.commit()
    login(client, "0123456789", ip="203.0.113.7")
    old = session.execute(select(AuditEvent.id, AuditEvent.client_ip)).all()
    clock.advance(days=91)
    login(client, "0123456789", ip="198.51.100.9")
    columns = (
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.subject,
        AuditEvent.action,
        AuditEvent.outcome,
    )
    trail = session.execute(select(*columns).order_by(AuditEvent.id)).all()
    assert old and {ip for _, ip in old} == {"203.0.113.7"}

    first, second = purge(runtime), purge(runtime)

    assert first.exit_code == 0, first.output
    assert f"audit client ips: {len(old)}" in first.output
    assert "audit client ips: 0" in second.output
    assert session.execute(select(*columns).order_by(AuditEvent.id)).all() == trail
    ips = dict(session.execute(select(AuditEvent.id, AuditEvent.client_ip)).all())
    assert {ips[row_id] for row_id, _ in old} == {None}
    assert {ip for row_id, ip in ips.items() if row_id not in dict(old)} == {"198.51.100.9"}
