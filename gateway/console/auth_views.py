"""The console's doors: sign-in, sign-out, enrolment by one-time link, and the staff list."""

from __future__ import annotations

import logging

import segno
from flask import Blueprint, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select

from gateway.console import guard
from gateway.console.errors import SignInRefused
from gateway.console.roles import ROLES
from gateway.console.staff import (
    Enrolment,
    add_staff,
    audit,
    change_role,
    complete_enrolment,
    disable_staff,
    provisioning_uri,
    reset_staff,
    staff_for_enrolment,
)
from gateway.console.staff import (
    sign_in as check_sign_in,
)
from gateway.errors import InvalidPayload
from gateway.models import StaffMember
from gateway.web import db_session, runtime

log = logging.getLogger(__name__)

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
guard.protect(bp)


@bp.get("/")
def index() -> ResponseReturnValue:
    """Send a member to their home page, or to sign-in."""
    staff = g.get("staff")
    if staff is None:
        return redirect(url_for("console.sign_in"))
    return redirect(url_for(guard.home_of(staff)))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """Ask for email, password and the authenticator's code."""
    if request.method == "GET":
        timed_out = g.get("timed_out", False) or request.args.get("expired") == "1"
        return render_template("sign_in.html", error=None, email="", timed_out=timed_out)
    form = request.form
    email = form.get("email", "")
    session = db_session()
    try:
        staff = check_sign_in(
            session,
            email,
            form.get("password", ""),
            form.get("code", ""),
            now=runtime().clock.now(),
            client_ip=guard.client_ip(),
        )
    except SignInRefused as exc:
        session.commit()  # the failure count and the audit row must stay
        return render_template("sign_in.html", error=str(exc), email=email[:254]), 401
    session.commit()
    guard.start_session(staff)
    log.info("staff %s signed in to the console", staff.id)
    return redirect(url_for(guard.home_of(staff)))


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End the session."""
    if g.get("staff") is not None:
        guard.note("sign out", action="staff_sign_out")
        db_session().commit()
    cookie.clear()
    return redirect(url_for("console.sign_in"))


@bp.route("/enrol/<token>", methods=["GET", "POST"])
def enrol(token: str) -> ResponseReturnValue:
    """Show the TOTP QR code; take the chosen password and a first code."""
    rt, session = runtime(), db_session()
    now = rt.clock.now()
    staff = staff_for_enrolment(session, token, secret_key=rt.settings.secret_key, now=now)
    if staff is None:
        message = (
            "Liên kết đăng ký không hợp lệ hoặc đã hết hạn. Hãy xin quản trị viên liên kết mới."
        )
        return render_template("error.html", status=404, message=message), 404
    session.commit()  # keep the TOTP secret shown in the QR code
    error = None
    if request.method == "POST":
        form = request.form
        try:
            complete_enrolment(
                staff,
                form.get("password", "")[:256],
                form.get("password2", "")[:256],
                form.get("code", ""),
                now,
            )
        except InvalidPayload as exc:
            error = exc.reason
            audit(session, staff.email, "staff_enrol", "refused", now, guard.client_ip())
            session.commit()
        else:
            audit(session, staff.email, "staff_enrol", "ok", now, guard.client_ip())
            session.commit()
            return render_template("enrolled.html", email=staff.email)
    uri = provisioning_uri(staff)
    # segno draws paths only: nothing of the URI appears in the markup as text or attributes.
    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#111", light="#fff")
    qr = Markup(svg)  # noqa: S704
    status = 400 if error else 200
    return render_template(
        "enrol.html", staff=staff, qr=qr, secret=staff.totp_secret, error=error
    ), status


@bp.get("/staff")
@guard.requires("admin")
def staff_list() -> ResponseReturnValue:
    """List the staff members and whether they have enrolled."""
    members = db_session().scalars(select(StaffMember).order_by(StaffMember.email)).all()
    return render_template("staff.html", members=members, roles=ROLES)


@bp.post("/staff")
@guard.requires("admin")
def staff_add() -> ResponseReturnValue:
    """Add a member and show their one-time enrolment link (as ``gateway staff add``)."""
    rt, session = runtime(), db_session()
    email, role = request.form.get("email", "")[:254], request.form.get("role", "")
    enrolment = add_staff(
        session,
        email,
        role,
        secret_key=rt.settings.secret_key,
        now=rt.clock.now(),
        ttl=rt.settings.console_enrol_ttl,
    )
    guard.note(f"staff add {enrolment.staff.email} role={role}", action="staff_add")
    session.commit()
    return _link_page(enrolment)


@bp.post("/staff/<int:staff_id>/<any(reset, disable):action>")
@guard.requires("admin")
def staff_change(staff_id: int, action: str) -> ResponseReturnValue:
    """Reset a member (new enrolment link, sessions end) or disable them."""
    rt, session = runtime(), db_session()
    member = session.get(StaffMember, staff_id)
    if member is None:
        raise InvalidPayload("không có nhân viên này")
    if member.id == g.staff.id:
        raise InvalidPayload("không thể tự khóa hoặc cấp lại tài khoản của chính mình")
    if request.form.get("confirm") != "yes":
        raise InvalidPayload("đánh dấu ô xác nhận")
    guard.note(f"staff {action} {member.email}", action=f"staff_{action}")
    if action == "disable":
        disable_staff(session, member.email, rt.clock.now())
        session.commit()
        return redirect(url_for("console.staff_list"), code=303)
    enrolment = reset_staff(
        session,
        member.email,
        secret_key=rt.settings.secret_key,
        now=rt.clock.now(),
        ttl=rt.settings.console_enrol_ttl,
    )
    session.commit()
    return _link_page(enrolment)


@bp.post("/staff/<int:staff_id>/role")
@guard.requires("admin")
def staff_role(staff_id: int) -> ResponseReturnValue:
    """Give a member another role (as ``gateway staff role``); their sessions end."""
    session = db_session()
    member = session.get(StaffMember, staff_id)
    if member is None:
        raise InvalidPayload("không có nhân viên này")
    if member.id == g.staff.id:
        raise InvalidPayload("không thể tự đổi vai trò của chính mình")
    role = request.form.get("role", "")[:32]
    member, before = change_role(session, member.email, role)
    if before != role:
        guard.note(f"staff role {member.email} {before} -> {role}", action="staff_role")
    session.commit()
    return redirect(url_for("console.staff_list"), code=303)


def _link_page(enrolment: Enrolment) -> ResponseReturnValue:
    settings = runtime().settings
    # The same address as `gateway staff add` prints, whatever Host this request came with.
    link = settings.public_url + url_for("console.enrol", token=enrolment.token)
    hours = settings.console_enrol_ttl.total_seconds() / 3600
    return render_template("staff_link.html", staff=enrolment.staff, link=link, hours=hours)
