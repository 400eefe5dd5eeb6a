"""Reconciliation (đối soát): a carrier's monthly record of billed messages against our charges.

The carrier's file is CSV with a header; ``--columns`` maps our four fields (id, phone, time,
amount) to the carrier's column names. Messages are matched on the carrier's message id.
Nothing here writes to the database: a reconciliation only reads and reports.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from billing.errors import FileError
from billing.ledger import EntryKind, LedgerEntry
from billing.outcomes import RECOVERY
from billing.periods import Period, local_date, local_midnight, parse_moment
from parsers import InvalidPhoneNumber, mask_phone, normalise_phone

FIELDS = ("id", "phone", "time", "amount")
DEFAULT_COLUMNS = "id=id,phone=phone,time=time,amount=amount"
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Billed:
    """One billed message, from either side."""

    carrier_message_id: str
    phone: str
    at: dt.datetime
    amount_vnd: int
    line: int = 0  # the line in the carrier's file; 0 for our side
    service: str = RECOVERY  # our side's keyword service (the carrier's files do not say)


@dataclass(frozen=True, slots=True)
class Difference:
    """A message the two sides do not agree on; ``ours`` or ``theirs`` is None when missing."""

    kind: str  # missing_ours, missing_theirs, amount_mismatch, phone_mismatch
    ours: Billed | None
    theirs: Billed | None


@dataclass(slots=True)
class Report:
    """Counts, totals and the differences of one reconciliation."""

    period: Period
    matched: int = 0
    ours_total_vnd: int = 0
    theirs_total_vnd: int = 0
    outside_period: int = 0
    differences: list[Difference] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """Return how many differences of one kind were found."""
        return sum(1 for d in self.differences if d.kind == kind)

    def amount(self, kind: str) -> int:
        """Return the amount at stake in one kind (ours minus theirs where both exist)."""
        total = 0
        for d in self.differences:
            if d.kind == kind:
                total += (d.ours.amount_vnd if d.ours else 0) - (
                    d.theirs.amount_vnd if d.theirs else 0
                )
        return total


def parse_columns(spec: str) -> dict[str, str]:
    """Parse ``id=Request_ID,phone=User_ID,...`` into field -> column (default: same name)."""
    columns = dict(zip(FIELDS, FIELDS, strict=True))
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, column = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in FIELDS or not column.strip():
            raise ValueError(
                f"--columns: {part!r} is not FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}"
            )
        columns[name] = column.strip()
    return columns


def read_carrier_file(data: bytes, columns: Mapping[str, str]) -> list[Billed]:
    """Read a carrier's CSV (UTF-8, comma, semicolon or tab); raise FileError listing bad lines."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileError(
            [(line, "the file is not UTF-8 text; save it as 'CSV UTF-8' and try again")]
        ) from exc
    lines = text.splitlines()
    if not lines:
        raise FileError([(1, "the file is empty")])
    # Excel in a Vietnamese locale separates with semicolons; some carrier systems use tabs.
    delimiter = max(",;\t", key=lines[0].count)
    reader = csv.reader(lines, delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader)]
    index: dict[str, int] = {}
    missing = []
    for name in FIELDS:
        wanted = columns[name].lower()
        if wanted in header:
            index[name] = header.index(wanted)
        else:
            missing.append(f"{columns[name]} (for {name})")
    if missing:
        found = ", ".join(header) or "nothing"
        raise FileError([(1, f"missing column {', '.join(missing)}; the header has {found}")])
    return _rows(reader, index, len(header))


def _rows(reader: Iterable[list[str]], index: Mapping[str, int], width: int) -> list[Billed]:
    records: list[Billed] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            problems.append((line, f"expected {width} cells, found {len(row)}"))
            continue
        try:
            record = _record(line, {name: row[i].strip() for name, i in index.items()})
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        if record.carrier_message_id in seen:
            first = seen[record.carrier_message_id]
            problems.append((line, f"id {record.carrier_message_id!r} already on line {first}"))
            continue
        seen[record.carrier_message_id] = line
        records.append(record)
    if problems:
        raise FileError(problems)
    return records


def _record(line: int, cells: Mapping[str, str]) -> Billed:
    if not cells["id"]:
        raise ValueError("the id is empty")
    try:
        phone = normalise_phone(cells["phone"])
    except InvalidPhoneNumber as exc:
        raise ValueError(f"phone: {exc}") from None
    try:
        at = parse_moment(cells["time"])
    except ValueError:
        raise ValueError(f"time {cells['time']!r} is not a time") from None
    amount = cells["amount"].replace(",", "").replace(".", "")
    if not amount.isdigit():
        raise ValueError(f"amount {cells['amount']!r} is not a whole number of đồng")
    return Billed(cells["id"], phone, at, int(amount), line)


def file_period(records: Iterable[Billed]) -> Period:
    """Return the local days the carrier's records cover, whole days at both ends."""
    times = [r.at for r in records]
    if not times:
        raise FileError([(2, "the file has no rows")])
    first, last = local_date(min(times)), local_date(max(times))
    return Period(local_midnight(first), local_midnight(last + dt.timedelta(days=1)))


def reconcile(session: Session, carrier: str, theirs: Iterable[Billed], period: Period) -> Report:
    """Compare the carrier's records in ``period`` with our charges; return the report."""
    report = Report(period)
    their_rows: dict[str, Billed] = {}
    for record in theirs:
        if record.at in period:
            their_rows[record.carrier_message_id] = record
        else:
            report.outside_period += 1
    when = func.coalesce(LedgerEntry.message_at, LedgerEntry.created_at)
    ours = _ours(session, carrier, when >= period.start, when < period.end)
    # A message near midnight may carry our time on one day and theirs on the next: look up
    # their unmatched ids anywhere in our ledger before calling them missing.
    unknown = [key for key in their_rows if key not in ours]
    for start in range(0, len(unknown), _LOOKUP_CHUNK):
        chunk = unknown[start : start + _LOOKUP_CHUNK]
        ours.update(_ours(session, carrier, LedgerEntry.carrier_message_id.in_(chunk)))
    for key, mine in ours.items():
        report.ours_total_vnd += mine.amount_vnd
        other = their_rows.get(key)
        if other is None:
            report.differences.append(Difference("missing_theirs", mine, None))
            continue
        agree = True
        if other.amount_vnd != mine.amount_vnd:
            report.differences.append(Difference("amount_mismatch", mine, other))
            agree = False
        if other.phone != mine.phone:
            report.differences.append(Difference("phone_mismatch", mine, other))
            agree = False
        report.matched += agree
    for key, other in their_rows.items():
        report.theirs_total_vnd += other.amount_vnd
        if key not in ours:
            report.differences.append(Difference("missing_ours", None, other))
    report.differences.sort(key=lambda d: (d.ours or d.theirs or _never()).at)
    return report


def _never() -> Billed:
    raise AssertionError("a difference has at least one side")


def _ours(session: Session, carrier: str, *conditions: ColumnElement[bool]) -> dict[str, Billed]:
    when = func.coalesce(LedgerEntry.message_at, LedgerEntry.created_at)
    query = select(
        LedgerEntry.carrier_message_id,
        LedgerEntry.phone,
        when,
        LedgerEntry.amount_vnd,
        LedgerEntry.service,
    ).where(
        LedgerEntry.kind == EntryKind.CHARGE,
        LedgerEntry.carrier == carrier,
        *conditions,
    )
    return {
        key: Billed(key, phone, at, amount, service=service)
        for key, phone, at, amount, service in session.execute(query)
    }


KINDS = {
    "missing_ours": "missing on our side",
    "missing_theirs": "missing on theirs",
    "amount_mismatch": "amount mismatches",
    "phone_mismatch": "phone mismatches",
}


def _in_words(amount: int, carrier: str) -> str:
    """Say which side has more, for a reader who should not have to know the sign rule."""
    if amount > 0:
        return f"we charged {amount} VND more than {carrier} billed"
    if amount < 0:
        return f"{carrier} billed {-amount} VND more than we charged"
    return ""


def render(report: Report, carrier: str, *, show: int = 20, unmasked: bool = False) -> list[str]:
    """Return the report as lines of text: counts and totals, then up to ``show`` per kind."""
    phone = (lambda p: p) if unmasked else mask_phone
    lines = [
        f"reconciliation of {carrier}, {report.period.describe()}",
        f"  matched                {report.matched:>9}",
    ]
    for kind, title in KINDS.items():
        amount = report.amount(kind)
        line = f"  {title:<22} {report.count(kind):>9}   {amount:>+14} VND"
        lines.append(f"{line}   {_in_words(amount, carrier)}".rstrip())
    lines.append(f"  our total              {report.ours_total_vnd:>26} VND")
    lines.append(f"  their total            {report.theirs_total_vnd:>26} VND")
    difference = report.ours_total_vnd - report.theirs_total_vnd
    lines.append(
        f"  difference             {difference:>+26} VND   "
        f"{_in_words(difference, carrier) or 'the totals agree'}"
    )
    lines.append(
        f"  (amounts are ours minus {carrier}'s: + we charged more, - {carrier} billed more)"
    )
    if report.outside_period:
        lines.append(f"  their rows outside the period (ignored): {report.outside_period}")
    for kind, title in KINDS.items():
        found = [d for d in report.differences if d.kind == kind]
        if not found:
            continue
        lines.append(f"{title}:")
        for d in found[:show]:
            ours, theirs = d.ours, d.theirs
            key = (ours or theirs or _never()).carrier_message_id
            where = f"line {theirs.line}" if theirs else "ours only"
            # A keyword service has its own tariff: name it, so an amount mismatch reads.
            named = f" [{ours.service}]" if ours and ours.service != RECOVERY else ""
            ours_text = f"ours{named} {phone(ours.phone)} {ours.amount_vnd}" if ours else "ours -"
            theirs_text = f"theirs {phone(theirs.phone)} {theirs.amount_vnd}" if theirs else ""
            lines.append(f"  {key} ({where}): {ours_text} {theirs_text}".rstrip())
        if len(found) > show:
            lines.append(f"  ... and {len(found) - show} more")
    return lines
