"""The ``gateway`` command: set up the database, import accounts, serve, work, flip switches.

Each command lives in a module of this package, named after what it operates on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from dotenv import load_dotenv

from gateway.cli.accounts import accounts
from gateway.cli.charges import charges
from gateway.cli.mail_sink import mail_sink
from gateway.cli.operations import init_db, purge, switch
from gateway.cli.outbox import outbox
from gateway.cli.processes import serve, worker
from gateway.cli.service_stub import service_stub
from gateway.cli.simulate import simulate
from gateway.cli.staff import staff


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Run and operate the 8079 password-recovery gateway.

    Settings come from the environment and from a .env file in the current folder
    (see .env.example).
    """
    ctx.ensure_object(dict)


for command in (
    init_db,
    accounts,
    charges,
    serve,
    worker,
    switch,
    outbox,
    purge,
    simulate,
    mail_sink,
    service_stub,
    staff,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``gateway`` console script."""
    # Whatever a command creates (the SQLite file, exports, lock files) holds personal data:
    # readable by the gateway's user only. gunicorn's workers and the worker inherit this.
    os.umask(0o077)
    load_dotenv(Path.cwd() / ".env")
    try:
        cli(obj={})
    except Exception as exc:
        if not _from_the_database(exc):
            raise
        from gateway.schema import describe

        # The database went away or lost its tables mid-command: one line, not a traceback.
        click.echo(f"Error: {describe(exc)}", err=True)
        sys.exit(1)


def _from_the_database(exc: Exception) -> bool:
    # Looked up, not imported: `gateway --help` must not load SQLAlchemy, and an error cannot
    # come from SQLAlchemy if nothing loaded it.
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)
