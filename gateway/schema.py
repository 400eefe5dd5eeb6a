"""The database schema's version: apply Alembic migrations, tell whether they are current.

Operators run ``gateway init-db`` (upgrade to the newest revision) before starting new code;
``/readyz`` reports not-ready while the database lags behind the code.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (the newest by default)."""
    with engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" removes every table)."""
    with engine.connect() as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()


@cache
def head_revisions() -> frozenset[str]:
    """Return the newest revision(s) this code ships."""
    return frozenset(ScriptDirectory.from_config(_config()).get_heads())


def current_revisions(connection: Connection) -> frozenset[str]:
    """Return the revision(s) the database is at (empty when never migrated)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def is_current(connection: Connection) -> bool:
    """Tell whether the database is at the revision this code expects."""
    return current_revisions(connection) == head_revisions()
