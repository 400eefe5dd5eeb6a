"""The enrolment doors: the link's token becomes a cookie, a mailed code unlocks the seed.

``/console/enrol/<token>`` only trades the token for a short-lived cookie (HttpOnly,
SameSite=Strict, Path=/console/enrol) and moves the browser on to ``/console/enrol``, which
asks for the code mailed to the member, then shows the QR code and takes a password.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import segno
from flask import Blueprint, Response, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, URLSafeSerializer
from markupsafe import Markup

from gateway import pages
from gateway.console import guard
from gateway.console.enrolment import (
    CODE_RESEND,
    CODE_TTL,
    check_code,
    complete_enrolment,
    link_digest,
    link_used_up,
    mail_code,
    provisioning_uri,
    reveal_seed,
    staff_for_link,
)
from gateway.console.staff import audit
from gateway.console.words import in_vietnamese
from gateway.errors import InvalidPayload
from gateway.models import StaffMember
from gateway.web import db_session, runtime
from parsers import mask_email

COOKIE = "gw_enrol"
COOKIE_PATH = "/console/enrol"
# From opening the link to the last form: read the mail, set up the app, choose a password.
COOKIE_LIFETIME = dt.timedelta(minutes=30)
INVALID = "Liên kết đăng ký không hợp lệ hoặc đã hết hạn. Hãy xin quản trị viên liên kết mới."
REOPEN = "Phiên đăng ký không còn hiệu lực. Hãy mở lại liên kết trong thư mời."
UNPROVEN = "Hãy nhập mã đã gửi tới email của bạn trước."
USED_UP = "Nhập sai mã quá nhiều lần nên liên kết đã bị hủy. Hãy xin quản trị viên liên kết mới."


@dataclass(frozen=True, slots=True)
class Held:
    """What the enrolment cookie says: which link, since when, and whether the mail code was
    typed in this browser."""

    digest: str
    opened: int  # a timestamp of the runtime's clock
    proven: bool


def add_routes(bp: Blueprint) -> None:
    """Route the enrolment pages on the console's blueprint."""
    bp.add_url_rule("/enrol/<token>", "enrol_link", open_link, methods=["GET"])
    bp.add_url_rule("/enrol", "enrol", enrol, methods=["GET", "POST"])


def open_link(token: str) -> ResponseReturnValue:
    """Trade the link's token for a cookie and move on to the page without it."""
    rt, session = runtime(), db_session()
    now = rt.clock.now()
    digest = link_digest(rt.settings.secret_key, token)
    staff = staff_for_link(session, digest, now) if digest else None
    if staff is None:
        return render_template("console/error.html", status=404, message=INVALID), 404
    audit(session, staff.email, "staff_enrol", "opened", now, guard.client_ip())
    session.commit()
    # A page that moves on by itself, not a 302: after a redirect, a navigation that began on
    # another site (the webmail the link was clicked in) is still cross-site, and the browser
    # would hold back the SameSite=Strict cookie. No Referer: it would carry the token.
    g.referrer_policy = "no-referrer"
    response = make_response(render_template("console/enrol_open.html"))
    _keep(response, Held(digest, int(now.timestamp()), proven=False))
    return response


def enrol() -> ResponseReturnValue:
    """Ask for the mailed code; then show the QR code and take a password and a first code."""
    rt, session = runtime(), db_session()
    now = rt.clock.now()
    held = _held(now)
    staff = staff_for_link(session, held.digest, now) if held else None
    if held is None or staff is None:
        message = INVALID if request.cookies.get(COOKIE) is None else REOPEN
        return render_template("console/error.html", status=404, message=message), 404
    if request.method == "GET":
        if held.proven:
            return _seed_page(staff)
        mail_code(session, staff, settings=rt.settings, now=now, again=False)
        session.commit()
        return _code_page(staff)
    step = request.form.get("step")
    if step == "email":
        return _check_mailed_code(staff, held, now)
    if step == "resend":
        mail_code(session, staff, settings=rt.settings, now=now, again=True)
        session.commit()
        return redirect(url_for("console.enrol"), code=303)
    if step != "finish":
        raise InvalidPayload("unknown step")
    if not held.proven:
        return render_template("console/error.html", status=403, message=UNPROVEN), 403
    return _finish(staff, now)


def _check_mailed_code(staff: StaffMember, held: Held, now: dt.datetime) -> ResponseReturnValue:
    session, secret_key = db_session(), runtime().settings.secret_key
    code = request.form.get("code", "")
    if check_code(session, staff, code, secret_key=secret_key, now=now):
        audit(session, staff.email, "staff_enrol_code", "ok", now, guard.client_ip())
        session.commit()
        response = redirect(url_for("console.enrol"), code=303)
        _keep(response, Held(held.digest, held.opened, proven=True))
        return response
    audit(session, staff.email, "staff_enrol_code", "refused", now, guard.client_ip())
    session.commit()
    if link_used_up(staff):
        return render_template("console/error.html", status=400, message=USED_UP), 400
    return _code_page(staff, error="Mã không đúng hoặc đã hết hạn."), 400


def _finish(staff: StaffMember, now: dt.datetime) -> ResponseReturnValue:
    session, form = db_session(), request.form
    try:
        complete_enrolment(
            staff,
            form.get("password", "")[:256],
            form.get("password2", "")[:256],
            form.get("code", ""),
            now,
        )
    except InvalidPayload as exc:
        audit(session, staff.email, "staff_enrol", "refused", now, guard.client_ip())
        session.commit()
        return _seed_page(staff, error=in_vietnamese(exc)), 400
    audit(session, staff.email, "staff_enrol", "ok", now, guard.client_ip())
    session.commit()
    response = make_response(render_template("console/enrolled.html", email=staff.email))
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, secure=_secure(), httponly=True, samesite="Strict"
    )
    return response


def _code_page(staff: StaffMember, error: str | None = None) -> str:
    return render_template(
        "console/enrol_code.html",
        address=mask_email(staff.email),
        minutes=int(CODE_TTL.total_seconds() // 60),
        resend_seconds=int(CODE_RESEND.total_seconds()),
        error=error,
    )


def _seed_page(staff: StaffMember, error: str | None = None) -> str:
    secret = reveal_seed(staff)
    db_session().commit()  # the seed in the QR code must be the one a code is checked against
    # segno draws paths only: nothing of the URI appears in the markup as text or attributes.
    svg = segno.make(provisioning_uri(staff), error="m").svg_inline(
        scale=5, dark="#111", light="#fff"
    )
    qr = Markup(svg)  # noqa: S704
    return render_template("console/enrol.html", staff=staff, qr=qr, secret=secret, error=error)


def _held(now: dt.datetime) -> Held | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    digest, opened, proven = data.get("h"), data.get("at"), data.get("ok")
    if not (isinstance(digest, str) and isinstance(opened, int) and isinstance(proven, bool)):
        return None
    if now - dt.datetime.fromtimestamp(opened, dt.UTC) > COOKIE_LIFETIME:
        return None
    return Held(digest, opened, proven)


def _keep(response: Response, held: Held) -> None:
    value = _serializer().dumps({"h": held.digest, "at": held.opened, "ok": held.proven})
    # Max-Age counts from now; the lifetime itself is checked against the time the link was
    # opened (in _held), so a re-set cookie adds no time.
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(COOKIE_LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        secure=_secure(),
        httponly=True,
        samesite="Strict",
    )


def _serializer() -> URLSafeSerializer:
    key = pages.derived_key(runtime().settings.secret_key, f"{COOKIE} cookie")
    return URLSafeSerializer(key, salt="console enrolment")


def _secure() -> bool:
    return runtime().settings.console_secure_cookies
