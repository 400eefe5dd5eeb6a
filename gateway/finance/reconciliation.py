"""Reconciliation (đối soát), one use case for the console page and ``gateway charges reconcile``.

A door hands over the carrier, the file's bytes, the column mapping and, optionally, the
local days; it gets the report and the period back and shows them its own way. Nothing is
written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from billing.errors import BillingError
from billing.periods import Period
from billing.reconcile import (
    DEFAULT_COLUMNS,
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
        except (BillingError, ValueError) as exc:
            raise FinanceRefused("bad_file", str(exc)) from exc
        if query.first is not None and query.last is not None:
            period = checked_period(access, session, query.first, query.last, None)
        return Reconciliation(reconcile(session, query.carrier, records, period), period)
