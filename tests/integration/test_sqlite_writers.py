"""SQLite writers from several processes queue for the write lock without failing or lingering.

Stand-in for the other process: a plain ``sqlite3`` connection holding ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

from gateway import db
from tests.conftest import shared_database_url

pytestmark = pytest.mark.skipif(
    shared_database_url() is not None, reason="about SQLite's write lock only"
)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "writers.db"


@pytest.fixture
def engine(database: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def hold_write_lock(database: Path) -> sqlite3.Connection:
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    return other


def test_a_writer_waits_for_the_lock_then_commits(engine: Engine, database: Path) -> None:
    other = hold_write_lock(database)
    began = threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            began.set()
            connection.execute(text("INSERT INTO t VALUES (2)"))

    writer = threading.Thread(target=write)
    writer.start()
    assert not began.wait(0.3)  # still queued behind the other process
    other.execute("COMMIT")
    writer.join(timeout=10)

    with engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT x FROM t")).scalars()) == [1, 2]
    other.close()


def test_a_writer_gives_up_after_the_timeout_with_a_database_error(
    engine: Engine, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 300)
    other = hold_write_lock(database)

    with pytest.raises(exc.OperationalError, match="locked"), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (3)"))

    other.execute("ROLLBACK")
    other.close()
    with engine.connect() as connection:  # usable, the full timeout back (not the short poll)
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 300
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_inspection_connections_never_take_the_lock(engine: Engine, database: Path) -> None:
    other = hold_write_lock(database)
    reading = engine.execution_options(sqlite_begin=None)

    with reading.connect() as connection:  # WAL: readers never wait for the writer
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 0
    other.execute("ROLLBACK")
    other.close()
