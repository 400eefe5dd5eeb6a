"""The charges export, one use case for every door: the API, the console and the CLI.

A door turns its input (query string, form, flags) into an :class:`ExportQuery`, calls
:func:`prepare_export` and sends what it gets (a streamed response, a file, stdout). The
period, the carrier check, the refund policy and the reading session are decided here once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from billing.export import csv_chunks, export_lines, write_csv
from billing.periods import Period
from billing.refunds import RefundPolicy
from gateway.finance.queries import Access, checked_period, reading_session, refund_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportQuery:
    """Local days ``first`` .. ``last`` (both included), one carrier or all; phones masked
    unless ``masked`` is false, which is logged with ``actor``."""

    first: dt.date
    last: dt.date
    carrier: str | None = None
    masked: bool = True
    actor: str = "unknown"


@dataclass(frozen=True, slots=True)
class ChargesExport:
    """A checked export; each way of writing it reads the ledger in its own session."""

    access: Access
    query: ExportQuery
    period: Period
    policy: RefundPolicy

    def file_name(self, extension: str) -> str:
        """Name the download: ``charges-2026-11-01-2026-11-30.csv``."""
        return f"charges-{self.query.first.isoformat()}-{self.query.last.isoformat()}.{extension}"

    def csv_chunks(self, *, bom: bool = True) -> Iterator[str]:
        """Yield the CSV as it is read: the header, then a string per batch of rows."""
        with reading_session(self.access) as session:
            yield from csv_chunks(self._lines(session), bom=bom)

    def write_csv(self, stream: IO[str], *, bom: bool = True) -> int:
        """Write the CSV to a text stream opened with ``newline=""``; return the rows."""
        with reading_session(self.access) as session:
            return write_csv(stream, self._lines(session), bom=bom)

    def write_xlsx(self, target: Path) -> int:
        """Write the XLSX workbook to ``target``; return the rows."""
        from billing.export_xlsx import write_xlsx  # only this format needs XlsxWriter

        q = self.query
        with reading_session(self.access) as session:
            return write_xlsx(
                str(target), session, self.period, self.policy, carrier=q.carrier, masked=q.masked
            )

    def _lines(self, session: Session) -> Iterator[Sequence[str]]:
        q = self.query
        return export_lines(session, self.period, self.policy, carrier=q.carrier, masked=q.masked)


def prepare_export(access: Access, query: ExportQuery) -> ChargesExport:
    """Check the query (days in order, a known carrier) and return the export to write.

    Raises FinanceRefused (``days_reversed``, ``unknown_carrier``) before anything is written.
    """
    with reading_session(access) as session:
        period = checked_period(access, session, query.first, query.last, query.carrier)
    if not query.masked:
        log.warning("unmasked charges export of %s by %s", period.describe(), query.actor)
    return ChargesExport(access, query, period, refund_policy(access.settings))
