"""Daily summaries: per local day, carrier, keyword service and outcome, the messages, charged,
refunded and net.

The summary reads the same entries as the export (same period, same filter), so its totals
equal the export's sums to the đồng. Grouping by local day happens here rather than in SQL:
the day of a UTC time is written differently in every database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.export import BATCH
from billing.ledger import EntryKind, LedgerEntry
from billing.outcomes import Outcome
from billing.periods import LOCAL_TZ, Period

HEADER = (
    "local_date",
    "carrier",
    "service",
    "outcome",
    "messages",
    "charged_vnd",
    "refunded_vnd",
    "net_vnd",
)
Key = tuple[dt.date, str, str, Outcome]  # local day, carrier, service, outcome
CARRIER, SERVICE = 1, 2  # the parts of a key the console's charts and tables split by


@dataclass(slots=True)
class Line:
    """One line of the summary (or its total)."""

    messages: int = 0
    charged_vnd: int = 0
    refunded_vnd: int = 0

    @property
    def net_vnd(self) -> int:
        """Return what stays charged."""
        return self.charged_vnd - self.refunded_vnd

    def add(self, kind: EntryKind, amount_vnd: int) -> None:
        """Count one entry."""
        if kind is EntryKind.CHARGE:
            self.messages += 1
            self.charged_vnd += amount_vnd
        else:
            self.refunded_vnd += amount_vnd


@dataclass(frozen=True, slots=True)
class Summary:
    """The summary's lines by (local day, carrier, service, outcome), and the total."""

    lines: dict[Key, Line]
    total: Line

    def rows(self) -> Iterator[tuple[str, str, str, str, int, int, int, int]]:
        """Yield the lines in order of day, carrier, service and outcome, then the total."""
        for (day, carrier, service, outcome), line in sorted(
            self.lines.items(), key=lambda item: (*item[0][:3], item[0][3].value)
        ):
            yield (day.isoformat(), carrier, service, outcome.value, *_figures(line))
        yield ("total", "", "", "", *_figures(self.total))

    def totals_by(self, part: int) -> dict[str, Line]:
        """Total the lines by one part of their key (CARRIER or SERVICE), sorted."""
        totals: dict[str, Line] = {}
        for key, line in self.lines.items():
            total = totals.setdefault(str(key[part]), Line())
            total.messages += line.messages
            total.charged_vnd += line.charged_vnd
            total.refunded_vnd += line.refunded_vnd
        return dict(sorted(totals.items()))


def _figures(line: Line) -> tuple[int, int, int, int]:
    return line.messages, line.charged_vnd, line.refunded_vnd, line.net_vnd


def summarise(session: Session, period: Period, carrier: str | None = None) -> Summary:
    """Summarise the entries written in ``period`` (optionally of one carrier)."""
    query = select(
        LedgerEntry.created_at,
        LedgerEntry.carrier,
        LedgerEntry.service,
        LedgerEntry.outcome,
        LedgerEntry.kind,
        LedgerEntry.amount_vnd,
    ).where(LedgerEntry.created_at >= period.start, LedgerEntry.created_at < period.end)
    if carrier is not None:
        query = query.where(LedgerEntry.carrier == carrier)
    lines: dict[Key, Line] = {}
    total = Line()
    for created_at, entry_carrier, service, outcome, kind, amount in session.execute(
        query.execution_options(yield_per=BATCH)
    ):
        key = (created_at.astimezone(LOCAL_TZ).date(), entry_carrier, service, outcome)
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line()
        line.add(kind, amount)
        total.add(kind, amount)
    return Summary(lines, total)
