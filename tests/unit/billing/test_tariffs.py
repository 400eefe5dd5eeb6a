"""Tariffs per carrier and shortcode, with the moment each takes effect; bad files by line."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from billing.errors import FileError
from billing.tariffs import TariffBook, default_book, read_tariffs, tariff_book

UTC = dt.UTC
FILE = """carrier,shortcode,amount_vnd,effective_from
viettel,8079,500,2020-01-01
viettel,8079,1000,2026-11-15
mobifone,8079,1000,
viettel,8179,1500,2026-11-15T12:00:00+07:00
"""


def book() -> TariffBook:
    return TariffBook(read_tariffs(FILE.splitlines(), known_carriers=["viettel", "mobifone"]))


def test_a_tariff_change_mid_period_prices_each_message_by_its_own_time() -> None:
    before = dt.datetime(2026, 11, 14, 16, 59, 59, tzinfo=UTC)  # 23:59:59 local, Nov 14
    after = dt.datetime(2026, 11, 14, 17, 0, tzinfo=UTC)  # local midnight, Nov 15

    old, new = book().in_force("viettel", "8079", before), book().in_force("viettel", "8079", after)

    assert old is not None and new is not None
    assert (old.amount_vnd, old.label) == (500, "8079:500@2020-01-01T00:00+07:00")
    assert (new.amount_vnd, new.label) == (1000, "8079:1000@2026-11-15T00:00+07:00")


def test_no_date_means_always_and_other_shortcodes_have_their_own_table() -> None:
    forever = book().in_force("mobifone", "8079", dt.datetime(2001, 1, 1, tzinfo=UTC))
    dearer = book().in_force("viettel", "8179", dt.datetime(2026, 11, 15, 5, 0, tzinfo=UTC))

    assert forever is not None and forever.label == "8079:1000"
    assert dearer is not None and dearer.amount_vnd == 1500


def test_before_the_first_tariff_the_fallback_is_charged_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "billing.tariffs")
    early = dt.datetime(2019, 6, 1, tzinfo=UTC)

    assert book().in_force("viettel", "8079", early) is None
    fallback = book().price("viettel", "8079", early, 1000)

    assert (fallback.amount_vnd, fallback.label) == (1000, "8079:1000:fallback")
    assert "no tariff in force for viettel/8079" in caplog.text


def test_the_default_book_charges_every_carrier_the_setting() -> None:
    tariffs = default_book(["viettel", "mobifone"], "8079", 1000)

    for carrier in ("viettel", "mobifone"):
        tariff = tariffs.in_force(carrier, "8079", dt.datetime(2026, 11, 2, tzinfo=UTC))
        assert tariff is not None and (tariff.amount_vnd, tariff.label) == (1000, "8079:1000")


def test_bad_lines_are_all_listed_with_their_numbers() -> None:
    text = """carrier,shortcode,amount_vnd,effective_from
viettel,8079,1000,2026-01-01
Viettel!,8079,1000,2026-01-01
viettel,80x9,1000,2026-01-01
viettel,8079,1.000,2026-01-01
viettel,8079,1000,next monday
vinaphone,8079,1000,2026-01-01
viettel,8079,1000
viettel,8079,2000,2026-01-01
"""
    with pytest.raises(FileError) as caught:
        read_tariffs(text.splitlines(), known_carriers=["viettel", "mobifone"])

    assert caught.value.problems == [
        (3, "carrier 'Viettel!' is not a carrier name"),
        (4, "shortcode '80x9' is not 3 to 16 digits"),
        (5, "amount_vnd '1.000' is not a whole number of đồng up to 100000"),
        (6, "effective_from 'next monday' is not a date (YYYY-MM-DD)"),
        (7, "carrier 'vinaphone' is not in GATEWAY_CARRIERS"),
        (8, "expected 4 columns, found 3"),
        (9, "same carrier, shortcode and date as line 2"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("carrier;shortcode;amount;from\n", "line 1: the header must be"),
        ("carrier,shortcode,amount_vnd,effective_from\n", "line 1: the file lists no tariff"),
    ],
)
def test_a_file_without_the_header_or_tariffs_is_refused(text: str, message: str) -> None:
    with pytest.raises(FileError, match=message):
        read_tariffs(text.splitlines())


def test_the_file_is_read_once_per_path(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.csv"
    path.write_text(FILE, encoding="utf-8")
    carriers = ("viettel", "mobifone")

    first = tariff_book(path, carriers, "8079", 1000)
    path.write_text("garbage", encoding="utf-8")  # an edit takes effect on restart only

    assert tariff_book(path, carriers, "8079", 1000) is first


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tariffs.csv"
    path.write_bytes(
        "carrier,shortcode,amount_vnd,effective_from\nviettel,8079,1000,\xe9\n".encode("latin-1")
    )

    with pytest.raises(FileError, match="is not UTF-8 text"):
        tariff_book(path, ("viettel",), "8079", 1000)
