"""The ledger export as CSV: one row per entry in a period, formatted by the database itself.

The database turns each entry into the export's text (times, local time, masked phone, signed
amount, refundable, formula guard) and, for the CSV, into the whole RFC 4180 line with its
quotes: Python receives one string per entry and writes batches of ``BATCH`` of them, with no
per-cell work, so a month of a million entries streams with flat memory at a small multiple of
what ``sqlite3 -csv`` takes to dump the raw rows. The XLSX flavour is in
:mod:`billing.export_xlsx`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    case,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from billing.ledger import EntryKind, LedgerEntry
from billing.periods import Period
from billing.refunds import RefundPolicy, reply_failed

HEADER = (
    "entry_id",
    "kind",
    "time_utc",
    "local_time",
    "carrier",
    "shortcode",
    "message_id",
    "carrier_message_id",
    "phone",
    "outcome",
    "amount_vnd",
    "tariff",
    "refundable",
    "refund_of",
    "reason",
    "message_time_utc",
    "service",  # the keyword service: recovery (BH MK) or a configured one (docs/services.md)
)
# 1,000 rows a batch: as fast as 5,000 and 13 MiB less at the peak (benchmarks/export_charges.py).
BATCH = 1_000
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"
# Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 1975: a constant is exact.
LOCAL_OFFSET = dt.timedelta(hours=7)
# parsers.mask_phone in SQL: keep 4 + 3 digits when at least 4 stay hidden, else a quarter each.
_MASK_HEAD, _MASK_TAIL, _MASK_MIN_HIDDEN = 4, 3, 4
_STARS = "*" * 64  # longer than any phone column (String(16))
Rows = Sequence[Sequence[Any]]
# The cells a person or a carrier typed, which may hold a comma, a quote or a line break; the
# others are numbers, times and fixed words.
_FREE_TEXT = {"carrier", "shortcode", "carrier_message_id", "phone", "tariff", "reason"}
_QUOTED = ('"', ",", "\r", "\n")  # what makes Python's csv (QUOTE_MINIMAL) quote a cell


def csv_query(
    period: Period,
    policy: RefundPolicy,
    *,
    dialect: str,
    carrier: str | None = None,
    masked: bool = True,
) -> Select[Any]:
    """Select the export's CSV cells for the entries written in ``period``, oldest first.

    ``dialect`` is the database's (``sqlite`` or ``postgresql``): dates are formatted by it.
    """
    return entries_query(
        period,
        policy,
        carrier=carrier,
        masked=masked,
        time=lambda column: utc_text(column, dialect),
        local_time=lambda column: local_text(column, dialect),
        text=guarded,
    )


def entries_query(
    period: Period,
    policy: RefundPolicy,
    *,
    carrier: str | None,
    masked: bool,
    time: Callable[[Any], ColumnElement[Any]],
    local_time: Callable[[Any], ColumnElement[Any]],
    text: Callable[..., Any],
) -> Select[Any]:
    """Select one row of ``HEADER`` per entry of ``period``, with times and text as given."""
    entry = LedgerEntry
    charge = entry.kind == EntryKind.CHARGE
    phone = masked_phone(entry.phone) if masked else entry.phone
    phone_starts = func.substr(entry.phone, 1, 1, type_=String)
    query = select(
        entry.id,
        type_coerce(entry.kind, String),  # the stored text, not the enum
        time(entry.created_at),
        local_time(entry.created_at),
        text(entry.carrier),
        text(entry.shortcode),
        entry.message_id,
        text(entry.carrier_message_id),
        text(phone, phone_starts),
        type_coerce(entry.outcome, String),
        case((charge, entry.amount_vnd), else_=-entry.amount_vnd),
        text(entry.tariff),
        case(
            (~charge, ""),
            (policy.refundable_sql(entry.outcome, reply_failed(entry.message_id)), "yes"),
            else_="no",
        ),
        entry.refund_of,
        text(entry.reason),
        time(entry.message_at),
        entry.service,
    ).where(entry.created_at >= period.start, entry.created_at < period.end)
    if carrier is not None:
        query = query.where(entry.carrier == carrier)
    return query.order_by(entry.created_at, entry.id)


def utc_text(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """SQL: a stored (naive UTC) time as ``2026-11-02T03:00:00Z``."""
    if dialect == "postgresql":
        return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"', type_=String)
    _known(dialect)
    # SQLite stores "2026-11-02 03:00:00.000000": cutting the text is 4x cheaper than strftime.
    return (
        func.substr(column, 1, 10, type_=String)
        + literal("T")
        + func.substr(column, 12, 8, type_=String)
        + literal("Z")
    )


def local_text(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """SQL: a stored (naive UTC) time as Vietnam's local time, ``2026-11-02 10:00:00``."""
    if dialect == "postgresql":
        local = type_coerce(column, DateTime()) + LOCAL_OFFSET  # naive + interval
        return func.to_char(local, "YYYY-MM-DD HH24:MI:SS", type_=String)
    _known(dialect)
    return func.datetime(column, "+7 hours", type_=String)


def _known(dialect: str) -> None:
    if dialect != "sqlite":
        raise ValueError(f"the export speaks SQLite and PostgreSQL, not {dialect}")


def masked_phone(column: SQLColumnExpression[str]) -> ColumnElement[str]:
    """SQL: :func:`parsers.mask_phone` (``84912345678`` becomes ``8491****678``)."""
    length = func.length(column, type_=Integer)
    # Integer division in both databases; SQLAlchemy's // would add FLOOR (a float on PostgreSQL).
    quarter = length.op("/", return_type=Integer)(literal(4, Integer))

    def masked(head: Any, tail: Any) -> ColumnElement[str]:
        return (
            func.substr(column, 1, head, type_=String)
            + func.substr(literal(_STARS), 1, length - head - tail, type_=String)
            + func.substr(column, length - tail + 1, tail, type_=String)
        )

    # Every stored phone takes the first branch; the second keeps short ones mostly hidden.
    return case(
        (length >= _MASK_HEAD + _MASK_TAIL + _MASK_MIN_HIDDEN, masked(_MASK_HEAD, _MASK_TAIL)),
        else_=masked(quarter, quarter),
    )


def guarded(column: ColumnElement[Any], first: ColumnElement[str] | None = None) -> Any:
    """SQL: prefix a quote to text a spreadsheet would run as a formula (OWASP), keep NULL.

    ``first`` is the cell's first character when it is cheaper to find than the cell itself:
    a masked phone starts as its phone does (or with ``*``, and an extra quote is harmless).
    """
    starts = func.substr(column, 1, 1, type_=String) if first is None else first
    return case((starts.in_(FORMULA_STARTS), literal("'", String) + column), else_=column)


def export_rows(
    session: Session,
    period: Period,
    policy: RefundPolicy,
    *,
    carrier: str | None = None,
    masked: bool = True,
) -> Iterator[Rows]:
    """Yield the period's export cells in batches of ``BATCH``, never holding more than one."""
    connection = session.connection()
    query = csv_query(
        period, policy, dialect=connection.dialect.name, carrier=carrier, masked=masked
    )
    yield from _batches(session, query)


def export_lines(
    session: Session,
    period: Period,
    policy: RefundPolicy,
    *,
    carrier: str | None = None,
    masked: bool = True,
) -> Iterator[Sequence[str]]:
    """Yield the period's CSV lines (CRLF ended) in batches of ``BATCH``: the cells of
    :func:`export_rows` as Python's ``csv`` module would write them, joined by the database."""
    dialect = session.connection().dialect.name
    query = csv_query(period, policy, dialect=dialect, carrier=carrier, masked=masked)
    cells = [
        _csv_cell(name, cell, dialect)
        for name, cell in zip(HEADER, query.selected_columns, strict=True)
    ]
    # One call builds the line (a chain of || copies it once per cell): printf in SQLite,
    # format in PostgreSQL, where both write NULL as nothing and a number as its digits.
    build = func.format if dialect == "postgresql" else func.printf
    line = build(",".join(["%s"] * len(cells)) + "\r\n", *cells, type_=String)
    for batch in _batches(session, query.with_only_columns(line)):
        yield [row[0] for row in batch]


def _csv_cell(name: str, cell: Any, dialect: str) -> Any:
    """SQL: one cell as ``csv.writer`` writes it: quoted only when it must be."""
    if name not in _FREE_TEXT:
        return cell  # a number, a time or a fixed word
    # Look for what needs quotes in the stored column, not in the cell: SQL would compute the
    # cell (the guard, the masked phone) once per look. The guard adds a quote mark and the
    # mask stars, neither of which needs quoting, so the column has whatever the cell has.
    stored = LedgerEntry.__table__.c[name]
    if dialect == "postgresql":
        special = stored.regexp_match(f"[{''.join(_QUOTED)}]")
    else:  # one GLOB over a character class, not four instr() calls
        special = stored.op("GLOB")(literal(f"*[{''.join(_QUOTED)}]*", String))
    quoted = literal('"', String) + func.replace(cell, '"', '""', type_=String) + literal('"')
    return case((special, quoted), else_=cell)


def _batches(session: Session, query: Select[Any]) -> Iterator[Rows]:
    result = session.connection().execute(query.execution_options(yield_per=BATCH))
    try:
        yield from result.partitions()
    finally:  # also when the reader stops early: PostgreSQL's server-side cursor must close
        result.close()


def csv_chunks(batches: Iterable[Sequence[str]], *, bom: bool = True) -> Iterator[str]:
    """Yield the RFC 4180 CSV export (CRLF line ends): the header, then one string per batch
    of :func:`export_lines`.

    The byte order mark is on by default: Excel reads a CSV without one in the local code page
    and garbles đ, ư, ơ; other tools skip it (``utf-8-sig``).
    """
    yield (UTF8_BOM if bom else "") + ",".join(HEADER) + "\r\n"
    for lines in batches:
        yield "".join(lines)


def write_csv(stream: IO[str], batches: Iterable[Sequence[str]], *, bom: bool = True) -> int:
    """Write the CSV export to a text stream opened with ``newline=""``; return the rows."""
    rows = 0

    def counted() -> Iterator[Sequence[str]]:
        nonlocal rows
        for batch in batches:
            rows += len(batch)
            yield batch

    for chunk in csv_chunks(counted(), bom=bom):
        stream.write(chunk)
    return rows
