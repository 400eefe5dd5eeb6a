"""Operators' pages: the overview, a message's trail, and the SMS reset switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from billing.ledger import LedgerEntry
from gateway.console import guard
from gateway.console.overview import overview as read_overview
from gateway.errors import InvalidPayload
from gateway.finance.queries import reading_session
from gateway.models import InboundMessage, OutboxMessage
from gateway.ops.switches import SMS_RESET, is_enabled, set_switch
from gateway.web import db_session, runtime
from parsers import InvalidPhoneNumber, normalise_phone

bp = Blueprint("console_ops", __name__, url_prefix="/console", template_folder="templates")
guard.protect(bp)

FOUND_LIMIT = 50


@bp.get("/overview")
@guard.requires("operator")
def overview() -> ResponseReturnValue:
    """Today and the last 30 days at a glance, with the switch state."""
    rt = runtime()
    with reading_session(rt) as session:
        figures = read_overview(
            session, rt.clock.now(), sms_reset_default=rt.settings.sms_reset_enabled
        )
    return render_template("overview.html", o=figures)


@bp.route("/messages", methods=["GET", "POST"])
@guard.requires("operator")
def messages() -> ResponseReturnValue:
    """Find messages by the carrier's message id or by the full phone number."""
    # POSTed, so a phone number never lands in a URL, an access log or the browser's history.
    query = request.form.get("q", "").strip()[:128]
    if request.method == "GET" or not query:
        return render_template("messages.html", query="", trails=None)
    try:
        phone = normalise_phone(query)
    except InvalidPhoneNumber:
        phone = None
    condition = (
        InboundMessage.sender == phone
        if phone is not None
        else InboundMessage.carrier_message_id == query
    )
    session = db_session()
    found = session.scalars(
        select(InboundMessage)
        .where(condition)
        .order_by(InboundMessage.id.desc())
        .limit(FOUND_LIMIT)
    ).all()
    ids = [m.id for m in found]
    charges = {
        e.message_id: e
        for e in session.scalars(select(LedgerEntry).where(LedgerEntry.message_id.in_(ids)))
        if e.kind.value == "charge"
    }
    refunds = {
        e.message_id: e
        for e in session.scalars(select(LedgerEntry).where(LedgerEntry.message_id.in_(ids)))
        if e.kind.value == "refund"
    }
    replies: dict[int, list[OutboxMessage]] = {}
    for reply in session.scalars(select(OutboxMessage).where(OutboxMessage.message_id.in_(ids))):
        replies.setdefault(reply.message_id or 0, []).append(reply)
    guard.note(f"message search by {'phone' if phone else 'carrier id'}: {len(found)} found")
    session.commit()
    trails = [(m, charges.get(m.id), refunds.get(m.id), replies.get(m.id, [])) for m in found]
    return render_template("messages.html", query=query if phone is None else "", trails=trails)


@bp.route("/switches", methods=["GET", "POST"])
@guard.requires("operator")
def switches() -> ResponseReturnValue:
    """Show the SMS reset switch; turn it on or off with a confirmation and a reason."""
    rt, session = runtime(), db_session()
    state = is_enabled(session, SMS_RESET, default=rt.settings.sms_reset_enabled)
    if request.method == "GET":
        return render_template("switches.html", on=state)
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
