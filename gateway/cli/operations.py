"""``gateway init-db`` and ``gateway switch``: set up the database, flip runtime switches."""

from __future__ import annotations

import click

from gateway.cli.common import runtime_of

# gateway.ops.switches.KNOWN, spelt out so `--help` need not load SQLAlchemy; a test keeps the
# two equal.
SWITCHES = ("sms-reset",)


@click.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create or migrate the database to this version's schema (safe to run again)."""
    from gateway.schema import upgrade

    runtime = runtime_of(ctx, creating_database=True)
    upgrade(runtime.engine)
    click.echo(f"database ready: {runtime.engine.url.render_as_string(hide_password=True)}")


@click.command()
@click.argument("name", type=click.Choice(SWITCHES))
@click.argument("state", type=click.Choice(["on", "off", "default"]))
@click.pass_context
def switch(ctx: click.Context, name: str, state: str) -> None:
    """Turn a runtime switch on or off without a redeploy ('default' follows the setting).

    sms-reset off: every SMS gets a reply pointing to email recovery or VNeID.
    """
    from gateway.ops.switches import clear_switch, set_switch

    runtime = runtime_of(ctx)
    with runtime.session_factory.begin() as session:
        if state == "default":
            clear_switch(session, name)
        else:
            set_switch(session, name, state == "on", runtime.clock.now())
    click.echo(f"{name}: {state}")
