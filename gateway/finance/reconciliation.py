"""Reconciliation (đối soát), one use case for the console page and ``gateway charges reconcile``.

A door hands over the carrier, the file's bytes, the column mapping and, optionally, the
local days; it gets the report and the period back and shows them its own way. Nothing is
written.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import NoReturn

from billing.errors import BillingError, FileError
from billing.periods import Period
from billing.reconcile import (
    DEFAULT_COLUMNS,
    FIELDS,
    Report,
    file_period,
    parse_columns,
    read_carrier_file,
    reconcile,
)
from gateway.finance.errors import FinanceRefused
from gateway.finance.queries import Access, check_carrier, checked_period, reading_session


@dataclass(frozen=True, slots=True)
class ReconcileQuery:
    """A carrier's file; the period is ``first`` .. ``last`` or, without them, the file's days."""

    carrier: str
    data: bytes
    columns: str = DEFAULT_COLUMNS
    first: dt.date | None = None
    last: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """The report and the period it covers."""

    report: Report
    period: Period


def reconcile_file(access: Access, query: ReconcileQuery) -> Reconciliation:
    """Compare the carrier's file with our charges of the period; write nothing.

    Raises FinanceRefused: ``unknown_carrier``, ``bad_file`` (the mapping or a row, with its
    line; nothing is compared) or ``days_reversed``.
    """
    with reading_session(access) as session:
        check_carrier(access, session, query.carrier)
        try:
            records = read_carrier_file(query.data, parse_columns(query.columns))
            if query.first is None or query.last is None:
                period = file_period(records)
        except FileError as exc:
            raise FinanceRefused("bad_file", str(exc), exc.problems) from exc
        except (BillingError, ValueError) as exc:
            raise FinanceRefused("bad_file", str(exc), [(1, str(exc))]) from exc
        if query.first is not None and query.last is not None:
            period = checked_period(access, session, query.first, query.last, None)
        return Reconciliation(reconcile(session, query.carrier, records, period), period)


# Column names carriers and their spreadsheets use for our four fields, compared without case,
# accents, spaces or underscores ("Số thuê bao" = "so_thue_bao"). A mapping given by a person
# always wins; these only fill the fields left empty.
KNOWN_HEADERS = {
    "id": (
        "id",
        "request_id",
        "requestid",
        "message_id",
        "msg_id",
        "sms_id",
        "mo_id",
        "ma_tin",
        "ma_tin_nhan",
        "transaction_id",
    ),
    "phone": (
        "phone",
        "user_id",
        "msisdn",
        "isdn",
        "so_thue_bao",
        "so_dien_thoai",
        "sdt",
        "thue_bao",
        "sender",
    ),
    "time": (
        "time",
        "thoi_gian",
        "ngay_gio",
        "request_time",
        "mo_time",
        "charge_time",
        "timestamp",
        "datetime",
    ),
    "amount": ("amount", "so_tien", "cuoc", "gia_cuoc", "tien", "amount_vnd", "price", "charge"),
}


def file_header(data: bytes) -> list[str]:
    """Return the column names of a carrier's file (its first line), as the reader splits it.

    Raises FinanceRefused ``bad_file`` for text that is not UTF-8 or an empty file.
    """
    head = data[: 64 * 1024].split(b"\n", 1)[0]
    try:
        line = head.decode("utf-8-sig").strip("\r")
    except UnicodeDecodeError as exc:
        # billing.reconcile.read_carrier_file says the same, for the whole file.
        _unreadable(exc)
    if not line.strip():
        raise FinanceRefused("bad_file", "line 1: the file is empty", [(1, "the file is empty")])
    # The same rule as billing.reconcile.read_carrier_file: the header line decides.
    delimiter = max(",;\t", key=line.count)
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter))]


def _unreadable(exc: UnicodeDecodeError) -> NoReturn:
    why = "the file is not UTF-8 text; save it as 'CSV UTF-8' and try again"
    raise FinanceRefused("bad_file", f"line 1: {why}", [(1, why)]) from exc


def choose_columns(header: list[str], given: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Map each field to a column: the one given, else a known carrier name in the header.

    Returns the mapping and the fields no column was found for (given names are kept even
    when absent, so the reader names them in its refusal).
    """
    present = {_plain(cell): cell for cell in header}
    chosen: dict[str, str] = {}
    missing: list[str] = []
    for name in FIELDS:
        if given.get(name, "").strip():
            chosen[name] = given[name].strip()
            continue
        found = next((present[k] for k in KNOWN_HEADERS[name] if k in present), None)
        if found is None:
            missing.append(name)
        else:
            chosen[name] = found
    return chosen, missing


def columns_spec(chosen: dict[str, str]) -> str:
    """Write a mapping as ``--columns`` takes it (``id=Request_ID,phone=User_ID,...``)."""
    return ",".join(f"{name}={column}" for name, column in chosen.items())


def _plain(name: str) -> str:
    """Fold a column name for comparison: no case, accents, spaces, dashes or underscores."""
    folded = unicodedata.normalize("NFD", name.casefold().replace("đ", "d"))
    kept = "".join(c for c in folded if not unicodedata.combining(c))
    return "_".join(re.split(r"[\s_\-.]+", kept.strip()))
