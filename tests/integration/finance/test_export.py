"""The export as the database formats it: each cell checked on SQLite and PostgreSQL alike.

The CSV cells are computed in SQL (for speed), so these tests hold them to the rules in Python:
``parsers.mask_phone``, the formula guard, ``RefundPolicy.refundable``, UTC and Vietnam time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import String, insert, literal, select
from sqlalchemy.orm import Session

from billing.export import (
    FORMULA_STARTS,
    HEADER,
    csv_chunks,
    export_lines,
    export_rows,
    guarded,
    masked_phone,
    write_csv,
)
from billing.export_xlsx import write_xlsx
from billing.ledger import LedgerEntry
from billing.outcomes import Outcome
from billing.periods import local_days
from billing.refunds import RefundPolicy
from gateway.models import InboundMessage
from gateway.runtime import Runtime
from parsers import mask_phone

AT = dt.datetime(2026, 11, 1, 16, 30, 45, 987654, tzinfo=dt.UTC)  # 23:30:45 local, Nov 1
NOVEMBER = local_days("2026-11-01", "2026-11-30")


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    """A session in a transaction, as the export has: PostgreSQL streams only inside one."""
    with runtime.session_factory() as session:
        yield session


def add_entry(session: Session, entry_id: int, **changes: Any) -> None:
    """Store an inbound message and one ledger entry for it (a charge unless told)."""
    message_id = changes.pop("message_id", entry_id)
    if session.get(InboundMessage, message_id) is None:
        session.execute(
            insert(InboundMessage),
            {
                "id": message_id,
                "carrier": "viettel",
                "carrier_message_id": f"mo-{message_id}",
                "sender": "84912345678",
                "recipient": "8079",
                "text": "BH MK 0123456789",
                "content_digest": f"{message_id:064d}",
                "created_at": AT,
                "status": "processed",
                "outcome": "reset_sent",
                "replied": True,
                "attempts": 0,
            },
        )
    values: dict[str, Any] = {
        "id": entry_id,
        "message_id": message_id,
        "carrier": "viettel",
        "carrier_message_id": f"mo-{message_id}",
        "shortcode": "8079",
        "phone": "84912345678",
        "amount_vnd": 1000,
        "kind": "charge",
        "outcome": "reset_sent",
        "tariff": "8079:1000",
        "created_at": AT,
        "message_at": AT,
        "refund_of": None,
        "reason": None,
        "actor": None,
    }
    session.execute(insert(LedgerEntry.__table__), values | changes)
    session.commit()


def exported(session: Session, policy: RefundPolicy | None = None, **options: Any) -> list[dict]:
    """Run the CSV export of November and read it back as dicts."""
    stream = io.StringIO()
    write_csv(stream, export_lines(session, NOVEMBER, policy or RefundPolicy(), **options))
    return list(csv.DictReader(io.StringIO(stream.getvalue().removeprefix("\ufeff"))))


def test_a_charge_row_masks_the_phone_and_shows_utc_and_local_time(session: Session) -> None:
    add_entry(session, 7)

    assert exported(session) == [
        {
            "entry_id": "7",
            "kind": "charge",
            "time_utc": "2026-11-01T16:30:45Z",
            "local_time": "2026-11-01 23:30:45",
            "carrier": "viettel",
            "shortcode": "8079",
            "message_id": "7",
            "carrier_message_id": "mo-7",
            "phone": "8491****678",
            "outcome": "reset_sent",
            "amount_vnd": "1000",
            "tariff": "8079:1000",
            "refundable": "no",
            "refund_of": "",
            "reason": "",
            "message_time_utc": "2026-11-01T16:30:45Z",
            "service": "recovery",
        }
    ]


def test_local_time_crosses_midnight_and_a_missing_message_time_is_empty(
    session: Session,
) -> None:
    late = dt.datetime(2026, 11, 2, 17, 0, 0, tzinfo=dt.UTC)  # 00:00 local on Nov 3
    add_entry(session, 1, created_at=late, message_at=None)

    (row,) = exported(session)

    assert (row["time_utc"], row["local_time"]) == ("2026-11-02T17:00:00Z", "2026-11-03 00:00:00")
    assert row["message_time_utc"] == ""


def test_unmasked_rows_carry_the_full_phone(session: Session) -> None:
    add_entry(session, 7)

    assert [row["phone"] for row in exported(session, masked=False)] == ["84912345678"]


def test_a_refund_row_is_negative_guarded_and_points_at_its_charge(session: Session) -> None:
    add_entry(session, 7)
    add_entry(session, 9, message_id=7, kind="refund", refund_of=7, reason="=cmd|' /C calc'!A0")

    charge, refund = exported(session)

    assert (refund["amount_vnd"], refund["refund_of"], refund["refundable"]) == ("-1000", "7", "")
    assert refund["reason"] == "'=cmd|' /C calc'!A0"
    assert charge["amount_vnd"] == "1000"


def test_the_carrier_cannot_smuggle_a_formula_into_any_text_cell(session: Session) -> None:
    add_entry(
        session,
        1,
        carrier="@evil",
        carrier_message_id='=HYPERLINK("http://x")',
        shortcode="+8079",
        tariff="-1000",
        phone="=84912345678",
    )

    (row,) = exported(session)
    (unmasked,) = exported(session, masked=False)

    assert row["carrier"] == "'@evil"
    assert row["carrier_message_id"] == '\'=HYPERLINK("http://x")'
    assert (row["shortcode"], row["tariff"]) == ("'+8079", "'-1000")
    assert row["phone"] == "'" + mask_phone("=84912345678")
    assert unmasked["phone"] == "'=84912345678"


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x")',
        "+84912345678",
        "-1000",
        "@SUM(A1)",
        "\tcmd",
        "\rcmd",
        "mo-1",
        "a=b",
        "",
        "Hoàn tiền",
    ],
)
def test_the_sql_guard_is_the_owasp_rule(session: Session, text: str) -> None:
    expected = "'" + text if text.startswith(FORMULA_STARTS) else text

    assert session.scalar(select(guarded(literal(text, String)))) == expected


@pytest.mark.parametrize("length", range(21))
def test_the_sql_mask_equals_mask_phone_at_every_length(session: Session, length: int) -> None:
    phone = "84912345678901234567890"[:length]

    masked = session.scalar(select(masked_phone(literal(phone, String))))

    assert masked == mask_phone(phone)


@pytest.mark.parametrize("outcome", list(Outcome))
@pytest.mark.parametrize("reply_failed", [False, True])
@pytest.mark.parametrize("wrong_syntax", [False, True])
def test_the_sql_refund_rule_is_the_policy(
    session: Session, outcome: Outcome, reply_failed: bool, wrong_syntax: bool
) -> None:
    policy = RefundPolicy(refund_wrong_syntax=wrong_syntax)
    stored = literal(outcome, LedgerEntry.__table__.c.outcome.type)

    answer = session.scalar(select(policy.refundable_sql(stored, literal(reply_failed))))

    assert bool(answer) is policy.refundable(outcome, reply_failed)


def test_csv_is_rfc4180_with_crlf_quotes_and_a_bom_by_default(session: Session) -> None:
    add_entry(session, 1, carrier_message_id='id, with "quotes"')
    add_entry(session, 2, carrier_message_id="-2", reason="Hoàn tiền đợt 1")

    text = "".join(csv_chunks(export_lines(session, NOVEMBER, RefundPolicy())))
    plain = "".join(csv_chunks(export_lines(session, NOVEMBER, RefundPolicy()), bom=False))

    assert text.startswith("\ufeffentry_id,kind,time_utc,")
    assert plain == text.removeprefix("\ufeff")
    assert text.count("\r\n") == 3
    assert '"id, with ""quotes"""' in text
    parsed = list(csv.reader(io.StringIO(plain)))
    assert parsed[0] == list(HEADER)
    assert [r[7] for r in parsed[1:]] == ['id, with "quotes"', "'-2"]
    assert parsed[2][14] == "Hoàn tiền đợt 1"


HOSTILE_TEXT = [
    'a "quoted" word',
    "comma, inside",
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\nboth",
    '"',
    ",",
    " leading and trailing ",
    "Hoàn tiền đợt 1 — ổn",
    '=HYPERLINK("x")',
    "-1+2",
    "@SUM(A1)",
    "tab\tinside",
    "",
    None,
]


@pytest.mark.parametrize("value", HOSTILE_TEXT)
def test_the_database_writes_each_line_as_pythons_csv_module_would(
    session: Session, value: str | None
) -> None:
    # The lines are joined in SQL for speed; the csv module is the reference for every cell.
    add_entry(session, 1, carrier_message_id=value or "x", reason=value, tariff=value or "t")
    add_entry(session, 2, kind="refund", refund_of=1, message_id=1, amount_vnd=1000, reason=value)
    buffer = io.StringIO()
    reference = csv.writer(buffer, lineterminator="\r\n")
    for batch in export_rows(session, NOVEMBER, RefundPolicy()):
        reference.writerows(batch)

    lines = [line for batch in export_lines(session, NOVEMBER, RefundPolicy()) for line in batch]

    assert "".join(lines) == buffer.getvalue()
    assert len(lines) == 2


def test_the_bom_makes_the_bytes_excel_reads_as_utf8(session: Session, tmp_path: Path) -> None:
    add_entry(session, 1, reason="Hoàn tiền")
    path = tmp_path / "charges.csv"

    with path.open("w", encoding="utf-8", newline="") as stream:
        write_csv(stream, export_lines(session, NOVEMBER, RefundPolicy()))

    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert "Hoàn tiền".encode() in data


def test_an_empty_period_has_the_header_only(session: Session) -> None:
    stream = io.StringIO()

    assert write_csv(stream, export_lines(session, NOVEMBER, RefundPolicy()), bom=False) == 0
    assert stream.getvalue() == ",".join(HEADER) + "\r\n"


def test_rows_come_in_batches_and_are_all_counted(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("billing.export.BATCH", 2)
    for entry_id in range(1, 6):
        add_entry(session, entry_id, created_at=AT + dt.timedelta(minutes=entry_id))

    batches = list(export_lines(session, NOVEMBER, RefundPolicy()))

    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert write_csv(io.StringIO(), iter(batches)) == 5


def test_xlsx_has_real_dates_and_numbers_and_inert_text(session: Session, tmp_path: Path) -> None:
    add_entry(session, 7)
    add_entry(session, 9, message_id=7, kind="refund", refund_of=7, reason="=1+2")
    path = tmp_path / "charges.xlsx"

    assert write_xlsx(str(path), session, NOVEMBER, RefundPolicy()) == 2

    sheet = load_workbook(path).active
    header, charge, refund = (list(r) for r in sheet.iter_rows())
    assert [c.value for c in header] == list(HEADER)
    row = {h.value: c for h, c in zip(header, charge, strict=True)}
    assert row["time_utc"].value == dt.datetime(2026, 11, 1, 16, 30, 45, 988000)
    assert row["time_utc"].is_date and row["local_time"].is_date
    assert row["local_time"].value == dt.datetime(2026, 11, 1, 23, 30, 45, 988000)
    assert row["time_utc"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert (row["amount_vnd"].value, row["entry_id"].value, row["phone"].value) == (
        1000,
        7,
        "8491****678",
    )
    back = {h.value: c for h, c in zip(header, refund, strict=True)}
    assert (back["amount_vnd"].value, back["refund_of"].value) == (-1000, 7)
    assert (back["reason"].value, back["reason"].data_type) == ("=1+2", "s")
