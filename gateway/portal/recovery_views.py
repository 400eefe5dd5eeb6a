"""The "forgot password" pages: number, email and captcha; then the emailed code and a new password.

The same use cases as ``POST /api/v1/recovery/email`` and ``/verify``: the request is only
stored (the worker matches it and emails the code), so the answer is the same whether or not
the pair is registered.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from gateway.accounts.http import account_context
from gateway.email.captcha import answer_for_tests, create_captcha
from gateway.email.fields import email_field, identifier_field, otp_field
from gateway.email.proof_of_work import new_challenge
from gateway.email.recovery import (
    Verified,
    recover_with_otp,
    request_recovery_with_captcha,
    request_recovery_with_proof_of_work,
)
from gateway.errors import InvalidPayload, Why
from gateway.portal import guard
from gateway.portal.review import review_of
from gateway.portal.words import in_vietnamese
from gateway.web import db_session, runtime

bp = Blueprint(
    "portal_recovery",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/portal/static",
)
guard.protect(bp)

FORM_LIMIT = 256  # characters kept of any field: nothing longer is a valid answer
FIELD_ERRORS = {
    "bhxh": "Nhập mã số BHXH (10 chữ số) hoặc số CCCD (12 chữ số).",
    "email": "Nhập địa chỉ email đã đăng ký, ví dụ ten@example.vn.",
    "otp": "Nhập mã OTP gồm 6 chữ số trong email.",
}
CAPTCHA_ERROR = "Mã xác nhận không đúng hoặc đã hết hạn. Hãy nhập mã trong ảnh mới."
CAPTCHA_MISSING = "Nhập các ký tự trong ảnh."
PROOF_ERROR = (
    "Trình duyệt chưa tự kiểm tra được (trang đã mở quá lâu hoặc trình duyệt quá cũ). "
    "Hãy gửi lại biểu mẫu, hoặc nhập các ký tự trong ảnh."
)
PROOF_LIMIT = 4096  # characters kept of the ALTCHA payload (a real one is about 700)
MISMATCH = "Hai lần nhập mật khẩu mới không giống nhau."


@bp.route("/quen-mat-khau", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for the number and the email on file; the browser's proof of work (ALTCHA) or,
    without JavaScript, the image captcha is checked first. The answer tells nothing."""
    if request.method == "GET":
        return _ask_page(_kept_values(), {})
    form, settings = _form(), runtime().settings
    values = {"bhxh": form.get("bhxh", "").strip(), "email": form.get("email", "").strip()}
    errors: dict[str, str] = {}
    identifier = _field(lambda v: identifier_field(v, settings), values, errors, "bhxh")
    email = _field(email_field, values, errors, "email")
    proof = request.form.get("altcha", "")[:PROOF_LIMIT]
    answer = form.get("captcha_answer", "").strip()
    if not proof and not answer:
        # Without JavaScript the image was there to answer; with it, the widget sent nothing
        # (it could not run): either way the image is the way through now.
        errors["captcha_answer"] = CAPTCHA_MISSING if form.get("captcha_id") else PROOF_ERROR
    if errors:
        fallback = "captcha_answer" in errors
        return _ask_page(values, errors, status=400, image_fallback=fallback)
    db, now = db_session(), runtime().clock.now()
    if proof:
        solved = request_recovery_with_proof_of_work(
            db, identifier, email, proof, settings=settings, now=now
        )
    else:
        solved = request_recovery_with_captcha(
            db, identifier, email, form.get("captcha_id", ""), answer, settings=settings, now=now
        )
    db.commit()  # a challenge is used up by any answer, right or wrong
    if not solved and proof:
        # The browser's own check did not pass (too old a browser, a page left open too
        # long): offer the image as well, so there is always a way through.
        return _ask_page(values, {"captcha_answer": PROOF_ERROR}, status=400, image_fallback=True)
    if not solved:
        return _ask_page(values, {"captcha_answer": CAPTCHA_ERROR}, status=400, image_fallback=True)
    session["recovering"] = identifier
    session["code_sent"] = True
    # Post/redirect/get: the address bar names the next step, and a reload posts nothing.
    return redirect(url_for("portal_recovery.enter_otp"), code=303)


@bp.route("/quen-mat-khau/otp", methods=["GET", "POST"])
def enter_otp() -> ResponseReturnValue:
    """Take the emailed code and the new password (twice); set it if the code is right."""
    if request.method == "GET":
        values = {"bhxh": session.get("recovering", "")}
        sent = bool(session.pop("code_sent", False))
        return render_template(
            "portal/otp.html", values=values, errors={}, sent=sent, **_code_facts()
        )
    form, rt = _form(), runtime()
    # A code pasted or typed in groups ("123 456", "123-456") is the same code.
    typed = guard.typed_code(form.get("otp", ""))
    values = {"bhxh": form.get("bhxh", "").strip(), "otp": typed}
    errors: dict[str, str] = {}
    identifier = _field(lambda v: identifier_field(v, rt.settings), values, errors, "bhxh")
    code = _field(otp_field, values, errors, "otp")
    password, again = form.get("password", ""), form.get("password2", "")
    if not password:
        errors["password"] = "Nhập mật khẩu mới."  # noqa: S105 (a message)
    elif password != again:
        errors["password2"] = MISMATCH
    if errors:
        return _otp_page(values, errors)
    db, ctx = db_session(), account_context("portal")
    try:
        outcome, account = recover_with_otp(db, identifier, code, password, ctx)
    except InvalidPayload as exc:  # the policy: nothing was used up
        return _otp_page(values, {"password": in_vietnamese(exc)})
    db.commit()  # wrong codes count even when we refuse
    if outcome is not Verified.PASSWORD_SET or account is None:
        return _otp_page(values, {"otp": in_vietnamese(Why.OTP_REFUSED)})
    # The code and the new password prove as much as a sign-in: the owner is signed in, and
    # can remove at once a passkey someone else added (gateway/portal/review.py).
    guard.start_session(account, restricted=False)
    session["recovered"] = True
    # Post/redirect/get: a reload of the result shows it again and posts nothing.
    return redirect(url_for("portal_recovery.recovered"), code=303)


@bp.get("/quen-mat-khau/xong")
def recovered() -> ResponseReturnValue:
    """Say the new password is set and offer the review; only right after a recovery."""
    claims = guard.signed_in()
    if claims is None or not session.get("recovered"):
        return redirect(url_for("portal_recovery.forgot_password"), code=303)
    account = guard.signed_in_account()
    if account is None:
        return redirect(url_for("portal_recovery.forgot_password"), code=303)
    review = review_of(account_context("portal"), account.id)
    return render_template("portal/recovered.html", review=review, account=account)


@bp.get("/quen-mat-khau/captcha/<captcha_id>/answer")
def captcha_answer(captcha_id: str) -> ResponseReturnValue:
    """Tell a browser test a captcha's answer (GATEWAY_TEST_CAPTCHA_ANSWERS only)."""
    settings = runtime().settings
    client = ipaddress.ip_address(request.remote_addr or "0.0.0.0")  # noqa: S104
    if not settings.test_captcha_answers or not client.is_loopback:
        abort(404)
    return jsonify(answer=answer_for_tests(settings, captcha_id[:64]))


def _form() -> MultiDict[str, str]:
    return MultiDict({k: v[:FORM_LIMIT] for k, v in request.form.items()})


def _field(
    parse: Callable[[dict[str, str]], str],
    values: dict[str, str],
    errors: dict[str, str],
    name: str,
) -> str:
    """Run the JSON API's parser of one field on the form; note a refusal in Vietnamese."""
    try:
        return parse(values)
    except InvalidPayload:
        errors[name] = FIELD_ERRORS[name]
        return ""


def _ask_page(
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    *,
    image_fallback: bool = False,
) -> ResponseReturnValue:
    rt, db = runtime(), db_session()
    now = rt.clock.now()
    challenge = create_captcha(db, settings=rt.settings, now=now)
    db.commit()
    image = "data:image/png;base64," + base64.b64encode(challenge.png).decode()
    return render_template(
        "portal/forgot.html",
        values=values,
        errors=errors,
        altcha_challenge=json.dumps(new_challenge(settings=rt.settings, now=now)),
        image_fallback=image_fallback,
        captcha_id=challenge.id,
        captcha_image=image,
        captcha_length=rt.settings.captcha_length,
        new_image=url_for("portal_recovery.forgot_password"),
    ), status


def _kept_values() -> dict[str, str]:
    """What was typed before (a "send again" from the code page, a retry after a 429)."""
    kept = session.get("recovering")
    return {**({"bhxh": kept} if isinstance(kept, str) else {}), **guard.kept_values()}


def _code_facts() -> dict[str, object]:
    """How long an emailed code lasts, in minutes, for the pages that ask for it."""
    return {"otp_minutes": int(runtime().settings.otp_ttl.total_seconds() // 60)}


def _otp_page(values: dict[str, str], errors: dict[str, str]) -> ResponseReturnValue:
    return render_template(
        "portal/otp.html", values=values, errors=errors, sent=False, **_code_facts()
    ), 400
