"""Operators' pages: the overview, and the switches (the SMS reset, each keyword service's)
with their history.

A message's timeline and requeueing a failed reply are in support_views.py.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console import guard
from gateway.console.audit_trail import switch_history
from gateway.console.overview import overview as read_overview
from gateway.errors import InvalidPayload
from gateway.finance.queries import reading_session
from gateway.ops.switches import (
    SMS_RESET,
    is_enabled,
    service_states,
    service_switch,
    set_switch,
)
from gateway.web import db_session, runtime

bp = Blueprint("console_ops", __name__, url_prefix="/console", template_folder="templates")
guard.protect(bp)


@bp.get("/overview")
@guard.requires("operator")
def overview() -> ResponseReturnValue:
    """Today and the last 30 days at a glance, with the switch state."""
    rt = runtime()
    with reading_session(rt) as session:
        figures = read_overview(
            session, rt.clock.now(), sms_reset_default=rt.settings.sms_reset_enabled
        )
    return render_template("console/overview.html", o=figures)


@bp.route("/switches", methods=["GET", "POST"])
@guard.requires("operator")
def switches() -> ResponseReturnValue:
    """Show the SMS reset switch and each keyword service's; turn one on or off with a
    confirmation and a reason."""
    rt, session = runtime(), db_session()
    state = is_enabled(session, SMS_RESET, default=rt.settings.sms_reset_enabled)
    if request.method == "GET":
        return render_template(
            "console/switches.html",
            on=state,
            services=service_states(session, rt.settings.services),
            keywords={name: s.keywords for name, s in rt.settings.services.items()},
            history=switch_history(session),
        )
    switches = {SMS_RESET, *(service_switch(name) for name in rt.settings.services)}
    name = request.form.get("name", SMS_RESET)
    if name not in switches:
        raise InvalidPayload("không có công tắc này")
    wanted = request.form.get("state")
    reason = request.form.get("reason", "").strip()
    if wanted not in ("on", "off"):
        raise InvalidPayload("chọn bật hoặc tắt")
    if not reason:
        raise InvalidPayload("ghi lý do")
    if request.form.get("confirm") != "yes":
        raise InvalidPayload("đánh dấu ô xác nhận")
    staff = g.get("staff")
    actor = None if staff is None else staff.email
    set_switch(session, name, wanted == "on", rt.clock.now(), actor=actor, reason=reason[:150])
    guard.note(f"{name} {wanted}: {reason[:150]}", action="switch")
    session.commit()
    return redirect(url_for("console_ops.switches"), code=303)
