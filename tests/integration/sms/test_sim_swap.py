"""The SIM swap check against a fake carrier API on loopback (CAMARA SIM Swap ``/check``).

Tokens are fetched once and reused, refreshed before they expire and after a 401; a swapped SIM
refuses the reset; every failure is UNKNOWN, let through under "open" and refused under
"closed", and counted.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.outcomes import Outcome
from billing.refunds import RefundPolicy
from gateway.delivery.replies import Reply
from gateway.models import AuditEvent
from gateway.ops import metrics
from gateway.settings import Settings, load_settings
from gateway.sms.sim_swap import (
    AUDIT_ACTION,
    FakeSimSwapClient,
    Result,
    SimSwapChecks,
    Verdict,
    record_check,
    refusal,
    swapped_phones,
)
from tests.camara_server import CLIENT_ID, CLIENT_SECRET, FakeCamara, serving
from tests.conftest import base_environ

VICTIM = "84912345678"  # its SIM changed yesterday
OWNER = "84987654321"


class Clock:
    """The token clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def camara() -> Iterator[FakeCamara]:
    with serving() as server:
        server.behaviour.swapped = {"+" + VICTIM}
        yield server


def sim_swap_settings(tmp_path: Path, camara: FakeCamara, **extra: str) -> Settings:
    environ = base_environ(tmp_path) | {
        "CARRIER_VIETTEL_SIM_SWAP_URL": camara.url,
        "CARRIER_VIETTEL_SIM_SWAP_TOKEN_URL": camara.token_url,
        "CARRIER_VIETTEL_SIM_SWAP_CLIENT_ID": CLIENT_ID,
        "CARRIER_VIETTEL_SIM_SWAP_CLIENT_SECRET": CLIENT_SECRET,
        "GATEWAY_SIM_SWAP_TIMEOUT": "0.5",
        **extra,
    }
    return load_settings(environ)


@pytest.fixture
def token_clock() -> Clock:
    return Clock()


@pytest.fixture
def checks(tmp_path: Path, camara: FakeCamara, token_clock: Clock) -> Iterator[SimSwapChecks]:
    built = SimSwapChecks.from_settings(sim_swap_settings(tmp_path, camara), clock=token_clock)
    yield built
    built.close()


def closed_checks(tmp_path: Path, camara: FakeCamara) -> SimSwapChecks:
    settings = sim_swap_settings(tmp_path, camara, GATEWAY_SIM_SWAP_ON_ERROR="closed")
    return SimSwapChecks.from_settings(settings)


def check_one(checks: SimSwapChecks, phone: str = OWNER) -> Verdict:
    return checks.verdicts([("viettel", phone)])[("viettel", phone)]


def counted(carrier: str, result: str) -> float:
    registry = metrics._metrics().registry
    sample = registry.get_sample_value(
        "gateway_sim_swap_checks_total", {"carrier": carrier, "result": result}
    )
    return sample or 0.0


# --- answers -----------------------------------------------------------------------------


def test_a_swapped_sim_refuses_the_reset_and_a_kept_one_does_not(
    checks: SimSwapChecks, camara: FakeCamara
) -> None:
    found = checks.verdicts([("viettel", VICTIM), ("viettel", OWNER)])

    assert found[("viettel", VICTIM)] == Verdict(Result.SWAPPED, refuse=True)
    assert found[("viettel", OWNER)] == Verdict(Result.NOT_SWAPPED, refuse=False)


def test_the_phone_goes_in_e164_with_the_configured_max_age(
    tmp_path: Path, camara: FakeCamara
) -> None:
    checks = SimSwapChecks.from_settings(
        sim_swap_settings(tmp_path, camara, GATEWAY_SIM_SWAP_MAX_AGE="72")
    )
    try:
        check_one(checks, "84912345678")
    finally:
        checks.close()

    assert camara.checks == [{"phoneNumber": "+84912345678", "maxAge": 72}]
    headers = camara.check_headers[0]
    assert headers["Authorization"] == f"Bearer {camara.issued[0]}"
    assert headers["x-correlator"]  # so the carrier can trace a failed check


def test_swapped_phones_names_the_phones_to_refuse(checks: SimSwapChecks) -> None:
    assert swapped_phones(checks, "viettel", [VICTIM, OWNER, VICTIM]) == {VICTIM}


def test_a_carrier_without_a_check_is_not_asked(checks: SimSwapChecks, camara: FakeCamara) -> None:
    assert not checks.enabled("mobifone")
    assert checks.verdicts([("mobifone", VICTIM)]) == {}
    assert swapped_phones(checks, "mobifone", [VICTIM]) == frozenset()
    assert camara.checks == []


def test_one_batch_asks_each_phone_once_and_at_once(
    checks: SimSwapChecks, camara: FakeCamara
) -> None:
    camara.behaviour.delay = 0.1
    phones = [f"8491234{i:04d}" for i in range(24)]
    started = time.monotonic()

    found = checks.verdicts([("viettel", p) for p in phones + phones])

    assert len(found) == len(camara.checks) == 24
    assert all(v.result is Result.NOT_SWAPPED for v in found.values())
    assert time.monotonic() - started < 24 * 0.1 / 2  # 8 in flight at once by default


# --- the token ---------------------------------------------------------------------------


def test_the_token_is_fetched_once_with_client_credentials_and_reused(
    checks: SimSwapChecks, camara: FakeCamara
) -> None:
    checks.verdicts([("viettel", f"8491234{i:04d}") for i in range(10)])
    check_one(checks)

    assert camara.token_forms == [{"grant_type": "client_credentials", "scope": "sim-swap:check"}]
    assert len(camara.issued) == 1
    assert {h["Authorization"] for h in camara.check_headers} == {f"Bearer {camara.issued[0]}"}


def test_the_token_is_refreshed_before_it_expires(
    checks: SimSwapChecks, camara: FakeCamara, token_clock: Clock
) -> None:
    check_one(checks)
    token_clock.now += 3600 - 31  # still more than the margin left
    check_one(checks)
    assert len(camara.issued) == 1

    token_clock.now += 2
    check_one(checks)

    assert len(camara.issued) == 2
    assert camara.check_headers[-1]["Authorization"] == f"Bearer {camara.issued[1]}"


def test_a_revoked_token_gets_one_refresh_and_the_check_goes_through(
    checks: SimSwapChecks, camara: FakeCamara
) -> None:
    assert check_one(checks, VICTIM).result is Result.SWAPPED
    camara.revoke_tokens()

    assert check_one(checks, VICTIM) == Verdict(Result.SWAPPED, refuse=True)
    assert len(camara.issued) == 2
    assert len(camara.checks) == 3  # the refused one, then the retry


def test_a_token_without_expires_in_is_kept_a_while(
    checks: SimSwapChecks, camara: FakeCamara, token_clock: Clock
) -> None:
    camara.behaviour.expires_in = None
    check_one(checks)
    token_clock.now += 200
    check_one(checks)
    assert len(camara.issued) == 1

    token_clock.now += 100
    check_one(checks)
    assert len(camara.issued) == 2


def test_the_client_secret_is_sent_form_encoded_in_basic_auth(
    tmp_path: Path, checks: SimSwapChecks, camara: FakeCamara
) -> None:
    # The fake refuses anything but RFC 6749's encoding of "s3cret+with/odd=chars".
    assert check_one(checks).result is Result.NOT_SWAPPED
    settings = sim_swap_settings(tmp_path, camara)
    assert CLIENT_SECRET not in repr(settings.carriers["viettel"])


# --- failures, open and closed -----------------------------------------------------------


def fail(camara: FakeCamara, how: str) -> None:
    behaviour = camara.behaviour
    if how == "500":
        behaviour.check_status = 500
    elif how == "429":
        behaviour.check_status = 429
    elif how == "422 not applicable":
        behaviour.check_status = 422
    elif how == "timeout":
        behaviour.delay = 5
    elif how == "bad json":
        behaviour.check_body = b"{swapped: yes"
    elif how == "no swapped":
        behaviour.check_body = b'{"swapped": "true"}'
    elif how == "token refused":
        behaviour.token_status = 503
    elif how == "401 after refresh":
        behaviour.check_status = 401
    else:
        raise AssertionError(how)


FAILURES = [
    "500",
    "429",
    "422 not applicable",
    "timeout",
    "bad json",
    "no swapped",
    "token refused",
    "401 after refresh",
]


@pytest.mark.parametrize("how", FAILURES)
def test_a_failed_check_lets_the_reset_through_by_default_and_is_counted(
    checks: SimSwapChecks, camara: FakeCamara, how: str
) -> None:
    fail(camara, how)
    before = counted("viettel", "failed_open")

    verdict = check_one(checks, VICTIM)

    assert verdict.result is Result.UNKNOWN
    assert verdict.refuse is False
    assert verdict.error
    assert refusal(verdict) is None
    assert counted("viettel", "failed_open") == before + 1


@pytest.mark.parametrize("how", FAILURES)
def test_a_failed_check_refuses_the_reset_when_closed(
    tmp_path: Path, camara: FakeCamara, how: str
) -> None:
    fail(camara, how)
    checks = closed_checks(tmp_path, camara)
    before = counted("viettel", "failed_closed")
    try:
        verdict = check_one(checks)
        phones = swapped_phones(checks, "viettel", [OWNER])
    finally:
        checks.close()

    assert verdict == Verdict(Result.UNKNOWN, refuse=True, error=verdict.error)
    assert phones == {OWNER}
    assert counted("viettel", "failed_closed") == before + 2


def test_a_slow_carrier_holds_the_batch_no_longer_than_the_timeout(
    checks: SimSwapChecks, camara: FakeCamara
) -> None:
    camara.behaviour.delay = 5
    started = time.monotonic()

    found = checks.verdicts([("viettel", f"8491234{i:04d}") for i in range(30)])

    assert time.monotonic() - started < 1.5  # GATEWAY_SIM_SWAP_TIMEOUT=0.5
    assert {v.result for v in found.values()} == {Result.UNKNOWN}
    assert {v.refuse for v in found.values()} == {False}


def test_an_unreachable_carrier_is_a_failed_check(tmp_path: Path, camara: FakeCamara) -> None:
    settings = sim_swap_settings(
        tmp_path,
        camara,
        CARRIER_VIETTEL_SIM_SWAP_URL="http://127.0.0.1:9/sim-swap/v2",
        CARRIER_VIETTEL_SIM_SWAP_TOKEN_URL="http://127.0.0.1:9/token",
    )
    checks = SimSwapChecks.from_settings(settings)
    try:
        verdict = check_one(checks)
    finally:
        checks.close()

    assert verdict.result is Result.UNKNOWN
    assert verdict.error == "token endpoint failed: ConnectionError"


def test_results_are_counted_by_carrier_and_result(checks: SimSwapChecks) -> None:
    swapped, kept = counted("viettel", "swapped"), counted("viettel", "not_swapped")

    checks.verdicts([("viettel", VICTIM), ("viettel", OWNER)])

    assert counted("viettel", "swapped") == swapped + 1
    assert counted("viettel", "not_swapped") == kept + 1


def test_the_phone_and_token_never_reach_the_log(
    checks: SimSwapChecks, camara: FakeCamara, caplog: pytest.LogCaptureFixture
) -> None:
    check_one(checks)
    camara.behaviour.check_status = 500

    check_one(checks, VICTIM)

    assert "8491****678" in caplog.text
    assert VICTIM not in caplog.text
    assert camara.issued[0] not in caplog.text
    assert "500 INTERNAL" in caplog.text


# --- what the decision does with a verdict -----------------------------------------------


def test_a_swapped_sim_ends_as_sim_swapped_with_its_reply_and_is_refundable() -> None:
    ending = refusal(Verdict(Result.SWAPPED, refuse=True))

    assert ending is not None
    assert (ending.outcome, ending.reply) == (Outcome.SIM_SWAPPED, Reply.SIM_SWAPPED)
    assert RefundPolicy().refundable(Outcome.SIM_SWAPPED, reply_failed=False)
    assert RefundPolicy().reason(Outcome.SIM_SWAPPED, reply_failed=True) == "sim_swapped"


def test_a_check_that_failed_closed_ends_as_a_system_error() -> None:
    ending = refusal(Verdict(Result.UNKNOWN, refuse=True, error="timed out"))

    assert ending is not None
    assert (ending.outcome, ending.reply) == (Outcome.SYSTEM_ERROR, Reply.SYSTEM_ERROR)
    assert refusal(Verdict(Result.NOT_SWAPPED, refuse=False)) is None
    assert refusal(None) is None


def test_swaps_and_failed_checks_are_audited_masked(session: Session) -> None:
    now = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
    for phone, verdict in [
        (VICTIM, Verdict(Result.SWAPPED, refuse=True)),
        (OWNER, Verdict(Result.UNKNOWN, refuse=False, error="check answered 500 INTERNAL")),
        ("84911111111", Verdict(Result.NOT_SWAPPED, refuse=False)),
    ]:
        record_check(session, verdict, carrier="viettel", phone=phone, now=now, max_age_hours=240)
    session.commit()

    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(r.action, r.channel, r.outcome, r.subject, r.detail) for r in rows] == [
        (AUDIT_ACTION, "sms", "swapped", "8491****678", "via viettel, maxAge 240h"),
        (
            AUDIT_ACTION,
            "sms",
            "failed_open",
            "8498****321",
            "via viettel, maxAge 240h: check answered 500 INTERNAL",
        ),
    ]


def test_the_in_memory_client_stands_in_for_a_carrier() -> None:
    fake = FakeSimSwapClient({VICTIM})
    down = FakeSimSwapClient(failure="check answered 503 UNAVAILABLE")
    checks = SimSwapChecks(
        {"viettel": fake, "mobifone": down}, fail_closed=True, timeout=1, workers=2
    )
    try:
        found = checks.verdicts([("viettel", VICTIM), ("viettel", OWNER), ("mobifone", OWNER)])
    finally:
        checks.close()

    assert found == {
        ("viettel", VICTIM): Verdict(Result.SWAPPED, refuse=True),
        ("viettel", OWNER): Verdict(Result.NOT_SWAPPED, refuse=False),
        ("mobifone", OWNER): Verdict(
            Result.UNKNOWN, refuse=True, error="check answered 503 UNAVAILABLE"
        ),
    }
    assert sorted(fake.asked) == sorted([VICTIM, OWNER])
