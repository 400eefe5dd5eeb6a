"""The account's recovery state as a Hypothesis state machine, driven through the HTTP APIs.

Rules: SMS reset, email OTP request, wrong OTP, right OTP (with or without a new password),
login with an old, the temporary, the current or a wrong password, set password with the
restricted session, the clock moving on. Invariants: at most one usable temporary password
and one usable recovery code; an expired or used secret never works; the password changes
only through set-password (or the OTP step that sets one); no code is tried more than 5 times.
Wrong codes count per code, and only against a live one (issue 22: an account-wide count let
a stranger shut the owner's recovery); a fresh code starts its own count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from gateway.accounts.passwords import Argon2Hasher
from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.delivery.mail import FakeMailer
from gateway.models import Account, Otp
from gateway.settings import load_settings
from tests.conftest import CARRIER_SECRETS, base_environ, make_app
from tests.email_harness import APP_CREDENTIAL, OTP, add_account_with_email
from tests.harness import Phones

# Fast, but real argon2: the rules here are about state, not hashing cost.
FAST = Argon2Hasher(time_cost=1, memory_cost=8)
EMAIL = "nguyen.van.a@example.vn"
BHXH = "0123456789"
OTP_TTL = dt.timedelta(minutes=10)
TEMP_TTL = dt.timedelta(minutes=15)
SESSION_TTL = dt.timedelta(minutes=15)


@dataclasses.dataclass
class Secret:
    value: str
    expires_at: dt.datetime
    used: bool = False
    consumed_at: dt.datetime | None = None
    tries: int = 0  # wrong codes counted against it (OTPs only)


class RecoveryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = FakeClock()
        app = make_app(load_settings(self._environ(Path(self.tmp.name))), self.clock)
        runtime = app.extensions["gateway"]
        app.extensions["gateway"] = self.runtime = dataclasses.replace(runtime, hasher=FAST)
        self.client = app.test_client()
        self.mailer = FakeMailer()
        carriers = {name: FakeTransport() for name in CARRIER_SECRETS}
        self.worker = self.runtime.worker(carriers, self.mailer)
        self.phones = Phones(self.client, self.worker, carriers, self.clock)
        with self.runtime.session_factory() as session:
            account = add_account_with_email(session, BHXH, "0912345678", EMAIL, password=None)
            account.password_hash = FAST.hash("first chosen one")
            session.commit()
        self.password = "first chosen one"
        self.old_passwords: list[str] = []
        self.temp: Secret | None = None
        self.spent_temps: list[str] = []
        self.otp: Secret | None = None
        self.session: tuple[str, dt.datetime, int] | None = None  # token, issued, version
        self.version = 0
        self.changes_allowed = False
        self.known_hash = self._stored_hash()
        self.counter = 0

    @staticmethod
    def _environ(tmp: Path) -> dict[str, str]:
        return {**base_environ(tmp), "GATEWAY_APP_CREDENTIAL": APP_CREDENTIAL}

    def teardown(self) -> None:
        self.runtime.engine.dispose()
        self.tmp.cleanup()

    # --- helpers ----------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def _stored_hash(self) -> str | None:
        with self.runtime.session_factory() as session:
            return session.scalar(select(Account.password_hash))

    def _login(self, password: str) -> Any:
        return self.client.post("/api/v1/auth/login", json={"bhxh": BHXH, "password": password})

    def _new_password(self) -> str:
        self.counter += 1
        return f"chosen passphrase number {self.counter}"

    def _password_set(self, new: str) -> None:
        self.old_passwords.append(self.password)
        self.password = new
        self.version += 1
        self.temp = None  # setting a password retires the temporary one
        self.session = None
        self.changes_allowed = True

    def _otp_usable(self) -> bool:
        return (
            self.otp is not None
            and not self.otp.used
            and self.otp.expires_at > self._now()
            and self.otp.tries < 5
        )

    # --- rules ------------------------------------------------------------------------------

    @rule()
    def sms_reset(self) -> None:
        replies = self.phones.text("0912345678", f"BH MK {BHXH}")
        match = re.search(r"Mat khau: (\w+)\.", " ".join(replies))
        if match:
            if self.temp is not None and not self.temp.used:
                self.spent_temps.append(self.temp.value)  # voided by the new one
            self.temp = Secret(match[1], self._now() + TEMP_TTL)

    @rule()
    def email_otp_request(self) -> None:
        before = [e for e in self.mailer.sent if OTP.search(e.text)]
        response = self.client.post(
            "/api/v1/recovery/email",
            json={"bhxh": BHXH, "email": EMAIL},
            headers={"X-App-Credential": APP_CREDENTIAL},
        )
        assert response.status_code == 202
        self.worker.drain()
        after = [e for e in self.mailer.sent if OTP.search(e.text)]
        if len(after) > len(before):
            code = OTP.search(after[-1].text)[1]  # type: ignore[index]
            self.otp = Secret(code, self._now() + OTP_TTL)

    @precondition(lambda self: self.otp is not None)
    @rule()
    def wrong_otp(self) -> None:
        assert self.otp is not None
        wrong = f"{(int(self.otp.value) + 1) % 10**6:06d}"
        response = self.client.post(
            "/api/v1/recovery/email/verify", json={"bhxh": BHXH, "otp": wrong}
        )
        assert response.status_code == 400
        if self._otp_usable():  # counted against the live code only; with none, nothing
            self.otp.tries += 1

    @precondition(lambda self: self.otp is not None)
    @rule(with_password=st.booleans())
    def right_otp(self, with_password: bool) -> None:
        assert self.otp is not None
        usable = self._otp_usable()
        body = {"bhxh": BHXH, "otp": self.otp.value}
        new = self._new_password()
        if with_password:
            body["new_password"] = new
        response = self.client.post("/api/v1/recovery/email/verify", json=body)
        if not usable:
            # No code is live (this one is the latest): nothing to count.
            assert response.status_code == 400, "an expired, used or dead code never works"
            return
        assert response.status_code == 200
        self.otp.used, self.otp.consumed_at = True, self._now()
        if with_password:
            self._password_set(new)
        else:
            answer = response.get_json()
            assert answer["must_change_password"] is True
            self.session = (answer["token"], self._now(), self.version)

    @precondition(lambda self: self.temp is not None)
    @rule()
    def login_with_the_temporary_password(self) -> None:
        assert self.temp is not None
        live = not self.temp.used and self.temp.expires_at > self._now()
        response = self._login(self.temp.value)
        if live:
            # Never refused for anyone's wrong guesses.
            assert response.status_code == 200
            assert response.get_json()["must_change_password"] is True
            self.temp.used = True
            self.session = (response.get_json()["token"], self._now(), self.version)
        else:
            assert response.status_code in (401, 429), "a used or expired temp never works"

    @rule(which=st.sampled_from(["current", "old", "spent", "wrong"]))
    def login(self, which: str) -> None:
        if which == "spent":
            for spent in self.spent_temps[-2:]:
                assert self._login(spent).status_code in (401, 429)
            return
        password = {
            "current": self.password,
            "old": self.old_passwords[-1] if self.old_passwords else "never set at all 1",
            "wrong": "a plain wrong guess",
        }[which]
        response = self._login(password)
        if which == "current":
            assert response.status_code in (200, 429)
        else:
            assert response.status_code in (401, 429)

    @precondition(lambda self: self.session is not None)
    @rule()
    def set_password(self) -> None:
        assert self.session is not None
        token, issued, version = self.session
        valid = version == self.version and self._now() < issued + SESSION_TTL
        new = self._new_password()
        response = self.client.post(
            "/api/v1/auth/password",
            json={"new_password": new},
            headers={"Authorization": f"Bearer {token}"},
        )
        if valid:
            assert response.status_code == 200
            self._password_set(new)
        else:
            assert response.status_code == 401
            self.session = None

    @rule(minutes=st.sampled_from([1, 5, 11, 16, 61]))
    def clock_moves(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def at_most_one_usable_secret_of_each_kind(self) -> None:
        now = self._now()
        with self.runtime.session_factory() as session:
            live_codes = session.scalar(
                select(func.count(Otp.id)).where(
                    Otp.purpose == "recovery", Otp.consumed_at.is_(None), Otp.expires_at > now
                )
            )
            account = session.scalars(select(Account)).one()
        assert (live_codes or 0) <= 1
        if account.temp_password_hash is not None and not account.temp_password_logged_in:
            assert self.temp is not None and account.temp_password_expires_at is not None

    @invariant()
    def the_password_changes_only_through_set_password(self) -> None:
        stored = self._stored_hash()
        if stored != self.known_hash:
            assert self.changes_allowed, "the password hash changed outside set-password"
            self.known_hash = stored
        self.changes_allowed = False

    @invariant()
    def no_code_is_tried_more_than_five_times(self) -> None:
        with self.runtime.session_factory() as session:
            tries = session.scalar(select(func.max(Otp.attempts))) or 0
        assert tries <= 5


RecoveryMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
class TestRecoveryStateMachine(RecoveryMachine.TestCase):  # type: ignore[name-defined,misc]
    """Run the machine under pytest."""
