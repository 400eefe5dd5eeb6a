"""Smart OTP through the VssID app's JSON API, tried as the owner and as an attacker would.

The citizen's phone is played by pyotp with the seed the gateway showed; the clock is the
suite's FakeClock, moved one 30-second step at a time when a fresh code is needed. Each test
checks what was stored too: the smart_otp row, audit rows, queued notices, login throttles.
Concurrency (one code raced by many requests) is in test_smart_otp_concurrency.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator

import pyotp
import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.cli import cli
from gateway.clock import FakeClock
from gateway.delivery.mail import FakeMailer
from gateway.models import Account, AuditEvent, LoginFailure, OutboxMessage, Passkey, SmartOtp
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.states import Channel
from gateway.worker import Worker
from tests.email_harness import APP_CREDENTIAL, EmailUser
from tests.integration.accounts.api_harness import (
    BHXH,
    EMAIL,
    LOGIN,
    NEW_PASSWORD,
    ORIGIN,
    PASSWORD,
    PERSONAL_ID,
    Body,
    add_holder,
    answer,
    bearer,
    error,
    fast_app,
    log_in,
    refusal,
)
from tests.passkey_authenticator import SoftAuthenticator

OTHER_BHXH, OTHER_PHONE, OTHER_PASSWORD = "0987654321", "0987654321", "the others own 2"

ME = "/api/v1/auth/me"
ENROL = "/api/v1/smart-otp/enrol"
CONFIRM = "/api/v1/smart-otp/confirm"
VERIFY = "/api/v1/smart-otp/verify"
SMART_OTP = "/api/v1/smart-otp"
RECOVER = "/api/v1/recovery/smart-otp"
PASSKEYS = "/api/v1/passkeys"
WRONG = refusal(
    401, "invalid_credentials", "wrong_number_or_smart_otp_code", "wrong number or Smart OTP code"
)
STEP_UP = (403, "smart_otp_required")  # a change that needs a current code


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """Passkeys for http://localhost:8000, and the app's credential for email recovery."""
    environ["GATEWAY_PUBLIC_URL"] = ORIGIN
    environ["GATEWAY_APP_CREDENTIAL"] = APP_CREDENTIAL
    return environ


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Iterator[Flask]:
    """The app, hashing passwords with cheap argon2 parameters."""
    yield from fast_app(settings, clock)


@pytest.fixture
def owner(session: Session) -> Account:
    return add_holder(session)


@pytest.fixture
def other(session: Session) -> Account:
    """A real account that has no Smart OTP."""
    return add_holder(
        session, OTHER_BHXH, OTHER_PHONE, email=None, password=OTHER_PASSWORD, personal_id=None
    )


@pytest.fixture
def token(client: FlaskClient, owner: Account) -> str:
    """The owner's session token, from a password login just now."""
    return log_in(client)


@dataclasses.dataclass
class Phone:
    """The owner's code app, reading the suite's clock."""

    secret: str
    clock: FakeClock

    def code(self, steps: int = 0) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.now(), counter_offset=steps)

    def next_code(self) -> str:
        """Wait for the next 30-second step and read its code."""
        self.clock.advance(seconds=30)
        return self.code()


@pytest.fixture
def phone(client: FlaskClient, token: str, clock: FakeClock) -> Phone:
    """The owner's Smart OTP, enrolled and confirmed just now (this step's code is spent)."""
    return enable(client, token, clock)


@pytest.fixture
def smart_otp_cli(
    runtime: Runtime, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run ``gateway accounts smart-otp-reset ...`` against the test's database."""
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, ["accounts", "smart-otp-reset", *args], obj={})


# -- helpers ----------------------------------------------------------------------------------


def enable(client: FlaskClient, token: str, clock: FakeClock, code: str | None = None) -> Phone:
    """Enrol and confirm (``code`` is the step-up when replacing); return the new phone."""
    started = client.post(ENROL, headers=bearer(token, code))
    assert started.status_code == 200, started.get_json()
    phone = Phone(started.get_json()["secret"], clock)
    confirmed = client.post(CONFIRM, json={"code": phone.code()}, headers=bearer(token))
    assert confirmed.get_json() == {"status": "enabled"}
    return phone


def me(client: FlaskClient, token: str) -> Body:
    answer = client.get(ME, headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def recover(client: FlaskClient, code: str, bhxh: str = BHXH) -> TestResponse:
    return client.post(RECOVER, json={"bhxh": bhxh, "code": code})


def audits(session: Session, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(session.scalars(query))


def outbox(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def notices(session: Session, after: int = 0) -> list[tuple[Channel, str, str]]:
    """(channel, recipient, SMS text or email subject) of the rows queued after row ``after``."""
    return [
        (m.channel, m.recipient, m.subject if m.channel is Channel.EMAIL else m.text)
        for m in outbox(session)[after:]
    ]


def told_owner(session: Session, owner: Account, after: int) -> tuple[str, str]:
    """Check that one SMS to the phone and one email to the address were queued after row
    ``after``; return the SMS text and the email subject."""
    queued = notices(session, after)
    assert [(c, r) for c, r, _ in queued] == [(Channel.SMS, owner.phone), (Channel.EMAIL, EMAIL)]
    return queued[0][2], queued[1][2]


def failures(session: Session) -> dict[str, int]:
    return {f.identifier: f.consecutive for f in session.scalars(select(LoginFailure))}


def assert_no_secret_queued(session: Session, secrets: list[str]) -> None:
    """No seed (in any case or grouping) and no code stands in any outbox row."""
    for message in outbox(session):
        for part in (message.text, message.safe_text, message.html, message.safe_html):
            flat = "".join((part or "").split()).upper()
            for secret in secrets:
                if secret.isdigit():
                    assert not re.search(rf"(?<!\d){secret}(?!\d)", part or ""), part
                else:
                    assert secret.upper() not in flat, part


def smart_otp_on(client: FlaskClient, token: str) -> bool:
    return me(client, token)["smart_otp"]  # type: ignore[no-any-return]


def other_code(phone: Phone) -> str:
    """A well-formed code that is none of the three the window accepts."""
    window = {phone.code(s) for s in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


# -- enrolment ----------------------------------------------------------------------------------


def test_enrol_then_confirm_turns_it_on_and_tells_the_owner_everywhere(
    client: FlaskClient, session: Session, owner: Account, token: str, clock: FakeClock
) -> None:
    assert me(client, token) == {
        "bhxh": BHXH,
        "must_change_password": False,
        "passkeys": 0,
        "smart_otp": False,
    }

    started = client.post(ENROL, headers=bearer(token))

    assert started.status_code == 200, started.get_json()
    body = started.get_json()
    assert set(body) == {"secret", "otpauth_uri"}
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == body["secret"]
    assert body["otpauth_uri"].startswith("otpauth://totp/VssID%20BHXH:0123456789?")
    assert smart_otp_on(client, token) is False  # a seed shown is not yet a Smart OTP
    assert outbox(session) == []

    phone = Phone(body["secret"], clock)
    code = phone.code()
    confirmed = client.post(CONFIRM, json={"code": f"{code[:3]} {code[3:]}"}, headers=bearer(token))

    assert answer(confirmed) == (200, {"status": "enabled"})
    assert smart_otp_on(client, token) is True
    device = session.get(SmartOtp, owner.id)
    assert device is not None and device.secret == phone.secret
    assert device.pending_secret is None and device.enabled_at == clock.now()
    [sms, email] = notices(session)
    assert sms[:2] == (Channel.SMS, owner.phone)
    assert sms[2].startswith(f"Smart OTP cua tai khoan VssID {BHXH} vua duoc bat")
    assert email == (Channel.EMAIL, EMAIL, "Smart OTP của tài khoản VssID vừa được bật")
    assert [(e.outcome, e.actor, e.account_id) for e in audits(session, "smart_otp_enrol")] == [
        ("started", "user", owner.id),
        ("enabled", "user", owner.id),
    ]
    assert all(
        BHXH not in (e.subject + (e.detail or "")) for e in audits(session, "smart_otp_enrol")
    )
    assert_no_secret_queued(session, [phone.secret, code])


def test_a_wrong_code_does_not_confirm_and_nothing_pending_is_404(
    client: FlaskClient, session: Session, owner: Account, token: str, clock: FakeClock
) -> None:
    assert error(client.post(CONFIRM, json={"code": "123456"}, headers=bearer(token))) == (
        404,
        "not_found",
    )
    phone = Phone(client.post(ENROL, headers=bearer(token)).get_json()["secret"], clock)

    for wrong in (other_code(phone), phone.code(2), phone.code(-2), "12345", "abcdef"):
        refused = client.post(CONFIRM, json={"code": wrong}, headers=bearer(token))
        assert error(refused) == (400, "invalid_code"), wrong
    assert error(client.post(CONFIRM, json={}, headers=bearer(token)))[0] == 400
    assert error(client.post(CONFIRM, json={"code": phone.code()}))[0] == 401  # no token

    assert smart_otp_on(client, token) is False
    assert outbox(session) == []
    assert answer(client.post(CONFIRM, json={"code": phone.code()}, headers=bearer(token))) == (
        200,
        {"status": "enabled"},
    )
    assert error(client.post(CONFIRM, json={"code": phone.code()}, headers=bearer(token))) == (
        404,
        "not_found",
    )


def test_a_seed_waits_fifteen_minutes_for_its_first_code(
    client: FlaskClient, owner: Account, token: str, clock: FakeClock
) -> None:
    phone = Phone(client.post(ENROL, headers=bearer(token)).get_json()["secret"], clock)

    clock.advance(minutes=15, seconds=1)
    late = client.post(CONFIRM, json={"code": phone.code()}, headers=bearer(token))

    assert late.status_code in (400, 404), late.get_json()
    assert smart_otp_on(client, token) is False


def test_replacing_needs_a_current_code_and_the_old_seed_stops_working(
    client: FlaskClient, session: Session, owner: Account, token: str, phone: Phone
) -> None:
    before = len(outbox(session))
    code = phone.next_code()

    assert error(client.post(ENROL, headers=bearer(token))) == STEP_UP
    assert error(client.post(ENROL, headers=bearer(token, other_code(phone)))) == STEP_UP
    assert len(outbox(session)) == before
    new = enable(client, token, phone.clock, code=code)

    assert new.secret != phone.secret
    assert session.get(SmartOtp, owner.id).secret == new.secret  # type: ignore[union-attr]
    # The old app's codes are worth nothing now, at this step and the next.
    assert error(client.post(VERIFY, json={"code": phone.code()}, headers=bearer(token)))[0] == 401
    phone.next_code()
    assert answer(recover(client, phone.code())) == WRONG
    assert error(client.post(VERIFY, json={"code": phone.code()}, headers=bearer(token)))[0] == 401
    assert client.post(VERIFY, json={"code": new.code()}, headers=bearer(token)).status_code == 200
    assert [e.outcome for e in audits(session, "smart_otp_enrol")] == [
        "started",
        "enabled",
        "started",
        "replaced",
    ]
    sms, _ = told_owner(session, owner, before)
    assert "vua duoc bat" in sms
    assert_no_secret_queued(session, [phone.secret, new.secret, code])


# -- turning it off ---------------------------------------------------------------------------


def test_turning_it_off_needs_a_current_code_and_tells_the_owner(
    client: FlaskClient, session: Session, owner: Account, token: str, phone: Phone
) -> None:
    before = len(outbox(session))
    code = phone.next_code()

    assert error(client.delete(SMART_OTP, headers=bearer(token))) == STEP_UP
    wrong = client.delete(SMART_OTP, json={"code": other_code(phone)}, headers=bearer(token))
    assert error(wrong) == STEP_UP
    assert smart_otp_on(client, token) is True

    off = client.delete(SMART_OTP, json={"code": code}, headers=bearer(token))

    assert (off.status_code, off.get_data()) == (204, b"")
    assert smart_otp_on(client, token) is False
    assert session.get(SmartOtp, owner.id) is None
    sms, subject = told_owner(session, owner, before)
    assert f"Smart OTP cua tai khoan VssID {BHXH} vua bi tat" in sms
    assert subject == "Smart OTP của tài khoản VssID đã bị tắt"
    [disabled] = audits(session, "smart_otp_disable")
    assert (disabled.outcome, disabled.actor, disabled.account_id) == ("disabled", "user", owner.id)
    assert_no_secret_queued(session, [phone.secret, code])
    # Gone: nothing to turn off, and its codes recover nothing.
    assert error(client.delete(SMART_OTP, headers=bearer(token, phone.next_code()))) == (
        404,
        "not_found",
    )
    assert answer(recover(client, phone.code())) == WRONG


def test_the_code_may_come_in_the_header_too(client: FlaskClient, token: str, phone: Phone) -> None:
    off = client.delete(SMART_OTP, headers=bearer(token, phone.next_code()))

    assert off.status_code == 204
    assert smart_otp_on(client, token) is False


# -- one code, one use ------------------------------------------------------------------------


def test_each_code_is_accepted_once_whatever_it_is_used_for(
    client: FlaskClient, session: Session, owner: Account, token: str, phone: Phone
) -> None:
    confirmed_with = phone.code()

    # The code that confirmed the seed is spent: no step-up, proof or recovery with it.
    assert error(client.post(ENROL, headers=bearer(token, confirmed_with))) == STEP_UP
    assert error(client.post(VERIFY, json={"code": confirmed_with}, headers=bearer(token)))[0] == (
        401
    )
    assert answer(recover(client, confirmed_with)) == WRONG

    code = phone.next_code()
    assert recover(client, code).status_code == 200
    assert answer(recover(client, code)) == WRONG  # replayed
    assert error(client.post(VERIFY, json={"code": code}, headers=bearer(token)))[0] == 401
    # A step used makes the earlier ones, still inside the drift window, worthless too.
    ahead = phone.code(1)
    assert client.post(VERIFY, json={"code": ahead}, headers=bearer(token)).status_code == 200
    phone.clock.advance(seconds=30)
    assert answer(recover(client, phone.code(-1))) == WRONG
    assert answer(recover(client, phone.code())) == WRONG  # the step already used from ahead
    assert recover(client, phone.code(1)).status_code == 200


# -- recovery ---------------------------------------------------------------------------------


def test_a_code_recovers_into_a_session_that_sets_a_new_password(
    client: FlaskClient, session: Session, owner: Account, phone: Phone
) -> None:
    before = len(outbox(session))

    recovered = recover(client, phone.next_code())

    assert recovered.status_code == 200, recovered.get_json()
    body = recovered.get_json()
    assert (body["must_change_password"], body["expires_in"]) == (True, 900)
    restricted = body["token"]
    assert me(client, restricted)["must_change_password"] is True
    assert error(client.post(f"{PASSKEYS}/registration/options", headers=bearer(restricted))) == (
        403,
        "password_change_required",
    )
    assert error(client.post(ENROL, headers=bearer(restricted, phone.next_code()))) == (
        403,
        "password_change_required",
    )
    sms, _ = told_owner(session, owner, before)
    assert "vua duoc lay lai mat khau bang Smart OTP" in sms
    [event] = audits(session, "smart_otp_recovery")
    assert (event.outcome, event.account_id, event.subject) == ("smart_otp", owner.id, "01******89")

    changed = client.post(
        "/api/v1/auth/password", json={"new_password": NEW_PASSWORD}, headers=bearer(restricted)
    )

    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["must_change_password"] is False
    assert client.post(LOGIN, json={"bhxh": BHXH, "password": PASSWORD}).status_code == 401
    fresh = log_in(client, password=NEW_PASSWORD)
    assert me(client, fresh)["smart_otp"] is True  # a recovery keeps the Smart OTP
    assert error(client.get(ME, headers=bearer(restricted)))[0] == 401  # the password changed


def test_the_personal_id_recovers_too(client: FlaskClient, owner: Account, phone: Phone) -> None:
    recovered = recover(client, phone.next_code(), bhxh=PERSONAL_ID)

    assert recovered.status_code == 200, recovered.get_json()
    assert me(client, recovered.get_json()["token"])["bhxh"] == BHXH


def test_the_answer_does_not_say_whether_the_number_or_its_smart_otp_exists(
    client: FlaskClient, session: Session, owner: Account, other: Account, phone: Phone
) -> None:
    code = phone.next_code()
    elsewhere = Phone(pyotp.random_base32(), phone.clock).code()

    answers = {
        "wrong code": recover(client, other_code(phone)),
        "no smart otp": recover(client, code, bhxh=OTHER_BHXH),
        "no smart otp, its own kind of code": recover(client, elsewhere, bhxh=OTHER_BHXH),
        "unknown number": recover(client, code, bhxh="0999999999"),
        "malformed number": recover(client, code, bhxh="01234-5678"),
        "malformed code": recover(client, "12 34"),
    }

    assert {name: answer(r) for name, r in answers.items()} == dict.fromkeys(answers, WRONG)
    # The same work for each: a failure counted for the identifier as typed.
    assert failures(session) == {
        BHXH: 2,
        OTHER_BHXH: 2,
        "0999999999": 1,
        "01234-5678": 1,
    }
    assert {e.outcome for e in audits(session, "smart_otp_recovery")} == {"wrong_code"}
    # None of those spent the owner's current code.
    assert recover(client, code).status_code == 200


def test_wrong_codes_share_the_login_throttle_and_a_recovery_clears_it(
    client: FlaskClient, session: Session, owner: Account, phone: Phone, clock: FakeClock
) -> None:
    code = phone.next_code()
    wrong = other_code(phone)

    # Five failures are free; the sixth starts a 2-second wait, as for wrong passwords.
    assert [recover(client, wrong).status_code for _ in range(6)] == [401] * 6
    throttled = recover(client, code)

    assert answer(throttled) == refusal(
        429, "too_many_attempts", "code_wait", "too many wrong attempts; try again in 3 s"
    )
    assert failures(session) == {BHXH: 6}
    assert error(client.post(LOGIN, json={"bhxh": BHXH, "password": PASSWORD})) == (
        429,
        "too_many_attempts",
    )
    # One counter: a wrong password makes the next code wait longer still (4 s).
    clock.advance(seconds=3)
    assert client.post(LOGIN, json={"bhxh": BHXH, "password": "not it at all"}).status_code == 401
    assert failures(session) == {BHXH: 7}
    clock.advance(seconds=3)
    assert recover(client, code).status_code == 429
    assert [e.outcome for e in audits(session, "smart_otp_recovery")][-2:] == [
        "throttled",
        "throttled",
    ]

    clock.advance(seconds=2)
    recovered = recover(client, phone.code())

    assert recovered.status_code == 200, recovered.get_json()
    assert failures(session) == {}
    assert client.post(LOGIN, json={"bhxh": BHXH, "password": PASSWORD}).status_code == 200


def test_the_personal_id_and_the_number_share_one_counter_that_a_recovery_clears(
    client: FlaskClient, session: Session, owner: Account, phone: Phone, clock: FakeClock
) -> None:
    code = phone.next_code()
    for _ in range(3):
        assert answer(recover(client, other_code(phone), bhxh=PERSONAL_ID)) == WRONG
        assert answer(recover(client, other_code(phone))) == WRONG

    assert failures(session) == {BHXH: 6}  # one account, one counter
    assert recover(client, code, bhxh=PERSONAL_ID).status_code == 429
    clock.advance(seconds=3)
    assert recover(client, code, bhxh=PERSONAL_ID).status_code == 200
    assert failures(session) == {}


def test_at_the_cap_only_another_channel_lets_the_owner_back_in(
    client: FlaskClient,
    session: Session,
    owner: Account,
    phone: Phone,
    clock: FakeClock,
    mail_worker: Worker,
    mailer: FakeMailer,
) -> None:
    """The hard cap refuses even a right code, long after; email recovery still works (it
    never reads this counter) and clears it."""
    session.add(LoginFailure(identifier=BHXH, consecutive=100, last_failed_at=clock.now()))
    session.commit()
    clock.advance(hours=2)

    capped = recover(client, phone.code())

    assert answer(capped) == refusal(
        429,
        "too_many_attempts",
        "code_capped",
        "too many wrong attempts: recover the password by SMS, email or a passkey",
    )
    assert audits(session, "smart_otp_recovery")[-1].outcome == "capped"
    user = EmailUser(client, mail_worker, mailer)
    assert user.ask().status_code == 202
    verified = user.verify(user.last_otp())
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["must_change_password"] is True
    assert failures(session) == {}
    assert recover(client, phone.code()).status_code == 200


def test_a_throttled_smart_otp_leaves_email_recovery_open(
    client: FlaskClient,
    session: Session,
    owner: Account,
    phone: Phone,
    mail_worker: Worker,
    mailer: FakeMailer,
) -> None:
    wrong = other_code(phone)
    assert [recover(client, wrong).status_code for _ in range(7)] == [401] * 6 + [429]
    assert recover(client, phone.code(1)).status_code == 429  # a right code waits too

    user = EmailUser(client, mail_worker, mailer)
    assert user.ask().status_code == 202
    verified = user.verify(user.last_otp())

    assert verified.status_code == 200, verified.get_json()


# -- the step-up, once enabled ----------------------------------------------------------------


def add_passkey(client: FlaskClient, token: str, code: str | None = None) -> Body:
    begun = client.post(f"{PASSKEYS}/registration/options", json={}, headers=bearer(token, code))
    assert begun.status_code == 200, begun.get_json()
    credential = SoftAuthenticator(origin=ORIGIN).create(begun.get_json()["options"])
    body = {"request_id": begun.get_json()["request_id"], "credential": credential}
    added = client.post(f"{PASSKEYS}/registration/verify", json=body, headers=bearer(token))
    assert added.status_code == 201, added.get_json()
    return added.get_json()["passkey"]  # type: ignore[no-any-return]


def test_without_smart_otp_the_protected_changes_ask_for_no_code(
    client: FlaskClient, session: Session, owner: Account, token: str
) -> None:
    passkey = add_passkey(client, token)

    assert client.delete(f"{PASSKEYS}/{passkey['id']}", headers=bearer(token)).status_code == 204
    changed = client.post(
        "/api/v1/account/email",
        json={"bhxh": BHXH, "password": PASSWORD, "email": "moi@example.vn"},
    )
    assert changed.status_code == 202, changed.get_json()


def test_adding_a_passkey_needs_a_current_unused_code(
    client: FlaskClient, session: Session, owner: Account, token: str, phone: Phone
) -> None:
    options = f"{PASSKEYS}/registration/options"

    assert error(client.post(options, json={}, headers=bearer(token))) == STEP_UP
    confirmed_with = phone.code()  # the code that confirmed Smart OTP
    assert error(client.post(options, json={}, headers=bearer(token, confirmed_with))) == STEP_UP
    code = phone.next_code()
    assert error(client.post(options, json={}, headers=bearer(token, other_code(phone)))) == STEP_UP

    passkey = add_passkey(client, token, code)

    assert [p.id for p in session.scalars(select(Passkey))] == [passkey["id"]]
    assert me(client, token)["passkeys"] == 1
    assert error(client.post(options, json={}, headers=bearer(token, code))) == STEP_UP  # used


def test_removing_a_passkey_needs_a_current_code_but_not_in_a_recovery(
    client: FlaskClient, session: Session, owner: Account, token: str, clock: FakeClock
) -> None:
    first, second = add_passkey(client, token), add_passkey(client, token)
    phone = enable(client, token, clock)
    code = phone.next_code()

    assert error(client.delete(f"{PASSKEYS}/{first['id']}", headers=bearer(token))) == STEP_UP
    assert (
        error(client.delete(f"{PASSKEYS}/{first['id']}", headers=bearer(token, other_code(phone))))
        == STEP_UP
    )
    assert session.scalar(select(Passkey.id).where(Passkey.id == first["id"])) == first["id"]

    removed = client.delete(f"{PASSKEYS}/{first['id']}", headers=bearer(token, code))

    assert removed.status_code == 204
    assert [p.id for p in session.scalars(select(Passkey))] == [second["id"]]
    # A recovery (here by Smart OTP itself) removes what a thief may have added, codeless.
    restricted = recover(client, phone.next_code()).get_json()["token"]
    assert client.delete(f"{PASSKEYS}/{second['id']}", headers=bearer(restricted)).status_code == (
        204
    )
    assert list(session.scalars(select(Passkey))) == []


def test_changing_the_email_needs_a_current_code(
    client: FlaskClient, session: Session, owner: Account, phone: Phone
) -> None:
    body = {"bhxh": BHXH, "password": PASSWORD, "email": "moi@example.vn"}
    code = phone.next_code()

    refused = client.post("/api/v1/account/email", json=body)
    wrong = client.post("/api/v1/account/email", json=body, headers={"X-Smart-OTP": "12345"})

    assert error(refused) == STEP_UP
    assert error(wrong) == STEP_UP
    assert not [m for m in outbox(session) if m.recipient == "moi@example.vn"]
    accepted = client.post("/api/v1/account/email", json=body, headers={"X-Smart-OTP": code})
    assert accepted.status_code == 202, accepted.get_json()
    assert [m.recipient for m in outbox(session)].count("moi@example.vn") == 1
    assert failures(session) == {}  # a refused step-up is not a wrong password


# -- sessions: restricted, stale, and the fresh proof a code gives -------------------------------


def test_a_recovery_session_turns_it_off_without_a_code_but_cannot_enrol(
    client: FlaskClient, session: Session, owner: Account, phone: Phone
) -> None:
    restricted = recover(client, phone.next_code()).get_json()["token"]
    before = len(outbox(session))

    assert error(client.post(ENROL, headers=bearer(restricted))) == (
        403,
        "password_change_required",
    )
    assert error(client.post(VERIFY, json={"code": phone.code(1)}, headers=bearer(restricted))) == (
        403,
        "password_change_required",
    )
    off = client.delete(SMART_OTP, headers=bearer(restricted))

    assert off.status_code == 204
    assert me(client, restricted)["smart_otp"] is False
    assert [c for c, _, _ in notices(session, before)] == [Channel.SMS, Channel.EMAIL]
    [disabled] = audits(session, "smart_otp_disable")
    assert (disabled.outcome, disabled.actor) == ("disabled", "user")


def test_a_six_minute_old_sign_in_cannot_enrol_or_turn_it_off(
    client: FlaskClient, owner: Account, token: str, phone: Phone, clock: FakeClock
) -> None:
    clock.advance(minutes=6)
    code = phone.code()

    stale = [
        client.post(ENROL, headers=bearer(token, code)),
        client.delete(SMART_OTP, headers=bearer(token, code)),
        client.post(f"{PASSKEYS}/registration/options", json={}, headers=bearer(token, code)),
    ]

    assert [error(r) for r in stale] == [(403, "recent_proof_required")] * 3
    assert smart_otp_on(client, token) is True
    # Not spent by those refusals: it proves the owner and gives a fresh session.
    assert error(client.post(VERIFY, json={"code": other_code(phone)}, headers=bearer(token))) == (
        401,
        "invalid_credentials",
    )
    proven = client.post(VERIFY, json={"code": code}, headers=bearer(token))
    assert proven.status_code == 200, proven.get_json()
    assert proven.get_json()["must_change_password"] is False
    fresh = proven.get_json()["token"]
    assert error(client.post(ENROL, headers=bearer(fresh, code))) == STEP_UP

    again = client.post(ENROL, headers=bearer(fresh, phone.next_code()))

    assert again.status_code == 200, again.get_json()
    assert again.get_json()["secret"] != phone.secret


def test_verify_needs_a_token_and_a_smart_otp(
    client: FlaskClient, owner: Account, other: Account, token: str, phone: Phone
) -> None:
    code = phone.next_code()
    others = log_in(client, OTHER_BHXH, OTHER_PASSWORD)

    assert error(client.post(VERIFY, json={"code": code}))[0] == 401
    assert error(client.post(VERIFY, json={"code": code}, headers=bearer(others)))[0] == 401
    assert client.post(VERIFY, json={"code": code}, headers=bearer(token)).status_code == 200


# -- the hotline ------------------------------------------------------------------------------


def test_the_hotline_turns_it_off_audited_with_its_reason(
    client: FlaskClient,
    session: Session,
    owner: Account,
    other: Account,
    token: str,
    phone: Phone,
    smart_otp_cli: Callable[..., Result],
) -> None:
    before = len(outbox(session))

    reset = smart_otp_cli(BHXH, "--reason", "ticket 42")

    assert reset.exit_code == 0, reset.output
    assert smart_otp_on(client, token) is False
    assert answer(recover(client, phone.next_code())) == WRONG
    [disabled] = audits(session, "smart_otp_disable")
    assert (disabled.actor, disabled.channel, disabled.outcome) == ("operator", "cli", "disabled")
    assert disabled.account_id == owner.id and "ticket 42" in (disabled.detail or "")
    sms, _ = told_owner(session, owner, before)
    assert "vua bi tat" in sms

    assert smart_otp_cli(BHXH, "--reason", "ticket 42").exit_code == 1  # none any more
    assert smart_otp_cli(OTHER_BHXH, "--reason", "ticket 43").exit_code == 1
    assert smart_otp_cli("0999999999", "--reason", "ticket 44").exit_code == 1
    assert smart_otp_cli(BHXH, "--reason", "   ").exit_code == 2
    assert smart_otp_cli(BHXH).exit_code == 2
    assert len(audits(session, "smart_otp_disable")) == 1


def test_an_unconfirmed_enrolment_is_no_smart_otp_to_turn_off(
    client: FlaskClient,
    session: Session,
    owner: Account,
    token: str,
    smart_otp_cli: Callable[..., Result],
) -> None:
    """A seed shown but never confirmed: nothing is on, so nothing is turned off or told."""
    assert client.post(ENROL, headers=bearer(token)).status_code == 200

    assert error(client.delete(SMART_OTP, headers=bearer(token))) == (404, "not_found")
    reset = smart_otp_cli(BHXH, "--reason", "ticket 45")

    assert reset.exit_code == 1, reset.output
    assert outbox(session) == []
    assert audits(session, "smart_otp_disable") == []
    assert smart_otp_on(client, token) is False


# -- what a stolen or stale token can do with the step-up -------------------------------------


def test_wrong_step_up_codes_count_in_the_login_throttle(
    client: FlaskClient, session: Session, owner: Account, token: str, phone: Phone
) -> None:
    """A holder of a session cannot guess step-up codes without end: one counter with the
    passwords and the recovery codes."""
    options = f"{PASSKEYS}/registration/options"
    code = phone.next_code()
    wrong = other_code(phone)

    guesses = [
        client.post(options, json={}, headers=bearer(token, wrong)),
        client.post(ENROL, headers=bearer(token, wrong)),
        client.delete(SMART_OTP, headers=bearer(token, wrong)),
        client.post(VERIFY, json={"code": wrong}, headers=bearer(token)),
        client.post(options, json={}, headers=bearer(token, wrong)),
        client.post(VERIFY, json={"code": wrong}, headers=bearer(token)),
    ]

    assert [r.status_code for r in guesses] == [403, 403, 403, 401, 403, 401]
    assert failures(session) == {BHXH: 6}
    assert error(client.post(options, json={}, headers=bearer(token, code))) == (
        429,
        "too_many_attempts",
    )
    assert error(recover(client, code)) == (429, "too_many_attempts")
    assert error(client.post(LOGIN, json={"bhxh": BHXH, "password": PASSWORD})) == (
        429,
        "too_many_attempts",
    )
    phone.clock.advance(seconds=3)
    assert client.post(options, json={}, headers=bearer(token, code)).status_code == 200
    assert failures(session) == {}


def test_a_seed_that_no_longer_opens_keeps_asking_for_a_code(
    client: FlaskClient,
    runtime: Runtime,
    owner: Account,
    token: str,
    phone: Phone,
    smart_otp_cli: Callable[..., Result],
) -> None:
    """GATEWAY_SECRET_KEY changed: the seed reads as nothing, and that must not turn the
    step-up off; the hotline can still reset it."""
    other_key = Fernet(Fernet.generate_key()).encrypt(phone.secret.encode()).decode()
    with runtime.engine.begin() as connection:
        connection.execute(text("UPDATE smart_otp SET secret = :v"), {"v": other_key})
    code = phone.next_code()

    assert smart_otp_on(client, token) is True
    options = f"{PASSKEYS}/registration/options"
    assert error(client.post(options, json={}, headers=bearer(token))) == STEP_UP
    assert error(client.post(options, json={}, headers=bearer(token, code))) == STEP_UP
    assert answer(recover(client, phone.code(1))) == WRONG

    assert smart_otp_cli(BHXH, "--reason", "key rotated").exit_code == 0
    assert client.post(options, json={}, headers=bearer(token)).status_code == 200


def test_a_signed_out_token_neither_spends_a_code_nor_hears_of_smart_otp(
    client: FlaskClient, owner: Account, phone: Phone
) -> None:
    stolen = log_in(client)
    assert client.post("/api/v1/auth/logout", headers=bearer(stolen)).status_code == 204
    code = phone.next_code()
    options = f"{PASSKEYS}/registration/options"

    assert error(client.post(options, json={}, headers=bearer(stolen, code))) == (
        401,
        "invalid_credentials",
    )
    assert recover(client, code).status_code == 200  # the owner's code is still good
    assert error(client.post(options, json={}, headers=bearer(stolen))) == (
        401,
        "invalid_credentials",
    )
