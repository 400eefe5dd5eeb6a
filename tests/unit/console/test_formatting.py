"""The console writes money, counts, times and durations the Vietnamese way."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.console.charges import month_of
from gateway.console.formatting import local_time, masked_text, number, role_name, seconds, vnd
from gateway.console.overview import _percentile


@pytest.mark.parametrize(
    ("amount", "text"),
    [(0, "0 ₫"), (1000, "1.000 ₫"), (1234567, "1.234.567 ₫"), (-2000, "-2.000 ₫")],
)
def test_vnd_uses_dots_between_thousands(amount: int, text: str) -> None:
    assert vnd(amount) == text


def test_counts_times_and_durations() -> None:
    assert number(12345) == "12.345"
    assert local_time(dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)) == "01/12/2026 00:00"
    assert local_time(None) == "—"
    assert seconds(0.84) == "0,8 giây"
    assert seconds(200) == "3 phút 20 giây"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("BH MK 0123456789", "BH MK 01******89"),
        ("BH MK 001099012345", "BH MK 00********45"),
        (
            "Tai khoan: 0123456789/Mat khau: **********. Dung",
            "Tai khoan: 01******89/Mat khau: ••••••••••. Dung",
        ),
        ("Goi 1900 9068", "Goi 1900 9068"),  # short numbers stay
        ("xin chao", "xin chao"),
    ],
)
def test_message_texts_are_masked(stored: str, shown: str) -> None:
    assert masked_text(stored) == shown


def test_roles_have_vietnamese_names() -> None:
    assert [role_name(r) for r in ("finance", "operator", "support", "admin")] == [
        "tài chính",
        "vận hành",
        "hỗ trợ",
        "quản trị",
    ]


@pytest.mark.parametrize(
    ("today", "first", "last"),
    [
        (dt.date(2026, 11, 2), "2026-11-01", "2026-11-30"),
        (dt.date(2026, 12, 31), "2026-12-01", "2026-12-31"),
        (dt.date(2028, 2, 10), "2028-02-01", "2028-02-29"),
    ],
)
def test_the_default_period_is_the_local_month(today: dt.date, first: str, last: str) -> None:
    assert month_of(today) == (first, last)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert (_percentile(values, 0.5), _percentile(values, 0.95), _percentile(values, 0.99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert _percentile([], 0.5) is None
    assert _percentile([7.0], 0.99) == 7.0
