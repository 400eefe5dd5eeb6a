"""Account safety, tried as an attacker would: a glimpsed temporary password, a lockout used as
an oracle or a weapon, weak passwords, silent changes (issue 10)."""

from __future__ import annotations

import re
import statistics
import time
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.carriers.fake import FakeTransport
from gateway.clock import FakeClock
from gateway.models import Account, AuditEvent, LoginFailure
from gateway.settings import load_settings
from gateway.worker import Worker
from tests.conftest import base_environ, make_app
from tests.email_harness import APP_CREDENTIAL, OTP, add_account_with_email
from tests.harness import Phones
from tests.integration.accounts.api_harness import bearer, error
from tests.integration.email.conftest import loopback_smtp
from tests.smtp_server import SmtpServer

EMAIL = "nguyen.van.a@example.vn"
NEW_EMAIL = "attacker@example.net"


@pytest.fixture
def environ(tmp_path: Path, smtp_server: SmtpServer) -> dict[str, str]:
    return {
        **base_environ(tmp_path),
        "GATEWAY_APP_CREDENTIAL": APP_CREDENTIAL,
        **loopback_smtp(smtp_server.port),
        "FINANCE_API_TOKEN": "finance-token-0123456789abcdef",
    }


@pytest.fixture
def worker(runtime: Any, carriers: dict[str, FakeTransport]) -> Worker:
    """SMS to the fake carriers, email to the real SMTP server on loopback."""
    return runtime.worker(carriers)  # type: ignore[no-any-return]


@pytest.fixture
def phones(
    client: FlaskClient, worker: Worker, carriers: dict[str, FakeTransport], clock: FakeClock
) -> Phones:
    return Phones(client, worker, carriers, clock)


@pytest.fixture
def owner(session: Session) -> Account:
    return add_account_with_email(session, email=EMAIL, password="the owners own 1")


@pytest.fixture
def temporary(owner: Account, phones: Phones) -> str:
    """A temporary password the owner asked for by SMS just now (one a thief might glimpse)."""
    return text_for_password(phones)


def login(client: FlaskClient, password: str, bhxh: str = "0123456789") -> Any:
    return client.post("/api/v1/auth/login", json={"bhxh": bhxh, "password": password})


def text_for_password(phones: Phones) -> str:
    [reply] = phones.text("0912345678", "BH MK 0123456789")
    match = re.search(r"Mat khau: (\w+)\.", reply)
    assert match, reply
    return match[1]


def plain(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[no-any-return]


def mailed_otp(worker: Worker, smtp_server: SmtpServer) -> str:
    """Deliver what waits; return the OTP in the last email the SMTP server received."""
    worker.drain()
    found = OTP.search(plain(smtp_server.messages[-1]))
    assert found
    return found[1]


def test_a_glimpsed_temporary_password_cannot_bind_an_email(
    client: FlaskClient, temporary: str, session: Session
) -> None:
    token = login(client, temporary).get_json()["token"]

    by_password = client.post(
        "/api/v1/account/email",
        json={"bhxh": "0123456789", "password": temporary, "email": NEW_EMAIL},
    )
    by_session = client.post(
        "/api/v1/account/email",
        json={"bhxh": "0123456789", "password": temporary, "email": NEW_EMAIL},
        headers=bearer(token),
    )

    assert error(by_password) == (401, "invalid_credentials")
    assert error(by_session) == (403, "password_change_required")
    session.expire_all()
    assert session.scalars(select(Account.email)).one() == EMAIL


def test_a_restricted_session_opens_only_set_password_and_me(
    client: FlaskClient, temporary: str
) -> None:
    token = login(client, temporary).get_json()["token"]
    otp_body = {"bhxh": "0123456789", "otp": "123456"}

    refused = [
        client.post("/api/v1/account/email/confirm", json=otp_body, headers=bearer(token)),
        client.post("/api/v1/recovery/email/verify", json=otp_body, headers=bearer(token)),
        client.get("/api/v1/finance/charges.csv", headers=bearer(token)),
    ]

    assert [error(r) for r in refused] == [(403, "password_change_required")] * 3
    assert client.get("/api/v1/auth/me", headers=bearer(token)).get_json() == {
        "bhxh": "0123456789",
        "must_change_password": True,
        "passkeys": 0,
        "smart_otp": False,
    }


def test_a_restricted_session_expires_after_fifteen_minutes(
    client: FlaskClient, temporary: str, clock: FakeClock
) -> None:
    token = login(client, temporary).get_json()["token"]
    clock.advance(minutes=15, seconds=1)

    late = client.post(
        "/api/v1/auth/password", json={"new_password": "too late for me"}, headers=bearer(token)
    )

    assert late.status_code == 401
    assert login(client, "the owners own 1").status_code == 200


def test_a_used_temporary_password_says_so_and_opens_nothing(
    client: FlaskClient, temporary: str
) -> None:
    assert login(client, temporary).status_code == 200

    again = login(client, temporary)

    assert again.status_code == 401
    assert again.get_json()["reason"].startswith("this temporary password was already used")


@pytest.mark.usefixtures("owner")
def test_a_new_temporary_password_voids_the_unused_one_and_the_old_password_still_works(
    client: FlaskClient, phones: Phones
) -> None:
    first = text_for_password(phones)
    second = text_for_password(phones)

    assert login(client, first).status_code == 401
    assert login(client, "the owners own 1").status_code == 200
    assert login(client, second).status_code == 200


def test_an_sms_reset_is_told_to_the_email_with_no_secret(
    temporary: str, smtp_server: SmtpServer
) -> None:
    [notice] = smtp_server.messages
    body = notice.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert notice["To"] == EMAIL
    assert notice["Subject"] == "Mật khẩu tài khoản VssID vừa được cấp lại qua SMS"
    assert temporary not in notice.as_string()
    assert "15 phút" in body and "1900 9068" in body


@pytest.mark.usefixtures("owner")
def test_an_email_change_is_told_to_the_phone_the_old_and_the_new_address(
    client: FlaskClient,
    worker: Worker,
    smtp_server: SmtpServer,
    carriers: dict[str, FakeTransport],
) -> None:
    client.post(
        "/api/v1/account/email",
        json={"bhxh": "0123456789", "password": "the owners own 1", "email": NEW_EMAIL},
    )
    otp = mailed_otp(worker, smtp_server)
    confirmed = client.post(
        "/api/v1/account/email/confirm", json={"bhxh": "0123456789", "otp": otp}
    )
    worker.drain()

    assert confirmed.status_code == 200
    notices = smtp_server.messages[1:]
    assert sorted(m["To"] for m in notices) == sorted([EMAIL, NEW_EMAIL])
    assert all(otp not in m.as_string() for m in notices)
    assert carriers["viettel"].texts_to("84912345678") == [
        "Email nhan thong bao cua tai khoan VssID 0123456789 vua duoc thay doi. "
        "Neu khong phai ban thuc hien, goi ngay 1900 9068."
    ]


def test_throttling_answers_alike_for_unknown_and_real_numbers(
    client: FlaskClient, owner: Account
) -> None:
    def attempts(bhxh: str) -> list[tuple[int, Any, float]]:
        out = []
        for _ in range(12):
            started = time.perf_counter()
            response = login(client, "a wrong guess 1", bhxh=bhxh)
            out.append((response.status_code, response.get_json(), time.perf_counter() - started))
        return out

    real, unknown = attempts("0123456789"), attempts("0999999999")

    assert [(s, b) for s, b, _ in real] == [(s, b) for s, b, _ in unknown]
    assert [s for s, _, _ in real] == [401] * 6 + [429] * 6
    # Same work on both paths (a dummy hash for the unknown number; no hash once throttled):
    # the medians differ by far less than the one argon2 verify that would give it away.
    hashed = statistics.median(t for _, _, t in real[:6])
    for part in (slice(0, 6), slice(6, 12)):
        known_time = statistics.median(t for _, _, t in real[part])
        unknown_time = statistics.median(t for _, _, t in unknown[part])
        assert abs(known_time - unknown_time) < hashed / 2


@pytest.mark.usefixtures("owner")
def test_the_owner_recovers_after_someone_elses_ten_wrong_guesses(
    client: FlaskClient, phones: Phones
) -> None:
    for _ in range(10):
        login(client, "a guess of someone else")
    assert login(client, "the owners own 1").status_code == 429

    temporary = text_for_password(phones)

    assert login(client, temporary).status_code == 200  # never refused for others' guesses
    assert login(client, "the owners own 1").status_code == 200  # the reset cleared the count


def test_a_valid_temporary_password_passes_even_at_the_hard_cap(
    client: FlaskClient, session: Session, clock: FakeClock, temporary: str
) -> None:
    session.add(LoginFailure(identifier="0123456789", consecutive=100, last_failed_at=clock.now()))
    session.commit()

    assert login(client, "the owners own 1").get_json()["reason"] == (
        "too many wrong passwords: recover the password by SMS or email to log in again"
    )
    assert login(client, temporary).status_code == 200


@pytest.mark.usefixtures("owner")
def test_a_hundred_wrong_passwords_stop_logins_until_a_recovery(
    client: FlaskClient, clock: FakeClock, phones: Phones
) -> None:
    for _ in range(100):
        assert login(client, "guess").status_code in (401, 429)
        clock.advance(minutes=16)  # past every wait: only the cap is left

    clock.advance(days=30)
    assert login(client, "the owners own 1").status_code == 429
    text_for_password(phones)
    assert login(client, "the owners own 1").status_code == 200


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [
        ("short", "too short: use at least 8 characters"),
        ("x" * 129, "too long: use at most 128 characters"),
        ("password", "one of the most common passwords"),
        ("12345678", "one of the most common passwords"),
        ("Password", "one of the most common passwords"),
        ("iloveyou", "one of the most common passwords"),
        ("aaaaaaaaaaaa", "repeats one character"),
        ("my 0123456789 pw", "contains your account number, phone or email"),
        ("call 0912345678!", "contains your account number, phone or email"),
        ("nguyen.van.a rocks", "contains your account number, phone or email"),
    ],
)
@pytest.mark.usefixtures("owner")
def test_weak_passwords_are_refused_with_a_reason(
    client: FlaskClient, new_password: str, reason: str
) -> None:
    response = client.post(
        "/api/v1/auth/password",
        json={"bhxh": "0123456789", "password": "the owners own 1", "new_password": new_password},
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "weak_password"
    assert reason in response.get_json()["reason"]
    assert login(client, "the owners own 1").status_code == 200


@pytest.mark.parametrize(
    "new_password", ["mật khẩu của tôi", "correct horse battery staple", "ｆｕｌｌｗｉｄｔｈ ok"]
)
@pytest.mark.usefixtures("owner")
def test_any_unicode_passphrase_is_welcome_and_compared_in_nfkc(
    client: FlaskClient, new_password: str
) -> None:
    changed = client.post(
        "/api/v1/auth/password",
        json={"bhxh": "0123456789", "password": "the owners own 1", "new_password": new_password},
    )

    assert changed.status_code == 200
    assert login(client, unicodedata.normalize("NFKC", new_password)).status_code == 200


def test_logins_are_audited_with_the_caller_address_and_masked_subject(
    client: FlaskClient, owner: Account, session: Session
) -> None:
    login(client, "a wrong guess 1")
    login(client, "the owners own 1")
    login(client, "whatever 123", bhxh="0999999999")

    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.outcome, e.subject, e.client_ip) for e in events] == [
        ("login", "wrong_password", "01******89", "127.0.0.1"),
        ("login", "success", "01******89", "127.0.0.1"),
        ("login", "wrong_password", "09******99", "127.0.0.1"),
    ]
    assert events[2].account_id is None


def test_email_recovery_ends_in_a_session_not_a_mailed_password(
    client: FlaskClient, owner: Account, worker: Worker, smtp_server: SmtpServer
) -> None:
    client.post(
        "/api/v1/recovery/email",
        json={"bhxh": "0123456789", "email": EMAIL},
        headers={"X-App-Credential": APP_CREDENTIAL},
    )
    otp = mailed_otp(worker, smtp_server)

    verified = client.post("/api/v1/recovery/email/verify", json={"bhxh": "0123456789", "otp": otp})
    worker.drain()

    assert verified.get_json()["must_change_password"] is True
    assert len(smtp_server.messages) == 1, "nothing more is mailed: no password, no change yet"


@pytest.mark.parametrize(("hops", "recorded"), [("0", "127.0.0.1"), ("1", "203.0.113.7")])
def test_the_audited_address_trusts_only_the_configured_proxy_hops(
    tmp_path: Path, smtp_server: SmtpServer, hops: str, recorded: str
) -> None:
    environ = {**base_environ(tmp_path), "GATEWAY_PROXY_HOPS": hops}
    app = make_app(load_settings(environ), FakeClock())
    runtime = app.extensions["gateway"]
    with runtime.session_factory() as session:
        add_account_with_email(session, email=EMAIL, password="the owners own 1")
    # A caller forging the header: believed only behind a proxy we were told about.
    app.test_client().post(
        "/api/v1/auth/login",
        json={"bhxh": "0123456789", "password": "guess guess"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )

    with runtime.session_factory() as session:
        assert session.scalars(select(AuditEvent.client_ip)).all() == [recorded]
    runtime.engine.dispose()
