"""Import accounts from CSV rows (see :mod:`gateway.accounts.account_csv`), idempotently.

Bad rows are reported with their line number and reason and the rest are imported;
re-importing a file updates the accounts it names and never duplicates them. The writes are
set-based Core statements, a batch of ``BATCH_SIZE`` rows at a time: one query finds the
batch's existing accounts, one executemany inserts the new ones, one updates the changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, DateTime, bindparam, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from gateway.accounts.account_csv import AccountRow, RowError
from gateway.models import Account, AccountState

BATCH_SIZE = 5000
# Compared to decide whether a re-imported row changes its account.
_FIELDS = ("phone", "email", "approved_at", "personal_id", "state")
_accounts = Account.__table__
# Times go in and out as naive UTC in a plain DateTime, skipping the aware round trip of
# UTCDateTime a million times.
_NAIVE = DateTime()
_now = bindparam("now", type_=_NAIVE)
_approved_at = bindparam("approved_at", type_=_NAIVE)
_insert = insert(_accounts).values(
    {
        **{name: bindparam(name) for name in ("bhxh", "personal_id", "phone", "email", "state")},
        "approved_at": _approved_at,
        "created_at": _now,
        "updated_at": _now,
    }
)
# The columns the statement leaves to their defaults (a new account's counters and flags).
_DEFAULTS = {
    column.key: column.default.arg
    for column in _accounts.columns
    if column.default is not None and column.default.is_scalar
}
_update = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account_id"))
    .values(
        {
            **{name: bindparam(name) for name in ("phone", "email", "personal_id", "state")},
            "approved_at": _approved_at,
            "updated_at": _now,
        }
    )
)


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


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
    connection = session.connection()
    now = now.astimezone(dt.UTC).replace(tzinfo=None)
    columns = [
        type_coerce(_accounts.c[name], _NAIVE) if name == "approved_at" else _accounts.c[name]
        for name in ("id", "bhxh", *_FIELDS)
    ]
    query = select(*columns).where(_accounts.c.bhxh.in_([row.bhxh for row in batch]))
    # Plain tuples (id, bhxh, *_FIELDS): compared whole, a million times on a re-import.
    existing = {found[1]: tuple(found) for found in connection.execute(query).all()}
    personal_ids = [row.personal_id for row in batch if row.personal_id]
    owners: dict[str, str] = {}
    if personal_ids:
        query = select(_accounts.c.personal_id, _accounts.c.bhxh).where(
            _accounts.c.personal_id.in_(personal_ids)
        )
        owners = {personal_id: bhxh for personal_id, bhxh in connection.execute(query)}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in batch:
        owner = owners.get(row.personal_id) if row.personal_id else None
        if owner is not None and owner != row.bhxh:
            report.errors.append(RowError(row.line, "personal_id belongs to another account"))
            continue
        old = existing.get(row.bhxh)
        approved_at = row.approved_at.replace(tzinfo=None) if row.approved_at else None
        if old is None:
            inserts.append(_new_account(row, approved_at, now))
            continue
        values = {
            "phone": row.phone,
            "email": row.email if row.email is not None else old[3],
            "approved_at": approved_at or old[4],
            "personal_id": row.personal_id or old[5],
            "state": AccountState.ACTIVE if row.approved_at else old[6],
        }
        if tuple(values.values()) == old[2:]:
            report.unchanged += 1
            continue
        updates.append({"account_id": old[0], **values, "now": now})
    if inserts:
        _insert_many(connection, inserts)
    if updates:
        connection.execute(_update, updates)
    report.created += len(inserts)
    report.updated += len(updates)


def _insert_many(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert rows with one executemany at the driver, in the values' stored form.

    SQLAlchemy's own executemany builds and converts a parameter dict per row, which was half
    of a million-row import; here the conversions are done once (``now``) or cheaply.
    """
    compiled = _insert.compile(dialect=connection.dialect)
    sqlite = connection.dialect.name == "sqlite"
    now = rows[0]["now"]
    shared = {**_DEFAULTS, "now": _stored(now, sqlite=sqlite)}
    for row in rows:
        row.update(shared)
        row["state"] = row["state"].value
        if row["approved_at"] is not None:
            row["approved_at"] = _stored(row["approved_at"], sqlite=sqlite)
    if compiled.positiontup is not None:
        order = compiled.positiontup
        connection.exec_driver_sql(str(compiled), [tuple(row[n] for n in order) for row in rows])
    else:
        connection.exec_driver_sql(str(compiled), rows)  # type: ignore[arg-type]


def _stored(moment: dt.datetime, *, sqlite: bool) -> dt.datetime | str:
    # SQLite keeps times as text in SQLAlchemy's format; the PostgreSQL driver takes datetimes.
    return moment.isoformat(" ", "microseconds") if sqlite else moment


def _new_account(
    row: AccountRow, approved_at: dt.datetime | None, now: dt.datetime
) -> dict[str, Any]:
    return {
        "bhxh": row.bhxh,
        "personal_id": row.personal_id,
        "phone": row.phone,
        "email": row.email,
        "state": AccountState.ACTIVE if approved_at else AccountState.PENDING,
        "approved_at": approved_at,
        "now": now,
    }
