"""Finance periods: local days in Vietnam (Asia/Ho_Chi_Minh, UTC+7) turned into UTC ranges.

Finance staff think in local days, the ledger stores UTC: ``2026-11-01 .. 2026-11-30`` (both ends
inclusive) is ``[2026-10-31T17:00Z, 2026-11-30T17:00Z)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from billing.errors import PeriodError

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# How Vietnamese write a day (and Excel with Vietnamese settings): 30/11/2026.
DAY_FIRST = "%d/%m/%Y"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open UTC range ``[start, end)``."""

    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, dt.datetime) and self.start <= moment < self.end

    def describe(self) -> str:
        """Say the period in local days, as a person gave it."""
        first = local_date(self.start)
        last = local_date(self.end - dt.timedelta(microseconds=1))
        return f"{first.isoformat()} .. {last.isoformat()} (Asia/Ho_Chi_Minh)"


def parse_local_date(raw: str, name: str = "date", *, day_first: bool = False) -> dt.date:
    """Parse ``YYYY-MM-DD`` (and ``dd/mm/yyyy`` with ``day_first``) or raise PeriodError
    naming the option."""
    text = raw.strip()
    try:
        if len(text) == len("2026-11-01") and text[4:5] == "-":
            return dt.date.fromisoformat(text)
        if day_first:
            return dt.datetime.strptime(text, DAY_FIRST).date()
        raise ValueError
    except ValueError:
        forms = "YYYY-MM-DD or dd/mm/yyyy" if day_first else "YYYY-MM-DD"
        raise PeriodError(f"{name}: {raw!r} is not a date in the form {forms}") from None


def local_days(first: str, last: str) -> Period:
    """Return the period from local day ``first`` to local day ``last``, both inclusive."""
    return days_period(parse_local_date(first, "--from"), parse_local_date(last, "--to"))


def days_period(first: dt.date, last: dt.date) -> Period:
    """Return the period from local day ``first`` to ``last``, both inclusive; refuse them
    reversed."""
    if first > last:
        raise PeriodError(f"--from {first} is after --to {last}")
    return Period(local_midnight(first), local_midnight(last + dt.timedelta(days=1)))


def local_midnight(day: dt.date) -> dt.datetime:
    """Return the UTC moment at which local ``day`` begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ).astimezone(dt.UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """Return the local day an aware moment falls on."""
    return moment.astimezone(LOCAL_TZ).date()


def parse_moment(raw: str) -> dt.datetime:
    """Parse an ISO 8601 or ``DD/MM/YYYY HH:MM[:SS]`` time; a time without offset is local."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = _day_first(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(dt.UTC)


def _day_first(text: str) -> dt.datetime:
    # Vietnamese carriers' spreadsheets write dates day first.
    for pattern in (f"{DAY_FIRST} %H:%M:%S", f"{DAY_FIRST} %H:%M", DAY_FIRST):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a time (use ISO 8601 or DD/MM/YYYY HH:MM:SS)")
