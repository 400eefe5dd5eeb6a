"""``gateway accounts``: manage VssID accounts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gateway.account_import import ImportFileError, import_accounts, read_rows
from gateway.cli.common import runtime_of


@click.group()
def accounts() -> None:
    """Manage VssID accounts."""


@accounts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def accounts_import(ctx: click.Context, file: Path) -> None:
    """Create or update accounts from a CSV file.

    Columns: bhxh,phone,email,approved_at and optionally personal_id. Rows with errors are
    reported with their line number and skipped; the rest are imported. Re-importing a file
    updates the accounts it names. Exits 1 if any row was skipped.
    """
    runtime = runtime_of(ctx)
    with (
        file.open(encoding="utf-8-sig", newline="") as stream,
        runtime.session_factory() as session,
    ):
        try:
            report = import_accounts(session, read_rows(stream), runtime.clock.now())
        except ImportFileError as exc:
            raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
        session.commit()
    for error in report.errors:
        click.echo(f"{file}:{error.line}: {error.reason}", err=True)
    click.echo(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"skipped {len(report.errors)}"
    )
    if report.errors:
        sys.exit(1)
