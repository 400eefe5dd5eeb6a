"""What the ``gateway charges`` commands share: the ledger's access, days, refusals, the user."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from billing.errors import BillingError
from billing.periods import parse_local_date
from gateway.cli.common import database_problems, settings_of
from parsers import mask_phone

if TYPE_CHECKING:  # the commands import what touches the database when they run
    from gateway.finance.queries import Access


class BadInput(click.ClickException):
    """Bad dates, carriers or files: exit 2 like a usage error, with nothing written."""

    exit_code = 2


def access_of(ctx: click.Context) -> Access:
    """Return the settings, the checked database and the clock the finance commands use.

    Not a whole ``Runtime``: its carriers, mailer, worker and password hasher would add 40 MiB
    to an export that needs none of them. A runtime given by the caller (the tests) is used.
    """
    root = ctx.find_root()
    root.ensure_object(dict)
    if "runtime" in root.obj:
        return root.obj["runtime"]  # type: ignore[no-any-return]
    if "ledger" not in root.obj:
        from gateway import schema
        from gateway.clock import SystemClock
        from gateway.db import make_engine, make_session_factory
        from gateway.finance.queries import LedgerAccess
        from gateway.ops import logs

        settings = settings_of()
        with database_problems():
            schema.check_location(
                settings.database_url, creating=False, instance_dir=settings.instance_dir
            )
            engine = make_engine(settings.database_url)
            root.call_on_close(engine.dispose)  # close pooled connections before exit
            schema.check_schema(engine)
        logs.configure(settings)
        factory = make_session_factory(engine)
        root.obj["ledger"] = LedgerAccess(settings, engine, factory, SystemClock())
    return root.obj["ledger"]  # type: ignore[no-any-return]


def days_of(first: str, last: str) -> tuple[dt.date, dt.date]:
    """Read --from/--to as local days (YYYY-MM-DD or dd/mm/yyyy), or exit 2."""
    try:
        return (
            parse_local_date(first, "--from", day_first=True),
            parse_local_date(last, "--to", day_first=True),
        )
    except BillingError as exc:
        raise BadInput(str(exc)) from exc


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a finance use case's refusal into exit 2 with its reason."""
    from gateway.finance.errors import FinanceRefused

    try:
        yield
    except FinanceRefused as exc:
        hint = "; see GATEWAY_CARRIERS" if exc.code == "unknown_carrier" else ""
        raise BadInput(f"{exc.reason}{hint}") from exc


def shown_phone(phone: str, unmasked: bool) -> str:
    """Mask a phone number unless --unmasked was given."""
    return phone if unmasked else mask_phone(phone)


DAY_FORMS = "YYYY-MM-DD or dd/mm/yyyy"
DATES = [
    click.option("--from", "first", required=True, help=f"First local day, {DAY_FORMS}."),
    click.option("--to", "last", required=True, help=f"Last local day, {DAY_FORMS} (included)."),
    click.option("--carrier", help="Only this carrier."),
]


def dates(command: click.decorators.FC) -> click.decorators.FC:
    """Add the --from/--to/--carrier options."""
    for option in reversed(DATES):
        command = option(command)
    return command
