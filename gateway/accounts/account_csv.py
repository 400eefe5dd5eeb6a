"""Reading an account CSV as offices make them: ``,`` ``;`` or tab, UTF-8 (BOM or not) or UTF-16.

Columns (the header names them, in any order, any case): ``bhxh`` and ``phone`` are required;
``email``, ``approved_at`` and ``personal_id`` are optional; any other column (a name, a note
from an HR export) is ignored and named in a warning. Dates are ``YYYY-MM-DD``,
``dd/mm/yyyy`` (Vietnamese Excel) or an ISO 8601 time; without an offset they are Vietnam time.
Each row becomes an :class:`AccountRow` or a :class:`RowError` naming the bad value.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from billing.periods import LOCAL_TZ
from parsers import InvalidPhoneNumber, normalise_phone

REQUIRED_COLUMNS = ("bhxh", "phone")
OPTIONAL_COLUMNS = ("email", "approved_at", "personal_id")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Excel writes ";" where the regional settings use "," as the decimal mark (Vietnamese does),
# and tab for "Unicode text"; the header tells which one a file uses.
SEPARATORS = (",", ";", "\t")
SAVE_AS_UTF8 = "in Excel use File > Save As > 'CSV UTF-8 (Comma delimited)' and import that"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DAY_MONTH_YEAR = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (empty, wrong header, wrong encoding)."""


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
    """A row we skipped, and why (naming the bad value)."""

    line: int
    reason: str


def encoding_of(head: bytes) -> str:
    """Name the encoding to read a file that starts with ``head`` (its first bytes).

    UTF-8 with or without a byte order mark; UTF-16 when a UTF-16 mark says so (Excel's
    "Unicode Text" export, tab-separated).
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig"


def read_rows(stream: TextIO, ignored: list[str] | None = None) -> Iterator[AccountRow | RowError]:
    """Yield each data row of an account CSV as a valid row or an error.

    Open the file with ``encoding=encoding_of(first bytes), newline=""``. The names of the
    columns that are not ours (and are skipped) are appended to ``ignored``.
    """
    try:
        separator, header, width, others = _header(stream.readline())
        if ignored is not None:
            ignored.extend(others)
        reader = csv.reader(stream, delimiter=separator)
        for cells in reader:
            if cells and cells != [""]:  # blank lines, often at the end, are no rows
                yield _row(reader.line_num + 1, header, width, cells)  # + 1: the header line
    except UnicodeDecodeError as exc:
        # Decoded in blocks ahead of the reader, so no line number: it would be a guess.
        raise ImportFileError(
            f"the file is not UTF-8 text (Windows-1258 or Latin-1?): {SAVE_AS_UTF8}"
        ) from exc
    except csv.Error as exc:
        raise ImportFileError(f"line {reader.line_num + 1}: {exc}") from exc


def _header(first: str) -> tuple[str, dict[str, int], int, list[str]]:
    """Find the separator, each of our columns' position, the number of columns, and the
    names of the others, from the header line."""
    if not first.strip():
        raise ImportFileError(f"the file is empty; the header needs {', '.join(REQUIRED_COLUMNS)}")
    best: tuple[int, str, list[str]] | None = None
    for separator in SEPARATORS:
        names = [name.strip().lower() for name in next(csv.reader([first], delimiter=separator))]
        known = sum(name in COLUMNS for name in names)
        if best is None or known > best[0]:
            best = (known, separator, names)
    assert best is not None
    _, separator, names = best
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFileError(
            f"the header lacks column(s): {', '.join(missing)} (columns: {_columns_hint()})"
        )
    others = [name for name in names if name not in COLUMNS]
    repeated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    if repeated:
        raise ImportFileError(f"column(s) named twice: {', '.join(repeated)}")
    ours = {name: index for index, name in enumerate(names) if name in COLUMNS}
    return separator, ours, len(names), others


def _columns_hint() -> str:
    return f"{', '.join(REQUIRED_COLUMNS)} required; {', '.join(OPTIONAL_COLUMNS)} optional"


def _row(line: int, header: dict[str, int], width: int, cells: list[str]) -> AccountRow | RowError:
    if len(cells) != width:
        # A short row is a separator lost in editing: guessing which cell is missing could
        # turn an approved account into a pending one, so the row is skipped and shown.
        fewer = "only " if len(cells) < len(header) else ""
        return RowError(line, f"{fewer}{len(cells)} cells where the header has {width} columns")
    bhxh = cells[header["bhxh"]].strip()
    if not (len(bhxh) == 10 and bhxh.isascii() and bhxh.isdigit()):
        hint = (
            " (a leading zero lost in a spreadsheet?)" if len(bhxh) == 9 and bhxh.isdigit() else ""
        )
        return RowError(line, _bad("bhxh", bhxh, f"must be 10 digits{hint}"))
    raw_phone = cells[header["phone"]]
    try:
        phone = normalise_phone(raw_phone)
    except InvalidPhoneNumber as exc:
        return RowError(line, _bad("phone", raw_phone.strip(), str(exc)))
    email = _cell(cells, header, "email")
    if email is not None:
        if len(email) > 254 or not _EMAIL.match(email):
            return RowError(line, _bad("email", email, "not a valid address"))
        local, _, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
    personal_id = _cell(cells, header, "personal_id")
    if personal_id is not None and not (
        len(personal_id) == 12 and personal_id.isascii() and personal_id.isdigit()
    ):
        return RowError(line, _bad("personal_id", personal_id, "must be 12 digits"))
    raw_approved = _cell(cells, header, "approved_at")
    try:
        approved_at = approved_moment(raw_approved) if raw_approved else None
    except ValueError:
        why = "not a date (YYYY-MM-DD, dd/mm/yyyy or ISO 8601)"
        return RowError(line, _bad("approved_at", raw_approved, why))
    return AccountRow(line, bhxh, phone, email, approved_at, personal_id)


def _bad(column: str, value: str, why: str) -> str:
    """Say what is wrong with a cell, quoting it so the person can find it in the file."""
    return f"{column} {value}: {why}" if value else f"{column} is empty"


def _cell(cells: list[str], header: dict[str, int], name: str) -> str | None:
    index = header.get(name)
    if index is None:
        return None
    return cells[index].strip() or None


@functools.lru_cache(maxsize=4096)  # an office file holds a few thousand distinct dates at most
def approved_moment(raw: str) -> dt.datetime:
    """Read an approval date or time as UTC; a bare date or time is Vietnam's."""
    match = _DAY_MONTH_YEAR.match(raw)
    if match:
        day, month, year, hour, minute, second = (int(part or 0) for part in match.groups())
        parsed = dt.datetime(year, month, day, hour, minute, second)
    else:
        parsed = dt.datetime.fromisoformat(raw)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(dt.UTC)
