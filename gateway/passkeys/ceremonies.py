"""The WebAuthn ceremonies, done by py_webauthn, and their challenges, kept single use.

A ceremony has two halves. :func:`begin` stores a fresh challenge under a random request id
and returns the options a browser (``navigator.credentials``) or the VssID app needs.
:func:`take` hands the challenge back exactly once, while it is still valid: a conditional
UPDATE, so of two requests racing with one id only one gets it, on SQLite and PostgreSQL
alike. It is spent before the answer is checked, so a failed answer cannot be retried with it.

Every check of an answer (signature, challenge, origin, RP ID hash, user verification) is
py_webauthn's; this module only translates its errors into :class:`PasskeyRefused` (400).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.authentication.verify_authentication_response import VerifiedAuthentication
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from webauthn.registration.verify_registration_response import VerifiedRegistration

from gateway.errors import NotFound, PasskeyRefused, Why
from gateway.models import WebAuthnChallenge
from gateway.settings import Settings, WebAuthnSettings

CHALLENGE_TTL = dt.timedelta(minutes=5)
REGISTER, SIGN_IN, RECOVER = "register", "sign_in", "recover"
T = TypeVar("T")
# Anything py_webauthn or the JSON shape can raise on a malformed answer: a 400, never a 500.
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError, IndexError)


@dataclass(frozen=True, slots=True)
class Begun:
    """A ceremony started: the id to send back with the answer, and the options to use."""

    request_id: str
    options: dict[str, Any]  # PublicKeyCredential{Creation,Request}OptionsJSON


@dataclass(frozen=True, slots=True)
class NewUser:
    """Who a new passkey is for, as the authenticator shows it (no secret, no handle reuse)."""

    handle: str  # base64url of the account's random WebAuthn user id
    name: str
    display_name: str


def relying_party(settings: Settings) -> WebAuthnSettings:
    """Return the WebAuthn settings, or refuse (404) where passkeys are off."""
    webauthn = settings.webauthn
    if webauthn.rp_id is None:
        raise NotFound(
            "passkeys are not enabled on this server (no GATEWAY_WEBAUTHN_RP_ID)",
            why=Why.PASSKEYS_OFF,
        )
    return webauthn


def begin(
    session: Session,
    purpose: str,
    *,
    settings: Settings,
    now: dt.datetime,
    user: NewUser | None = None,
    account_id: int | None = None,
    exclude: Iterable[str] = (),
) -> Begun:
    """Store a fresh challenge for ``purpose`` and return the options that carry it."""
    rp = relying_party(settings)
    assert rp.rp_id is not None
    challenge = secrets.token_bytes(32)
    timeout = int(CHALLENGE_TTL.total_seconds() * 1000)
    if purpose == REGISTER:
        assert user is not None
        options = generate_registration_options(
            rp_id=rp.rp_id,
            rp_name=rp.rp_name,
            user_id=base64url_to_bytes(user.handle),
            user_name=user.name,
            user_display_name=user.display_name,
            challenge=challenge,
            timeout=timeout,
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in exclude
            ],
        )
    else:  # a discoverable credential: no identifier asked, none revealed
        options = generate_authentication_options(
            rp_id=rp.rp_id,
            challenge=challenge,
            timeout=timeout,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
    request_id = secrets.token_urlsafe(32)
    session.add(
        WebAuthnChallenge(
            id=request_id,
            purpose=purpose,
            challenge=bytes_to_base64url(challenge),
            account_id=account_id,
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    return Begun(request_id, json.loads(options_to_json(options)))


def take(
    session: Session, request_id: str, purpose: str, now: dt.datetime
) -> WebAuthnChallenge | None:
    """Spend a challenge: return it once if it is unused, unexpired and for ``purpose``."""
    spent = session.execute(
        update(WebAuthnChallenge)
        .where(
            WebAuthnChallenge.id == request_id,
            WebAuthnChallenge.purpose == purpose,
            WebAuthnChallenge.used_at.is_(None),
            WebAuthnChallenge.expires_at > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(WebAuthnChallenge, request_id)


def parse_registration(answer: object) -> RegistrationCredential:
    """Read a RegistrationResponseJSON; refuse (400) what is not one."""
    return _parsed(parse_registration_credential_json, answer, "a RegistrationResponseJSON")


def parse_assertion(answer: object) -> AuthenticationCredential:
    """Read an AuthenticationResponseJSON; refuse (400) what is not one."""
    return _parsed(parse_authentication_credential_json, answer, "an AuthenticationResponseJSON")


def _parsed(parse: Callable[[dict[str, Any]], T], answer: object, what: str) -> T:
    try:
        return parse(_as_json_object(answer))
    except _MALFORMED:
        raise PasskeyRefused(
            f"the passkey answer is not {what}", why=Why.PASSKEY_MALFORMED
        ) from None


def _expected(challenge: WebAuthnChallenge, settings: Settings) -> dict[str, Any]:
    """What every answer is checked against: its challenge, this RP, its origins, and a user
    verified by the authenticator (a PIN or biometric, not a mere touch)."""
    rp = relying_party(settings)
    assert rp.rp_id is not None
    return {
        "expected_challenge": base64url_to_bytes(challenge.challenge),
        "expected_rp_id": rp.rp_id,
        "expected_origin": list(rp.origins),
        "require_user_verification": True,
    }


def verify_new(
    credential: RegistrationCredential, challenge: WebAuthnChallenge, settings: Settings
) -> VerifiedRegistration:
    """Check a new passkey against its challenge, this RP and its origins (user verified)."""
    try:
        return verify_registration_response(credential=credential, **_expected(challenge, settings))
    except _MALFORMED as exc:
        raise PasskeyRefused(
            f"the new passkey was not accepted: {_why(exc)}", why=Why.PASSKEY_NOT_ACCEPTED
        ) from None


def verify_assertion(
    credential: AuthenticationCredential,
    challenge: WebAuthnChallenge,
    public_key: bytes,
    settings: Settings,
) -> VerifiedAuthentication:
    """Check a passkey's signature of the challenge for this RP and its origins.

    The sign count is judged by the caller (:func:`gateway.passkeys.signin`), which knows
    whether the passkey is synced; py_webauthn is given 0 so that it does not judge it.
    """
    try:
        return verify_authentication_response(
            credential=credential,
            credential_public_key=public_key,
            credential_current_sign_count=0,
            **_expected(challenge, settings),
        )
    except _MALFORMED as exc:
        raise PasskeyRefused(
            f"the passkey was not accepted: {_why(exc)}", why=Why.PASSKEY_NOT_ACCEPTED
        ) from None


def new_user_handle() -> str:
    """Return a random WebAuthn user handle (64 bytes at most by the spec; 32 here)."""
    return bytes_to_base64url(secrets.token_bytes(32))


def _why(exc: Exception) -> str:
    """py_webauthn's reason, without its pointer to the chained exception."""
    return str(exc).split(" See __cause__")[0].rstrip(".") or type(exc).__name__


def _as_json_object(answer: object) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise TypeError("expected a JSON object")
    return answer
