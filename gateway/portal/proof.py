"""A fresh proof for the pages that change what protects the account.

Adding or removing a passkey and turning Smart OTP on or off need a sign-in of the last five
minutes (:data:`gateway.accounts.sessions.RECENT_PROOF`). A person signed in for longer proves
it again here, with the password or, once it is on, a Smart OTP code; the session starts anew.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from gateway.accounts.http import CODE_LENGTH, account_context
from gateway.accounts.login import prove_chosen_password
from gateway.accounts.smart_otp import prove_code
from gateway.errors import RequestRefused, Why
from gateway.models import Account
from gateway.portal import guard
from gateway.portal.words import in_vietnamese

FIELD_LIMIT = 256


def reprove(account: Account, form: MultiDict[str, str]) -> tuple[dict[str, str], int] | None:
    """Check the password or the Smart OTP code in ``form``; None once a fresh session began,
    else the errors by field and the status to answer with."""
    ctx = account_context("portal")
    code = form.get("smart_otp_code", "").strip()[:CODE_LENGTH]
    password = form.get("current", "")[:FIELD_LIMIT]
    if code and not password:
        try:
            accepted = prove_code(ctx, account.id, code)
        except RequestRefused as exc:  # too many wrong tries: the throttle's wait
            return {"smart_otp_code": in_vietnamese(exc)}, exc.status
        if not accepted:
            return {"smart_otp_code": in_vietnamese(Why.SMART_OTP_CODE_REFUSED)}, 401
        guard.start_session(account, restricted=False)
        return None
    if not password:
        return {"current": "Nhập mật khẩu hiện tại."}, 400
    try:
        proven = prove_chosen_password(ctx, account.bhxh, password, action="reauthenticate")
    except RequestRefused as exc:
        return {"current": in_vietnamese(exc)}, exc.status
    guard.start_session(proven, restricted=False)
    return None


def reprove_form(page: Callable[..., ResponseReturnValue], done: str) -> ResponseReturnValue:
    """Answer a page's re-proof form: on to the ``done`` endpoint once proven, else ``page``
    again with the errors by field and the status."""
    account = guard.signed_in_account()
    if account is None:
        return guard.to_sign_in()
    refused = reprove(account, request.form)
    if refused is not None:
        return page(*refused)
    return redirect(url_for(done), code=303)
