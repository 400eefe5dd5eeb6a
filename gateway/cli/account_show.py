"""``gateway accounts show``: what support may see of one account, masked and read only."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from billing.periods import LOCAL_TZ
from gateway.cli.common import runtime_of

if TYPE_CHECKING:
    from gateway.accounts.lookup import AccountLookup


@click.command("show")
@click.argument("identifier")
@click.pass_context
def accounts_show(ctx: click.Context, identifier: str) -> None:
    """Show an account by its social insurance (10 digits) or personal ID (12) number.

    State, masked phone and email, passkeys, Smart OTP, whether logins or recoveries must
    wait and until when, and the latest recoveries and logins from the audit trail. Nothing
    is changed. Exits 1 if there is no such account.
    """
    from gateway.accounts.lookup import look_up, valid_identifier

    identifier = identifier.strip()
    if not valid_identifier(identifier):
        raise click.BadParameter("10 or 12 digits", param_hint="IDENTIFIER")
    runtime = runtime_of(ctx)
    with runtime.session_factory() as session:
        found = look_up(session, identifier, runtime.settings, runtime.clock.now())
    if found is None:
        click.echo("no account with this number", err=True)
        sys.exit(1)
    for line in describe_lines(found):
        click.echo(line)


def describe_lines(account: AccountLookup) -> list[str]:
    """Write the look-up as the lines ``accounts show`` prints."""
    lines = [
        f"account {account.id}: bhxh {account.bhxh}"
        + (f", personal id {account.personal_id}" if account.personal_id else ""),
        f"state: {account.state}",
        f"phone: {account.phone}",
        f"email: {account.email or '-'}",
        f"password changed: {_when(account.password_changed_at)}"
        + (" (must change at next login)" if account.must_change_password else ""),
        f"temporary password valid until: {_when(account.temp_password_until)}",
        f"passkeys: {account.passkeys}",
        f"smart otp: {'on' if account.smart_otp else 'off'}",
    ]
    for wait in account.throttles:
        if wait.blocked:
            state = "blocked until a recovery by SMS or email"
        elif wait.until is not None:
            state = f"waiting until {_when(wait.until)}"
        else:
            state = "no wait"
        lines.append(f"throttle {wait.name}: {state} ({wait.detail})")
    lines.append(f"recent events ({len(account.events)}):")
    lines += [f"  {_when(e.at)}  {e.action} via {e.channel}: {e.outcome}" for e in account.events]
    return lines


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
