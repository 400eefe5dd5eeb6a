"""The passkeys API for the VssID app: the same rules as the portal, in WebAuthn's JSON.

Options come back as ``{"request_id": ..., "options": PublicKeyCredential*OptionsJSON}``; the
answer goes in as ``{"request_id": ..., "credential": RegistrationResponseJSON or
AuthenticationResponseJSON}`` (WebAuthn Level 3). Adding a passkey needs a bearer token issued
in the last five minutes (log in again for one); signing in answers a session token,
recovering a restricted one, exactly as ``/api/v1/auth/login`` does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.accounts.http import account_context, bearer_claims, session_answer, step_up_code
from gateway.accounts.sessions import account_for
from gateway.errors import InvalidPayload
from gateway.passkeys import ceremonies, credentials, signin
from gateway.web import db_session, json_body, string_field

bp = Blueprint("passkeys", __name__, url_prefix="/api/v1")

REQUEST_ID_LENGTH = 64


@bp.post("/passkeys/registration/options")
def registration_options() -> ResponseReturnValue:
    """Start adding a passkey to the token's account (a recent sign-in needed)."""
    begun = credentials.registration_options(account_context(), bearer_claims(), step_up_code())
    return jsonify(request_id=begun.request_id, options=begun.options)


@bp.post("/passkeys/registration/verify")
def registration_verify() -> ResponseReturnValue:
    """Store the new passkey once its answer verifies; tell the owner everywhere."""
    claims = bearer_claims()
    data = json_body()
    name = data.get("name", "")
    if not isinstance(name, str):
        raise InvalidPayload("name must be a string")
    added = credentials.register(
        account_context(),
        claims,
        _request_id(data),
        data.get("credential"),
        name=name[: credentials.NAME_LENGTH * 4],
        user_agent=request.headers.get("User-Agent", "")[:512],
    )
    return jsonify(passkey=added.as_json()), 201


@bp.post("/passkeys/authentication/options")
def authentication_options() -> ResponseReturnValue:
    """Start a passkey sign-in; no identifier is asked."""
    return _begun(signin.options(account_context(), ceremonies.SIGN_IN))


@bp.post("/passkeys/authentication/verify")
def authentication_verify() -> ResponseReturnValue:
    """Sign in with a passkey: a full session, as a password login gives."""
    return _proven(ceremonies.SIGN_IN)


@bp.post("/recovery/passkey/options")
def recovery_options() -> ResponseReturnValue:
    """Start a free recovery with a passkey."""
    return _begun(signin.options(account_context(), ceremonies.RECOVER))


@bp.post("/recovery/passkey/verify")
def recovery_verify() -> ResponseReturnValue:
    """Recover with a passkey: a restricted session that can only set a new password."""
    return _proven(ceremonies.RECOVER)


@bp.get("/passkeys")
def list_passkeys() -> ResponseReturnValue:
    """List the token's account's passkeys (a recovery's restricted session may too)."""
    claims = bearer_claims()
    session = db_session()
    account = account_for(session, claims)
    return jsonify(passkeys=[p.as_json() for p in credentials.list_passkeys(session, account.id)])


@bp.patch("/passkeys/<int:passkey_id>")
def rename_passkey(passkey_id: int) -> ResponseReturnValue:
    """Rename one of the account's passkeys."""
    claims = bearer_claims()
    name = string_field(json_body(), "name", max_length=credentials.NAME_LENGTH * 4)
    renamed = credentials.rename(account_context(), claims, passkey_id, name)
    return jsonify(passkey=renamed.as_json())


@bp.delete("/passkeys/<int:passkey_id>")
def remove_passkey(passkey_id: int) -> ResponseReturnValue:
    """Remove one of the account's passkeys (a recent sign-in, or a recovery's session)."""
    credentials.remove(account_context(), bearer_claims(), passkey_id, step_up_code())
    return "", 204


def _request_id(data: dict[str, Any]) -> str:
    return string_field(data, "request_id", max_length=REQUEST_ID_LENGTH)


def _begun(begun: ceremonies.Begun) -> ResponseReturnValue:
    return jsonify(request_id=begun.request_id, options=begun.options)


def _proven(purpose: str) -> ResponseReturnValue:
    data = json_body()
    proven = signin.authenticate(
        account_context(), purpose, _request_id(data), data.get("credential")
    )
    return jsonify(session_answer(proven.account, restricted=proven.restricted))
