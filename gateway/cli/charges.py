"""``gateway charges``: export, summarise, refund and reconcile charges (docs/finance.md)."""

from __future__ import annotations

import getpass
import io
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.orm import Session

from billing.errors import BillingError, RefundRefused
from billing.export import iter_entries, write_csv, write_xlsx
from billing.outcomes import Outcome
from billing.periods import Period, local_days
from billing.reconcile import (
    DEFAULT_COLUMNS,
    file_period,
    parse_columns,
    read_carrier_file,
    reconcile,
    render,
)
from billing.refunds import (
    Candidate,
    RefundPolicy,
    find_charge,
    refund_all,
    refund_charge,
    refundable_charges,
)
from billing.summary import HEADER as SUMMARY_HEADER
from billing.summary import summarise
from gateway.cli.common import runtime_of
from gateway.finance import known_carriers, reading_session
from gateway.runtime import Runtime
from parsers import mask_phone

log = logging.getLogger(__name__)


class BadInput(click.ClickException):
    """Bad dates, carriers or files: exit 2 like a usage error, with nothing written."""

    exit_code = 2


def _period(first: str, last: str) -> Period:
    try:
        return local_days(first, last)
    except BillingError as exc:
        raise BadInput(str(exc)) from exc


def _carrier(runtime: Runtime, session: Session, carrier: str | None) -> str | None:
    if carrier is not None and carrier not in known_carriers(runtime, session):
        raise BadInput(f"unknown carrier {carrier!r}; see GATEWAY_CARRIERS")
    return carrier


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _policy(runtime: Runtime) -> RefundPolicy:
    return RefundPolicy(refund_wrong_syntax=runtime.settings.refund_wrong_syntax)


def _phone(phone: str, unmasked: bool) -> str:
    return phone if unmasked else mask_phone(phone)


DATES = [
    click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD."),
    click.option("--to", "last", required=True, help="Last local day, YYYY-MM-DD (included)."),
    click.option("--carrier", help="Only this carrier."),
]


def _dates(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(DATES):
        command = option(command)
    return command


@click.group()
def charges() -> None:
    """Export, summarise, refund and reconcile charges (local days, Asia/Ho_Chi_Minh)."""


@charges.command()
@_dates
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option("--excel", is_flag=True, help="CSV with a UTF-8 byte order mark, for Excel.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="[default: stdout]")
@click.option("--unmasked", is_flag=True, help="Full phone numbers (for reconciliation; logged).")
@click.pass_context
def export(
    ctx: click.Context,
    first: str,
    last: str,
    carrier: str | None,
    fmt: str,
    excel: bool,
    output: Path | None,
    unmasked: bool,
) -> None:
    """Export one row per ledger entry in the period, oldest first (header: docs/finance.md)."""
    runtime = runtime_of(ctx)
    period = _period(first, last)
    if fmt == "xlsx" and output is None:
        raise BadInput("--format xlsx needs --output FILE")
    with reading_session(runtime) as session:
        _carrier(runtime, session, carrier)
        if unmasked:
            log.warning("unmasked charges export of %s by %s", period.describe(), _actor())
        entries = iter_entries(session, period, carrier)
        policy = _policy(runtime)
        if output is None:
            # Our own wrapper: the CRLF line ends of RFC 4180 must pass through untranslated.
            sys.stdout.flush()
            stream = io.TextIOWrapper(sys.stdout.buffer, "utf-8", newline="")
            try:
                rows = write_csv(stream, entries, policy, masked=not unmasked, bom=excel)
            finally:
                stream.flush()
                stream.detach()
        else:
            with _replacing(output) as temporary:
                if fmt == "xlsx":
                    rows = write_xlsx(str(temporary), entries, policy, masked=not unmasked)
                else:
                    with temporary.open("w", encoding="utf-8", newline="") as stream:
                        rows = write_csv(stream, entries, policy, masked=not unmasked, bom=excel)
    log.info("exported %s ledger entries of %s", rows, period.describe())
    if output is not None:
        click.echo(f"{rows} entries written to {output}", err=True)


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
@_dates
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.pass_context
def summary(ctx: click.Context, first: str, last: str, carrier: str | None, as_csv: bool) -> None:
    """Per local day, carrier and outcome: messages, charged, refunded and net, with totals."""
    runtime = runtime_of(ctx)
    period = _period(first, last)
    with reading_session(runtime) as session:
        _carrier(runtime, session, carrier)
        result = summarise(session, period, carrier)
    if as_csv:
        click.echo(",".join(SUMMARY_HEADER))
        for row in result.rows():
            click.echo(",".join(str(cell) for cell in row))
        return
    click.echo(f"{period.describe()}{f', carrier {carrier}' if carrier else ''}")
    layout = "{:<10} {:<10} {:<16} {:>9} {:>14} {:>14} {:>14}"
    click.echo(layout.format(*SUMMARY_HEADER))
    for row in result.rows():
        click.echo(layout.format(*row))


@charges.command()
@click.option("--message-id", type=int, help="Refund this message (our id).")
@click.option(
    "--carrier-message-id", help="Refund this message (the carrier's id; with --carrier)."
)
@click.option("--carrier", help="The carrier (with --carrier-message-id, or to filter).")
@click.option("--outcome", "outcomes", multiple=True, type=click.Choice([o.value for o in Outcome]))
@click.option("--from", "first", help="Filter: first local day, YYYY-MM-DD.")
@click.option("--to", "last", help="Filter: last local day, YYYY-MM-DD (included).")
@click.option("--amount", type=int, help="One message only: refund less than the charge.")
@click.option("--reason", help="Why (stored on the refund) [default: the outcome].")
@click.option("--force", is_flag=True, help="One message only: refund a non-refundable outcome.")
@click.option("--dry-run", is_flag=True, help="List what would be refunded; write nothing.")
@click.pass_context
def refund(
    ctx: click.Context,
    message_id: int | None,
    carrier_message_id: str | None,
    carrier: str | None,
    outcomes: tuple[str, ...],
    first: str | None,
    last: str | None,
    amount: int | None,
    reason: str | None,
    force: bool,
    dry_run: bool,
) -> None:
    """Refund one message, or every refundable charge of a period (idempotent).

    \b
    gateway charges refund --message-id 1234 --reason "complaint 5678"
    gateway charges refund --carrier viettel --carrier-message-id ABC123
    gateway charges refund --outcome system_error --from 2026-11-01 --to 2026-11-30 --dry-run
    """
    runtime = runtime_of(ctx)
    single = message_id is not None or carrier_message_id is not None
    if single and (outcomes or first or last):
        raise BadInput("give one message, or a filter (--from/--to/--outcome), not both")
    if not single and not (first and last):
        raise BadInput("give --message-id, --carrier with --carrier-message-id, or --from and --to")
    if not single and (amount is not None or force):
        raise BadInput("--amount and --force apply to one message only")
    if carrier_message_id is not None and carrier is None:
        raise BadInput("--carrier-message-id needs --carrier")
    policy, actor, now = _policy(runtime), _actor(), runtime.clock.now()
    with runtime.session_factory() as session:
        _carrier(runtime, session, carrier)
        try:
            if single:
                charge = find_charge(
                    session,
                    message_id=message_id,
                    carrier=carrier,
                    carrier_message_id=carrier_message_id,
                )
                refunds = [
                    refund_charge(
                        session,
                        charge,
                        policy,
                        reason=reason,
                        actor=actor,
                        at=now,
                        amount_vnd=amount,
                        force=force,
                    )
                ]
                skipped: list[str] = []
            else:
                assert first is not None and last is not None
                found = _candidates(session, policy, _period(first, last), carrier, outcomes)
                if not found or dry_run:
                    return
                refunds, skipped = refund_all(
                    session, found, policy, reason=reason, actor=actor, at=now
                )
        except RefundRefused as exc:
            raise click.ClickException(str(exc)) from exc
        total = sum(r.amount_vnd for r in refunds)
        if dry_run:
            session.rollback()
            click.echo(f"dry run: would refund message {refunds[0].message_id}, {total} VND")
            return
        session.commit()
    for why in skipped:
        click.echo(f"skipped: {why}", err=True)
    log.info("%s refunded %s charges, %s VND", actor, len(refunds), total)
    click.echo(f"refunded {len(refunds)} charges, {total} VND")


def _candidates(
    session: Session,
    policy: RefundPolicy,
    period: Period,
    carrier: str | None,
    outcomes: tuple[str, ...],
) -> list[Candidate]:
    """List the refundable charges of a filter; say so when there is none (idempotent rerun)."""
    chosen = [Outcome(value) for value in outcomes]
    carriers = [carrier] if carrier else []
    found = refundable_charges(session, policy, period, carriers=carriers, outcomes=chosen)
    if not found:
        click.echo(f"nothing to refund: every refundable charge of {period.describe()} is refunded")
        return found
    for candidate in found:
        c = candidate.charge
        failed = " (reply failed)" if candidate.reply_failed else ""
        click.echo(
            f"message {c.message_id} {c.carrier} {c.carrier_message_id} {mask_phone(c.phone)} "
            f"{c.outcome.value}{failed} {c.amount_vnd} VND"
        )
    total = sum(c.charge.amount_vnd for c in found)
    click.echo(f"{len(found)} refundable charges, {total} VND")
    return found


@charges.command("reconcile")
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
    runtime = runtime_of(ctx)
    if (first is None) != (last is None):
        raise BadInput("give both --from and --to, or neither")
    try:
        mapping = parse_columns(columns)
        records = read_carrier_file(file.read_bytes(), mapping)
        period = _period(first, last) if first and last else file_period(records)
    except (BillingError, ValueError) as exc:
        raise BadInput(f"{file}: {exc}; nothing was compared") from exc
    if unmasked:
        log.warning(
            "unmasked reconciliation of %s for %s by %s", carrier, period.describe(), _actor()
        )
    with reading_session(runtime) as session:
        _carrier(runtime, session, carrier)
        report = reconcile(session, carrier, records, period)
    for line in render(report, carrier, show=show, unmasked=unmasked):
        click.echo(line)
    if report.differences:
        sys.exit(1)
