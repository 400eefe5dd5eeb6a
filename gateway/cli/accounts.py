"""``gateway accounts``: manage VssID accounts."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from billing.periods import LOCAL_TZ
from gateway.cli.account_show import accounts_show
from gateway.cli.common import runtime_of
from gateway.errors import RequestRefused
from gateway.states import Channel

if TYPE_CHECKING:
    from gateway.accounts.account_csv import AccountRow, RowError


@click.group()
def accounts() -> None:
    """Manage VssID accounts."""


@accounts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--issue-first-passwords",
    is_flag=True,
    help="Send a first password to each approved account of the file that never had one.",
)
@click.pass_context
def accounts_import(ctx: click.Context, file: Path, issue_first_passwords: bool) -> None:
    """Create or update accounts from a CSV file.

    Required columns: bhxh, phone. Optional: email, approved_at, personal_id. Other columns
    (a name from an HR export) are ignored, with a warning naming them. The header names the
    columns, in any order; the separator is a comma, a semicolon (Excel with Vietnamese
    settings) or a tab; the file is UTF-8, with or without a byte order mark (in Excel: Save
    As "CSV UTF-8"), or Excel's "Unicode Text" (UTF-16). approved_at is YYYY-MM-DD,
    dd/mm/yyyy or ISO 8601, in Vietnam time.

    Rows with errors (a bad value, too few or too many cells) are listed with their line
    number and skipped; the rest are imported. Re-importing a file updates the accounts it
    names. Exits 1 if any row was skipped.

    With --issue-first-passwords, accounts with an approved_at and no password yet get a
    temporary password: by SMS if approved before GATEWAY_FIRST_PASSWORD_EMAIL_FROM or
    without an email, by email otherwise. Running it again sends nothing new.
    """
    from gateway.accounts.account_csv import ImportFileError, encoding_of, read_rows
    from gateway.accounts.importer import import_accounts
    from gateway.accounts.lifecycle import issue_missing_first_passwords

    runtime = runtime_of(ctx)
    named: list[str] = []
    ignored: list[str] = []
    with (
        file.open(encoding=encoding_of(_head(file)), newline="") as stream,
        runtime.session_factory() as session,
    ):
        try:
            report = import_accounts(
                session, _noting(read_rows(stream, ignored), named), runtime.clock.now()
            )
        except ImportFileError as exc:
            raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
        if ignored:
            shown = ", ".join(repr(name) for name in ignored)
            click.echo(f"{file}: warning: ignored column(s) {shown}", err=True)
        sent = None
        if issue_first_passwords:
            sent = issue_missing_first_passwords(
                session,
                named,
                settings=runtime.settings,
                catalog=runtime.catalog,
                now=runtime.clock.now(),
            )
        session.commit()
    if sent is not None:
        click.echo(
            f"first passwords queued: {sent[Channel.SMS]} by SMS, {sent[Channel.EMAIL]} by email"
        )
    for error in report.errors:
        click.echo(f"{file}:{error.line}: {error.reason}", err=True)
    click.echo(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"skipped {len(report.errors)}"
    )
    if report.errors:
        sys.exit(1)


accounts.add_command(accounts_show)


@accounts.command("approve")
@click.argument("bhxh")
@click.option(
    "--approved-at",
    metavar="DATE",
    help="When the approval took effect (YYYY-MM-DD or ISO 8601, Vietnam time); default: now.",
)
@click.pass_context
def accounts_approve(ctx: click.Context, bhxh: str, approved_at: str | None) -> None:
    """Approve a pending account and send its first password.

    The password goes by SMS to the registered phone for an approval before
    GATEWAY_FIRST_PASSWORD_EMAIL_FROM (22 Oct 2021), by email from that date, and by SMS when
    there is no email on file. Exits 1 if the account is unknown or not pending.
    """
    from gateway.accounts.lifecycle import approve_account

    runtime = runtime_of(ctx)
    when = _moment(approved_at) if approved_at else None
    with runtime.session_factory() as session:
        try:
            channel = approve_account(
                session,
                bhxh.strip(),
                settings=runtime.settings,
                catalog=runtime.catalog,
                now=runtime.clock.now(),
                approved_at=when,
            )
        except RequestRefused as exc:
            click.echo(f"not approved: {exc.reason}", err=True)
            sys.exit(1)
        session.commit()
    click.echo(f"approved; first password queued by {channel.value}")


@accounts.command("smart-otp-reset")
@click.argument("bhxh")
@click.option("--reason", required=True, help="Why (the hotline ticket, say); kept in the audit.")
@click.pass_context
def accounts_smart_otp_reset(ctx: click.Context, bhxh: str, reason: str) -> None:
    """Turn off an account's Smart OTP for a citizen who lost the phone (hotline staff).

    The phone and the email on file are told, and the audit keeps who did it (operator) and
    the reason. The citizen enrols again from the portal or the app. Exits 1 if the account is
    unknown or has no Smart OTP.
    """
    from gateway.accounts.login import AccountContext
    from gateway.accounts.services import lock_active_account
    from gateway.accounts.smart_otp import turn_off

    reason = " ".join(reason.split())[:150]
    if not reason:
        raise click.BadParameter("say why", param_hint="--reason")
    runtime = runtime_of(ctx)
    context = AccountContext(
        sessions=runtime.session_factory,
        settings=runtime.settings,
        catalog=runtime.catalog,
        hasher=runtime.hasher,
        now=runtime.clock.now(),
        channel="cli",
    )
    with runtime.session_factory.begin() as session:
        account = lock_active_account(session, bhxh.strip())
        done = account is not None and turn_off(
            context, session, account, actor="operator", reason=f"reason: {reason}"
        )
    if not done:
        click.echo("not reset: unknown or not approved account, or it has no Smart OTP", err=True)
        sys.exit(1)
    click.echo("Smart OTP turned off; the phone and the email on file were told")


def _noting(
    rows: Iterable[AccountRow | RowError], named: list[str]
) -> Iterator[AccountRow | RowError]:
    from gateway.accounts.account_csv import AccountRow

    for row in rows:
        if isinstance(row, AccountRow):
            named.append(row.bhxh)
        yield row


def _head(file: Path) -> bytes:
    with file.open("rb") as stream:
        return stream.read(2)


def _moment(raw: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise click.BadParameter("expected YYYY-MM-DD or an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(dt.UTC)
