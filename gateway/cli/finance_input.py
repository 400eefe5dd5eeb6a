"""What the ``gateway charges`` commands share: reading dates, carriers and the refund policy."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from billing.errors import BillingError
from billing.periods import Period, local_days
from parsers import mask_phone

if TYPE_CHECKING:  # the commands import what touches the database when they run
    from sqlalchemy.orm import Session

    from billing.refunds import RefundPolicy
    from gateway.runtime import Runtime


class BadInput(click.ClickException):
    """Bad dates, carriers or files: exit 2 like a usage error, with nothing written."""

    exit_code = 2


def period_of(first: str, last: str) -> Period:
    """Turn --from/--to into a period of local days, or exit 2."""
    try:
        return local_days(first, last)
    except BillingError as exc:
        raise BadInput(str(exc)) from exc


def carrier_of(runtime: Runtime, session: Session, carrier: str | None) -> str | None:
    """Check --carrier against the carriers we know, or exit 2."""
    from gateway.finance.queries import known_carriers

    if carrier is not None and carrier not in known_carriers(runtime, session):
        raise BadInput(f"unknown carrier {carrier!r}; see GATEWAY_CARRIERS")
    return carrier


def acting_user() -> str:
    """Name who runs the command, for the refunds it records."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def policy_of(runtime: Runtime) -> RefundPolicy:
    """Return the refund policy the settings choose."""
    from billing.refunds import RefundPolicy

    return RefundPolicy(refund_wrong_syntax=runtime.settings.refund_wrong_syntax)


def shown_phone(phone: str, unmasked: bool) -> str:
    """Mask a phone number unless --unmasked was given."""
    return phone if unmasked else mask_phone(phone)


DATES = [
    click.option("--from", "first", required=True, help="First local day, YYYY-MM-DD."),
    click.option("--to", "last", required=True, help="Last local day, YYYY-MM-DD (included)."),
    click.option("--carrier", help="Only this carrier."),
]


def dates(command: click.decorators.FC) -> click.decorators.FC:
    """Add the --from/--to/--carrier options."""
    for option in reversed(DATES):
        command = option(command)
    return command
