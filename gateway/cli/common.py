"""What every command shares: the runtime, built once per invocation from the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.orm import Session

    from gateway.runtime import Runtime
    from gateway.settings import Settings


def runtime_of(ctx: click.Context, *, creating_database: bool = False) -> Runtime:
    """Return the invocation's runtime, reading the settings on first use.

    The database is checked first, so a mistake reads as one line: its URL, that the SQLite
    file exists (unless ``creating_database``: ``init-db``), then that its schema is current.
    """
    root = ctx.find_root()
    root.ensure_object(dict)
    if "runtime" not in root.obj:
        # Imported here, not at the top: `gateway --help` must not load SQLAlchemy and Flask.
        from gateway import schema
        from gateway.ops import logs
        from gateway.runtime import build_runtime

        settings = settings_of()
        with database_problems():
            schema.check_location(
                settings.database_url,
                creating=creating_database,
                instance_dir=settings.instance_dir,
            )
            with _configuration():  # a tariffs file it cannot read
                runtime = build_runtime(settings)
            root.call_on_close(runtime.engine.dispose)  # close pooled connections before exit
            if not creating_database:
                schema.check_schema(runtime.engine)
        root.obj["runtime"] = runtime
        logs.configure(settings)
    return root.obj["runtime"]  # type: ignore[no-any-return]


def acting_user() -> str:
    """Name who runs the command (the login name; the audit keeps no more than that)."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry, e.g. in some containers
        return "unknown"


def record_operator_event(session: Session, action: str, now: dt.datetime, detail: str) -> None:
    """Audit what an operator did from the command line, in the transaction that did it."""
    from gateway.ops.audit import record_event

    subject = f"cli:{acting_user()}"
    record_event(
        session,
        action=action,
        channel="cli",
        outcome="ok",
        subject=subject,
        actor="operator",
        now=now,
        detail=detail,
    )


def settings_of() -> Settings:
    """Return the settings alone, for commands that never touch the database."""
    from gateway.settings import load_settings

    with _configuration():
        return load_settings(os.environ)


@contextmanager
def _configuration() -> Iterator[None]:
    from gateway.errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}{_dotenv_hint()}") from exc


@contextmanager
def database_problems() -> Iterator[None]:
    """Turn a database that is missing, unreachable or behind this code into one line."""
    from gateway.errors import DatabaseProblem

    try:
        yield
    except DatabaseProblem as exc:
        raise click.ClickException(str(exc)) from exc


def _dotenv_hint() -> str:
    # Settings come from the environment or ./.env; a command run from another folder reads none.
    if (Path.cwd() / ".env").is_file():
        return ""
    return f" (there is no .env in {Path.cwd()}: run from the project folder, or set it)"
