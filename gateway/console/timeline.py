"""A received message's story for support: text, outcome, charge, replies, reports, refunds.

Read only. Texts come from the outbox's ``safe_text`` (the temporary password already masked;
``text`` may hold it while a reply waits) and are masked again for numbers before display.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from billing.periods import local_midnight
from gateway.console.formatting import label, local_time, masked_text, vnd
from gateway.delivery.outbox import failed, requeue_refusal
from gateway.models import Account, AuditEvent, InboundMessage, OutboxMessage
from parsers import mask_id, mask_phone

FOUND_LIMIT = 50
REQUEUE_ACTION = "reply_requeue"


@dataclass(frozen=True, slots=True)
class Criteria:
    """What support searched by; every field is optional, at least one is set."""

    phone: str | None = None
    account: Account | None = None
    carrier_id: str | None = None
    day: dt.date | None = None

    def describe(self) -> str:
        """Name the fields used, for the audit trail (never their values)."""
        names = ("phone", "account", "carrier id", "day")
        values = (self.phone, self.account, self.carrier_id, self.day)
        return "+".join(name for name, value in zip(names, values, strict=True) if value)


@dataclass(frozen=True, slots=True)
class Found:
    """One row of the search results."""

    message: InboundMessage
    charge_vnd: int | None
    refunded: bool
    reply: str  # the latest reply's state, as a code: none, pending, sent, failed, delivered


def search(session: Session, criteria: Criteria) -> list[Found]:
    """Find the newest messages matching every given criterion (at most FOUND_LIMIT)."""
    conditions: list[ColumnElement[bool]] = []
    if criteria.phone:
        conditions.append(InboundMessage.sender == criteria.phone)
    if criteria.account is not None:
        # Messages the gateway tied to the account, and any sent from its phone (a message
        # that did not match, e.g. mistyped, is tied to no account).
        conditions.append(
            or_(
                InboundMessage.account_id == criteria.account.id,
                InboundMessage.sender == criteria.account.phone,
            )
        )
    if criteria.carrier_id:
        conditions.append(InboundMessage.carrier_message_id == criteria.carrier_id)
    if criteria.day:
        start = local_midnight(criteria.day)
        end = local_midnight(criteria.day + dt.timedelta(days=1))
        conditions += [InboundMessage.created_at >= start, InboundMessage.created_at < end]
    messages = session.scalars(
        select(InboundMessage)
        .where(*conditions)
        .order_by(InboundMessage.id.desc())
        .limit(FOUND_LIMIT)
    ).all()
    ids = [m.id for m in messages]
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.message_id.in_(ids))).all()
    charges = {e.message_id: e.amount_vnd for e in entries if e.kind is EntryKind.CHARGE}
    refunded = {e.message_id for e in entries if e.kind is EntryKind.REFUND}
    latest: dict[int, OutboxMessage] = {}
    for reply in session.scalars(
        select(OutboxMessage).where(OutboxMessage.message_id.in_(ids)).order_by(OutboxMessage.id)
    ):
        latest[reply.message_id or 0] = reply
    return [
        Found(m, charges.get(m.id), m.id in refunded, _reply_state(latest.get(m.id)))
        for m in messages
    ]


def _reply_state(reply: OutboxMessage | None) -> str:
    if reply is None:
        return "none"
    if failed(reply):
        return "failed"
    if reply.delivery_status is not None:
        return reply.delivery_status.value
    return reply.status.value


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the timeline: when, what, and the detail (already masked)."""

    at: dt.datetime | None
    title: str
    detail: str = ""
    text: str | None = None  # a message body, masked
    tone: str = ""  # "bad" for a failure, "good" for a delivery


@dataclass(frozen=True, slots=True)
class ReplyView:
    """A reply row as the timeline needs it (never its ``text``)."""

    id: int
    state: str
    requeue_refusal: str | None  # None: an operator may queue it again


@dataclass(slots=True)
class Timeline:
    """A message and everything that followed it, in time order."""

    message: InboundMessage
    account: Account | None
    steps: list[Step] = field(default_factory=list)
    replies: list[ReplyView] = field(default_factory=list)


def timeline(session: Session, message_id: int) -> Timeline | None:
    """Read one message's timeline; None if there is no such message."""
    message = session.get(InboundMessage, message_id)
    if message is None:
        return None
    account = session.get(Account, message.account_id) if message.account_id else None
    story = Timeline(message, account)
    steps = story.steps
    received = message.carrier_received_at or message.created_at
    steps.append(
        Step(
            received,
            "Nhận tin",
            f"từ {mask_phone(message.sender)} đến {message.recipient} qua {message.carrier}, "
            f"mã tin {message.carrier_message_id}",
            text=masked_text(message.text) if message.text else "(đã xoá theo thời hạn lưu)",
        )
    )
    if message.outcome is not None:
        detail = label(message.outcome.value)
        if account is not None:
            detail += f"; tài khoản {mask_id(account.bhxh)}"
        steps.append(Step(message.processed_at, "Xử lý", detail))
    else:
        steps.append(Step(None, "Xử lý", label("waiting")))
    for entry in session.scalars(
        select(LedgerEntry).where(LedgerEntry.message_id == message.id).order_by(LedgerEntry.id)
    ):
        if entry.kind is EntryKind.CHARGE:
            steps.append(Step(entry.created_at, "Tính cước", _vnd(entry.amount_vnd, entry.tariff)))
        else:
            who = entry.actor or "?"
            steps.append(
                Step(
                    entry.created_at,
                    "Hoàn tiền",
                    f"{_vnd(abs(entry.amount_vnd), None)} bởi {who}; lý do: {entry.reason or '—'}",
                )
            )
    replies = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.message_id == message.id)
        .order_by(OutboxMessage.id)
    ).all()
    for index, reply in enumerate(replies):
        steps += _reply_steps(reply, again=index > 0)
        refusal = requeue_refusal(reply, later=index < len(replies) - 1)
        story.replies.append(ReplyView(reply.id, _reply_state(reply), refusal))
    for event in session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == REQUEUE_ACTION,
            AuditEvent.detail.like(f"% message {message.id} %"),
        )
        .order_by(AuditEvent.id)
    ):
        steps.append(Step(event.at, "Gửi lại theo yêu cầu", f"bởi {event.subject}"))
    steps.sort(key=lambda step: (step.at is None, step.at or received))
    return story


def _reply_steps(reply: OutboxMessage, *, again: bool) -> list[Step]:
    steps = [
        Step(
            reply.created_at,
            "Xếp hàng gửi lại" if again else "Xếp hàng trả lời",
            f"tin {reply.id} đến {mask_phone(reply.recipient)} qua {reply.carrier}",
            text=masked_text(reply.safe_text) if reply.safe_text else "(đã xoá theo thời hạn lưu)",
        )
    ]
    error = f"; lỗi gần nhất: {masked_text(reply.last_error)}" if reply.last_error else ""
    attempts = f"{reply.attempts} lần gửi"
    if reply.sent_at is not None:
        steps.append(Step(reply.sent_at, "Nhà mạng đã nhận", f"tin {reply.id}, {attempts}{error}"))
    elif reply.status.value == "failed":
        # No row per attempt is kept: the last one was due at next_attempt_at.
        steps.append(
            Step(reply.next_attempt_at, "Bỏ cuộc", f"tin {reply.id}, {attempts}{error}", tone="bad")
        )
    else:
        steps.append(
            Step(
                reply.next_attempt_at,
                "Đang chờ gửi",
                f"tin {reply.id}, {attempts}, lần tới lúc này; bỏ cuộc sau "
                f"{local_time(reply.give_up_at)}{error}",
            )
        )
    if reply.delivery_status is not None:
        status = reply.delivery_status.value
        steps.append(
            Step(
                reply.delivered_at,
                "Báo cáo phát",
                f"tin {reply.id}: {label(status)}",
                tone="good" if status == "delivered" else "bad",
            )
        )
    return steps


def _vnd(amount: int, tariff: str | None) -> str:
    return f"{vnd(amount)} ({tariff})" if tariff else vnd(amount)
