"""A reset texted from a SIM that changed lately is refused, through the webhook and the worker.

The carrier's SIM swap API is the fake CAMARA server on loopback (tests/camara_server.py), asked
by the real client the runtime builds from CARRIER_VIETTEL_SIM_SWAP_*. What is checked is what
was stored: the message's outcome, its charge (refundable), the password left untouched, the
audit row; and the reply the phone got.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from billing.refunds import RefundPolicy
from gateway.delivery.replies import Reply
from gateway.models import Account, AuditEvent, InboundMessage, PasswordIssue
from gateway.runtime import Runtime
from tests.camara_server import CLIENT_ID, CLIENT_SECRET, FakeCamara, serving
from tests.harness import Phones, add_account

THIEF_SIM = "0912345678"  # the owner's number, moved to a new SIM yesterday
OWNER_PHONE = "0987654321"  # another account's phone, SIM unchanged
TEXT = "BH MK 0123456789"


@pytest.fixture
def camara() -> Iterator[FakeCamara]:
    with serving() as server:
        server.behaviour.swapped = {"+84912345678"}
        yield server


@pytest.fixture
def on_error() -> str:
    """GATEWAY_SIM_SWAP_ON_ERROR; a test parametrises it to "closed"."""
    return "open"


@pytest.fixture
def environ(environ: dict[str, str], camara: FakeCamara, on_error: str) -> dict[str, str]:
    """Viettel has a SIM swap check; the other carriers do not."""
    environ |= {
        "GATEWAY_SIM_SWAP_ON_ERROR": on_error,
        "CARRIER_VIETTEL_SIM_SWAP_URL": camara.url,
        "CARRIER_VIETTEL_SIM_SWAP_TOKEN_URL": camara.token_url,
        "CARRIER_VIETTEL_SIM_SWAP_CLIENT_ID": CLIENT_ID,
        "CARRIER_VIETTEL_SIM_SWAP_CLIENT_SECRET": CLIENT_SECRET,
        "GATEWAY_SIM_SWAP_TIMEOUT": "1",
    }
    return environ


@pytest.fixture
def accounts(session: Session) -> tuple[Account, Account]:
    victim = add_account(session, "0123456789", THIEF_SIM)
    other = add_account(session, "0987654321", OWNER_PHONE)
    session.commit()
    return victim, other


def outcome_of(session: Session, phone: str) -> tuple[Outcome, LedgerEntry]:
    session.expire_all()
    message = session.scalars(
        select(InboundMessage).where(InboundMessage.sender == "84" + phone[1:])
    ).one()
    entry = session.scalars(select(LedgerEntry).where(LedgerEntry.message_id == message.id)).one()
    return Outcome(message.outcome), entry


def checks_audited(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "sim_swap_check")))


def issued(session: Session) -> int:
    return len(session.scalars(select(PasswordIssue)).all())


def test_a_swapped_sim_gets_no_password_and_a_refundable_charge(
    phones: Phones,
    session: Session,
    runtime: Runtime,
    camara: FakeCamara,
    accounts: tuple[Account, Account],
) -> None:
    victim, _ = accounts
    hash_before = victim.password_hash

    [reply] = phones.text(THIEF_SIM, TEXT)

    assert reply == runtime.catalog.render(Reply.SIM_SWAPPED)
    assert "khoa truy cap" in reply and len(reply) <= 160
    outcome, charge = outcome_of(session, THIEF_SIM)
    assert outcome is Outcome.SIM_SWAPPED
    assert charge.amount_vnd == 1000 and RefundPolicy().refundable(outcome, reply_failed=False)
    assert issued(session) == 0
    session.refresh(victim)
    assert victim.password_hash == hash_before and victim.temp_password_hash is None
    [event] = checks_audited(session)
    assert (event.outcome, event.account_id) == ("swapped", victim.id)
    assert "912345678" not in (event.subject + (event.detail or ""))  # masked
    assert [check["phoneNumber"] for check in camara.checks] == ["+84912345678"]


@pytest.mark.usefixtures("accounts")
def test_an_unchanged_sim_gets_its_password_as_before(
    phones: Phones, session: Session, camara: FakeCamara
) -> None:
    [reply] = phones.text(OWNER_PHONE, "BH MK 0987654321")

    assert "Mat khau" in reply or "mat khau" in reply
    assert outcome_of(session, OWNER_PHONE)[0] is Outcome.RESET_SENT
    assert issued(session) == 1
    assert checks_audited(session) == []


@pytest.mark.usefixtures("accounts")
def test_only_senders_whose_reset_would_go_are_asked(
    phones: Phones, session: Session, camara: FakeCamara
) -> None:
    """A wrong syntax, a number that is not the sender's, another carrier: no API call."""
    phones.text(THIEF_SIM, "BH MK")
    phones.text(OWNER_PHONE, TEXT)  # the victim's number from another phone: not matched
    phones.text("0977000111", TEXT, carrier="mobifone")

    assert camara.checks == []


@pytest.mark.usefixtures("accounts")
def test_a_failing_check_lets_the_reset_through_by_default(
    phones: Phones, session: Session, camara: FakeCamara
) -> None:
    camara.behaviour.check_status = 503

    phones.text(THIEF_SIM, TEXT)

    assert outcome_of(session, THIEF_SIM)[0] is Outcome.RESET_SENT
    [event] = checks_audited(session)
    assert event.outcome == "failed_open"


@pytest.mark.parametrize("on_error", ["closed"])
@pytest.mark.usefixtures("accounts")
def test_closed_a_failing_check_refuses_the_reset_as_a_system_error(
    phones: Phones, session: Session, runtime: Runtime, camara: FakeCamara
) -> None:
    camara.behaviour.check_status = 503

    [reply] = phones.text(THIEF_SIM, TEXT)

    outcome, charge = outcome_of(session, THIEF_SIM)
    assert outcome is Outcome.SYSTEM_ERROR and charge.amount_vnd == 1000
    assert RefundPolicy().refundable(outcome, reply_failed=False)
    assert reply == runtime.catalog.render(Reply.SYSTEM_ERROR)  # "try again later", no password
    assert issued(session) == 0
    [event] = checks_audited(session)
    assert event.outcome == "failed_closed"
