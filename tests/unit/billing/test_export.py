"""Export cells: phones masked, refunds negative, formulas guarded, CSV as RFC 4180 says."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from billing.export import HEADER, Entry, cells, csv_chunks, guard, write_csv, write_xlsx
from billing.ledger import EntryKind
from billing.outcomes import Outcome
from billing.refunds import RefundPolicy

AT = dt.datetime(2026, 11, 1, 16, 30)  # naive UTC as stored: 23:30 local, Nov 1


def entry(**changes: object) -> Entry:
    values: dict[str, object] = {
        "id": 7,
        "kind": EntryKind.CHARGE,
        "created_at": AT,
        "carrier": "viettel",
        "shortcode": "8079",
        "message_id": 3,
        "carrier_message_id": "mo-1",
        "phone": "84912345678",
        "outcome": Outcome.RESET_SENT,
        "amount_vnd": 1000,
        "tariff": "8079:1000",
        "refund_of": None,
        "reason": None,
        "message_at": AT,
        "reply_failed": False,
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "guarded"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+84912345678", "'+84912345678"),
        ("-1000", "'-1000"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("mo-1", "mo-1"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_guarded(text: str, guarded: str) -> None:
    assert guard(text) == guarded


def test_a_charge_row_masks_the_phone_and_shows_local_time() -> None:
    row = dict(zip(HEADER, cells(entry(), RefundPolicy()), strict=True))

    assert row == {
        "entry_id": 7,
        "kind": "charge",
        "time_utc": "2026-11-01T16:30:00Z",
        "local_time": "2026-11-01 23:30:00",
        "carrier": "viettel",
        "shortcode": "8079",
        "message_id": 3,
        "carrier_message_id": "mo-1",
        "phone": "8491****678",
        "outcome": "reset_sent",
        "amount_vnd": 1000,
        "tariff": "8079:1000",
        "refundable": "no",
        "refund_of": "",
        "reason": "",
        "message_time_utc": "2026-11-01T16:30:00Z",
    }


def test_unmasked_rows_carry_the_full_phone() -> None:
    row = dict(zip(HEADER, cells(entry(), RefundPolicy(), masked=False), strict=True))

    assert row["phone"] == "84912345678"


def test_a_refund_row_is_negative_and_points_at_its_charge() -> None:
    refund = entry(id=9, kind=EntryKind.REFUND, refund_of=7, reason="=cmd|' /C calc'!A0")
    row = dict(zip(HEADER, cells(refund, RefundPolicy()), strict=True))

    assert (row["amount_vnd"], row["refund_of"], row["refundable"]) == (-1000, 7, "")
    assert row["reason"] == "'=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("outcome", "reply_failed", "wrong_syntax_policy", "refundable"),
    [
        (Outcome.SYSTEM_ERROR, False, False, "yes"),
        (Outcome.RESET_SENT, True, False, "yes"),
        (Outcome.NOT_MATCHED, True, False, "yes"),
        (Outcome.RESET_SENT, False, False, "no"),
        (Outcome.RATE_LIMITED, False, False, "no"),
        (Outcome.WRONG_SYNTAX, False, False, "no"),
        (Outcome.WRONG_SYNTAX, False, True, "yes"),
    ],
)
def test_refundable_follows_the_policy(
    outcome: Outcome, reply_failed: bool, wrong_syntax_policy: bool, refundable: str
) -> None:
    policy = RefundPolicy(refund_wrong_syntax=wrong_syntax_policy)
    row = dict(
        zip(HEADER, cells(entry(outcome=outcome, reply_failed=reply_failed), policy), strict=True)
    )

    assert row["refundable"] == refundable


def test_csv_is_rfc4180_with_crlf_and_quotes_and_excel_gets_a_bom() -> None:
    rows = [entry(carrier_message_id='id, with "quotes"'), entry(id=8, carrier_message_id="-2")]

    text = "".join(csv_chunks(iter(rows), RefundPolicy(), bom=True, rows_per_chunk=1))

    assert text.startswith("\ufeffentry_id,kind,time_utc,")
    assert text.count("\r\n") == 3
    assert '"id, with ""quotes"""' in text
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert parsed[0] == list(HEADER)
    assert [r[7] for r in parsed[1:]] == ['id, with "quotes"', "'-2"]


def test_write_csv_counts_rows_and_an_empty_period_has_the_header_only() -> None:
    stream = io.StringIO()

    assert write_csv(stream, iter([]), RefundPolicy()) == 0
    assert stream.getvalue() == ",".join(HEADER) + "\r\n"


def test_xlsx_keeps_values_as_inert_text(tmp_path: Path) -> None:
    path = tmp_path / "charges.xlsx"
    rows = [entry(carrier_message_id="=1+2", reason="Hoàn tiền đợt 1")]

    assert write_xlsx(str(path), iter(rows), RefundPolicy()) == 1

    sheet = load_workbook(path).active
    header, row = (list(r) for r in sheet.iter_rows())
    assert [c.value for c in header] == list(HEADER)
    by_name = {h.value: c for h, c in zip(header, row, strict=True)}
    assert (by_name["carrier_message_id"].value, by_name["carrier_message_id"].data_type) == (
        "=1+2",
        "s",
    )
    assert by_name["reason"].value == "Hoàn tiền đợt 1"
    assert by_name["amount_vnd"].value == 1000
    assert by_name["phone"].value == "8491****678"
