"""Account information: add or change the email that receives notices and OTPs."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from gateway.email.change import confirm_email_change, request_email_change
from gateway.email.fields import email_field, identifier_field, otp_field
from gateway.email.otp import OTP_REFUSED
from gateway.errors import InvalidOtp
from gateway.web import db_session, json_body, runtime, string_field

bp = Blueprint("account", __name__, url_prefix="/api/v1/account")


@bp.post("/email")
def change_email() -> ResponseReturnValue:
    """Prove the current password; an OTP goes to the new address."""
    data = json_body()
    identifier = identifier_field(data, runtime().settings)
    password, email = string_field(data, "password"), email_field(data)
    session = db_session()
    result = request_email_change(
        session, identifier, password, email, settings=runtime().settings, now=runtime().clock.now()
    )
    session.commit()  # failed attempts count even when we refuse
    if result.error is not None:
        raise result.error
    return jsonify(status="otp_sent"), 202


@bp.post("/email/confirm")
def confirm_email() -> ResponseReturnValue:
    """Prove the OTP sent to the new address; it becomes the account's email."""
    data = json_body()
    identifier, code = identifier_field(data, runtime().settings), otp_field(data)
    session = db_session()
    confirmed = confirm_email_change(
        session, identifier, code, settings=runtime().settings, now=runtime().clock.now()
    )
    session.commit()
    if not confirmed:
        raise InvalidOtp(OTP_REFUSED)
    return jsonify(status="confirmed")
