"""Passkeys through the VssID app's JSON API, tried as an attacker would.

A software authenticator (tests/passkey_authenticator.py) plays the device and the browser;
each test then checks what was stored, not only what was answered: passkeys, challenges,
audit rows, queued notices, login throttles. The attacks: replayed, expired and foreign
challenges; wrong origins and RP IDs; no user verification; unknown, removed and cloned
credentials; stale and restricted sessions; another account's passkeys, handles and request
ids; malformed answers; and one challenge answered by many threads at once (which must also
hold on PostgreSQL: the suite reruns with TEST_DATABASE_URL).
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import cbor2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from gateway.clock import FakeClock
from gateway.models import (
    Account,
    AccountState,
    AuditEvent,
    LoginFailure,
    OutboxMessage,
    Passkey,
    WebAuthnChallenge,
)
from gateway.passkeys.signin import NOT_ACCEPTED
from gateway.settings import Settings
from gateway.states import Channel
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
from tests.passkey_authenticator import AAGUID, SoftAuthenticator, b64url, b64url_decode

RP_ID = "localhost"
OTHER_BHXH, OTHER_PHONE, OTHER_EMAIL = "0987654321", "0987654321", "tran.thi.b@example.vn"
OTHER_PASSWORD = "the intruders own 2"
CLIENT_IP = "203.0.113.7"

PASSKEYS = "/api/v1/passkeys"
REGISTER = "/api/v1/passkeys/registration"
SIGN_IN = "/api/v1/passkeys/authentication"
RECOVER = "/api/v1/recovery/passkey"
REFUSED_SIGN_IN = refusal(401, "invalid_credentials", "passkey_sign_in_refused", NOT_ACCEPTED)
THREADS = 8
Row = TypeVar("Row", Passkey, AuditEvent, OutboxMessage, LoginFailure, WebAuthnChallenge)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def environ(environ: dict[str, str]) -> dict[str, str]:
    """Passkeys for http://localhost:8000 (RP ID localhost), said explicitly."""
    environ["GATEWAY_PUBLIC_URL"] = ORIGIN
    return environ


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Iterator[Flask]:
    """The app, hashing passwords with the cheap argon2 parameters."""
    yield from fast_app(settings, clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A client calling from a documentation address, so audit rows can show it."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = CLIENT_IP
    return client


@pytest.fixture
def owner(session: Session) -> Account:
    """The account under attack: a phone, an address on file and a personal ID."""
    return add_holder(session)


@pytest.fixture
def intruder(session: Session) -> Account:
    """Another citizen's account, held by the attacker."""
    return add_holder(
        session,
        OTHER_BHXH,
        OTHER_PHONE,
        email=OTHER_EMAIL,
        password=OTHER_PASSWORD,
        personal_id=None,
    )


@pytest.fixture
def device() -> SoftAuthenticator:
    """The owner's phone."""
    return SoftAuthenticator(origin=ORIGIN)


@pytest.fixture
def token(client: FlaskClient, owner: Account) -> str:
    """The owner's session token, from a password login just now."""
    return log_in(client)


@pytest.fixture
def passkey(client: FlaskClient, token: str, device: SoftAuthenticator) -> Body:
    """The owner's first passkey, on ``device``, as the API shows it."""
    added = add_passkey(client, token, device)
    assert added.status_code == 201, added.get_json()
    return added.get_json()["passkey"]  # type: ignore[no-any-return]


# -- helpers ----------------------------------------------------------------------------------


def begin(client: FlaskClient, path: str, token: str | None = None) -> Body:
    """Start the ceremony at ``path``; return its request id and options."""
    answer = client.post(f"{path}/options", json={}, headers=bearer(token))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def finish(
    client: FlaskClient,
    path: str,
    request_id: str,
    credential: Body,
    token: str | None = None,
    **extra: Any,
) -> TestResponse:
    """Send the authenticator's answer to the ceremony at ``path``."""
    body = {"request_id": request_id, "credential": credential, **extra}
    return client.post(f"{path}/verify", json=body, headers=bearer(token))


def add_passkey(
    client: FlaskClient,
    token: str,
    device: SoftAuthenticator,
    *,
    name: str | None = None,
    **knobs: Any,
) -> TestResponse:
    """Register a new passkey of ``device``; ``knobs`` go to the authenticator."""
    begun = begin(client, REGISTER, token)
    credential = device.create(begun["options"], **knobs)
    extra = {} if name is None else {"name": name}
    return finish(client, REGISTER, begun["request_id"], credential, token, **extra)


def sign_in(
    client: FlaskClient, device: SoftAuthenticator, path: str = SIGN_IN, **knobs: Any
) -> TestResponse:
    """Sign in (or recover, with ``path=RECOVER``) with ``device``'s newest passkey."""
    begun = begin(client, path)
    return finish(client, path, begun["request_id"], device.get(begun["options"], **knobs))


def stranger() -> SoftAuthenticator:
    """A device holding a passkey for localhost that the gateway has never seen."""
    device = SoftAuthenticator(origin=ORIGIN)
    device.create(
        {
            "rp": {"id": RP_ID},
            "user": {"id": b64url(secrets.token_bytes(32))},
            "challenge": b64url(secrets.token_bytes(32)),
        }
    )
    return device


def rows(session: Session, model: type[Row]) -> list[Row]:
    """Every row of ``model``, as committed now."""
    session.expire_all()
    return list(session.scalars(select(model).order_by(*inspect(model).primary_key)))


def audits(session: Session, action: str, outcome: str | None = None) -> list[AuditEvent]:
    events = [e for e in rows(session, AuditEvent) if e.action == action]
    return [e for e in events if outcome is None or e.outcome == outcome]


def the_passkey(session: Session) -> Passkey:
    [stored] = rows(session, Passkey)
    return stored


def tampered(credential: Body, path: tuple[str, ...], value: Any) -> Body:
    """A copy of an answer with one field replaced (or removed, for ``...``)."""
    changed = copy.deepcopy(credential)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return changed


def with_credential_id(registration: Body, credential_id: bytes) -> Body:
    """Rewrite a registration answer to claim another credential id.

    The attestation is "none", so nothing signs the authenticator data: any client can do this,
    and the gateway must judge the id it claims.
    """
    attestation = cbor2.loads(b64url_decode(registration["response"]["attestationObject"]))
    auth_data: bytes = attestation["authData"]
    old_length = int.from_bytes(auth_data[53:55], "big")
    attestation["authData"] = (
        auth_data[:53]
        + len(credential_id).to_bytes(2, "big")
        + credential_id
        + auth_data[55 + old_length :]
    )
    changed = copy.deepcopy(registration)
    changed["response"]["attestationObject"] = b64url(cbor2.dumps(attestation))
    changed["id"] = changed["rawId"] = b64url(credential_id)
    return changed


def for_challenge(registration: Body, challenge: str) -> Body:
    """Re-aim a registration answer at another challenge (clientDataJSON is not signed)."""
    client_data = json.loads(b64url_decode(registration["response"]["clientDataJSON"]))
    client_data["challenge"] = challenge
    encoded = json.dumps(client_data, separators=(",", ":")).encode()
    return tampered(registration, ("response", "clientDataJSON"), b64url(encoded))


def at_once(app: Flask, calls: list[Callable[[FlaskClient], TestResponse]]) -> list[int]:
    """Run each call on its own thread and client, all released together; return statuses."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[FlaskClient], TestResponse]) -> int:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = CLIENT_IP
        barrier.wait(timeout=30)
        return call(client).status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# -- the happy paths --------------------------------------------------------------------------


def test_a_fresh_sign_in_adds_a_passkey_and_stores_only_its_public_key(
    client: FlaskClient, session: Session, owner: Account, token: str, device: SoftAuthenticator
) -> None:
    """Registering stores the credential id, public key and AAGUID under a random user handle,
    spends the challenge, and shows the owner nothing of the key material."""
    added = add_passkey(client, token, device, name="Điện thoại của tôi")

    assert added.status_code == 201, added.get_json()
    view = added.get_json()["passkey"]
    assert view == {
        "id": view["id"],
        "name": "Điện thoại của tôi",
        "created_at": "2026-11-02T03:00:00+00:00",
        "last_used_at": None,
        "synced": False,
        "transports": ["internal"],
    }
    held = device.credentials[0]
    stored = the_passkey(session)
    assert (stored.id, stored.account_id) == (view["id"], owner.id)
    assert stored.credential_id == b64url(held.credential_id)
    assert stored.public_key == held.cose_public_key
    assert (stored.sign_count, stored.aaguid, stored.synced) == (0, AAGUID, False)
    session.refresh(owner)
    assert owner.webauthn_user_id == b64url(held.user_handle)
    assert BHXH.encode() not in held.user_handle  # the handle is random, not the number
    [challenge] = rows(session, WebAuthnChallenge)
    assert (challenge.purpose, challenge.account_id) == ("register", owner.id)
    assert challenge.used_at is not None
    listed = client.get(PASSKEYS, headers=bearer(token))
    assert answer(listed) == (200, {"passkeys": [view]})


def test_a_passkey_signs_in_without_a_password(
    client: FlaskClient,
    session: Session,
    owner: Account,
    passkey: Body,
    device: SoftAuthenticator,
    clock: FakeClock,
) -> None:
    """An assertion gives the same full session as a password; the counter and last use are
    kept; the new session is a fresh proof (it may add another passkey)."""
    clock.advance(minutes=1)

    signed_in = sign_in(client, device)

    assert signed_in.status_code == 200, signed_in.get_json()
    body = signed_in.get_json()
    assert set(body) == {"token", "must_change_password", "expires_in"}
    assert (body["must_change_password"], body["expires_in"]) == (False, 3600)
    me = client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert (me.get_json()["bhxh"], me.get_json()["must_change_password"]) == (BHXH, False)
    stored = the_passkey(session)
    assert (stored.sign_count, stored.last_used_at) == (1, clock.now())
    [event] = audits(session, "login", "passkey")
    assert (event.account_id, event.detail) == (owner.id, f"passkey {passkey['id']}")
    another = add_passkey(client, body["token"], SoftAuthenticator(origin=ORIGIN))
    assert another.status_code == 201


def test_a_passkey_recovers_into_a_session_that_only_sets_a_password(
    client: FlaskClient,
    session: Session,
    token: str,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """Recovery gives a 15-minute restricted session: it reviews the passkeys and sets a new
    password, nothing else; the new password then voids every earlier session and password."""
    recovered = sign_in(client, device, path=RECOVER)

    assert recovered.status_code == 200, recovered.get_json()
    body = recovered.get_json()
    assert (body["must_change_password"], body["expires_in"]) == (True, 900)
    restricted = bearer(body["token"])
    me = client.get("/api/v1/auth/me", headers=restricted)
    assert me.get_json()["must_change_password"] is True
    listed = client.get(PASSKEYS, headers=restricted).get_json()["passkeys"]
    assert [p["id"] for p in listed] == [passkey["id"]]
    refused = [
        client.post(f"{REGISTER}/options", json={}, headers=restricted),
        client.patch(f"{PASSKEYS}/{passkey['id']}", json={"name": "x"}, headers=restricted),
        client.post(f"{SIGN_IN}/options", json={}, headers=restricted),
    ]
    assert {answer(r)[0] for r in refused} == {403}
    assert {r.get_json()["error"] for r in refused} == {"password_change_required"}

    changed = client.post(
        "/api/v1/auth/password", json={"new_password": NEW_PASSWORD}, headers=restricted
    )

    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["must_change_password"] is False
    assert client.get(PASSKEYS, headers=bearer(token)).status_code == 401
    assert client.get(PASSKEYS, headers=restricted).status_code == 401
    assert client.post(LOGIN, json={"bhxh": BHXH, "password": PASSWORD}).status_code == 401
    fresh = log_in(client, password=NEW_PASSWORD)
    assert client.get(PASSKEYS, headers=bearer(fresh)).status_code == 200
    [event] = audits(session, "passkey_recovery")
    assert event.outcome == "passkey"
    assert the_passkey(session).sign_count == 1  # the recovery's assertion counted


def test_a_recovery_session_removes_a_passkey_a_thief_added(
    client: FlaskClient,
    session: Session,
    passkey: Body,
    device: SoftAuthenticator,
    clock: FakeClock,
) -> None:
    """What a thief added with a stolen password does not survive the owner's recovery: the
    restricted session may remove it without a fresh password proof."""
    thief = SoftAuthenticator(origin=ORIGIN)
    planted = add_passkey(client, log_in(client), thief).get_json()["passkey"]
    restricted = bearer(sign_in(client, device, path=RECOVER).get_json()["token"])
    clock.advance(minutes=10)

    removed = client.delete(f"{PASSKEYS}/{planted['id']}", headers=restricted)

    assert (removed.status_code, removed.get_data()) == (204, b"")
    assert [p.id for p in rows(session, Passkey)] == [passkey["id"]]
    assert answer(sign_in(client, thief)) == REFUSED_SIGN_IN


def test_the_owner_lists_renames_and_removes_passkeys(
    client: FlaskClient,
    session: Session,
    owner: Account,
    token: str,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """Rename cleans the name; removal deletes the row and the removed passkey signs in no one
    (audited as an unknown passkey)."""
    renamed = client.patch(
        f"{PASSKEYS}/{passkey['id']}", json={"name": "  Máy\tcủa\nAn  "}, headers=bearer(token)
    )

    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["passkey"] == {**passkey, "name": "Máy của An"}
    assert client.get(PASSKEYS, headers=bearer(token)).get_json()["passkeys"][0]["name"] == (
        "Máy của An"
    )

    removed = client.delete(f"{PASSKEYS}/{passkey['id']}", headers=bearer(token))

    assert (removed.status_code, removed.get_data()) == (204, b"")
    assert rows(session, Passkey) == []
    assert client.get(PASSKEYS, headers=bearer(token)).get_json() == {"passkeys": []}
    assert answer(sign_in(client, device)) == REFUSED_SIGN_IN
    [unknown] = audits(session, "login", "unknown_passkey")
    assert (unknown.account_id, unknown.subject) == (None, "unknown")
    assert [e.outcome for e in audits(session, "passkey_rename")] == ["renamed"]
    assert [e.outcome for e in audits(session, "passkey_remove")] == ["removed"]


# -- challenges: single use, short lived, for one ceremony ------------------------------------


def test_a_sign_in_answer_replayed_is_refused_and_changes_nothing(
    client: FlaskClient,
    session: Session,
    passkey: Body,
    device: SoftAuthenticator,
    clock: FakeClock,
) -> None:
    """The same request id and answer twice: the second is 401 and neither the counter, the
    last use nor the audit trail moves."""
    begun = begin(client, SIGN_IN)
    credential = device.get(begun["options"])
    first = finish(client, SIGN_IN, begun["request_id"], credential)
    used_at = clock.now()
    clock.advance(seconds=30)

    replayed = finish(client, SIGN_IN, begun["request_id"], credential)

    assert first.status_code == 200
    assert answer(replayed) == refusal(
        401,
        "invalid_credentials",
        "passkey_sign_in_refused",
        "this passkey request is unknown, used or expired: start again",
    )
    stored = the_passkey(session)
    assert (stored.sign_count, stored.last_used_at) == (1, used_at)
    assert len(audits(session, "login", "passkey")) == 1


def test_a_registration_answer_replayed_is_refused_and_stores_nothing_more(
    client: FlaskClient, session: Session, token: str, device: SoftAuthenticator
) -> None:
    """The same registration request id twice: 400, one passkey, one pair of notices."""
    begun = begin(client, REGISTER, token)
    credential = device.create(begun["options"])
    first = finish(client, REGISTER, begun["request_id"], credential, token)
    notices = len(rows(session, OutboxMessage))

    replayed = finish(client, REGISTER, begun["request_id"], credential, token)

    assert first.status_code == 201
    assert error(replayed) == (400, "invalid_passkey")
    assert len(rows(session, Passkey)) == 1
    assert len(rows(session, OutboxMessage)) == notices == 2


def test_a_registered_passkey_answered_again_is_a_conflict(
    client: FlaskClient, session: Session, token: str, device: SoftAuthenticator
) -> None:
    """The same credential answered to a new challenge (the "none" attestation signs nothing)
    is refused as a duplicate, not stored twice."""
    first = begin(client, REGISTER, token)
    credential = device.create(first["options"])
    assert finish(client, REGISTER, first["request_id"], credential, token).status_code == 201
    second = begin(client, REGISTER, token)

    again = finish(
        client,
        REGISTER,
        second["request_id"],
        for_challenge(credential, second["options"]["challenge"]),
        token,
    )

    assert error(again) == (409, "conflicting_duplicate")
    assert len(rows(session, Passkey)) == 1


def test_another_account_cannot_take_over_a_credential_id(
    client: FlaskClient,
    session: Session,
    intruder: Account,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """An attacker registering the owner's credential id with their own key gets 409; the
    owner's public key and account stay as they were, and the owner still signs in."""
    before = the_passkey(session)
    key, account_id = before.public_key, before.account_id
    theirs = log_in(client, OTHER_BHXH, OTHER_PASSWORD)
    begun = begin(client, REGISTER, theirs)
    forged = with_credential_id(
        SoftAuthenticator(origin=ORIGIN).create(begun["options"]),
        device.credentials[0].credential_id,
    )

    squatted = finish(client, REGISTER, begun["request_id"], forged, theirs)

    assert error(squatted) == (409, "conflicting_duplicate")
    after = the_passkey(session)
    assert (after.public_key, after.account_id) == (key, account_id)
    assert sign_in(client, device).status_code == 200


def test_a_challenge_serves_one_ceremony_only(
    client: FlaskClient, token: str, passkey: Body, device: SoftAuthenticator
) -> None:
    """A sign-in request id does not recover, a recovery's does not sign in, and a
    registration's does neither: each is refused although the signature is good."""
    signing_in, recovering = begin(client, SIGN_IN), begin(client, RECOVER)
    registering = begin(client, REGISTER, token)

    crossed = [
        finish(client, RECOVER, signing_in["request_id"], device.get(signing_in["options"])),
        finish(client, SIGN_IN, recovering["request_id"], device.get(recovering["options"])),
        finish(client, SIGN_IN, registering["request_id"], device.get(signing_in["options"])),
    ]

    assert [r.status_code for r in crossed] == [401, 401, 401]
    assert {r.get_json()["error"] for r in crossed} == {"invalid_credentials"}


def test_a_sign_in_challenge_lives_five_minutes(
    client: FlaskClient,
    session: Session,
    passkey: Body,
    device: SoftAuthenticator,
    clock: FakeClock,
) -> None:
    """An answer at 4:59 is taken; one at 5:01 is refused before any passkey is looked at,
    though its signature and counter are good."""
    in_time, late = begin(client, SIGN_IN), begin(client, SIGN_IN)
    in_time_answer = device.get(in_time["options"])
    late_answer = device.get(late["options"])  # counter 2: it would pass if in time

    clock.advance(minutes=4, seconds=59)
    taken = finish(client, SIGN_IN, in_time["request_id"], in_time_answer)
    clock.advance(seconds=2)
    expired = finish(client, SIGN_IN, late["request_id"], late_answer)

    assert taken.status_code == 200
    assert expired.status_code == 401
    assert the_passkey(session).sign_count == 1
    assert [e.outcome for e in audits(session, "login")] == ["success", "passkey"]


def test_a_registration_challenge_lives_five_minutes(
    client: FlaskClient,
    session: Session,
    token: str,
    device: SoftAuthenticator,
    clock: FakeClock,
) -> None:
    """An answer to a 5:01-old registration challenge is refused even with a fresh sign-in."""
    begun = begin(client, REGISTER, token)
    credential = device.create(begun["options"])
    clock.advance(minutes=5, seconds=1)
    fresh = log_in(client)  # a fresh proof: only the challenge's age is judged

    refused = finish(client, REGISTER, begun["request_id"], credential, fresh)

    assert error(refused) == (400, "invalid_passkey")
    assert rows(session, Passkey) == []


# -- answers not meant for this gateway -------------------------------------------------------

NOT_FOR_US = {
    "another site": {"origin": "https://evil.example"},
    "another port": {"origin": "http://localhost:8001"},
    "https, not http": {"origin": "https://localhost:8000"},
    "another RP ID": {"rp_id": "evil.example"},
    "a subdomain as RP ID": {"rp_id": "login.localhost"},
    "no user verification": {"user_verified": False},
    "another challenge": {"challenge": b64url(b"\x07" * 32)},
}


@pytest.mark.parametrize("knobs", NOT_FOR_US.values(), ids=list(NOT_FOR_US))
def test_a_registration_answer_not_for_us_is_refused(
    client: FlaskClient,
    session: Session,
    token: str,
    device: SoftAuthenticator,
    knobs: dict[str, Any],
) -> None:
    """A new passkey made for another origin or RP, or without user verification: 400, and
    nothing stored or sent."""
    refused = add_passkey(client, token, device, **knobs)

    assert error(refused) == (400, "invalid_passkey")
    assert rows(session, Passkey) == []
    assert rows(session, OutboxMessage) == []


@pytest.mark.parametrize("knobs", NOT_FOR_US.values(), ids=list(NOT_FOR_US))
def test_a_sign_in_answer_not_for_us_is_refused(
    client: FlaskClient,
    session: Session,
    passkey: Body,
    device: SoftAuthenticator,
    knobs: dict[str, Any],
) -> None:
    """An assertion for another origin or RP, or without user verification, neither signs in
    nor recovers; it is audited as not verified and moves no counter."""
    notices = len(rows(session, OutboxMessage))

    refused = [sign_in(client, device, **knobs), sign_in(client, device, path=RECOVER, **knobs)]

    assert [answer(r) for r in refused] == [REFUSED_SIGN_IN] * 2
    stored = the_passkey(session)
    assert (stored.sign_count, stored.last_used_at) == (0, None)
    assert [e.outcome for e in audits(session, "login") if e.outcome != "success"] == [
        "not_verified"
    ]
    assert [e.outcome for e in audits(session, "passkey_recovery")] == ["not_verified"]
    assert len(rows(session, OutboxMessage)) == notices  # no "recovered" notice


def test_an_unknown_passkey_gets_the_same_answer_whether_or_not_anyone_has_passkeys(
    client: FlaskClient, session: Session, owner: Account, device: SoftAuthenticator
) -> None:
    """No enumeration: an unknown credential before any passkey exists, after one does, a
    known one that fails, and a recovery all get one answer; the options name no one."""
    empty_options = begin(client, SIGN_IN)["options"]
    nobody = sign_in(client, stranger())
    assert add_passkey(client, log_in(client), device).status_code == 201
    full_options = begin(client, SIGN_IN)["options"]

    somebody = sign_in(client, stranger())
    known_but_wrong = sign_in(client, device, origin="https://evil.example")
    recovery = sign_in(client, stranger(), path=RECOVER)

    answers = [answer(r) for r in (nobody, somebody, known_but_wrong, recovery)]
    assert answers == [REFUSED_SIGN_IN] * 4
    assert empty_options["allowCredentials"] == full_options["allowCredentials"] == []
    assert set(empty_options) == set(full_options)
    unknown = audits(session, "login", "unknown_passkey")
    assert [(e.account_id, e.subject, e.detail) for e in unknown] == [(None, "unknown", None)] * 2


def test_a_passkey_of_a_disabled_account_signs_in_no_one(
    client: FlaskClient,
    session: Session,
    owner: Account,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """Disabling the account disables its passkeys, with the unknown-passkey answer."""
    owner.state = AccountState.DISABLED
    session.commit()

    assert answer(sign_in(client, device)) == REFUSED_SIGN_IN
    assert answer(sign_in(client, device, path=RECOVER)) == REFUSED_SIGN_IN
    assert len(audits(session, "login", "unknown_passkey")) == 1


# -- sessions: restricted, stale --------------------------------------------------------------


def test_a_restricted_session_cannot_add_a_passkey(
    client: FlaskClient,
    session: Session,
    owner: Account,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """Neither a passkey recovery's session nor a must-change-password login may start or
    finish a registration: a recovery must not plant a new key."""
    begun = begin(client, REGISTER, log_in(client))
    recovered = sign_in(client, device, path=RECOVER).get_json()["token"]
    owner.must_change_password = True
    session.commit()
    must_change = client.post(LOGIN, json={"bhxh": BHXH, "password": PASSWORD}).get_json()
    assert must_change["must_change_password"] is True

    for restricted in (recovered, must_change["token"]):
        options = client.post(f"{REGISTER}/options", json={}, headers=bearer(restricted))
        credential = SoftAuthenticator(origin=ORIGIN).create(begun["options"])
        verify = finish(client, REGISTER, begun["request_id"], credential, restricted)
        assert answer(options)[0] == answer(verify)[0] == 403
        assert options.get_json()["error"] == verify.get_json()["error"]
        assert verify.get_json()["error"] == "password_change_required"
    assert len(rows(session, Passkey)) == 1


def test_a_six_minute_old_sign_in_may_not_add_or_remove_a_passkey(
    client: FlaskClient,
    session: Session,
    token: str,
    passkey: Body,
    clock: FakeClock,
) -> None:
    """At 5:00 a session is still a fresh proof; at 6:00 adding (options or verify) and
    removing need a new sign-in, while listing and renaming still work."""
    clock.advance(minutes=5)
    assert client.post(f"{REGISTER}/options", json={}, headers=bearer(token)).status_code == 200
    begun = begin(client, REGISTER, token)
    clock.advance(minutes=1)

    refused = [
        client.post(f"{REGISTER}/options", json={}, headers=bearer(token)),
        finish(
            client,
            REGISTER,
            begun["request_id"],
            SoftAuthenticator(origin=ORIGIN).create(begun["options"]),
            token,
        ),
        client.delete(f"{PASSKEYS}/{passkey['id']}", headers=bearer(token)),
    ]

    assert [r.status_code for r in refused] == [403, 403, 403]
    assert {r.get_json()["error"] for r in refused} == {"recent_proof_required"}
    assert len(rows(session, Passkey)) == 1
    assert client.get(PASSKEYS, headers=bearer(token)).status_code == 200
    renamed = client.patch(f"{PASSKEYS}/{passkey['id']}", json={"name": "A"}, headers=bearer(token))
    assert renamed.status_code == 200
    fresh = bearer(log_in(client))
    assert client.delete(f"{PASSKEYS}/{passkey['id']}", headers=fresh).status_code == 204


def test_the_passkey_api_needs_a_login_token(client: FlaskClient, passkey: Body) -> None:
    """No token, a garbage one, or another kind of scheme: 401 on every account endpoint."""
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eA=="}):
        answers = [
            client.post(f"{REGISTER}/options", json={}, headers=headers),
            client.post(f"{REGISTER}/verify", json={}, headers=headers),
            client.get(PASSKEYS, headers=headers),
            client.patch(f"{PASSKEYS}/{passkey['id']}", json={"name": "x"}, headers=headers),
            client.delete(f"{PASSKEYS}/{passkey['id']}", headers=headers),
        ]
        assert [r.status_code for r in answers] == [401] * 5, headers


# -- the limits of an account -----------------------------------------------------------------


def test_an_account_keeps_at_most_ten_passkeys(
    client: FlaskClient, session: Session, token: str
) -> None:
    """The options refuse an eleventh; of two ceremonies started at nine, the second to
    finish is refused too."""
    for _ in range(9):
        assert add_passkey(client, token, SoftAuthenticator(origin=ORIGIN)).status_code == 201
    first, second = begin(client, REGISTER, token), begin(client, REGISTER, token)

    tenth = finish(
        client,
        REGISTER,
        first["request_id"],
        SoftAuthenticator(origin=ORIGIN).create(first["options"]),
        token,
    )
    eleventh = finish(
        client,
        REGISTER,
        second["request_id"],
        SoftAuthenticator(origin=ORIGIN).create(second["options"]),
        token,
    )
    options = client.post(f"{REGISTER}/options", json={}, headers=bearer(token))

    assert tenth.status_code == 201
    assert error(eleventh) == (409, "too_many_passkeys")
    assert error(options) == (409, "too_many_passkeys")
    assert len(rows(session, Passkey)) == 10


def test_a_new_passkey_excludes_the_ones_the_account_has(
    client: FlaskClient,
    session: Session,
    owner: Account,
    token: str,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """excludeCredentials lists every passkey of the account (so a device is not enrolled
    twice), under the same user handle, with user verification required."""
    assert add_passkey(client, token, SoftAuthenticator(origin=ORIGIN)).status_code == 201

    options = begin(client, REGISTER, token)["options"]

    stored = {p.credential_id for p in rows(session, Passkey)}
    assert {c["id"] for c in options["excludeCredentials"]} == stored
    assert len(stored) == 2
    session.refresh(owner)
    assert options["user"]["id"] == owner.webauthn_user_id
    assert options["user"]["id"] == b64url(device.credentials[0].user_handle)
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["rp"] == {"id": RP_ID, "name": "VssID - Bảo hiểm xã hội số"}
    with pytest.raises(ValueError, match="excluded"):
        device.create(options)


# -- counters and handles ---------------------------------------------------------------------


def test_a_sign_count_going_backwards_is_refused_and_reported(
    client: FlaskClient,
    session: Session,
    owner: Account,
    passkey: Body,
    device: SoftAuthenticator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device-bound passkey whose counter repeats or drops is a clone: 401, audited as
    sign_count_regressed, logged, and the stored counter keeps its high mark."""
    assert sign_in(client, device).status_code == 200  # counter 1

    with caplog.at_level(logging.WARNING, logger="gateway.passkeys.signin"):
        repeated = sign_in(client, device, sign_count=1)
        dropped = sign_in(client, device, sign_count=0)

    assert [answer(r) for r in (repeated, dropped)] == [REFUSED_SIGN_IN] * 2
    assert the_passkey(session).sign_count == 1
    regressed = audits(session, "login", "sign_count_regressed")
    assert [(e.account_id, e.detail) for e in regressed] == [
        (owner.id, f"passkey {passkey['id']}")
    ] * 2
    assert "sign count went from 1 to 1" in caplog.text
    assert sign_in(client, device, sign_count=7).status_code == 200  # forward again
    assert the_passkey(session).sign_count == 7


def test_a_synced_passkey_whose_counter_stays_zero_signs_in(
    client: FlaskClient, session: Session, token: str
) -> None:
    """Synced passkeys (iCloud Keychain, Google Password Manager) report 0 every time: that is
    not a clone."""
    phone = SoftAuthenticator(origin=ORIGIN)
    added = add_passkey(client, token, phone, synced=True)
    assert added.get_json()["passkey"]["synced"] is True

    answers = [sign_in(client, phone).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    stored = the_passkey(session)
    assert (stored.sign_count, stored.synced, stored.backed_up) == (0, True, True)


def test_a_user_handle_of_another_account_does_not_sign_in_as_it(
    client: FlaskClient,
    session: Session,
    owner: Account,
    intruder: Account,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """The intruder's own passkey presenting the owner's user handle (or any other handle) is
    refused and audited as wrong_user_handle on the intruder's account."""
    theirs = SoftAuthenticator(origin=ORIGIN)
    assert (
        add_passkey(client, log_in(client, OTHER_BHXH, OTHER_PASSWORD), theirs).status_code == 201
    )

    borrowed = sign_in(client, theirs, user_handle=device.credentials[0].user_handle)
    made_up = sign_in(client, theirs, user_handle=b"\x00" * 32)

    assert [answer(r) for r in (borrowed, made_up)] == [REFUSED_SIGN_IN] * 2
    wrong = audits(session, "login", "wrong_user_handle")
    assert [e.account_id for e in wrong] == [intruder.id, intruder.id]
    assert audits(session, "login", "passkey") == []


# -- another account --------------------------------------------------------------------------


def test_another_account_cannot_rename_or_remove_your_passkey(
    client: FlaskClient,
    session: Session,
    intruder: Account,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """The intruder's fresh session gets the same 404 for the owner's passkey as for one that
    does not exist; the passkey, its name and the notices are untouched."""
    theirs = bearer(log_in(client, OTHER_BHXH, OTHER_PASSWORD))
    notices = len(rows(session, OutboxMessage))

    rename = client.patch(f"{PASSKEYS}/{passkey['id']}", json={"name": "pwned"}, headers=theirs)
    remove = client.delete(f"{PASSKEYS}/{passkey['id']}", headers=theirs)
    missing = client.delete(f"{PASSKEYS}/{passkey['id'] + 1000}", headers=theirs)

    assert answer(rename) == answer(remove) == answer(missing)
    assert answer(missing) == refusal(
        404, "not_found", "passkey_not_found", "no such passkey on this account"
    )
    stored = the_passkey(session)
    assert stored.name == passkey["name"]
    assert client.get(PASSKEYS, headers=theirs).get_json() == {"passkeys": []}
    assert len(rows(session, OutboxMessage)) == notices
    assert audits(session, "passkey_rename") == audits(session, "passkey_remove") == []
    assert sign_in(client, device).status_code == 200


def test_another_account_cannot_use_your_registration_request(
    client: FlaskClient,
    session: Session,
    owner: Account,
    intruder: Account,
    token: str,
) -> None:
    """A registration request id belongs to the account that started it: the intruder's
    session with the owner's request id stores no passkey for either account."""
    owners = begin(client, REGISTER, token)
    theirs = log_in(client, OTHER_BHXH, OTHER_PASSWORD)
    credential = SoftAuthenticator(origin=ORIGIN).create(owners["options"])

    refused = finish(client, REGISTER, owners["request_id"], credential, theirs)

    assert error(refused) == (400, "invalid_passkey")
    assert rows(session, Passkey) == []
    session.refresh(intruder)
    assert intruder.webauthn_user_id is None


# -- what the owner hears, what the audit keeps, the throttle ---------------------------------


def test_notices_go_to_the_phone_and_the_address_with_no_secret(
    client: FlaskClient,
    session: Session,
    owner: Account,
    token: str,
    device: SoftAuthenticator,
) -> None:
    """Adding, recovering with and removing a passkey each queue one SMS to the phone and one
    email to the address; a sign-in queues nothing. No token, password, credential id,
    challenge or handle is in any of them, and the passkey's name is escaped in HTML."""
    registering = begin(client, REGISTER, token)
    credential = device.create(registering["options"])
    added = finish(
        client, REGISTER, registering["request_id"], credential, token, name="<b>Máy</b>"
    ).get_json()["passkey"]
    after_add = rows(session, OutboxMessage)
    signed_in = sign_in(client, device).get_json()["token"]
    after_sign_in = rows(session, OutboxMessage)
    recovering = begin(client, RECOVER)
    restricted = finish(
        client, RECOVER, recovering["request_id"], device.get(recovering["options"])
    ).get_json()["token"]
    removed = client.delete(f"{PASSKEYS}/{added['id']}", headers=bearer(signed_in))
    assert removed.status_code == 204

    notices = rows(session, OutboxMessage)
    assert len(after_add) == len(after_sign_in) == 2
    assert [(n.channel, n.recipient) for n in notices] == [
        (Channel.SMS, owner.phone),
        (Channel.EMAIL, EMAIL),
    ] * 3
    held = device.credentials[0]
    secrets_ = [
        PASSWORD,
        token,
        signed_in,
        restricted,
        credential["id"],
        registering["request_id"],
        registering["options"]["challenge"],
        recovering["request_id"],
        recovering["options"]["challenge"],
        b64url(held.user_handle),
        b64url(held.cose_public_key),
    ]
    for notice in notices:
        shown = " ".join(filter(None, (notice.subject, notice.text, notice.html)))
        assert not [s for s in secrets_ if s in shown], notice.text
        assert (notice.text, notice.html) == (notice.safe_text, notice.safe_html)
    emails = [n for n in notices if n.channel is Channel.EMAIL]
    assert "<b>Máy</b>" in emails[0].text
    assert "&lt;b&gt;Máy&lt;/b&gt;" in (emails[0].html or "")
    assert "<b>Máy</b>" not in (emails[0].html or "")


def test_every_change_is_audited_with_the_clients_address(
    client: FlaskClient,
    session: Session,
    owner: Account,
    token: str,
    device: SoftAuthenticator,
) -> None:
    """Add, rename, sign in, recover and remove each leave an audit row naming the account
    (masked), the passkey and the address the request came from."""
    added = add_passkey(client, token, device).get_json()["passkey"]
    client.patch(f"{PASSKEYS}/{added['id']}", json={"name": "Máy"}, headers=bearer(token))
    assert sign_in(client, device).status_code == 200
    assert sign_in(client, device, path=RECOVER).status_code == 200
    client.delete(f"{PASSKEYS}/{added['id']}", headers=bearer(token))

    events = [e for e in rows(session, AuditEvent) if e.detail == f"passkey {added['id']}"]

    assert [(e.action, e.outcome) for e in events] == [
        ("passkey_add", "added"),
        ("passkey_rename", "renamed"),
        ("login", "passkey"),
        ("passkey_recovery", "passkey"),
        ("passkey_remove", "removed"),
    ]
    for event in events:
        assert (event.account_id, event.client_ip, event.channel) == (owner.id, CLIENT_IP, "api")
        assert BHXH not in event.subject


def test_a_passkey_sign_in_clears_the_login_throttle_of_the_account(
    client: FlaskClient,
    session: Session,
    passkey: Body,
    device: SoftAuthenticator,
) -> None:
    """Someone else's wrong guesses (by personal ID here) held the owner's password back;
    proving the passkey clears the account's count, and only it, so the password works again
    at once by either identifier."""
    for identifier in (PERSONAL_ID, "0999999999"):
        for _ in range(6):
            wrong = client.post(LOGIN, json={"bhxh": identifier, "password": "not it"})
            assert wrong.status_code == 401
    for identifier in (BHXH, PERSONAL_ID):
        held_back = client.post(LOGIN, json={"bhxh": identifier, "password": PASSWORD})
        assert held_back.status_code == 429, identifier
    assert len(rows(session, LoginFailure)) == 2

    assert sign_in(client, device).status_code == 200

    assert [f.identifier for f in rows(session, LoginFailure)] == ["0999999999"]
    for identifier in (BHXH, PERSONAL_ID):
        log_in(client, identifier)


# -- malformed requests: always a 4xx, never a 500 --------------------------------------------

# Whole requests a broken client or an attacker might send, as client.post keyword arguments,
# given the ceremony's request id ``r`` and a good answer ``g``.
DEEP = json.loads("[" * 40 + "]" * 40)
BROKEN_BODIES: dict[str, Callable[[str, Body], Body]] = {
    "not JSON": lambda r, g: {"data": b"{not json", "content_type": "application/json"},
    "not a JSON content type": lambda r, g: {"data": b"{}", "content_type": "text/plain"},
    "a JSON array": lambda r, g: {"json": [r, g]},
    "JSON null": lambda r, g: {"data": b"null", "content_type": "application/json"},
    "too large": lambda r, g: {"json": {"request_id": r, "credential": g, "x": "x" * 20_000}},
    "nested too deep": lambda r, g: {"json": {"request_id": r, "credential": DEEP}},
    "no request id": lambda r, g: {"json": {"credential": g}},
    "request id a number": lambda r, g: {"json": {"request_id": 7, "credential": g}},
    "request id too long": lambda r, g: {"json": {"request_id": r * 2, "credential": g}},
    "request id with NUL": lambda r, g: {"json": {"request_id": r + "\x00", "credential": g}},
    "no credential": lambda r, g: {"json": {"request_id": r}},
    "credential null": lambda r, g: {"json": {"request_id": r, "credential": None}},
    "credential a string": lambda r, g: {"json": {"request_id": r, "credential": json.dumps(g)}},
    "credential a list": lambda r, g: {"json": {"request_id": r, "credential": [g]}},
    "credential empty": lambda r, g: {"json": {"request_id": r, "credential": {}}},
}
# One field of a good answer replaced (``...``: removed).
BROKEN_FIELDS: dict[str, tuple[tuple[str, ...], Any]] = {
    "no response": (("response",), ...),
    "response a string": (("response",), "x"),
    "raw id not base64": (("rawId",), "%%% not b64 $$$"),
    "client data not base64": (("response", "clientDataJSON"), "***"),
    "client data not JSON": (("response", "clientDataJSON"), b64url(b"\xff\xfe not json")),
    "client data a JSON list": (("response", "clientDataJSON"), b64url(b"[1, 2]")),
    "client data without challenge": (("response", "clientDataJSON"), b64url(b'{"type": 5}')),
    "type not public-key": (("type",), "password"),
    "unknown attachment": (("authenticatorAttachment",), "bluetooth"),
}
BROKEN_ASSERTION_FIELDS = {
    **BROKEN_FIELDS,
    "authenticator data too short": (("response", "authenticatorData"), b64url(b"\x05" * 5)),
    "no authenticator data": (("response", "authenticatorData"), ...),
    "signature not DER": (("response", "signature"), b64url(b"\x30\x02\x00")),
    "no signature": (("response", "signature"), ...),
    "user handle not base64": (("response", "userHandle"), "@"),
}
_SHORT = {"fmt": "none", "attStmt": {}, "authData": b"\x00" * 37}
BROKEN_REGISTRATION_FIELDS = {
    **BROKEN_FIELDS,
    "attestation not CBOR": (("response", "attestationObject"), b64url(b"\xff")),
    "attestation a CBOR list": (("response", "attestationObject"), b64url(cbor2.dumps([1, 2]))),
    "attestation data too short": (("response", "attestationObject"), b64url(cbor2.dumps(_SHORT))),
    "no attestation": (("response", "attestationObject"), ...),
}


def broken_requests(
    request_id: str, good: Body, fields: dict[str, tuple[tuple[str, ...], Any]]
) -> dict[str, Body]:
    """Every broken request for one ceremony, by name, as client.post keyword arguments."""
    bodies = {name: build(request_id, good) for name, build in BROKEN_BODIES.items()}
    for name, (path, value) in fields.items():
        bodies[name] = {
            "json": {"request_id": request_id, "credential": tampered(good, path, value)}
        }
    return bodies


def not_4xx(response: TestResponse) -> str | None:
    """Say what is wrong with a refusal: not a 4xx, not a JSON error, or a token given."""
    body = response.get_json(silent=True)
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}"
    if not isinstance(body, dict) or "error" not in body or "token" in body:
        return f"body {body!r}"
    return None


@pytest.mark.parametrize("path", [SIGN_IN, RECOVER])
def test_malformed_sign_in_answers_are_4xx_never_5xx(
    client: FlaskClient,
    session: Session,
    passkey: Body,
    device: SoftAuthenticator,
    path: str,
) -> None:
    """Every malformed body or answer to a sign-in or recovery is a JSON 4xx, and none signs
    anyone in or moves the passkey's counter."""
    wrong: dict[str, str] = {}
    for name in [*BROKEN_BODIES, *BROKEN_ASSERTION_FIELDS]:
        begun = begin(client, path)
        good = device.get(begun["options"], sign_count=1)
        kwargs = broken_requests(begun["request_id"], good, BROKEN_ASSERTION_FIELDS)[name]
        problem = not_4xx(client.post(f"{path}/verify", **kwargs))
        if problem:
            wrong[name] = problem

    assert wrong == {}
    assert the_passkey(session).sign_count == 0
    assert audits(session, "login", "passkey") == []
    assert audits(session, "passkey_recovery", "passkey") == []


def test_malformed_registration_answers_are_4xx_never_5xx(
    client: FlaskClient, session: Session, token: str
) -> None:
    """Every malformed body or answer to a registration is a JSON 4xx and stores nothing."""
    wrong: dict[str, str] = {}
    for name in [*BROKEN_BODIES, *BROKEN_REGISTRATION_FIELDS, "name a number"]:
        begun = begin(client, REGISTER, token)
        good = SoftAuthenticator(origin=ORIGIN).create(begun["options"])
        requests = broken_requests(begun["request_id"], good, BROKEN_REGISTRATION_FIELDS)
        requests["name a number"] = {
            "json": {"request_id": begun["request_id"], "credential": good, "name": 5}
        }
        problem = not_4xx(
            client.post(f"{REGISTER}/verify", headers=bearer(token), **requests[name])
        )
        if problem:
            wrong[name] = problem

    assert wrong == {}
    assert rows(session, Passkey) == []
    assert rows(session, OutboxMessage) == []


def test_malformed_renames_are_4xx_and_a_long_name_is_cut_to_64(
    client: FlaskClient, session: Session, token: str, passkey: Body, device: SoftAuthenticator
) -> None:
    """A registration's name is cleaned and cut to 64 characters; a rename too long, empty
    once cleaned, not a string or missing is a 4xx and changes nothing."""
    long_name = "\tMáy\ncủa\u200b  An " + "x" * 10_000
    named = add_passkey(client, token, SoftAuthenticator(origin=ORIGIN), name=long_name)
    assert named.status_code == 201
    assert named.get_json()["passkey"]["name"] == ("Máy của An " + "x" * 64)[:64]
    url = f"{PASSKEYS}/{passkey['id']}"

    refusals = {
        "too long": client.patch(url, json={"name": "x" * 10_000}, headers=bearer(token)),
        "blank once cleaned": client.patch(url, json={"name": "\u200b\t "}, headers=bearer(token)),
        "empty": client.patch(url, json={"name": ""}, headers=bearer(token)),
        "a number": client.patch(url, json={"name": 5}, headers=bearer(token)),
        "missing": client.patch(url, json={}, headers=bearer(token)),
        "not JSON": client.patch(
            url, data=b"name=x", content_type="application/json", headers=bearer(token)
        ),
        "not an id": client.patch(f"{PASSKEYS}/abc", json={"name": "x"}, headers=bearer(token)),
    }

    assert {name: not_4xx(r) for name, r in refusals.items()} == dict.fromkeys(refusals)
    assert rows(session, Passkey)[0].name == passkey["name"]
    cut = client.patch(url, json={"name": "y" * 256}, headers=bearer(token))
    assert cut.get_json()["passkey"]["name"] == "y" * 64


# -- one challenge, many threads --------------------------------------------------------------


@pytest.mark.parametrize("synced", [True, False], ids=["synced", "device-bound"])
def test_one_sign_in_challenge_answered_by_many_threads_signs_in_once(
    app: Flask, client: FlaskClient, session: Session, token: str, synced: bool
) -> None:
    """The same request id and answer from eight threads at once: exactly one session and one
    audit row. A synced passkey's counter (always 0) cannot catch the replay: only the
    challenge being spent at most once does."""
    phone = SoftAuthenticator(origin=ORIGIN)
    assert add_passkey(client, token, phone, synced=synced).status_code == 201
    begun = begin(client, SIGN_IN)
    body = {"request_id": begun["request_id"], "credential": phone.get(begun["options"])}

    def answer_it(c: FlaskClient) -> TestResponse:
        return c.post(f"{SIGN_IN}/verify", json=body)

    statuses = at_once(app, [answer_it] * THREADS)

    assert sorted(statuses) == [200] + [401] * (THREADS - 1)
    assert the_passkey(session).sign_count == (0 if synced else 1)
    assert len(audits(session, "login", "passkey")) == 1


def test_one_registration_challenge_answered_by_many_threads_adds_one_passkey(
    app: Flask, client: FlaskClient, session: Session, token: str
) -> None:
    """Eight different new passkeys answering one registration challenge at once: exactly one
    is stored, and one pair of notices is queued."""
    begun = begin(client, REGISTER, token)

    def caller(credential: Body) -> Callable[[FlaskClient], TestResponse]:
        return lambda c: finish(c, REGISTER, begun["request_id"], credential, token)

    devices = [SoftAuthenticator(origin=ORIGIN) for _ in range(THREADS)]
    statuses = at_once(app, [caller(d.create(begun["options"])) for d in devices])

    assert sorted(statuses) == [201] + [400] * (THREADS - 1)
    assert len(rows(session, Passkey)) == 1
    assert len(rows(session, OutboxMessage)) == 2


def test_clones_racing_with_one_counter_value_sign_in_once(
    app: Flask, client: FlaskClient, session: Session, passkey: Body, device: SoftAuthenticator
) -> None:
    """Eight copies of one device-bound passkey, each with its own challenge, all presenting
    counter 1 at once: the passkey's row is locked, so exactly one is accepted."""
    answers = []
    for _ in range(THREADS):
        begun = begin(client, SIGN_IN)
        credential = device.get(begun["options"], sign_count=1)
        answers.append({"request_id": begun["request_id"], "credential": credential})

    def caller(body: Body) -> Callable[[FlaskClient], TestResponse]:
        return lambda c: c.post(f"{SIGN_IN}/verify", json=body)

    statuses = at_once(app, [caller(body) for body in answers])

    assert sorted(statuses) == [200] + [401] * (THREADS - 1)
    assert the_passkey(session).sign_count == 1
    assert len(audits(session, "login", "sign_count_regressed")) == THREADS - 1


def test_the_tenth_passkey_raced_for_is_added_once(
    app: Flask, client: FlaskClient, session: Session, token: str
) -> None:
    """At nine passkeys, eight ceremonies finishing at once: one tenth passkey, seven 409s
    (the account's row is locked while it counts)."""
    for _ in range(9):
        assert add_passkey(client, token, SoftAuthenticator(origin=ORIGIN)).status_code == 201
    begun = [begin(client, REGISTER, token) for _ in range(THREADS)]

    def caller(started: Body) -> Callable[[FlaskClient], TestResponse]:
        credential = SoftAuthenticator(origin=ORIGIN).create(started["options"])
        return lambda c: finish(c, REGISTER, started["request_id"], credential, token)

    statuses = at_once(app, [caller(started) for started in begun])

    assert sorted(statuses) == [201] + [409] * (THREADS - 1)
    assert len(rows(session, Passkey)) == 10


# -- what an authenticator claims, kept within the columns ------------------------------------


@pytest.mark.parametrize(("length", "status"), [(1023, 201), (1024, 400), (1100, 400)])
def test_a_credential_id_longer_than_1023_bytes_is_refused(
    client: FlaskClient, session: Session, token: str, length: int, status: int
) -> None:
    """WebAuthn L3 §7.1 step 24: an id over 1023 bytes fails the registration (400, nothing
    stored; on PostgreSQL it would otherwise overflow the column); 1023 bytes is taken."""
    begun = begin(client, REGISTER, token)
    credential = SoftAuthenticator(origin=ORIGIN).create(begun["options"])
    long_id = secrets.token_bytes(length)

    added = finish(
        client, REGISTER, begun["request_id"], with_credential_id(credential, long_id), token
    )

    assert added.status_code == status, added.get_json()
    assert [p.credential_id for p in rows(session, Passkey)] == (
        [b64url(long_id)] if status == 201 else []
    )


def test_a_repeated_transports_list_is_stored_once_each(
    client: FlaskClient, session: Session, token: str
) -> None:
    """A client listing transports forty times over gets its passkey with each listed once
    (never a 500 for a value too long for the column)."""
    begun = begin(client, REGISTER, token)
    credential = SoftAuthenticator(origin=ORIGIN).create(begun["options"])
    repeated = tampered(credential, ("response", "transports"), ["internal", "hybrid"] * 40)

    added = finish(client, REGISTER, begun["request_id"], repeated, token)

    assert added.status_code == 201, added.get_json()
    assert added.get_json()["passkey"]["transports"] == ["internal", "hybrid"]
    assert the_passkey(session).transports == "internal,hybrid"


@pytest.mark.parametrize("passkey_id", ["0", str(2**63 - 1), str(2**63), "9" * 40])
def test_a_passkey_id_no_row_can_have_is_404(
    client: FlaskClient, token: str, passkey: Body, passkey_id: str
) -> None:
    """Any integer in the URL, even past 64 bits, is simply not found (never a 500)."""
    url = f"{PASSKEYS}/{passkey_id}"

    answers = [
        client.patch(url, json={"name": "x"}, headers=bearer(token)),
        client.delete(url, headers=bearer(token)),
    ]

    assert [r.status_code for r in answers] == [404, 404]
    assert {r.get_json()["error"] for r in answers} == {"not_found"}
