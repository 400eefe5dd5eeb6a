"""The audit page's query: filters read from the URL, newest first, a page at a time.

The filters carry nothing personal (who is a staff email or an already masked subject, the
account is the internal number), so they may live in the URL and be bookmarked.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from billing.periods import local_midnight
from gateway.console import inputs
from gateway.errors import InvalidPayload
from gateway.models import AuditEvent
from gateway.ops.switches import SERVICE_PREFIX, SMS_RESET

PAGE = 100
MAX_DAYS = 400
# The choices the filter offers. Listed rather than read with SELECT DISTINCT, which would scan
# the whole trail on every page view; any well-formed name is accepted in the URL.
ACTIONS = (
    "recovery",
    "recovery_request",
    "recovery_verify",
    "passkey_recovery",
    "smart_otp_recovery",
    "login",
    "password_change",
    "first_password",
    "email_change_request",
    "email_change_confirm",
    "email_remove",
    "passkey_add",
    "passkey_remove",
    "smart_otp_enrol",
    "smart_otp_disable",
    "switch",
    "sim_swap_check",
    "refund",
    "reply_requeue",
    "console_action",
    "staff_sign_in",
    "staff_sign_out",
    "staff_add",
    "staff_role",
    "staff_reset",
    "staff_disable",
)
CHANNELS = ("sms", "email", "app", "portal", "cli", "console")
_NAME = re.compile(r"[a-z_]{1,32}")


@dataclass(frozen=True, slots=True)
class Trail:
    """One page of the audit trail and the filters that chose it."""

    events: list[AuditEvent]
    filters: dict[str, str]
    actions: tuple[str, ...]
    channels: tuple[str, ...]
    older: int | None  # the ``before`` cursor of the next page, if there is one


def read_trail(session: Session, args: Mapping[str, str]) -> Trail:
    """Read one page of audit events matching ``args`` (a bad filter raises InvalidPayload)."""
    filters = {
        k: args.get(k, "").strip()[:64]
        for k in ("who", "action", "channel", "account", "from", "to", "before")
    }
    conditions: list[ColumnElement[bool]] = []
    if filters["who"]:
        pattern = "%" + _escape(filters["who"]) + "%"
        conditions.append(
            or_(
                AuditEvent.subject.like(pattern, escape="\\"),
                AuditEvent.actor.like(pattern, escape="\\"),
            )
        )
    if filters["action"]:
        if not _NAME.fullmatch(filters["action"]):
            raise InvalidPayload("hành động: chọn một hành động trong danh sách")
        conditions.append(AuditEvent.action == filters["action"])
    if filters["channel"]:
        if not _NAME.fullmatch(filters["channel"]):
            raise InvalidPayload("kênh: chọn một kênh trong danh sách")
        conditions.append(AuditEvent.channel == filters["channel"])
    account = inputs.number(filters["account"], "tài khoản")
    if account is not None:
        conditions.append(AuditEvent.account_id == account)
    start, end = inputs.day(filters["from"], "từ ngày"), inputs.day(filters["to"], "đến ngày")
    if start and end and (end < start or (end - start).days > MAX_DAYS):
        raise InvalidPayload(f"khoảng ngày: từ ngày trước đến ngày, tối đa {MAX_DAYS} ngày")
    if start:
        conditions.append(AuditEvent.at >= local_midnight(start))
    if end:
        conditions.append(AuditEvent.at < local_midnight(end + dt.timedelta(days=1)))
    before = inputs.number(filters["before"], "trang")
    if before is not None:
        conditions.append(AuditEvent.id < before)
    events = list(
        session.scalars(
            select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc()).limit(PAGE + 1)
        )
    )
    older = events[PAGE - 1].id if len(events) > PAGE else None
    return Trail(events[:PAGE], filters, ACTIONS, CHANNELS, older)


@dataclass(frozen=True, slots=True)
class SwitchChange:
    """One change of a switch: when, who, from where, what and why."""

    at: dt.datetime
    who: str
    channel: str
    change: str  # "sms-reset off: SMSC down"


def switch_history(session: Session, limit: int = 20) -> list[SwitchChange]:
    """Return the latest changes of the switches, from the console and the CLI."""
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "switch",
            AuditEvent.detail.like(f"%{SMS_RESET} %")
            | AuditEvent.detail.like(f"%{_escape(SERVICE_PREFIX)}%", escape="\\"),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [SwitchChange(e.at, e.subject, e.channel, _after_ip(e.detail or "")) for e in events]


def _after_ip(detail: str) -> str:
    # The console's rows start with the member's address (gateway/console/staff.py:audit).
    return detail.split(" ", 1)[1] if detail.startswith("ip=") and " " in detail else detail


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
