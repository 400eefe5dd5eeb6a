"""Per-client limits on the passkey endpoints: a flood of ceremonies is cut off with 429.

Starting a ceremony stores a challenge, so the three starts share the (smaller) recovery
budget; finishing one checks a signature and managing passkeys touches the account, so those
share the login budget with password logins. The limit is checked before the view runs: a
refused answer spends no challenge.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.models import Passkey, WebAuthnChallenge
from gateway.ops.ratelimits import EVERY_METHOD, LIMITED_ENDPOINTS
from tests.harness import add_account
from tests.integration.ops.test_rate_limits import SMALL_LIMITS
from tests.passkey_authenticator import SoftAuthenticator

ORIGIN = "http://localhost:8000"
LOGIN = "/api/v1/auth/login"
PASSKEYS = "/api/v1/passkeys"
REGISTER = "/api/v1/passkeys/registration"
SIGN_IN = "/api/v1/passkeys/authentication"
RECOVER = "/api/v1/recovery/passkey"
STARTS = [f"{REGISTER}/options", f"{SIGN_IN}/options", f"{RECOVER}/options"]
FINISHES = [
    ("POST", f"{REGISTER}/verify"),
    ("POST", f"{SIGN_IN}/verify"),
    ("POST", f"{RECOVER}/verify"),
    ("GET", PASSKEYS),
    ("PATCH", f"{PASSKEYS}/1"),
    ("DELETE", f"{PASSKEYS}/1"),
]


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """Limits on, small: 3 a minute for login, 2 for recovery; passkeys on localhost."""
    return {**environ, **SMALL_LIMITS, "GATEWAY_PUBLIC_URL": ORIGIN}


def challenges(session: Session) -> list[WebAuthnChallenge]:
    session.expire_all()
    return list(session.scalars(select(WebAuthnChallenge)))


@pytest.mark.parametrize("path", STARTS)
def test_starting_a_ceremony_counts_against_the_recovery_limit(
    client: FlaskClient, session: Session, path: str
) -> None:
    """The third start in a minute is 429 with Retry-After, and stores no challenge."""
    answers = [client.post(path, json={}) for _ in range(3)]

    codes = [a.status_code for a in answers]
    assert codes[2] == 429 and 429 not in codes[:2], codes
    assert answers[2].get_json()["error"] == "rate_limited"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    assert len(challenges(session)) == codes.count(200)


def test_the_three_starts_share_one_budget(client: FlaskClient) -> None:
    """Signing in, recovering and registering draw on the same recovery budget."""
    codes = [client.post(path, json={}).status_code for path in reversed(STARTS)]

    assert codes == [200, 200, 429]
    assert client.post(LOGIN, json={"bhxh": "0123456789", "password": "x"}).status_code == 401


@pytest.mark.parametrize(("method", "path"), FINISHES, ids=[f"{m} {p}" for m, p in FINISHES])
def test_finishing_or_managing_counts_against_the_login_limit(
    client: FlaskClient, method: str, path: str
) -> None:
    """The fourth answer, listing, rename or removal in a minute is 429."""
    codes = [client.open(path, method=method, json={}).status_code for _ in range(4)]

    assert codes[3] == 429, codes
    assert all(400 <= code < 500 and code != 429 for code in codes[:3]), codes


def test_passkey_answers_and_password_logins_share_the_login_budget(
    client: FlaskClient, session: Session
) -> None:
    """Two passkey answers leave one password login; the next one is refused."""
    add_account(session)
    for path in (f"{SIGN_IN}/verify", f"{RECOVER}/verify"):
        client.post(path, json={})

    codes = [
        client.post(LOGIN, json={"bhxh": "0123456789", "password": "wrong password"}).status_code
        for _ in range(2)
    ]

    assert codes == [401, 429]


def test_a_refused_answer_spends_no_challenge(client: FlaskClient, session: Session) -> None:
    """Past the login budget even a good passkey answer is 429, and its challenge stays
    unspent: the limit runs before the ceremony."""
    add_account(session, password="the owners own 1")
    token = client.post(LOGIN, json={"bhxh": "0123456789", "password": "the owners own 1"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    device = SoftAuthenticator(origin=ORIGIN)
    registering = client.post(f"{REGISTER}/options", json={}, headers=headers).get_json()
    added = client.post(
        f"{REGISTER}/verify",
        json={
            "request_id": registering["request_id"],
            "credential": device.create(registering["options"]),
        },
        headers=headers,
    )
    assert added.status_code == 201  # login budget: 2 of 3 used
    signing_in = client.post(f"{SIGN_IN}/options", json={}).get_json()
    assert client.post(LOGIN, json={"bhxh": "0123456789", "password": "x"}).status_code == 401

    refused = client.post(
        f"{SIGN_IN}/verify",
        json={
            "request_id": signing_in["request_id"],
            "credential": device.get(signing_in["options"]),
        },
    )

    assert refused.status_code == 429
    [waiting] = [c for c in challenges(session) if c.id == signing_in["request_id"]]
    assert waiting.used_at is None
    assert session.scalars(select(Passkey.sign_count)).one() == 0


def test_every_passkey_endpoint_is_limited(app: Flask) -> None:
    """Every endpoint of the passkeys API, and every form or ceremony the portal posts for
    passkeys, is in LIMITED_ENDPOINTS; starts count as recovery, the rest as login."""
    rules = list(app.url_map.iter_rules())
    api = {rule.endpoint for rule in rules if rule.endpoint.startswith("passkeys.")}
    portal = {
        rule.endpoint
        for rule in rules
        if rule.endpoint.startswith("portal_passkeys.") and "POST" in (rule.methods or ())
    }

    assert len(api) == 9
    assert {e: LIMITED_ENDPOINTS.get(e) for e in api} == {
        e: "recovery" if e.endswith("_options") else "login" for e in api
    }
    assert portal and portal <= set(LIMITED_ENDPOINTS)
    assert "passkeys.list_passkeys" in EVERY_METHOD  # a GET that reads the account
