"""Operators' pages: the overview and the SMS reset switch with its history.

A message's timeline and requeueing a failed reply are in support_views.py.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.console import guard
from gateway.console.audit_trail import switch_history
from gateway.console.overview import overview as read_overview
from gateway.errors import InvalidPayload
from gateway.finance.queries import reading_session
from gateway.ops.switches import SMS_RESET, is_enabled, set_switch
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
    """Show the SMS reset switch; turn it on or off with a confirmation and a reason."""
    rt, session = runtime(), db_session()
    state = is_enabled(session, SMS_RESET, default=rt.settings.sms_reset_enabled)
    if request.method == "GET":
        return render_template("console/switches.html", on=state, history=switch_history(session))
    wanted = request.form.get("state")
    reason = request.form.get("reason", "").strip()
    if wanted not in ("on", "off"):
        raise InvalidPayload("chọn bật hoặc tắt")
    if not reason:
        raise InvalidPayload("ghi lý do")
    if request.form.get("confirm") != "yes":
        raise InvalidPayload("đánh dấu ô xác nhận")
    set_switch(session, SMS_RESET, wanted == "on", rt.clock.now())
    guard.note(f"sms-reset {wanted}: {reason[:150]}", action="switch")
    session.commit()
    return redirect(url_for("console_ops.switches"), code=303)
