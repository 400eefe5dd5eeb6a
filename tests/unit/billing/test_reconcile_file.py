"""Carrier files for reconciliation: mapped columns, separators, and bad lines by number."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.errors import FileError
from billing.reconcile import Billed, file_period, parse_columns, read_carrier_file

MAPPING = "id=Request_ID,phone=User_ID,time=Time,amount=Amount"


def test_columns_are_mapped_by_name_in_any_order_and_case() -> None:
    data = (
        b"Amount;Time;request_id;User_ID;Service_ID\r\n"
        b"1.000;01/11/2026 00:05:00;R1;0912 345 678;8079\r\n"
        b"1000;2026-11-30T23:59:00+07:00;R2;+84987654321;8079\r\n"
    )

    records = read_carrier_file(data, parse_columns(MAPPING))

    assert records == [
        Billed("R1", "84912345678", dt.datetime(2026, 10, 31, 17, 5, tzinfo=dt.UTC), 1000, 2),
        Billed("R2", "84987654321", dt.datetime(2026, 11, 30, 16, 59, tzinfo=dt.UTC), 1000, 3),
    ]
    assert file_period(records).describe() == "2026-11-01 .. 2026-11-30 (Asia/Ho_Chi_Minh)"


def test_a_bom_from_excel_is_fine() -> None:
    data = "\ufeffid,phone,time,amount\nR1,0912345678,2026-11-01 10:00,1000\n".encode()

    assert [r.carrier_message_id for r in read_carrier_file(data, parse_columns(""))] == ["R1"]


def test_missing_columns_are_named() -> None:
    data = b"Request_ID,Phone,Time\nR1,0912345678,2026-11-01\n"

    with pytest.raises(FileError) as caught:
        read_carrier_file(data, parse_columns(MAPPING))

    assert str(caught.value) == (
        "line 1: missing column User_ID (for phone), Amount (for amount); "
        "the header has request_id, phone, time"
    )


def test_garbage_rows_are_listed_with_their_line_numbers() -> None:
    data = (
        b"id,phone,time,amount\n"
        b"R1,0912345678,2026-11-01 10:00,1000\n"
        b"R2,not a phone,2026-11-01 10:00,1000\n"
        b"R3,0912345678,tomorrow,1000\n"
        b"R4,0912345678,2026-11-01 10:00,-5\n"
        b",0912345678,2026-11-01 10:00,1000\n"
        b"R1,0912345678,2026-11-01 10:00,1000\n"
        b"R7,0912345678\n"
        b"\n"
    )

    with pytest.raises(FileError) as caught:
        read_carrier_file(data, parse_columns(""))

    assert caught.value.problems == [
        (3, "phone: contains letters"),
        (4, "time 'tomorrow' is not a time"),
        (5, "amount '-5' is not a whole number of đồng"),
        (6, "the id is empty"),
        (7, "id 'R1' already on line 2"),
        (8, "expected 4 cells, found 2"),
    ]


def test_a_file_that_is_not_utf8_names_the_line() -> None:
    data = "id,phone,time,amount\nR1,0912345678,2026-11-01,1000\nR2,Nguyên,x,1\n".encode("cp1258")

    with pytest.raises(FileError, match="line 3: the file is not UTF-8 text"):
        read_carrier_file(data, parse_columns(""))


@pytest.mark.parametrize("spec", ["id", "msisdn=User_ID", "id=", "id=A,amount"])
def test_a_bad_mapping_says_how_to_write_it(spec: str) -> None:
    with pytest.raises(ValueError, match="is not FIELD=COLUMN"):
        parse_columns(spec)
