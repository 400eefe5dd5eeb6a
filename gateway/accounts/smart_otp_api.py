"""The Smart OTP API for the VssID app: enrol, confirm, prove, turn off, and recover with a code.

Elsewhere in the API, a current code is the step-up for what protects the account once Smart
OTP is on: it travels in the ``X-Smart-OTP`` header (``DELETE /api/v1/passkeys/<id>`` has no
body to carry it), and its absence answers ``403 smart_otp_required``.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.accounts import smart_otp
from gateway.accounts.http import (
    CODE_LENGTH,
    account_context,
    bearer_claims,
    session_answer,
    step_up_code,
)
from gateway.accounts.sessions import account_for
from gateway.accounts.smart_otp_recovery import recover_with_smart_otp
from gateway.errors import InvalidCredentials, InvalidPayload, Why
from gateway.web import json_body, string_field

bp = Blueprint("accounts_smart_otp", __name__, url_prefix="/api/v1")


@bp.post("/smart-otp/enrol")
def enrol() -> ResponseReturnValue:
    """Make a seed for the app (a sign-in of the last 5 minutes; replacing needs a code)."""
    enrolment = smart_otp.begin_enrolment(account_context(), bearer_claims(), step_up_code())
    return jsonify(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@bp.post("/smart-otp/confirm")
def confirm() -> ResponseReturnValue:
    """Turn the new seed on with a code from the app."""
    claims = bearer_claims()
    smart_otp.confirm_enrolment(account_context(), claims, _code(json_body()))
    return jsonify(status="enabled")


@bp.post("/smart-otp/verify")
def verify() -> ResponseReturnValue:
    """Prove a current code: a fresh session token, for the changes that need a recent proof."""
    claims, ctx = bearer_claims(), account_context()
    code = _code(json_body())
    with ctx.sessions() as session:
        account = account_for(session, claims)
    if claims.restricted or not smart_otp.prove_code(ctx, account.id, code):
        raise InvalidCredentials(
            "the Smart OTP code is wrong, used or expired", why=Why.SMART_OTP_CODE_REFUSED
        )
    return jsonify(session_answer(account, restricted=False))


@bp.delete("/smart-otp")
def disable() -> ResponseReturnValue:
    """Turn Smart OTP off (a recent sign-in and a code, or a recovery's restricted session)."""
    code = step_up_code() or _optional_code()
    smart_otp.disable(account_context(), bearer_claims(), code)
    return "", 204


@bp.post("/recovery/smart-otp")
def recover() -> ResponseReturnValue:
    """Recover with the number and a code: a restricted session that sets a new password."""
    data = json_body()
    identifier = string_field(data, "bhxh", max_length=12)
    granted = recover_with_smart_otp(account_context(), identifier, _code(data))
    return jsonify(session_answer(granted.account, restricted=True))


def _code(data: dict[str, object]) -> str:
    return string_field(data, "code", max_length=CODE_LENGTH)


def _optional_code() -> str | None:
    if not request.get_data():
        return None
    data = json_body()
    code = data.get("code")
    if code is not None and not isinstance(code, str):
        raise InvalidPayload("code must be a string")
    return code[:CODE_LENGTH] if code else None
