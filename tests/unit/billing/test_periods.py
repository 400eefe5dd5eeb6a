"""Local days (Asia/Ho_Chi_Minh, UTC+7) become half-open UTC ranges."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.errors import PeriodError
from billing.periods import days_period, local_date, local_days, parse_local_date, parse_moment

UTC = dt.UTC


def test_a_month_of_local_days_starts_and_ends_at_local_midnight() -> None:
    period = local_days("2026-11-01", "2026-11-30")

    assert period.start == dt.datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert period.end == dt.datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert period.describe() == "2026-11-01 .. 2026-11-30 (Asia/Ho_Chi_Minh)"


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (
            dt.datetime(2026, 10, 31, 16, 59, 59, 999999, tzinfo=UTC),
            False,
        ),  # 23:59:59 local, Oct 31
        (dt.datetime(2026, 10, 31, 17, 0, tzinfo=UTC), True),  # local midnight, Nov 1
        (dt.datetime(2026, 11, 30, 16, 59, 59, tzinfo=UTC), True),  # 23:59:59 local, Nov 30
        (dt.datetime(2026, 11, 30, 17, 0, tzinfo=UTC), False),  # local midnight, Dec 1
    ],
)
def test_boundaries_at_local_midnight(moment: dt.datetime, inside: bool) -> None:
    assert (moment in local_days("2026-11-01", "2026-11-30")) is inside


def test_one_day_is_twenty_four_hours_and_knows_its_local_date() -> None:
    period = local_days("2026-11-02", "2026-11-02")

    assert period.end - period.start == dt.timedelta(hours=24)
    assert local_date(dt.datetime(2026, 11, 1, 17, 0, tzinfo=UTC)) == dt.date(2026, 11, 2)
    assert local_date(dt.datetime(2026, 11, 1, 16, 59, tzinfo=UTC)) == dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-11-31", "2026-12-01", "--from: '2026-11-31' is not a date in the form YYYY-MM-DD"),
        ("01/11/2026", "2026-11-30", "--from: '01/11/2026' is not a date in the form YYYY-MM-DD"),
        ("2026-11-01", "20261130", "--to: '20261130' is not a date in the form YYYY-MM-DD"),
        ("2026-11-02", "2026-11-01", "--from 2026-11-02 is after --to 2026-11-01"),
    ],
)
def test_bad_dates_are_named(first: str, last: str, message: str) -> None:
    with pytest.raises(PeriodError) as caught:
        local_days(first, last)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-01T00:05:00+07:00", dt.datetime(2026, 10, 31, 17, 5, tzinfo=UTC)),
        ("2026-11-01T00:05:00Z", dt.datetime(2026, 11, 1, 0, 5, tzinfo=UTC)),
        ("2026-11-01 00:05:00", dt.datetime(2026, 10, 31, 17, 5, tzinfo=UTC)),  # local
        ("01/11/2026 00:05:00", dt.datetime(2026, 10, 31, 17, 5, tzinfo=UTC)),  # day first
        ("2026-11-01", dt.datetime(2026, 10, 31, 17, 0, tzinfo=UTC)),
    ],
)
def test_times_without_offset_are_local(raw: str, expected: dt.datetime) -> None:
    assert parse_moment(raw) == expected


def test_garbage_is_not_a_time() -> None:
    with pytest.raises(ValueError, match="is not a time"):
        parse_moment("yesterday")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-30", dt.date(2026, 11, 30)),
        ("30/11/2026", dt.date(2026, 11, 30)),
        ("1/2/2026", dt.date(2026, 2, 1)),
        (" 01/02/2026 ", dt.date(2026, 2, 1)),
    ],
)
def test_day_first_dates_are_read_where_asked(raw: str, expected: dt.date) -> None:
    assert parse_local_date(raw, "--from", day_first=True) == expected


@pytest.mark.parametrize("raw", ["31/11/2026", "11/30/2026", "30/11/26", "20261130", "30-11-2026"])
def test_a_day_first_date_that_is_no_day_is_named(raw: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_local_date(raw, "--to", day_first=True)

    assert str(caught.value) == f"--to: {raw!r} is not a date in the form YYYY-MM-DD or dd/mm/yyyy"


def test_days_in_order_make_a_period_and_reversed_ones_are_refused() -> None:
    assert days_period(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == local_days(
        "2026-11-01", "2026-11-30"
    )
    with pytest.raises(PeriodError, match="--from 2026-11-02 is after --to 2026-11-01"):
        days_period(dt.date(2026, 11, 2), dt.date(2026, 11, 1))
