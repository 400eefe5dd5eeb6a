"""Sign in, set a new password, add or change the email: the account pages of the portal.

The same use cases as the login and account APIs. A temporary password signs in to a
restricted session that :mod:`gateway.portal.guard` sends to ``/doi-mat-khau`` and nowhere else.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from gateway.accounts.http import CODE_LENGTH, account_context
from gateway.accounts.login import change_password as change_own_password
from gateway.accounts.login import log_in, set_password_with_session
from gateway.accounts.sessions import revoke
from gateway.accounts.smart_otp import enabled_since
from gateway.email.change import confirm_email_change, request_email_change
from gateway.email.fields import email_field, otp_field
from gateway.errors import InvalidPayload, RequestRefused, StepUpRequired
from gateway.models import Account
from gateway.portal import guard
from gateway.portal.review import apply_review, review_of
from gateway.portal.words import in_vietnamese
from gateway.web import db_session, runtime

bp = Blueprint("portal_account", __name__, template_folder="templates")
guard.protect(bp)

FIELD_LIMIT = 256
MISMATCH = "Hai lần nhập mật khẩu mới không giống nhau."
CODE_REFUSED = (
    "Mã không đúng, đã hết hạn hoặc đã được dùng. Hãy kiểm tra email mới hoặc xin mã khác."
)


@bp.route("/dang-nhap", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Sign in with the number and a password; a temporary one leads to /doi-mat-khau."""
    if request.method == "GET":
        bhxh = guard.kept_values().get("bhxh", "")  # typed before a 429, kept for the retry
        return render_template("portal/sign_in.html", bhxh=bhxh, error=None)
    identifier = request.form.get("bhxh", "").strip()[:12]
    password = request.form.get("password", "")[:FIELD_LIMIT]
    if not (identifier and password):
        error = "Nhập mã số và mật khẩu."
        return render_template("portal/sign_in.html", bhxh=identifier, error=error), 400
    try:
        granted = log_in(account_context("portal"), identifier, password)
    except RequestRefused as exc:
        error = in_vietnamese(exc)
        return render_template("portal/sign_in.html", bhxh=identifier, error=error), exc.status
    guard.start_session(granted.account, restricted=granted.restricted)
    target = "change_password" if granted.restricted else "account_home"
    return redirect(url_for(f"portal_account.{target}"), code=303)


@bp.route("/kich-hoat", methods=["GET", "POST"])
def activate() -> ResponseReturnValue:
    """Start a newly approved account: the number and the emailed code, then a password."""
    if request.method == "GET":
        return render_template("portal/activate.html", bhxh="", error=None)
    identifier = request.form.get("bhxh", "").strip()[:12]
    code = "".join(request.form.get("code", "").split())[:FIELD_LIMIT]
    if not (identifier and code):
        error = "Nhập mã số và mã kích hoạt trong email."
        return render_template("portal/activate.html", bhxh=identifier, error=error), 400
    try:
        # The code is the account's single-use first credential: it opens nothing but the
        # page that sets a password.
        granted = log_in(account_context("portal"), identifier, code.upper())
    except RequestRefused as exc:
        error = in_vietnamese(exc).replace("mật khẩu", "mã kích hoạt")
        return render_template("portal/activate.html", bhxh=identifier, error=error), exc.status
    if not granted.restricted:  # a chosen password typed here: it is a sign-in all the same
        guard.start_session(granted.account, restricted=False)
        return redirect(url_for("portal_account.account_home"), code=303)
    guard.start_session(granted.account, restricted=True)
    return redirect(url_for("portal_account.change_password"), code=303)


@bp.get("/tai-khoan")
@guard.with_account
def account_home(account: Account) -> ResponseReturnValue:
    """Say who is signed in and what they can do."""
    return render_template(
        "portal/account.html", account=account, notice=session.pop("notice", None)
    )


@bp.route("/doi-mat-khau", methods=["GET", "POST"])
def change_password() -> ResponseReturnValue:
    """Set a new password: the restricted session's only page, or proving the current one."""
    claims, account = guard.signed_in(), guard.signed_in_account()
    if claims is None or account is None:
        return guard.to_sign_in()
    if request.method == "GET":
        return _password_page(claims.restricted, account.id, {})
    form = request.form
    new, again = form.get("password", "")[:FIELD_LIMIT], form.get("password2", "")[:FIELD_LIMIT]
    current = form.get("current", "")[:FIELD_LIMIT]
    errors = {}
    if not claims.restricted and not current:
        errors["current"] = "Nhập mật khẩu hiện tại."
    if not new:
        errors["password"] = "Nhập mật khẩu mới."  # noqa: S105 (a message)
    elif new != again:
        errors["password2"] = MISMATCH
    if errors:
        return _password_page(claims.restricted, account.id, errors)
    ctx = account_context("portal")
    try:
        if claims.restricted:
            changed = set_password_with_session(ctx, claims, new)
        else:  # a signed-in session still proves the current password
            changed = change_own_password(ctx, account.bhxh, current, new)
    except InvalidPayload as exc:
        errors = {"password": in_vietnamese(exc)}
        return _password_page(claims.restricted, account.id, errors)
    except RequestRefused as exc:
        field = "form" if claims.restricted else "current"
        return _password_page(claims.restricted, account.id, {field: in_vietnamese(exc)})
    guard.start_session(changed, restricted=False)
    # After a recovery, what the owner ticked goes in the same step as the new password.
    removed = apply_review(ctx, changed.id, form) if claims.restricted else 0
    # Name only the channels the notice went to (before any removal): an account may have
    # no email.
    has_email = bool(changed.email)
    return render_template("portal/password_changed.html", removed=removed, has_email=has_email)


@bp.post("/tai-khoan/kiem-tra")
def review_after_recovery() -> ResponseReturnValue:
    """Remove what the owner ticked on the email recovery's last page (a fresh sign-in)."""
    claims, account = guard.signed_in(), guard.signed_in_account()
    if claims is None or account is None:
        return guard.to_sign_in()
    ctx = account_context("portal")
    if not claims.proved_recently(ctx.now):
        session["notice"] = "Hãy xác nhận lại mật khẩu, rồi xóa tại trang Khóa truy cập."
        return redirect(url_for("portal_passkeys.manage"), code=303)
    removed = apply_review(ctx, account.id, request.form)
    session["notice"] = f"Đã xóa {removed} mục." if removed else "Không có gì bị xóa."
    return redirect(url_for("portal_account.account_home"), code=303)


@bp.route("/tai-khoan/email", methods=["GET", "POST"])
@guard.with_account
def change_email(account: Account) -> ResponseReturnValue:
    """Add or change the email: the current password and the address, then the code sent there."""
    if request.method == "GET":
        return _email_page(account, "ask", {}, {})
    if request.form.get("step") == "code":
        return _confirm_email(account)
    form = request.form
    values = {"email": form.get("email", "").strip()[:FIELD_LIMIT]}
    password = form.get("current", "")[:FIELD_LIMIT]
    errors = {}
    try:
        email = email_field(values)
    except InvalidPayload:
        errors["email"] = "Nhập địa chỉ email mới, ví dụ ten@example.vn."
    if not password:
        errors["current"] = "Nhập mật khẩu hiện tại."
    if errors:
        return _email_page(account, "ask", values, errors)
    code = form.get("smart_otp_code", "").strip()[:CODE_LENGTH] or None
    try:
        request_email_change(account_context("portal"), account.bhxh, password, email, code)
    except RequestRefused as exc:
        field = "smart_otp_code" if isinstance(exc, StepUpRequired) else "current"
        return _email_page(account, "ask", values, {field: in_vietnamese(exc)})
    return _email_page(account, "code", values, {}, status=200)


@bp.post("/dang-xuat")
def sign_out() -> ResponseReturnValue:
    """End the session, on the server too: a copied cookie opens nothing afterwards."""
    claims = guard.signed_in()
    if claims is not None:
        with runtime().session_factory.begin() as db:
            revoke(db, claims, runtime().settings)
    session.clear()
    return guard.to_sign_in()


def _confirm_email(account: Account) -> ResponseReturnValue:
    values = {"otp": guard.typed_code(request.form.get("otp", ""))[:FIELD_LIMIT]}
    try:
        code = otp_field(values)
    except InvalidPayload:
        return _email_page(account, "code", values, {"otp": "Nhập mã gồm 6 chữ số."})
    rt, db = runtime(), db_session()
    confirmed = confirm_email_change(
        db,
        account.bhxh,
        code,
        settings=rt.settings,
        catalog=rt.catalog,
        now=rt.clock.now(),
        client_ip=request.remote_addr,
    )
    db.commit()  # wrong codes count even when we refuse
    if not confirmed:
        return _email_page(account, "code", values, {"otp": CODE_REFUSED})
    changed = db.get(Account, account.id)
    return render_template("portal/email_changed.html", email=changed.email if changed else "")


def _password_page(
    restricted: bool, account_id: int, errors: dict[str, str]
) -> ResponseReturnValue:
    status = 400 if errors else 200
    review = review_of(account_context("portal"), account_id) if restricted else None
    return render_template(
        "portal/change_password.html", restricted=restricted, review=review, errors=errors
    ), status


def _email_page(
    account: Account,
    step: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int | None = None,
) -> ResponseReturnValue:
    with runtime().session_factory() as read:
        step_up = enabled_since(read, account.id) is not None
    return render_template(
        "portal/email.html",
        account=account,
        step=step,
        values=values,
        errors=errors,
        step_up=step_up,
    ), status or (400 if errors else 200)
