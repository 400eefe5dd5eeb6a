"""Reconciliation's column fields: the carrier's own header names, and refusals in Vietnamese."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.console import report_store
from gateway.console.reconcile_words import problem_words
from gateway.finance.errors import FinanceRefused
from gateway.finance.reconciliation import choose_columns, columns_spec, file_header

NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("data", "header"),
    [
        (
            b"Request_ID;User_ID;Time;Amount\r\n1;2;3;4\r\n",
            ["Request_ID", "User_ID", "Time", "Amount"],
        ),
        (b"\xef\xbb\xbfid,phone,time,amount\n", ["id", "phone", "time", "amount"]),
        (b"a\tb\tc\r\n", ["a", "b", "c"]),
        ("Mã tin;Số thuê bao\n".encode(), ["Mã tin", "Số thuê bao"]),
    ],
)
def test_the_header_is_split_as_the_reader_splits_it(data: bytes, header: list[str]) -> None:
    assert file_header(data) == header


@pytest.mark.parametrize("data", [b"", b"\r\n", b"\xff\xfe\x00bad"])
def test_an_empty_or_foreign_file_is_refused_with_its_line(data: bytes) -> None:
    with pytest.raises(FinanceRefused) as refused:
        file_header(data)
    assert refused.value.code == "bad_file" and refused.value.problems[0][0] == 1


@pytest.mark.parametrize(
    ("header", "given", "spec", "missing"),
    [
        (
            ["Request_ID", "User_ID", "Time", "Amount"],
            {},
            "id=Request_ID,phone=User_ID,time=Time,amount=Amount",
            [],
        ),
        (
            ["MÃ TIN", "Số  thuê-bao", "Thời gian", "Số tiền"],
            {},
            "id=MÃ TIN,phone=Số  thuê-bao,time=Thời gian,amount=Số tiền",
            [],
        ),
        (["msisdn", "x", "y"], {"id": "x"}, "id=x,phone=msisdn", ["time", "amount"]),
        (
            ["id", "phone", "time", "amount"],
            {"amount": "Cuoc"},
            "id=id,phone=phone,time=time,amount=Cuoc",
            [],
        ),
    ],
)
def test_fields_left_empty_take_a_known_carrier_name(
    header: list[str], given: dict[str, str], spec: str, missing: list[str]
) -> None:
    chosen, absent = choose_columns(header, given)
    assert (columns_spec(chosen), absent) == (spec, missing)


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("expected 4 cells, found 2", "dòng 3: cần 4 ô, có 2 ô"),
        ("phone: '09x' is not a phone number", "dòng 3: số điện thoại không đọc được"),
        ("time 'x' is not a time", "dòng 3: thời gian 'x' không đọc được"),
        (
            "amount '1 k' is not a whole number of đồng",
            "dòng 3: số tiền '1 k' không phải số đồng nguyên",
        ),
        ("id 'A' already on line 2", "dòng 3: mã tin 'A' trùng với dòng 2"),
        ("the id is empty", "dòng 3: mã tin trống"),
        ("something new", "dòng 3: something new"),  # unknown: shown, never hidden
    ],
)
def test_billing_reasons_are_worded_in_vietnamese(reason: str, words: str) -> None:
    assert problem_words([(3, reason)]) == [words]


def test_a_long_list_of_problems_is_cut() -> None:
    shown = problem_words([(n, "the id is empty") for n in range(2, 40)])
    assert len(shown) == 21 and shown[-1] == "… và 18 dòng lỗi nữa"


def test_a_kept_report_is_given_to_its_owner_only_until_it_expires() -> None:
    token = report_store.keep("Đối soát", "doi-soat.txt", "7:1", NOW)

    assert report_store.take(token, "7:1", NOW) == ("doi-soat.txt", "Đối soát")
    assert report_store.take(token, "7:2", NOW) is None  # another session
    assert report_store.take(token, "8:1", NOW) is None  # another member
    assert report_store.take(token, "7:1", NOW + report_store.KEPT_FOR * 2) is None
    assert report_store.take("../" + token[3:], "7:1", NOW) is None
