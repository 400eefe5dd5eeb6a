"""``gateway charges reconcile``: compare a carrier's monthly record with our ledger."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gateway.cli.common import acting_user
from gateway.cli.finance_input import BadInput, access_of, days_of, refusals

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
@click.option(
    "--lang",
    type=click.Choice(["en", "vi"]),
    default="en",
    show_default=True,
    help="The report's language (vi: the console's download).",
)
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
    lang: str,
    file: Path,
) -> None:
    """Check a carrier's record of billed messages against our charges; exit 1 on differences.

    FILE is CSV (UTF-8; comma, semicolon or tab) with the carrier message id, the phone, the
    time and the amount. Map its column names with --columns, e.g.
    --columns id=Request_ID,phone=User_ID,time=Time,amount=Amount
    """
    from billing.reconcile import render
    from gateway.finance.errors import FinanceRefused
    from gateway.finance.reconciliation import ReconcileQuery, reconcile_file
    from gateway.finance.reconciliation_report import render_vi

    access = access_of(ctx)
    if (first is None) != (last is None):
        raise BadInput("give both --from and --to, or neither")
    days = days_of(first, last) if first and last else (None, None)
    query = ReconcileQuery(carrier, file.read_bytes(), columns, *days)
    with refusals():
        try:
            result = reconcile_file(access, query)
        except FinanceRefused as exc:
            if exc.code != "bad_file":
                raise
            raise BadInput(f"{file}: {exc}; nothing was compared") from exc
    report = result.report
    if unmasked:
        log.warning(
            "unmasked reconciliation of %s for %s by %s",
            carrier,
            result.period.describe(),
            acting_user(),
        )
    writer = render_vi if lang == "vi" else render
    for line in writer(report, carrier, show=show, unmasked=unmasked):
        click.echo(line)
    if report.differences:
        sys.exit(1)
