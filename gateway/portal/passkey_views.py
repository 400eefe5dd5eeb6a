"""Passkeys in the portal: sign in and recover with one, and the page that manages them.

The ceremonies run in ``static/passkeys.js`` (no inline script: the CSP allows scripts from
this origin only), which talks to the small JSON endpoints below with the page's CSRF token.
Each ceremony's request id stays in the portal's cookie, so an answer is only taken from the
browser that asked. Everything that is not a ceremony (renaming, removing, confirming the
password) is a plain form that works without JavaScript.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from gateway.accounts.http import CODE_LENGTH, account_context
from gateway.accounts.sessions import Claims
from gateway.accounts.smart_otp import enabled_since
from gateway.errors import RequestRefused, Why
from gateway.passkeys import ceremonies, credentials, signin
from gateway.portal import guard
from gateway.portal.proof import reprove_form
from gateway.portal.words import in_vietnamese
from gateway.web import db_session, runtime

bp = Blueprint("portal_passkeys", __name__, template_folder="templates")
guard.protect(bp)

FIELD_LIMIT = 256
_SESSION_KEYS = {
    ceremonies.SIGN_IN: "passkey_sign_in",
    ceremonies.RECOVER: "passkey_recover",
    ceremonies.REGISTER: "passkey_register",
}


@bp.post("/dang-nhap/khoa-truy-cap/tuy-chon")
def sign_in_options() -> ResponseReturnValue:
    """Start signing in with a passkey (the button, or the browser's autofill)."""
    return _begin(ceremonies.SIGN_IN)


@bp.post("/dang-nhap/khoa-truy-cap")
def sign_in() -> ResponseReturnValue:
    """Finish signing in with a passkey: the same full session as a password."""
    return _finish(ceremonies.SIGN_IN, "portal_account.account_home")


@bp.post("/quen-mat-khau/khoa-truy-cap/tuy-chon")
def recover_options() -> ResponseReturnValue:
    """Start a free recovery with a passkey."""
    return _begin(ceremonies.RECOVER)


@bp.post("/quen-mat-khau/khoa-truy-cap")
def recover() -> ResponseReturnValue:
    """Finish a recovery: the restricted session that sets a new password (and reviews)."""
    return _finish(ceremonies.RECOVER, "portal_account.change_password")


@bp.get("/tai-khoan/khoa-truy-cap")
def manage() -> ResponseReturnValue:
    """List the account's passkeys, with forms to add, rename and remove them."""
    return _manage_page({})


@bp.post("/tai-khoan/khoa-truy-cap/tuy-chon")
def register_options() -> ResponseReturnValue:
    """Start adding a passkey (a password confirmed in the last minutes)."""
    claims = guard.signed_in()
    if claims is None:
        return _refused("invalid_credentials", Why.SESSION_EXPIRED, 401)
    return _begin(ceremonies.REGISTER, claims)


@bp.post("/tai-khoan/khoa-truy-cap/them")
def register() -> ResponseReturnValue:
    """Store the new passkey once the authenticator's answer verifies."""
    claims, body = guard.signed_in(), request.get_json(silent=True)
    request_id = session.pop(_SESSION_KEYS[ceremonies.REGISTER], None)
    if claims is None or not isinstance(body, dict) or not isinstance(request_id, str):
        return _refused("invalid_passkey", Why.PASSKEY_REQUEST_GONE, 400)
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    try:
        added = credentials.register(
            account_context("portal"),
            claims,
            request_id,
            body.get("credential"),
            name=name[:FIELD_LIMIT],
            user_agent=request.headers.get("User-Agent", "")[:512],
        )
    except RequestRefused as exc:
        return _refusal(exc)
    session["notice"] = f"Đã thêm khóa truy cập “{added.name}”."
    return jsonify(redirect=url_for("portal_passkeys.manage"))


@bp.post("/tai-khoan/khoa-truy-cap/<int:passkey_id>/doi-ten")
@guard.with_claims
def rename(claims: Claims, passkey_id: int) -> ResponseReturnValue:
    """Rename a passkey (a form: works without JavaScript)."""
    try:
        name = request.form.get("name", "")[:FIELD_LIMIT]
        renamed = credentials.rename(account_context("portal"), claims, passkey_id, name)
    except RequestRefused as exc:
        field = f"name-{passkey_id}" if exc.why is Why.PASSKEY_NAME_INVALID else "form"
        return _manage_page({field: in_vietnamese(exc)}, status=exc.status)
    session["notice"] = f"Đã đổi tên thành “{renamed.name}”."
    return redirect(url_for("portal_passkeys.manage"), code=303)


@bp.post("/tai-khoan/khoa-truy-cap/<int:passkey_id>/xoa")
@guard.with_claims
def remove(claims: Claims, passkey_id: int) -> ResponseReturnValue:
    """Remove a passkey (a password confirmed in the last minutes)."""
    code = request.form.get("smart_otp_code", "").strip()[:CODE_LENGTH] or None
    try:
        credentials.remove(account_context("portal"), claims, passkey_id, code)
    except RequestRefused as exc:
        step_up = exc.code == "smart_otp_required"
        field = f"smart_otp_code-{passkey_id}" if step_up else "current"
        return _manage_page({field: in_vietnamese(exc)}, status=exc.status)
    session["notice"] = "Đã xóa khóa truy cập. Chúng tôi đã báo cho số điện thoại và email."
    return redirect(url_for("portal_passkeys.manage"), code=303)


@bp.post("/tai-khoan/xac-nhan")
def confirm_password() -> ResponseReturnValue:
    """Prove the password (or a Smart OTP code) again: the next minutes allow changes."""
    return reprove_form(_manage_page, "portal_passkeys.manage")


def _begin(purpose: str, claims: Claims | None = None) -> ResponseReturnValue:
    ctx = account_context("portal")
    try:
        if purpose == ceremonies.REGISTER:
            assert claims is not None
            body = request.get_json(silent=True)
            code = body.get("smart_otp_code") if isinstance(body, dict) else None
            code = code.strip()[:CODE_LENGTH] if isinstance(code, str) else None
            begun = credentials.registration_options(ctx, claims, code or None)
        else:
            begun = signin.options(ctx, purpose)
    except RequestRefused as exc:
        return _refusal(exc)
    session[_SESSION_KEYS[purpose]] = begun.request_id
    return jsonify(options=begun.options)


def _finish(purpose: str, target: str) -> ResponseReturnValue:
    body = request.get_json(silent=True)
    request_id = session.pop(_SESSION_KEYS[purpose], None)
    if not isinstance(body, dict) or not isinstance(request_id, str):
        return _refused("invalid_credentials", Why.PASSKEY_SIGN_IN_REFUSED, 401)
    try:
        proven = signin.authenticate(
            account_context("portal"), purpose, request_id, body.get("credential")
        )
    except RequestRefused as exc:
        # A malformed answer is a 400, but the person reads the same words as for a refusal.
        if exc.code == "invalid_passkey":
            return _refused(exc.code, Why.PASSKEY_SIGN_IN_REFUSED, exc.status)
        return _refusal(exc)
    guard.start_session(proven.account, restricted=proven.restricted)
    return jsonify(redirect=url_for(target))


def _refusal(exc: RequestRefused) -> ResponseReturnValue:
    return jsonify(error=exc.code, message=in_vietnamese(exc)), exc.status


def _refused(code: str, why: Why, status: int) -> ResponseReturnValue:
    return jsonify(error=code, message=in_vietnamese(why)), status


def _manage_page(errors: dict[str, str], status: int | None = None) -> ResponseReturnValue:
    claims, account = guard.signed_in(), guard.signed_in_account()
    if claims is None or account is None:
        return guard.to_sign_in()
    rt, db = runtime(), db_session()
    passkeys = credentials.list_passkeys(db, account.id)
    step_up = enabled_since(db, account.id) is not None
    db.rollback()
    return render_template(
        "portal/passkeys.html",
        account=account,
        passkeys=passkeys,
        recent=claims.proved_recently(rt.clock.now()),
        enabled=rt.settings.webauthn.rp_id is not None,
        errors=errors,
        notice=session.pop("notice", None),
        max_passkeys=credentials.MAX_PER_ACCOUNT,
        step_up=step_up,
    ), status or (400 if errors else 200)
