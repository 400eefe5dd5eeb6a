"""``gateway init-db``, ``switch`` and ``purge``: set up the database, flip runtime switches,
blank personal data past its retention period."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING

import click

from gateway.cli.common import acting_user, record_operator_event, runtime_of

if TYPE_CHECKING:
    from gateway.runtime import Runtime

# gateway.ops.switches.KNOWN, spelt out so `--help` need not load SQLAlchemy; a test keeps the
# two equal.
SWITCHES = ("sms-reset",)

log = logging.getLogger(__name__)


@click.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create or migrate the database to this version's schema (safe to run again)."""
    from gateway.schema import upgrade

    runtime = runtime_of(ctx, creating_database=True)
    upgrade(runtime.engine)
    click.echo(f"database ready: {runtime.engine.url.render_as_string(hide_password=True)}")


@click.command()
@click.argument("name", metavar=f"{'|'.join(SWITCHES)}|service-NAME")
@click.argument("state", type=click.Choice(["on", "off", "default"]))
@click.option(
    "--reason", required=True, help="Why (an incident, a ticket); kept in the audit trail."
)
@click.pass_context
def switch(ctx: click.Context, name: str, state: str, reason: str) -> None:
    """Turn a runtime switch on or off without a redeploy ('default' follows the setting).

    sms-reset off: every SMS gets a reply pointing to email recovery or VNeID. service-NAME
    off: the keyword service NAME (GATEWAY_SERVICES) is answered "interrupted" at once; on:
    forwarded again after it tripped on its own. The change, the reason and the system user
    who ran it land in the audit trail, shown on the console's switch page with the changes
    made there.

        gateway switch sms-reset off --reason "SMSC down, ticket 123"
        gateway switch service-qt on --reason "QT back, ticket 124"
    """
    from gateway.ops.switches import clear_switch, set_switch

    reason = " ".join(reason.split())[:150]
    if not reason:
        raise click.BadParameter("say why", param_hint="--reason")
    runtime = runtime_of(ctx)
    services = [f"service-{service}" for service in runtime.settings.services]
    if name not in (*SWITCHES, *services):
        raise click.BadParameter(
            f"{name!r}: expected one of {', '.join((*SWITCHES, *services))}", param_hint="NAME"
        )
    now = runtime.clock.now()
    actor = f"cli:{acting_user()}"
    with runtime.session_factory.begin() as session:
        if state == "default":
            clear_switch(session, name)
        else:
            set_switch(session, name, state == "on", now, actor=actor, reason=reason)
        record_operator_event(session, "switch", now, f"{name} {state}: {reason}")
    click.echo(f"{name}: {state}")


@click.command()
@click.option(
    "--older-than",
    "older_than",
    metavar="DURATION",
    help="Blank what is older than this, e.g. 90d [default: GATEWAY_RETENTION, 90d].",
)
@click.pass_context
def purge(ctx: click.Context, older_than: str | None) -> None:
    """Blank message texts, phones, emails and ids past the retention period (docs/deploy.md).

    Rows stay (counts, outcomes, the ledger and the masked audit trail, without client IPs);
    what identifies a person goes, and so do login-failure counts idle that long (not those
    at the cap). `gateway worker --purge-daily` runs the same every day.
    """
    from gateway.settings import parse_duration

    runtime = runtime_of(ctx)
    try:
        period = parse_duration(older_than) if older_than else runtime.settings.retention
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from None
    if period < dt.timedelta(days=1):
        raise click.BadParameter("must be at least 1d", param_hint="--older-than")
    click.echo(f"purged: {purge_once(runtime, period)}")


def purge_once(runtime: Runtime, period: dt.timedelta) -> str:
    """Run one purge of what is older than ``period``; return its one-line report."""
    from gateway.ops.retention import purge as purge_rows

    now = runtime.clock.now()
    with runtime.session_factory() as session:
        report = purge_rows(session, now, period, runtime.settings).describe()
    log.info("purged personal data older than %s: %s", (now - period).date(), report)
    return report


def purge_daily(runtime: Runtime, stop: threading.Event) -> None:
    """Purge past GATEWAY_RETENTION now and every 24 h until ``stop`` is set."""
    while not stop.is_set():
        try:
            purge_once(runtime, runtime.settings.retention)
        except Exception:  # a failed purge must not stop the worker; tomorrow tries again
            log.exception("daily purge failed")
        stop.wait(dt.timedelta(days=1).total_seconds())
