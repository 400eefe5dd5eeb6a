"""What every finance use case shares: read-only sessions, the carriers, the refund policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from billing.errors import PeriodError
from billing.ledger import LedgerEntry
from billing.periods import Period, days_period
from billing.refunds import RefundPolicy
from gateway.finance.errors import FinanceRefused

if TYPE_CHECKING:  # a finance command must not load the web stack and the worker
    from gateway.clock import Clock
    from gateway.settings import Settings


class Access(Protocol):
    """What finance needs of a process: settings, database, clock. A ``Runtime`` has them."""

    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def session_factory(self) -> sessionmaker[Session]: ...
    @property
    def clock(self) -> Clock: ...


@dataclass(frozen=True, slots=True)
class LedgerAccess:
    """An :class:`Access` without the carriers, the mailer, the worker and the password hasher
    a ``Runtime`` imports (40 MiB): what ``gateway charges`` builds."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock


@contextmanager
def reading_session(rt: Access) -> Iterator[Session]:
    """Open a read-only session; on SQLite it never takes the write lock the worker needs."""
    # A deferred transaction that only reads stays a reader: in WAL mode it sees one snapshot
    # and never blocks the webhook or the worker, however long the export runs.
    engine = rt.engine.execution_options(sqlite_begin="DEFERRED")
    with rt.session_factory(bind=engine) as session:
        yield session


def known_carriers(rt: Access, session: Session) -> set[str]:
    """Return the configured carriers and any carrier already in the ledger."""
    in_ledger = session.scalars(select(LedgerEntry.carrier).distinct())
    return set(rt.settings.carriers) | set(in_ledger)


def refund_policy(settings: Settings) -> RefundPolicy:
    """Return the refund policy the settings choose: every door uses this one."""
    return RefundPolicy(refund_wrong_syntax=settings.refund_wrong_syntax)


def checked_period(
    rt: Access, session: Session, first: dt.date, last: dt.date, carrier: str | None
) -> Period:
    """Return local days ``first`` .. ``last`` as a period, refusing them reversed or an
    unknown carrier (FinanceRefused)."""
    try:
        period = days_period(first, last)
    except PeriodError as exc:
        raise FinanceRefused("days_reversed", str(exc)) from exc
    check_carrier(rt, session, carrier)
    return period


def check_carrier(rt: Access, session: Session, carrier: str | None) -> None:
    """Refuse a carrier neither configured nor in the ledger (FinanceRefused)."""
    if carrier is not None and carrier not in known_carriers(rt, session):
        raise FinanceRefused("unknown_carrier", f"unknown carrier {carrier!r}")
