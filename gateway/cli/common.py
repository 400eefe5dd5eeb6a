"""What every command shares: the runtime, built once per invocation from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
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
        from gateway import preflight
        from gateway.errors import ConfigError, DatabaseProblem
        from gateway.ops import logs
        from gateway.runtime import build_runtime
        from gateway.settings import load_settings

        try:
            settings = load_settings(os.environ)
            url = preflight.check_url(settings.database_url)
            preflight.check_sqlite_file(
                url, creating=creating_database, instance_dir=settings.instance_dir
            )
            runtime = build_runtime(settings)
        except DatabaseProblem as exc:
            raise click.ClickException(str(exc)) from exc
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}{_dotenv_hint()}") from exc
        root.call_on_close(runtime.engine.dispose)  # close pooled connections before exit
        if not creating_database:
            try:
                preflight.check_schema(runtime.engine)
            except DatabaseProblem as exc:
                raise click.ClickException(str(exc)) from exc
        root.obj["runtime"] = runtime
        logs.configure(settings)
    return root.obj["runtime"]  # type: ignore[no-any-return]


def settings_of() -> Settings:
    """Return the settings alone, for commands that never touch the database."""
    from gateway.errors import ConfigError
    from gateway.settings import load_settings

    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}{_dotenv_hint()}") from exc


def _dotenv_hint() -> str:
    # Settings come from the environment or ./.env; a command run from another folder reads none.
    if (Path.cwd() / ".env").is_file():
        return ""
    return f" (there is no .env in {Path.cwd()}: run from the project folder, or set it)"
