"""Import accounts from CSV (``bhxh,phone,email,approved_at[,personal_id]``), idempotently.

Bad rows are reported with their line number and reason and the rest are imported;
re-importing a file updates the accounts it names and never duplicates them.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from gateway.models import Account, AccountState
from parsers import InvalidPhoneNumber, normalise_phone

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
REQUIRED_COLUMNS = ("bhxh", "phone")
OPTIONAL_COLUMNS = ("email", "approved_at", "personal_id")
BATCH_SIZE = 2000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong header, wrong encoding)."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One valid CSV row."""

    line: int
    bhxh: str
    phone: str
    email: str | None
    approved_at: dt.datetime | None
    personal_id: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    """A row we skipped, and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_rows(stream: TextIO) -> Iterator[AccountRow | RowError]:
    """Yield each data row of an account CSV as a valid row or an error."""
    reader = csv.DictReader(stream)
    try:
        header = [name.strip().lower() for name in reader.fieldnames or []]
    except UnicodeDecodeError as exc:
        raise ImportFileError("the file is not UTF-8 text") from exc
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportFileError(f"the header lacks column(s): {', '.join(missing)}")
    reader.fieldnames = header
    try:
        for record in reader:
            yield _validate(reader.line_num, record)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"line {reader.line_num + 1}: not UTF-8 text") from exc
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num}: {exc}") from exc


def import_accounts(
    session: Session, rows: Iterable[AccountRow | RowError], now: dt.datetime
) -> ImportReport:
    """Create or update the accounts of valid rows; collect the errors of the others."""
    report = ImportReport()
    seen_bhxh: dict[str, int] = {}
    seen_personal: dict[str, int] = {}
    batch: list[AccountRow] = []
    for row in rows:
        if isinstance(row, RowError):
            report.errors.append(row)
            continue
        clash = _clash_in_file(row, seen_bhxh, seen_personal)
        if clash:
            report.errors.append(RowError(row.line, clash))
            continue
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            _write_batch(session, batch, now, report)
            batch = []
    if batch:
        _write_batch(session, batch, now, report)
    report.errors.sort(key=lambda error: error.line)
    return report


def _clash_in_file(
    row: AccountRow, seen_bhxh: dict[str, int], seen_personal: dict[str, int]
) -> str:
    if row.bhxh in seen_bhxh:
        return f"bhxh {row.bhxh} already appears on line {seen_bhxh[row.bhxh]}"
    if row.personal_id and row.personal_id in seen_personal:
        return f"personal_id already appears on line {seen_personal[row.personal_id]}"
    seen_bhxh[row.bhxh] = row.line
    if row.personal_id:
        seen_personal[row.personal_id] = row.line
    return ""


def _write_batch(
    session: Session, batch: list[AccountRow], now: dt.datetime, report: ImportReport
) -> None:
    existing = {
        account.bhxh: account
        for account in session.execute(
            select(
                Account.id,
                Account.bhxh,
                Account.phone,
                Account.email,
                Account.approved_at,
                Account.personal_id,
                Account.state,
            ).where(Account.bhxh.in_([row.bhxh for row in batch]))
        )
    }
    personal_ids = [row.personal_id for row in batch if row.personal_id]
    owners: dict[str | None, str] = {}
    if personal_ids:
        query = select(Account.personal_id, Account.bhxh).where(
            Account.personal_id.in_(personal_ids)
        )
        owners = {personal_id: bhxh for personal_id, bhxh in session.execute(query)}
    inserts, updates = [], []
    for row in batch:
        owner = owners.get(row.personal_id) if row.personal_id else None
        if owner is not None and owner != row.bhxh:
            report.errors.append(RowError(row.line, "personal_id belongs to another account"))
            continue
        old = existing.get(row.bhxh)
        if old is None:
            inserts.append(_new_account(row, now))
            continue
        values = {
            "phone": row.phone,
            "email": row.email if row.email is not None else old.email,
            "approved_at": row.approved_at or old.approved_at,
            "personal_id": row.personal_id or old.personal_id,
            "state": AccountState.ACTIVE if row.approved_at else old.state,
        }
        if all(getattr(old, name) == value for name, value in values.items()):
            report.unchanged += 1
            continue
        updates.append({"id": old.id, **values, "updated_at": now})
    if inserts:
        # render_nulls keeps every row's column set the same, so the batch is one executemany
        # instead of a statement per change of which optional fields are empty.
        session.execute(insert(Account).execution_options(render_nulls=True), inserts)
    if updates:
        session.execute(update(Account), updates)
    report.created += len(inserts)
    report.updated += len(updates)


def _new_account(row: AccountRow, now: dt.datetime) -> dict[str, object]:
    return {
        "bhxh": row.bhxh,
        "personal_id": row.personal_id,
        "phone": row.phone,
        "email": row.email,
        "state": AccountState.ACTIVE if row.approved_at else AccountState.PENDING,
        "approved_at": row.approved_at,
        "must_change_password": False,
        "temp_password_logged_in": False,
        "failed_logins": 0,
        "created_at": now,
        "updated_at": now,
    }


def _validate(line: int, record: dict[str | None, str | None]) -> AccountRow | RowError:
    if None in record:
        return RowError(line, "more fields than the header has columns")
    values = {key: (value or "").strip() for key, value in record.items() if key}
    bhxh = values.get("bhxh", "")
    if not (bhxh.isascii() and bhxh.isdigit() and len(bhxh) == 10):
        hint = (
            " (a leading zero lost in a spreadsheet?)" if bhxh.isdigit() and len(bhxh) == 9 else ""
        )
        return RowError(line, f"bhxh must be 10 digits{hint}")
    try:
        phone = normalise_phone(values.get("phone", ""))
    except InvalidPhoneNumber as exc:
        return RowError(line, f"phone: {exc}")
    email = values.get("email") or None
    if email is not None:
        if len(email) > 254 or not _EMAIL.match(email):
            return RowError(line, "email is not a valid address")
        local, _, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
    personal_id = values.get("personal_id") or None
    if personal_id is not None and not (
        personal_id.isascii() and personal_id.isdigit() and len(personal_id) == 12
    ):
        return RowError(line, "personal_id must be 12 digits")
    try:
        approved_at = _approved_at(values.get("approved_at", ""))
    except ValueError:
        return RowError(line, "approved_at must be a date (YYYY-MM-DD) or ISO 8601 time")
    return AccountRow(line, bhxh, phone, email, approved_at, personal_id)


def _approved_at(raw: str) -> dt.datetime | None:
    if not raw:
        return None
    parsed = dt.datetime.fromisoformat(raw)
    if parsed.tzinfo is None:  # a bare date or time is local to Vietnam
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(dt.UTC)
