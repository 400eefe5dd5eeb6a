"""Account information: add or change the email that receives notices and OTPs."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.accounts.http import account_context, step_up_code
from gateway.email.change import confirm_email_change, request_email_change
from gateway.email.fields import email_field, identifier_field, otp_field
from gateway.email.otp import OTP_REFUSED
from gateway.errors import InvalidOtp, Why
from gateway.web import db_session, json_body, runtime, string_field

bp = Blueprint("email_change", __name__, url_prefix="/api/v1/account")


@bp.post("/email")
def change_email() -> ResponseReturnValue:
    """Prove the account's own password; an OTP goes to the new address."""
    data = json_body()
    identifier = identifier_field(data, runtime().settings)
    password, email = string_field(data, "password", max_length=1024), email_field(data)
    request_email_change(account_context(), identifier, password, email, step_up_code())
    return jsonify(status="otp_sent"), 202


@bp.post("/email/confirm")
def confirm_email() -> ResponseReturnValue:
    """Prove the OTP sent to the new address; it becomes the account's email."""
    data = json_body()
    rt = runtime()
    identifier, code = identifier_field(data, rt.settings), otp_field(data)
    session = db_session()
    confirmed = confirm_email_change(
        session,
        identifier,
        code,
        settings=rt.settings,
        catalog=rt.catalog,
        now=rt.clock.now(),
        client_ip=request.remote_addr,
    )
    session.commit()
    if not confirmed:
        raise InvalidOtp(OTP_REFUSED, why=Why.OTP_REFUSED)
    return jsonify(status="confirmed")
