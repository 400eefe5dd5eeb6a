"""The clock port: real time in production, a hand-moved clock in tests."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        """Return the current UTC time."""
        return dt.datetime.now(dt.UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        """Return the current fake time."""
        return self._now

    def advance(self, **delta: float) -> dt.datetime:
        """Move the clock forward by a timedelta given as keyword arguments."""
        self._now += dt.timedelta(**delta)
        return self._now
