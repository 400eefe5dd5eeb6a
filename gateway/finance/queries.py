"""What finance's HTTP endpoints and the ``gateway charges`` commands share: read-only access."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import LedgerEntry
from gateway.runtime import Runtime


@contextmanager
def reading_session(rt: Runtime) -> Iterator[Session]:
    """Open a read-only session; on SQLite it never takes the write lock the worker needs."""
    # A deferred transaction that only reads stays a reader: in WAL mode it sees one snapshot
    # and never blocks the webhook or the worker, however long the export runs.
    engine = rt.engine.execution_options(sqlite_begin="DEFERRED")
    with rt.session_factory(bind=engine) as session:
        yield session


def known_carriers(rt: Runtime, session: Session) -> set[str]:
    """Return the configured carriers and any carrier already in the ledger."""
    in_ledger = session.scalars(select(LedgerEntry.carrier).distinct())
    return set(rt.settings.carriers) | set(in_ledger)
