"""Engine and session factory; the schema is created from the models' metadata.

The boundary (a request, a CLI command, a worker batch) opens the session, passes it to the
functions that need it and commits once per use case.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, Table, create_engine, event
from sqlalchemy import exc as exc_types
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from billing import ledger  # noqa: F401  (registers the ledger table on the shared metadata)
from billing.base import Base
from gateway import models  # noqa: F401  (registers the gateway tables)

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_POLL_MS = 10  # one round of SQLite's busy handler: sleeps of 1, 2, 5 and 2 ms


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite, WAL and serialised writers let several processes share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        _create_private(Path(parsed.database))
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        hide_parameters=True,  # SQL errors would otherwise log phone numbers and passwords
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and
        # then writes can fail with SQLITE_BUSY at once, with no wait, when another process wrote
        # in between. Gunicorn workers and the background worker all write to one file.
        # ``engine.execution_options(sqlite_begin=None)`` gives statement-at-a-time sessions
        # for inspection (tests, reports) that never hold the lock.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        if mode is not None:
            _begin_waiting_briefly(connection.connection.dbapi_connection, mode)

    return engine


def _begin_waiting_briefly(dbapi_connection: Any, mode: str) -> None:
    """BEGIN, retrying while another process writes, never sleeping long once the lock is free.

    SQLite's own busy handler sleeps 1, 2, 5 … then 100 ms between tries, so a writer that has
    waited a while keeps sleeping long after the lock is free, and newcomers overtake it: under
    load that, not the work, made the webhook's p99. Restarting a short handler keeps every
    waiter within a few milliseconds of the lock, up to the same overall timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BEGIN_POLL_MS}")
    try:
        while True:
            try:
                dbapi_connection.execute(f"BEGIN {mode}")
                return
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and time.monotonic() < deadline:
                    continue
                # As SQLAlchemy would have raised it, for the handlers that expect its errors.
                raise exc_types.OperationalError(f"BEGIN {mode}", None, exc) from exc
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory the boundaries use."""
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet."""
    Base.metadata.create_all(engine)


def insert_unless_present(dialect_name: str, table: Table, unique: tuple[str, ...]) -> Insert:
    """Return an INSERT that does nothing when a row with the same ``unique`` columns exists.

    ``ON CONFLICT DO NOTHING`` on both SQLite (3.24+) and PostgreSQL: a repeat costs no
    exception, no rollback and no savepoint.
    """
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(unique))


def is_postgresql(session: Session) -> bool:
    """Tell whether the session talks to PostgreSQL (for SKIP LOCKED and friends)."""
    return session.get_bind().dialect.name == "postgresql"


def _create_private(path: Path) -> None:
    # Personal data: only the gateway's user may read the file (SQLite gives the -wal and -shm
    # files it creates beside it the same mode).
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
