"""The Charges page's figures: the period asked for, and the chart drawn from the summary.

The table and the chart come from ``billing.summary.summarise`` — the same numbers as
``gateway charges summary`` — so the page can never disagree with the CLI or the export.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from billing.errors import BillingError
from billing.periods import Period, local_date, parse_local_date
from billing.summary import CARRIER, Summary
from gateway.errors import InvalidPayload
from gateway.finance.errors import FinanceRefused
from gateway.finance.exports import ExportQuery
from gateway.finance.queries import Access, checked_period, reading_session

MAX_DAYS = 400  # a page (and its chart) of more than a year helps nobody; the CLI has no limit


@dataclass(frozen=True, slots=True)
class Choice:
    """A period of local days and an optional carrier, as the form gave them."""

    first: str
    last: str
    carrier: str | None
    period: Period

    def export_query(self) -> ExportQuery:
        """The export of this choice (phones masked: the console never shows them whole)."""
        return ExportQuery(local_date(self.period.start), self.last_day, self.carrier)

    @property
    def last_day(self) -> dt.date:
        """The last local day of the period (included)."""
        return local_date(self.period.end - dt.timedelta(microseconds=1))


def month_of(today: dt.date) -> tuple[str, str]:
    """Return the first and last day of the month ``today`` falls in, as YYYY-MM-DD."""
    first = today.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first.isoformat(), (following - dt.timedelta(days=1)).isoformat()


def read_choice(access: Access, args: Any, now: dt.datetime) -> Choice:
    """Read from/to/carrier (defaults: this local month, every carrier); refuse bad values."""
    default_first, default_last = month_of(local_date(now))
    first = (args.get("from") or default_first).strip()
    last = (args.get("to") or default_last).strip()
    carrier = args.get("carrier") or None
    days = _day(first, "Từ ngày"), _day(last, "Đến ngày")
    try:
        with reading_session(access) as session:
            period = checked_period(access, session, *days, carrier)
    except FinanceRefused as exc:
        if exc.code == "unknown_carrier":
            raise InvalidPayload(f"nhà mạng không rõ: {(carrier or '')[:32]!r}") from exc
        if exc.code == "days_reversed":
            raise InvalidPayload("Từ ngày phải trước hoặc trùng Đến ngày") from exc
        raise InvalidPayload(page_words(exc.reason)) from exc
    if (period.end - period.start).days > MAX_DAYS:
        raise InvalidPayload(f"chọn tối đa {MAX_DAYS} ngày (dùng `gateway charges` cho dài hơn)")
    return Choice(first, last, carrier, period)


def _day(raw: str, field: str) -> dt.date:
    """Read a local day as the date field sends it (or as people type it, dd/mm/yyyy)."""
    try:
        return parse_local_date(raw, field, day_first=True)
    except BillingError as exc:
        raise InvalidPayload(f"{field}: «{raw[:32]}» không phải ngày (dd/mm/yyyy)") from exc


def page_words(reason: str) -> str:
    """Name the page's fields where billing and the use cases name the CLI's options."""
    return reason.replace("--from", "Từ ngày").replace("--to", "Đến ngày")


def chart_data(summary: Summary, period: Period, by: int = CARRIER) -> dict[str, Any]:
    """Net đồng per local day (labels) for each carrier or service (datasets), for Chart.js."""
    days = []
    day = local_date(period.start)
    while day < local_date(period.end):
        days.append(day)
        day += dt.timedelta(days=1)
    carriers = sorted({str(key[by]) for key in summary.lines})
    net: dict[tuple[dt.date, str], int] = {}
    for key, line in summary.lines.items():
        when, carrier = key[0], str(key[by])
        net[when, carrier] = net.get((when, carrier), 0) + line.net_vnd
    return {
        "labels": [d.strftime("%d/%m") for d in days],
        "datasets": [
            {"label": carrier, "data": [net.get((d, carrier), 0) for d in days]}
            for carrier in carriers
        ],
    }
