"""The Overview's figures: is 8079 working right now, and how did the last 30 days go?

Counts are read in SQL groups; latency percentiles from the replies of the window (capped, so
a busy month costs one bounded query).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from billing.periods import local_date, local_midnight
from billing.summary import Line
from gateway.console.formatting import label
from gateway.models import InboundMessage, OutboxMessage
from gateway.ops.switches import SMS_RESET, is_enabled
from gateway.states import Channel, DeliveryStatus, OutboxStatus

LATENCY_SAMPLE = 20_000  # the most recent replies the percentiles are computed from
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)
# A reply failed when the outbox gave up on it, or when the carrier took it but its delivery
# report said it never reached the phone (jasmin's UNDELIV, kannel's "undelivered" and a
# failed report all arrive as FAILED). The refunds page counts the same replies.
NOT_DELIVERED = (DeliveryStatus.FAILED, DeliveryStatus.EXPIRED)
# An SMS with an inbound message is a reply; one without is a notice (password changed, ...).
IS_REPLY = OutboxMessage.message_id.is_not(None)


@dataclass(slots=True)
class Window:
    """One window's figures (today, or the last 30 days)."""

    title: str
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_carrier: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)  # sent, failed, delivered
    failed_by_carrier: Counter[str] = field(default_factory=Counter)
    charges: Line = field(default_factory=Line)
    latency: dict[str, float | None] = field(default_factory=dict)

    @property
    def received(self) -> int:
        """Return every message received in the window."""
        return sum(self.by_carrier.values())


@dataclass(frozen=True, slots=True)
class Overview:
    """What the operator's page shows."""

    today: Window
    month: Window
    outbox_depth: int  # replies to inbound messages not yet handed to their carrier
    oldest_unsent_seconds: float | None
    other_depth: int  # notices and emails waiting: retried too, but nobody is waiting on them
    sms_reset_on: bool
    chart: dict[str, object]


def overview(session: Session, now: dt.datetime, *, sms_reset_default: bool) -> Overview:
    """Read today's and the last 30 days' figures."""
    today_start = local_midnight(local_date(now))
    month_start = local_midnight(local_date(now) - dt.timedelta(days=29))
    today = _window(session, "Hôm nay", today_start, now)
    month = _window(session, "30 ngày qua", month_start, now)
    # Only replies make the cards red: a notice to a phone nobody answers for (the demo
    # carrier in development) is retried for an hour, and says nothing about 8079's replies.
    depth, oldest = session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(UNSENT), IS_REPLY
        )
    ).one()
    other = session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status.in_(UNSENT), OutboxMessage.message_id.is_(None)
        )
    )
    return Overview(
        today=today,
        month=month,
        outbox_depth=depth,
        oldest_unsent_seconds=(now - oldest).total_seconds() if oldest else None,
        other_depth=other or 0,
        sms_reset_on=is_enabled(session, SMS_RESET, default=sms_reset_default),
        chart=_daily_chart(session, month_start, now),
    )


def _window(session: Session, title: str, start: dt.datetime, end: dt.datetime) -> Window:
    window = Window(title)
    received = InboundMessage.created_at >= start, InboundMessage.created_at <= end
    for outcome, carrier, count in session.execute(
        select(InboundMessage.outcome, InboundMessage.carrier, func.count())
        .where(*received)
        .group_by(InboundMessage.outcome, InboundMessage.carrier)
    ):
        window.by_outcome[outcome.value if outcome else "waiting"] += count
        window.by_carrier[carrier] += count
    failed = case(
        (OutboxMessage.status == OutboxStatus.FAILED, True),
        (OutboxMessage.delivery_status.in_(NOT_DELIVERED), True),
        else_=False,
    )
    for status, delivery, is_failed, carrier, count in session.execute(
        select(
            OutboxMessage.status,
            OutboxMessage.delivery_status,
            failed,
            OutboxMessage.carrier,
            func.count(),
        )
        .where(
            OutboxMessage.created_at >= start,
            OutboxMessage.created_at <= end,
            OutboxMessage.channel == Channel.SMS,
            IS_REPLY,
        )
        .group_by(
            OutboxMessage.status, OutboxMessage.delivery_status, failed, OutboxMessage.carrier
        )
    ):
        if status is OutboxStatus.SENT:
            window.replies["sent"] += count
        if delivery is DeliveryStatus.DELIVERED:
            window.replies["delivered"] += count
        if is_failed:
            window.replies["failed"] += count
            window.failed_by_carrier[carrier] += count
    window.charges = _charges(session, start, end)
    window.latency = _latency(session, start)
    return window


def _charges(session: Session, start: dt.datetime, end: dt.datetime) -> Line:
    """Sum the ledger in SQL: the overview needs totals, not the summary's lines."""
    line = Line()
    for kind, count, amount in session.execute(
        select(LedgerEntry.kind, func.count(), func.coalesce(func.sum(LedgerEntry.amount_vnd), 0))
        .where(LedgerEntry.created_at >= start, LedgerEntry.created_at <= end)
        .group_by(LedgerEntry.kind)
    ):
        if kind is EntryKind.CHARGE:
            line.messages, line.charged_vnd = count, amount
        else:
            line.refunded_vnd = amount
    return line


def _latency(session: Session, start: dt.datetime) -> dict[str, float | None]:
    """MO received → reply handed to the carrier, in seconds: p50, p95, p99."""
    rows = session.execute(
        select(InboundMessage.created_at, OutboxMessage.sent_at)
        .join(OutboxMessage, OutboxMessage.message_id == InboundMessage.id)
        .where(InboundMessage.created_at >= start, OutboxMessage.sent_at.is_not(None))
        .order_by(InboundMessage.id.desc())
        .limit(LATENCY_SAMPLE)
    ).all()
    waits = sorted(max(0.0, (sent - received).total_seconds()) for received, sent in rows)
    return {name: _percentile(waits, q) for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    # Nearest rank: the value at or below which q of the waits fall.
    rank = max(1, -(-len(values) * q // 1))
    return values[int(rank) - 1]


def _daily_chart(session: Session, start: dt.datetime, now: dt.datetime) -> dict[str, object]:
    """Messages per local day and outcome over the window, for Chart.js, counted in SQL."""
    days = [local_date(start) + dt.timedelta(days=i) for i in range(30)]
    # The local day as a CASE over the 30 midnights: the same SQL on SQLite and PostgreSQL,
    # where a time-zone conversion would be written differently in each.
    bounds = [local_midnight(day + dt.timedelta(days=1)) for day in days]
    day_index = case(
        *[(InboundMessage.created_at < bound, i) for i, bound in enumerate(bounds)], else_=29
    )
    counts: Counter[tuple[int, str]] = Counter()
    outcomes: set[str] = set()
    for index, outcome, count in session.execute(
        select(day_index, InboundMessage.outcome, func.count())
        .where(InboundMessage.created_at >= start, InboundMessage.created_at <= now)
        .group_by(day_index, InboundMessage.outcome)
    ):
        name = outcome.value if outcome else "waiting"
        outcomes.add(name)
        counts[index, name] += count
    return {
        "labels": [d.strftime("%d/%m") for d in days],
        "datasets": [
            {"label": label(name), "data": [counts[i, name] for i in range(len(days))]}
            for name in sorted(outcomes)
        ],
    }
