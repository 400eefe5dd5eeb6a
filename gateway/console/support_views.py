"""Support's pages: find a message and read its timeline, look up an account, read the audit.

Operators see the same pages and may queue a failed reply again. Everything personal is
masked; phones and account numbers typed in a search travel by POST, never in a URL.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from gateway.accounts.lookup import describe, look_up
from gateway.accounts.services import find_account
from gateway.console import guard, inputs
from gateway.console.audit_trail import read_trail
from gateway.console.timeline import REQUEUE_ACTION, Criteria, search, timeline
from gateway.delivery.outbox import requeue_reply
from gateway.errors import InvalidPayload, RequeueRefused
from gateway.models import Account
from gateway.web import db_session, runtime
from parsers import mask_id

bp = Blueprint("console_support", __name__, url_prefix="/console", template_folder="templates")
guard.protect(bp)

READERS = ("operator", "support")

# What a refused requeue says, by code (gateway.delivery.outbox.requeue_refusal).
REQUEUE_REFUSALS = {
    "not_found": "Không có tin trả lời này.",
    "not_a_reply": "Chỉ gửi lại được tin trả lời SMS, không phải thông báo hay email.",
    "not_failed": "Tin này chưa thất bại: không cần gửi lại.",
    "secret": (
        "Tin này mang mật khẩu tạm thời: không gửi lại mật khẩu cũ (có thể đã hết hạn hoặc bị "
        "thay). Hướng dẫn người dùng nhắn lại BH MK để nhận mật khẩu mới."
    ),
    "purged": "Nội dung tin đã bị xoá theo thời hạn lưu: không còn gì để gửi lại.",
    "already_requeued": "Tin này đã được gửi lại rồi.",
}


@bp.route("/messages", methods=["GET", "POST"])
@guard.requires(*READERS)
def messages() -> ResponseReturnValue:
    """Find messages by phone, account, the carrier's message id and day (all optional)."""
    # POSTed, so a phone or an account number never lands in a URL, a log or the history.
    if request.method == "GET":
        return render_template("console/messages.html", form={}, found=None)
    fields = ("phone", "account", "carrier_id", "day")
    form = {k: request.form.get(k, "").strip()[:128] for k in fields}
    identifier = inputs.identifier(form["account"])
    session = db_session()
    account = find_account(session, identifier) if identifier else None
    criteria = Criteria(
        phone=inputs.phone(form["phone"]),
        account=account,
        carrier_id=form["carrier_id"] or None,
        day=inputs.day(form["day"], "ngày"),
    )
    if not criteria.describe() and not identifier:
        raise InvalidPayload("nhập ít nhất một điều kiện tìm")
    if identifier and account is None:
        found = []
        missing = "Không có tài khoản với mã số này."
    else:
        found = search(session, criteria)
        missing = None
    guard.note(f"message search by {criteria.describe() or 'account'}: {len(found)} found")
    session.commit()
    # The phone and the account number are not echoed back into the form.
    form["phone"] = form["account"] = ""
    return render_template("console/messages.html", form=form, found=found, missing=missing)


@bp.get("/messages/<int:message_id>")
@guard.requires(*READERS)
def message(message_id: int) -> ResponseReturnValue:
    """Show one message's timeline."""
    session = db_session()
    story = timeline(session, message_id)
    if story is None:
        abort(404)
    guard.note(f"message timeline {message_id}")
    session.commit()
    return render_template("console/timeline.html", t=story, refusals=REQUEUE_REFUSALS)


@bp.post("/messages/<int:message_id>/requeue/<int:reply_id>")
@guard.requires("operator")
def requeue(message_id: int, reply_id: int) -> ResponseReturnValue:
    """Queue a failed reply again (with a confirmation); audited."""
    rt, session = runtime(), db_session()
    if request.form.get("confirm") != "yes":
        raise InvalidPayload("đánh dấu ô xác nhận")
    story = timeline(session, message_id)
    if story is None or reply_id not in {r.id for r in story.replies}:
        abort(404)
    try:
        again = requeue_reply(session, reply_id, settings=rt.settings, now=rt.clock.now())
    except RequeueRefused as exc:
        session.rollback()
        guard.note(f"requeue message {message_id} reply {reply_id}: {exc.code}", outcome="refused")
        session.commit()
        raise InvalidPayload(REQUEUE_REFUSALS.get(exc.code, exc.code)) from None
    guard.note(
        f"requeue message {message_id} reply {reply_id} -> {again.id}", action=REQUEUE_ACTION
    )
    session.commit()
    return redirect(url_for("console_support.message", message_id=message_id), code=303)


@bp.route("/accounts", methods=["GET", "POST"])
@guard.requires(*READERS)
def accounts() -> ResponseReturnValue:
    """Look an account up by its social insurance or personal ID number (read only)."""
    if request.method == "GET":
        return render_template("console/account.html", a=None, missing=False)
    identifier = inputs.identifier(request.form.get("identifier", "")[:32])
    if identifier is None:
        raise InvalidPayload("mã số: nhập 10 chữ số BHXH hoặc 12 chữ số CCCD")
    rt, session = runtime(), db_session()
    found = look_up(session, identifier, rt.settings, rt.clock.now())
    guard.note(f"account lookup {mask_id(identifier)}: {'found' if found else 'none'}")
    session.commit()
    return render_template("console/account.html", a=found, missing=found is None)


@bp.get("/accounts/<int:account_id>")
@guard.requires(*READERS)
def account(account_id: int) -> ResponseReturnValue:
    """Show an account by its internal number (the links of the timeline and the audit)."""
    rt, session = runtime(), db_session()
    row = session.get(Account, account_id)
    if row is None:
        abort(404)
    found = describe(session, row, rt.settings, rt.clock.now())
    guard.note(f"account lookup {mask_id(row.bhxh)}: found")
    session.commit()
    return render_template("console/account.html", a=found, missing=False)


@bp.get("/audit")
@guard.requires("admin", *READERS)
def audit() -> ResponseReturnValue:
    """List the audit trail, newest first, filtered by who, action, channel, account, days."""
    trail = read_trail(db_session(), request.args)
    return render_template("console/audit.html", trail=trail)
