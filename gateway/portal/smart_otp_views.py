"""Smart OTP in the portal: set it up on the phone, turn it off, and recover with a code.

All plain forms (no script): the seed is shown once as a QR code (segno, a data: URL the CSP
allows) and as text in groups of 4, and becomes the account's only when a code from the app
comes back. Turning it on again replaces the old phone; that, and turning it off, need a
current code as well as a recent sign-in (gateway/accounts/smart_otp.py).
"""

from __future__ import annotations

import segno
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from gateway.accounts import smart_otp
from gateway.accounts.http import CODE_LENGTH, account_context
from gateway.accounts.sessions import Claims
from gateway.accounts.smart_otp_recovery import recover_with_smart_otp
from gateway.errors import RequestRefused, Why
from gateway.portal import guard
from gateway.portal.proof import reprove_form
from gateway.portal.words import in_vietnamese

bp = Blueprint("portal_smart_otp", __name__, template_folder="templates")
guard.protect(bp)

EXPIRED = "Lần bật Smart OTP này đã hết hạn (15 phút). Hãy bấm “Bật Smart OTP” để bắt đầu lại."
# This page asks for a proof right after signing in; it says so.
_WORDS = in_vietnamese.but(
    {Why.RECENT_PROOF_NEEDED: "Hãy xác nhận lại mật khẩu trước (đăng nhập đã quá {minutes} phút)."}
)


@bp.get("/tai-khoan/smart-otp")
def manage() -> ResponseReturnValue:
    """Say whether Smart OTP is on, with the forms to turn it on, replace it or turn it off."""
    return _page({})


@bp.post("/tai-khoan/smart-otp/xac-nhan")
def confirm_proof() -> ResponseReturnValue:
    """Prove the password (or a Smart OTP code) again before a change here."""
    return reprove_form(_page, "portal_smart_otp.manage")


@bp.post("/tai-khoan/smart-otp/bat")
@guard.with_claims
def enrol(claims: Claims) -> ResponseReturnValue:
    """Make a new seed and show it once, with the field for the app's first code."""
    try:
        enrolment = smart_otp.begin_enrolment(account_context("portal"), claims, _code())
    except RequestRefused as exc:
        return _page(_refusal(exc), exc.status)
    return _enrol_page(enrolment, {})


@bp.post("/tai-khoan/smart-otp/kich-hoat")
@guard.with_claims
def confirm(claims: Claims) -> ResponseReturnValue:
    """Turn the new seed on with a code from the app."""
    ctx, code = account_context("portal"), _code()
    with ctx.sessions() as read:
        # Still waiting: the same seed is shown again, to the person who asked for it.
        pending = smart_otp.pending_enrolment(read, claims.account_id, ctx.now)
    if pending is None:
        return _page({"form": EXPIRED}, 400)
    if not code:
        return _enrol_page(pending, {"code": "Nhập mã gồm 6 chữ số trong ứng dụng."}, 400)
    try:
        smart_otp.confirm_enrolment(ctx, claims, code)
    except RequestRefused as exc:
        if exc.why is Why.SMART_OTP_CODE_MISMATCH:
            return _enrol_page(pending, {"code": in_vietnamese(exc)}, status=400)
        return _page(_refusal(exc), exc.status)
    session["notice"] = "Đã bật Smart OTP. Chúng tôi đã báo cho số điện thoại và email."
    return redirect(url_for("portal_smart_otp.manage"), code=303)


@bp.post("/tai-khoan/smart-otp/tat")
@guard.with_claims
def disable(claims: Claims) -> ResponseReturnValue:
    """Turn Smart OTP off (a recent sign-in and a current code)."""
    try:
        smart_otp.disable(account_context("portal"), claims, _code())
    except RequestRefused as exc:
        # Shown beside the turn-off form's own field, not the replace-phone form's.
        refusal = {("code-off" if k == "code" else k): v for k, v in _refusal(exc).items()}
        return _page(refusal, exc.status)
    session["notice"] = "Đã tắt Smart OTP. Chúng tôi đã báo cho số điện thoại và email."
    return redirect(url_for("portal_smart_otp.manage"), code=303)


@bp.route("/quen-mat-khau/smart-otp", methods=["GET", "POST"])
def recover() -> ResponseReturnValue:
    """Recover with the number and a code from the app: the page that sets a new password."""
    if request.method == "GET":
        return render_template("portal/smart_otp_recover.html", values={}, errors={})
    values = {"bhxh": request.form.get("bhxh", "").strip()[:12]}
    code = _code()
    errors = {}
    if not values["bhxh"]:
        errors["bhxh"] = "Nhập mã số BHXH (10 chữ số) hoặc số CCCD (12 chữ số)."
    if not code:
        errors["code"] = "Nhập mã gồm 6 chữ số trong ứng dụng Smart OTP."
    if errors:
        return render_template("portal/smart_otp_recover.html", values=values, errors=errors), 400
    try:
        granted = recover_with_smart_otp(account_context("portal"), values["bhxh"], code or "")
    except RequestRefused as exc:
        page = render_template(
            "portal/smart_otp_recover.html", values=values, errors={"code": in_vietnamese(exc)}
        )
        return page, exc.status
    guard.start_session(granted.account, restricted=True)
    return redirect(url_for("portal_account.change_password"), code=303)


def _code() -> str | None:
    code = request.form.get("code", "").strip()[:CODE_LENGTH]
    return code or None


def _refusal(exc: RequestRefused) -> dict[str, str]:
    """Say a refusal beside the field it is about: the code's, the password's, or the form's."""
    field = {"smart_otp_required": "code", "recent_proof_required": "current"}.get(exc.code)
    return {field or "form": _WORDS(exc)}


def _page(errors: dict[str, str], status: int | None = None) -> ResponseReturnValue:
    claims, account = guard.signed_in(), guard.signed_in_account()
    if claims is None or account is None:
        return guard.to_sign_in()
    ctx = account_context("portal")
    with ctx.sessions() as read:
        since = smart_otp.enabled_since(read, account.id)
    return render_template(
        "portal/smart_otp.html",
        since=since,
        recent=claims.proved_recently(ctx.now),
        errors=errors,
        notice=session.pop("notice", None),
    ), status or (400 if errors else 200)


def _enrol_page(
    enrolment: smart_otp.Enrolment, errors: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    qr = segno.make(enrolment.otpauth_uri, error="m")
    return render_template(
        "portal/smart_otp_enrol.html",
        enrolment=enrolment,
        qr=qr.png_data_uri(scale=5, border=2),
        errors=errors,
    ), status
