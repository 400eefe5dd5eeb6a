"""The free recovery by email, for the VssID app and the web portal.

The verify step never mails a password: it sets the one sent with the code, or answers a
restricted session token for ``POST /api/v1/auth/password``.

``POST /recovery/email`` answers the same whatever the number and address, and only stores
the request: the worker matches it and emails the OTP. The portal must solve a captcha from
``GET /captcha``; the app, identified by GATEWAY_APP_CREDENTIAL, skips it.
"""

from __future__ import annotations

import base64
import hmac

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from gateway.accounts.http import account_context, session_answer
from gateway.email.captcha import create_captcha
from gateway.email.fields import email_field, identifier_field, optional_string, otp_field
from gateway.email.otp import OTP_REFUSED
from gateway.email.recovery import (
    Verified,
    recover_with_otp,
    request_recovery,
    request_recovery_with_captcha,
)
from gateway.errors import InvalidCaptcha, InvalidCredentials, InvalidOtp, Why
from gateway.web import db_session, json_body, runtime

bp = Blueprint("email_recovery", __name__, url_prefix="/api/v1")

APP_CREDENTIAL_HEADER = "X-App-Credential"
ACCEPTED_MESSAGE = (
    "Nếu mã số BHXH và email khớp với hồ sơ, mã xác thực (OTP) sẽ được gửi đến email trong ít phút."
)


@bp.get("/captcha")
def new_captcha() -> ResponseReturnValue:
    """Give a new captcha: its id and its PNG image (a data: URL)."""
    session = db_session()
    settings = runtime().settings
    challenge = create_captcha(session, settings=settings, now=runtime().clock.now())
    session.commit()
    image = "data:image/png;base64," + base64.b64encode(challenge.png).decode()
    response = jsonify(
        captcha_id=challenge.id,
        image=image,
        expires_in=int(settings.captcha_ttl.total_seconds()),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/recovery/email")
def request_email_recovery() -> ResponseReturnValue:
    """Ask for an OTP by email; the answer never tells whether the pair is registered."""
    data = json_body()
    settings = runtime().settings
    identifier, email = identifier_field(data, settings), email_field(data)
    session, now = db_session(), runtime().clock.now()
    captcha = _captcha_of(data)
    if captcha is None:  # the app, identified by its credential
        request_recovery(session, identifier, email, via="app", settings=settings, now=now)
    elif not request_recovery_with_captcha(
        session, identifier, email, *captcha, settings=settings, now=now
    ):
        session.commit()  # a challenge is used up by any answer, right or wrong
        raise InvalidCaptcha(
            "the captcha answer is wrong, expired or already used", why=Why.CAPTCHA_REFUSED
        )
    session.commit()
    response = jsonify(status="accepted", message=ACCEPTED_MESSAGE)
    response.headers["Cache-Control"] = "no-store"
    return response, 202


@bp.post("/recovery/email/verify")
def verify_email_recovery() -> ResponseReturnValue:
    """Prove the OTP; set the chosen password, or get a restricted session to set one."""
    data = json_body()
    rt = runtime()
    identifier, code = identifier_field(data, rt.settings), otp_field(data)
    new_password = optional_string(data, "new_password")
    session = db_session()
    outcome, account = recover_with_otp(session, identifier, code, new_password, account_context())
    session.commit()  # wrong codes count even when we refuse
    if outcome is Verified.REFUSED or account is None:
        raise InvalidOtp(OTP_REFUSED, why=Why.OTP_REFUSED)
    if outcome is Verified.PASSWORD_SET:
        return jsonify(status="changed")
    # No password by mail: a session that can only set one, used right now by the app or page.
    return jsonify(status="verified", **session_answer(account, restricted=True))


def _captcha_of(data: dict[str, object]) -> tuple[str, str] | None:
    """Return the captcha to solve, or None for the app (identified by its credential)."""
    settings = runtime().settings
    credential = request.headers.get(APP_CREDENTIAL_HEADER)
    if credential is not None:
        if settings.app_credential and hmac.compare_digest(
            credential.encode(), settings.app_credential.encode()
        ):
            return None
        raise InvalidCredentials("unknown app credential")
    challenge, answer = data.get("captcha_id"), data.get("captcha_answer")
    if not (isinstance(challenge, str) and isinstance(answer, str) and challenge and answer):
        raise InvalidCaptcha("captcha_id and captcha_answer are required")
    return challenge, answer
