"""``gateway charges``: export, summarise, refund and reconcile charges (docs/finance.md)."""

from __future__ import annotations

import io
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from gateway.cli.charge_reconcile import reconcile_command
from gateway.cli.charge_refunds import refund
from gateway.cli.common import acting_user
from gateway.cli.finance_input import BadInput, access_of, dates, days_of, refusals

log = logging.getLogger(__name__)


@click.group()
def charges() -> None:
    """Export, summarise, refund and reconcile charges (local days, Asia/Ho_Chi_Minh)."""


@charges.command()
@dates
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option(
    "--bom/--no-bom",
    default=True,
    show_default=True,
    help="Start the CSV with a UTF-8 byte order mark, so Excel shows Vietnamese intact.",
)
@click.option("--excel", is_flag=True, hidden=True, help="Same as --bom (the default now).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="[default: stdout]")
@click.option("--unmasked", is_flag=True, help="Full phone numbers (for reconciliation; logged).")
@click.pass_context
def export(
    ctx: click.Context,
    first: str,
    last: str,
    carrier: str | None,
    fmt: str,
    bom: bool,
    excel: bool,
    output: Path | None,
    unmasked: bool,
) -> None:
    """Export one row per ledger entry in the period, oldest first (header: docs/finance.md)."""
    from gateway.finance.exports import ExportQuery, prepare_export

    access = access_of(ctx)
    first_day, last_day = days_of(first, last)
    if fmt == "xlsx" and output is None:
        raise BadInput("--format xlsx needs --output FILE")
    query = ExportQuery(first_day, last_day, carrier, masked=not unmasked, actor=acting_user())
    with refusals():
        export = prepare_export(access, query)
    bom = bom or excel
    if output is None:
        # Our own wrapper: the CRLF line ends of RFC 4180 must pass through untranslated.
        sys.stdout.flush()
        stream = io.TextIOWrapper(sys.stdout.buffer, "utf-8", newline="")
        try:
            count = export.write_csv(stream, bom=bom)
        finally:
            stream.flush()
            stream.detach()
    else:
        with _replacing(output) as temporary:
            if fmt == "xlsx":
                count = export.write_xlsx(temporary)
            else:
                with temporary.open("w", encoding="utf-8", newline="") as stream:
                    count = export.write_csv(stream, bom=bom)
    log.info("exported %s ledger entries of %s", count, export.period.describe())
    if output is not None:
        click.echo(f"{count} entries written to {output}", err=True)


@contextmanager
def _replacing(output: Path) -> Iterator[Path]:
    # Write beside the target and rename at the end: a failed export leaves no half file.
    handle, name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent or Path("."))
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        temporary.replace(output)
    finally:
        temporary.unlink(missing_ok=True)


@charges.command()
@dates
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.pass_context
def summary(ctx: click.Context, first: str, last: str, carrier: str | None, as_csv: bool) -> None:
    """Per local day, carrier, keyword service and outcome: messages, charged, refunded and
    net, with totals."""
    from billing.summary import HEADER as SUMMARY_HEADER
    from billing.summary import summarise
    from gateway.finance.queries import checked_period, reading_session

    access = access_of(ctx)
    days = days_of(first, last)
    with reading_session(access) as session:
        with refusals():
            period = checked_period(access, session, *days, carrier)
        result = summarise(session, period, carrier)
    if as_csv:
        click.echo(",".join(SUMMARY_HEADER))
        for row in result.rows():
            click.echo(",".join(str(cell) for cell in row))
        return
    click.echo(f"{period.describe()}{f', carrier {carrier}' if carrier else ''}")
    layout = "{:<10} {:<10} {:<10} {:<16} {:>9} {:>14} {:>14} {:>14}"
    click.echo(layout.format(*SUMMARY_HEADER))
    for row in result.rows():
        click.echo(layout.format(*row))


charges.add_command(refund)
charges.add_command(reconcile_command)
