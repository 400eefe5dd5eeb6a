"""The login API: log in, set a new password, and say which account a token opens.

A temporary password logs in once, into a restricted session (``must_change_password``) that
only ``POST /auth/password`` and ``GET /auth/me`` accept; every other endpoint answers
``403 {"error": "password_change_required"}`` to it.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from gateway.accounts.http import account_context, bearer_claims, session_answer
from gateway.accounts.login import (
    change_password,
    log_in,
    set_password_with_session,
)
from gateway.accounts.sessions import account_for, bearer_token, read_token, revoke
from gateway.accounts.smart_otp import enabled_since
from gateway.errors import InvalidCredentials, PasswordChangeRequired
from gateway.models import Passkey
from gateway.web import db_session, json_body, runtime, string_field

bp = Blueprint("accounts", __name__, url_prefix="/api/v1/auth")

# The only endpoints a restricted session opens: set the password, say whose it is, and review
# the passkeys in the same step (what a thief added must not survive the owner's recovery).
RESTRICTED_ENDPOINTS = frozenset(
    {
        "accounts.set_password",
        "accounts.me",
        "accounts.logout",
        "passkeys.list_passkeys",
        "passkeys.remove_passkey",
        "accounts_smart_otp.disable",
    }
)


@bp.before_app_request
def _refuse_restricted_sessions() -> None:
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None or request.endpoint in RESTRICTED_ENDPOINTS:
        return
    try:
        claims = read_token(token, settings=runtime().settings, now=runtime().clock.now())
    except InvalidCredentials:
        return  # not a login token (the finance token, say): the endpoint judges it
    if claims.restricted:
        raise PasswordChangeRequired(
            "this session can only set a new password: POST /api/v1/auth/password"
        )


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Log in with a social insurance number (or personal ID) and a password."""
    data = json_body()
    identifier, password = string_field(data, "bhxh", max_length=12), string_field(data, "password")
    granted = log_in(account_context(), identifier, password)
    return jsonify(session_answer(granted.account, restricted=granted.restricted))


@bp.post("/password")
def set_password() -> ResponseReturnValue:
    """Set a new password: with a restricted session's token, or by proving the current one."""
    data = json_body()
    new_password = string_field(data, "new_password", max_length=1024)
    token = bearer_token(request.headers.get("Authorization", ""))
    ctx = account_context()
    claims = read_token(token, settings=ctx.settings, now=ctx.now) if token is not None else None
    if claims is not None and claims.restricted:
        account = set_password_with_session(ctx, claims, new_password)
    else:  # a full session still proves the current password: a lost token is not enough
        identifier = string_field(data, "bhxh", max_length=12)
        password = string_field(data, "password", max_length=1024)
        account = change_password(ctx, identifier, password, new_password)
    return jsonify(status="changed", **session_answer(account, restricted=False))


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End this token now; the app signs in again for the next one."""
    claims = bearer_claims()
    session = db_session()
    account_for(session, claims)  # an already ended token is refused like any invalid one
    revoke(session, claims, runtime().settings)
    session.commit()
    return "", 204


@bp.get("/me")
def me() -> ResponseReturnValue:
    """Tell the holder of a login token which account it opens."""
    claims = bearer_claims()
    session = db_session()
    account = account_for(session, claims)
    passkeys = session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.account_id == account.id)
    )
    return jsonify(
        bhxh=account.bhxh,
        must_change_password=claims.restricted or account.must_change_password,
        passkeys=int(passkeys or 0),
        smart_otp=enabled_since(session, account.id) is not None,
    )
