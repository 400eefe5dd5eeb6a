"""The soft authenticator's output passes (and fails) py_webauthn's own verification."""

from __future__ import annotations

import json
from typing import Any

import pytest
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import CredentialDeviceType
from webauthn.registration.verify_registration_response import VerifiedRegistration

from tests.passkey_authenticator import SoftAuthenticator, b64url_decode

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"


def register(auth: SoftAuthenticator, **knobs: Any) -> tuple[dict[str, Any], VerifiedRegistration]:
    options = generate_registration_options(rp_id=RP_ID, rp_name="Gateway", user_name="an")
    reg = auth.create(json.loads(options_to_json(options)), **knobs)
    verified = verify_registration_response(
        credential=reg,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        require_user_verification=True,
    )
    return reg, verified


def sign_in(auth: SoftAuthenticator, reg: VerifiedRegistration, count: int, **knobs: Any) -> int:
    options = generate_authentication_options(rp_id=RP_ID)
    assertion = auth.get(json.loads(options_to_json(options)), **knobs)
    return verify_authentication_response(
        credential=assertion,
        expected_challenge=options.challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=reg.credential_public_key,
        credential_current_sign_count=count,
        require_user_verification=True,
    ).new_sign_count


def test_registration_then_assertions_count_up() -> None:
    auth = SoftAuthenticator(origin=ORIGIN)
    reg, verified = register(auth)
    assert verified.credential_id == b64url_decode(reg["id"])
    assert verified.sign_count == 0
    assert sign_in(auth, verified, 0) == 1
    assert sign_in(auth, verified, 1) == 2


@pytest.mark.parametrize(
    "knobs", [{"user_verified": False}, {"origin": "http://evil.test"}, {"rp_id": "evil.test"}]
)
def test_registration_refuses(knobs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRegistrationResponse):
        register(SoftAuthenticator(origin=ORIGIN), **knobs)


@pytest.mark.parametrize(
    "knobs", [{"user_verified": False}, {"origin": "http://evil.test"}, {"rp_id": "evil.test"}]
)
def test_assertion_refuses(knobs: dict[str, Any]) -> None:
    auth = SoftAuthenticator(origin=ORIGIN)
    _, verified = register(auth)
    with pytest.raises(InvalidAuthenticationResponse):
        sign_in(auth, verified, 0, **knobs)


def test_synced_passkey_is_multi_device_and_backed_up() -> None:
    auth = SoftAuthenticator(origin=ORIGIN)
    _, verified = register(auth, synced=True)
    assert verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    assert verified.credential_backed_up
    assert sign_in(auth, verified, 0) == 0
