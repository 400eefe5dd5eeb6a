"""The console's doors: sign-in, sign-out and the staff list (enrolment's: enrol_views.py)."""

from __future__ import annotations

import logging

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask import session as cookie
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from gateway.console import enrol_views, guard
from gateway.console.errors import SignInRefused
from gateway.console.roles import ROLES
from gateway.console.signin import sign_in as check_sign_in
from gateway.console.staff import (
    Enrolment,
    add_staff,
    change_role,
    disable_staff,
    end_sessions,
    reset_staff,
)
from gateway.console.words import in_vietnamese
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
enrol_views.add_routes(bp)


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
        return render_template("console/sign_in.html", error=None, email="", timed_out=timed_out)
    form = request.form
    email = form.get("email", "")
    session = db_session()
    try:
        staff = check_sign_in(
            session,
            email,
            form.get("password", ""),
            form.get("code", ""),
            hasher=runtime().hasher,
            now=runtime().clock.now(),
            client_ip=guard.client_ip(),
        )
    except SignInRefused as exc:
        session.commit()  # the failure count and the audit row must stay
        return render_template(
            "console/sign_in.html", error=in_vietnamese(exc), email=email[:254]
        ), 401
    session.commit()
    guard.start_session(staff)
    log.info("staff %s signed in to the console", staff.id)
    return redirect(url_for(guard.home_of(staff)))


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End the session on the server, so a copy of the cookie opens nothing either."""
    staff: StaffMember | None = g.get("staff")
    if staff is not None:
        end_sessions(staff)
        guard.note("sign out", action="staff_sign_out")
        db_session().commit()
    cookie.clear()
    return redirect(url_for("console.sign_in"))


@bp.get("/staff")
@guard.requires("admin")
def staff_list() -> ResponseReturnValue:
    """List the staff members and whether they have enrolled."""
    members = db_session().scalars(select(StaffMember).order_by(StaffMember.email)).all()
    return render_template("console/staff.html", members=members, roles=ROLES)


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
    link = settings.public_url + url_for("console.enrol_link", token=enrolment.token)
    hours = settings.console_enrol_ttl.total_seconds() / 3600
    return render_template("console/staff_link.html", staff=enrolment.staff, link=link, hours=hours)
