"""``gateway charges reconcile``: compare a carrier's monthly record with our ledger."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from billing.errors import BillingError
from gateway.cli.common import runtime_of
from gateway.cli.finance_input import BadInput, acting_user, carrier_of, period_of

log = logging.getLogger(__name__)
# billing.reconcile.DEFAULT_COLUMNS, spelt out so `--help` need not load SQLAlchemy; a test
# keeps the two equal.
DEFAULT_COLUMNS = "id=id,phone=phone,time=time,amount=amount"


@click.command("reconcile")
@click.option("--carrier", required=True, help="The carrier whose record this is.")
@click.option("--columns", default=DEFAULT_COLUMNS, show_default=True, help="FIELD=COLUMN pairs.")
@click.option("--from", "first", help="First local day [default: the file's first day].")
@click.option("--to", "last", help="Last local day [default: the file's last day].")
@click.option("--show", default=20, show_default=True, help="Differences listed per kind.")
@click.option("--unmasked", is_flag=True, help="Show full phone numbers (logged).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def reconcile_command(
    ctx: click.Context,
    carrier: str,
    columns: str,
    first: str | None,
    last: str | None,
    show: int,
    unmasked: bool,
    file: Path,
) -> None:
    """Check a carrier's record of billed messages against our charges; exit 1 on differences.

    FILE is CSV (UTF-8; comma, semicolon or tab) with the carrier message id, the phone, the
    time and the amount. Map its column names with --columns, e.g.
    --columns id=Request_ID,phone=User_ID,time=Time,amount=Amount
    """
    from billing.reconcile import file_period, parse_columns, read_carrier_file, reconcile, render
    from gateway.finance.queries import reading_session

    runtime = runtime_of(ctx)
    if (first is None) != (last is None):
        raise BadInput("give both --from and --to, or neither")
    try:
        mapping = parse_columns(columns)
        records = read_carrier_file(file.read_bytes(), mapping)
        period = period_of(first, last) if first and last else file_period(records)
    except (BillingError, ValueError) as exc:
        raise BadInput(f"{file}: {exc}; nothing was compared") from exc
    if unmasked:
        log.warning(
            "unmasked reconciliation of %s for %s by %s", carrier, period.describe(), acting_user()
        )
    with reading_session(runtime) as session:
        carrier_of(runtime, session, carrier)
        report = reconcile(session, carrier, records, period)
    for line in render(report, carrier, show=show, unmasked=unmasked):
        click.echo(line)
    if report.differences:
        sys.exit(1)
