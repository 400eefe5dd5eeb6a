"""Whether the database is ready for this code: its URL, its file, its schema's version.

Operators run ``gateway init-db`` (apply the Alembic migrations up to the newest revision)
before starting new code; ``/readyz`` reports not-ready while the database lags behind.
Before a command touches the database, a malformed DATABASE_URL, a mistyped SQLite path, a
database never set up and a server that does not answer each become a
:class:`DatabaseProblem` saying what to run or fix, instead of a traceback. Nothing is created
on the way: only ``gateway init-db`` creates the SQLite file, and only in a folder that exists
(or the instance folder, which is ours to create).

Telling the version needs neither Alembic nor the migration scripts loaded (a command such as
``gateway charges export`` stays small): the heads are read from the scripts' text and the
database's revision from ``alembic_version``; a test holds both to Alembic's own answer.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)

from gateway.errors import DatabaseProblem

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision)\s*=\s*(None|"[^"]*")', re.MULTILINE)
URL_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host/dbname"


def check_location(url: str, *, creating: bool, instance_dir: Path) -> None:
    """Check DATABASE_URL and, for SQLite, its file (``creating``: its folder, for init-db)."""
    check_sqlite_file(check_url(url), creating=creating, instance_dir=instance_dir)


def check_url(url: str) -> URL:
    """Parse DATABASE_URL and load its driver, or raise DatabaseProblem naming the fix."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseProblem(f"DATABASE_URL is not a database URL; write {URL_FORMS}") from None
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        # Heroku-style postgres:// and SQLAlchemy's default driver (psycopg2) are not ours.
        fixed = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=True)
        raise DatabaseProblem(f"DATABASE_URL: write postgresql+psycopg:// (e.g. {fixed})")
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise DatabaseProblem(
            f"DATABASE_URL: unknown database kind {parsed.drivername!r}; write {URL_FORMS}"
        ) from None
    except ImportError as exc:
        raise DatabaseProblem(
            f"DATABASE_URL: the driver for {parsed.drivername} is not installed ({exc.name}); "
            "for PostgreSQL run pip install -e '.[postgres]'"
        ) from None
    return parsed


def check_sqlite_file(url: URL, *, creating: bool, instance_dir: Path) -> None:
    """Refuse a SQLite path that does not exist (``creating``: whose folder does not exist)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database or "")
    if path.exists():
        return
    if not creating:
        raise DatabaseProblem(
            f"no database at {path}: run `gateway init-db` to create it, or fix DATABASE_URL"
        )
    folder = path.parent
    if not folder.is_dir() and folder.resolve() != instance_dir.resolve():
        raise DatabaseProblem(
            f"folder {folder} does not exist: create it first, or fix DATABASE_URL"
        )


def check_schema(engine: Engine) -> None:
    """Connect and compare the schema with this code's migrations, or raise DatabaseProblem."""
    try:
        with engine.connect() as connection:
            current = current_revisions(connection)
            # Tables made from the models without Alembic (the tests' create_schema) will do.
            unversioned = not current and inspect(connection).has_table("inbound_messages")
    except SQLAlchemyError as exc:
        raise DatabaseProblem(describe(exc, engine.url)) from None
    if unversioned:
        return
    if not current:
        raise DatabaseProblem(
            f"the database at {_shown(engine.url)} has no tables yet: run `gateway init-db`"
        )
    if current != head_revisions():
        raise DatabaseProblem(
            f"the database schema is at {', '.join(sorted(current))}, this code needs "
            f"{', '.join(sorted(head_revisions()))}: run `gateway init-db`"
        )


def describe(exc: BaseException, url: URL | None = None) -> str:
    """Say in one line what a database error means for the person running the command."""
    where = f" at {_shown(url)}" if url is not None else ""
    detail = _first_line(exc.orig if isinstance(exc, DBAPIError) else exc)
    if isinstance(exc, OperationalError | ProgrammingError) and _missing_table(detail):
        return f"the database{where} lacks this version's tables ({detail}): run `gateway init-db`"
    if isinstance(exc, OperationalError):
        return f"cannot use the database{where}: {detail}"
    return f"database error{where}: {detail}"


def _missing_table(detail: str) -> bool:
    return "no such table" in detail or ("relation" in detail and "does not exist" in detail)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (the newest by default)."""
    from alembic import command

    with engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" removes every table)."""
    from alembic import command

    with engine.connect() as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()


@cache
def head_revisions() -> frozenset[str]:
    """Return the newest revision(s) this code ships: those no other script revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        revisions.add(found["revision"].strip('"'))
        if found.get("down_revision", "None") != "None":
            revised.add(found["down_revision"].strip('"'))
    return frozenset(revisions - revised)


def current_revisions(connection: Connection) -> frozenset[str]:
    """Return the revision(s) the database is at (empty when never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.scalars(text("SELECT version_num FROM alembic_version")))


def is_current(connection: Connection) -> bool:
    """Tell whether the database is at the revision this code expects."""
    return current_revisions(connection) == head_revisions()
