"""The SMS rules as a pure function: messages and facts in, decisions out, nothing touched."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from billing.outcomes import Outcome
from gateway.accounts.services import AccountView
from gateway.delivery.replies import ReplyCatalog, catalog_for
from gateway.models import AccountState
from gateway.settings import Settings, load_settings
from gateway.sms.rules import Counts, Decision, Facts, Prepared, decide
from parsers import FailureReason, ServiceFailure, ServiceRequest, parse_recovery
from tests.conftest import base_environ

OWNER, STRANGER = "84912345678", "84987654321"
ACCOUNT = AccountView(7, "0123456789", None, OWNER, None, AccountState.ACTIVE)
AT = dt.datetime(2026, 11, 2, 3, tzinfo=dt.UTC)


@dataclass
class Received:
    id: int
    sender: str
    carrier: str = "viettel"
    carrier_message_id: str = "mo"
    recipient: str = "8079"
    route: str | None = None
    carrier_received_at: dt.datetime | None = None
    created_at: dt.datetime = AT


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(base_environ(tmp_path))


@pytest.fixture
def catalog(settings: Settings) -> ReplyCatalog:
    return catalog_for(
        hotline=settings.hotline,
        shortcode=settings.shortcode,
        accept_bhxh=True,
        accept_personal_id=True,
    )


def prepared(sender: str, text: str, n: int = 1) -> Prepared:
    reply = (f"reply {n}", f"safe reply {n}")
    return Prepared(Received(n, sender), parse_recovery(text), reply)


def outcomes(decisions: list[Decision]) -> list[Outcome]:
    return [decision.outcome for decision in decisions]


def test_each_outcome_from_data_alone(settings: Settings, catalog: ReplyCatalog) -> None:
    batch = [
        prepared(OWNER, "BH MK 0123456789", 1),
        prepared(OWNER, "hello", 2),
        prepared(STRANGER, "BH MK 0123456789", 3),
        prepared(STRANGER, "BH MK 0999999999", 4),
    ]
    facts = Facts(reset_enabled=True, accounts={"0123456789": ACCOUNT}, counts=Counts())

    decisions = decide(batch, facts, settings=settings, catalog=catalog)

    assert outcomes(decisions) == [
        Outcome.RESET_SENT,
        Outcome.WRONG_SYNTAX,
        Outcome.NOT_MATCHED,
        Outcome.NOT_MATCHED,
    ]
    assert decisions[0].reply == ("reply 1", "safe reply 1")
    assert decisions[0].account == ACCOUNT
    assert decisions[2].reply == decisions[3].reply  # nobody learns whether a number exists


def test_earlier_messages_count_against_later_ones_and_the_facts_stay_as_read(
    settings: Settings, catalog: ReplyCatalog
) -> None:
    counts = Counts(per_account={ACCOUNT.id: settings.resets_per_account - 1})
    facts = Facts(reset_enabled=True, accounts={"0123456789": ACCOUNT}, counts=counts)
    batch = [prepared(OWNER, "BH MK 0123456789", n) for n in range(3)]

    first = decide(batch, facts, settings=settings, catalog=catalog)
    again = decide(batch, facts, settings=settings, catalog=catalog)

    assert outcomes(first) == [Outcome.RESET_SENT, Outcome.RATE_LIMITED, Outcome.RATE_LIMITED]
    assert first[1].reply is not None and first[2].reply is None  # one notice, then silence
    assert again == first
    assert counts == Counts(per_account={ACCOUNT.id: settings.resets_per_account - 1})


def test_the_switch_off_refuses_after_the_phone_limit(
    settings: Settings, catalog: ReplyCatalog
) -> None:
    used = Counts(per_phone={STRANGER: settings.messages_per_phone})
    facts = Facts(reset_enabled=False, accounts={"0123456789": ACCOUNT}, counts=used)
    batch = [prepared(OWNER, "BH MK 0123456789", 1), prepared(STRANGER, "hello", 2)]

    decisions = decide(batch, facts, settings=settings, catalog=catalog)

    assert outcomes(decisions) == [Outcome.SERVICE_DISABLED, Outcome.RATE_LIMITED]


def test_keyword_services_are_forwarded_unless_off_and_count_against_the_phone(
    settings: Settings, catalog: ReplyCatalog
) -> None:
    qt, bad = ServiceRequest("qt", "0123456789"), ServiceFailure("qt", FailureReason.WRONG_LENGTH)
    batch = [
        Prepared(Received(1, OWNER), qt, service="qt"),
        Prepared(Received(2, OWNER), bad, ("syntax", "syntax"), service="qt"),
        Prepared(Received(3, OWNER), ServiceRequest("the", "0123456789"), service="the"),
        Prepared(Received(4, STRANGER), qt, service="qt"),
    ]
    used = Counts(per_phone={STRANGER: settings.messages_per_phone})
    # The SMS reset's switch is BH MK's alone; "the" has its own, off.
    facts = Facts(reset_enabled=False, accounts={}, counts=used, services_off=frozenset({"the"}))

    decisions = decide(batch, facts, settings=settings, catalog=catalog)

    assert outcomes(decisions) == [
        Outcome.FORWARDED,
        Outcome.WRONG_SYNTAX,
        Outcome.INTERRUPTED,
        Outcome.RATE_LIMITED,
    ]
    assert decisions[0].reply is None  # the service's answer is the reply
    assert decisions[1].reply == ("syntax", "syntax")
    assert decisions[2].reply is not None and "gian doan" in decisions[2].reply[0]
