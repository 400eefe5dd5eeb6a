"""The ``gateway`` command: set up the database, import accounts, serve, work, flip switches."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click
import requests
from dotenv import load_dotenv

from gateway.account_import import ImportFileError, import_accounts, read_rows
from gateway.db import create_schema
from gateway.errors import ConfigError
from gateway.runtime import Runtime, build_runtime
from gateway.settings import load_settings
from gateway.switches import KNOWN, clear_switch, set_switch

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Run and operate the 8079 password-recovery gateway.

    Settings come from the environment and from a .env file in the current folder
    (see .env.example).
    """
    ctx.ensure_object(dict)


def _runtime(ctx: click.Context) -> Runtime:
    if "runtime" not in ctx.obj:
        try:
            settings = load_settings(os.environ)
            ctx.obj["runtime"] = build_runtime(settings)
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
        logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    return ctx.obj["runtime"]  # type: ignore[no-any-return]


@cli.command("init-db")
@click.pass_context
def init_db(ctx: click.Context) -> None:
    """Create the database tables (safe to run again)."""
    runtime = _runtime(ctx)
    create_schema(runtime.engine)
    click.echo(f"database ready: {runtime.engine.url.render_as_string(hide_password=True)}")


@cli.group()
def accounts() -> None:
    """Manage VssID accounts."""


@accounts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def accounts_import(ctx: click.Context, file: Path) -> None:
    """Create or update accounts from a CSV file.

    Columns: bhxh,phone,email,approved_at and optionally personal_id. Rows with errors are
    reported with their line number and skipped; the rest are imported. Re-importing a file
    updates the accounts it names. Exits 1 if any row was skipped.
    """
    runtime = _runtime(ctx)
    with (
        file.open(encoding="utf-8-sig", newline="") as stream,
        runtime.session_factory() as session,
    ):
        try:
            report = import_accounts(session, read_rows(stream), runtime.clock.now())
        except ImportFileError as exc:
            raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
        session.commit()
    for error in report.errors:
        click.echo(f"{file}:{error.line}: {error.reason}", err=True)
    click.echo(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"skipped {len(report.errors)}"
    )
    if report.errors:
        sys.exit(1)


@cli.command()
@click.option("--once", is_flag=True, help="Drain what is due now, then exit.")
@click.pass_context
def worker(ctx: click.Context, once: bool) -> None:
    """Process received messages and send replies, until stopped (SIGTERM or Ctrl-C)."""
    job = _runtime(ctx).worker()
    if once:
        click.echo(f"done: {job.drain()} items")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    job.run(stop)


@cli.command()
@click.option("--bind", help="host:port to listen on [default: GATEWAY_BIND, 127.0.0.1:8000]")
@click.option("--workers", type=int, help="web worker processes [default: GATEWAY_WEB_WORKERS]")
@click.option(
    "--with-worker/--no-worker",
    default=False,
    help="Also run the background worker as a child process (one-machine setups).",
)
@click.pass_context
def serve(ctx: click.Context, bind: str | None, workers: int | None, with_worker: bool) -> None:
    """Serve the web app with gunicorn."""
    from gunicorn.app.base import BaseApplication

    settings = _runtime(ctx).settings

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", bind or settings.bind)
            self.cfg.set("workers", workers or settings.web_workers)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("accesslog", "-")
            # The path without the query string: carrier URLs may hold tokens.
            self.cfg.set("access_log_format", '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms')
            if "control_socket" in self.cfg.settings:
                # gunicorn >= 25 defaults to one socket per user, which a second instance on
                # the same host (blue/green) would delete; keep ours beside the database.
                settings.instance_dir.mkdir(parents=True, exist_ok=True)
                self.cfg.set("control_socket", str(settings.instance_dir / "gunicorn.ctl"))

        def load(self) -> Any:
            from gateway.app import create_app

            return create_app(settings)

    child = None
    if with_worker:
        child = subprocess.Popen([sys.executable, "-m", "gateway", "worker"])
    try:
        Server().run()
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@cli.command()
@click.option("--carrier", "carrier_name", required=True, help="A carrier from GATEWAY_CARRIERS.")
@click.option("--from", "sender", required=True, help="The sender's phone, in any usual form.")
@click.option("--to", "recipient", help="The shortcode [default: GATEWAY_SHORTCODE].")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The gateway.")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for the reply.")
@click.argument("text")
@click.pass_context
def simulate(
    ctx: click.Context,
    carrier_name: str,
    sender: str,
    recipient: str | None,
    url: str,
    wait: float,
    text: str,
) -> None:
    """Text the running gateway as CARRIER would, and print the reply it sends back.

    Listens at the carrier's MT URL (CARRIER_<NAME>_MT_URL) while it waits, so run it on the
    machine that URL points to. Example:

        gateway simulate --carrier demo --from 0912345678 "BH MK 0123456789"
    """
    from gateway.simulator import MtReceiver, send_mo, wait_for_reply

    settings = _runtime(ctx).settings
    carrier = settings.carriers.get(carrier_name)
    if carrier is None:
        raise click.ClickException(f"unknown carrier {carrier_name!r}; see GATEWAY_CARRIERS")
    try:
        receiver = MtReceiver(carrier)
    except OSError as exc:
        raise click.ClickException(f"cannot listen at {carrier.mt_url}: {exc}") from exc
    with receiver:
        click.echo(f"{sender} > {text}")
        try:
            message_id, answer = send_mo(
                url, carrier, sender, recipient or settings.shortcode, text
            )
        except requests.RequestException as exc:
            raise click.ClickException(f"the gateway at {url} did not answer: {exc}") from exc
        if answer.status_code != 200:
            raise click.ClickException(
                f"the gateway refused the message: {answer.status_code} {answer.text}"
            )
        reply = wait_for_reply(receiver, message_id, wait)
    if reply is None:
        raise click.ClickException(
            f"no reply within {wait:g} s (is `gateway worker` running? Rate-limited senders "
            "get one notice, then silence)"
        )
    click.echo(f"{reply.recipient} < {reply.text}")


@cli.command()
@click.argument("name", type=click.Choice(KNOWN))
@click.argument("state", type=click.Choice(["on", "off", "default"]))
@click.pass_context
def switch(ctx: click.Context, name: str, state: str) -> None:
    """Turn a runtime switch on or off without a redeploy ('default' follows the setting).

    sms-reset off: every SMS gets a reply pointing to email recovery or VNeID.
    """
    runtime = _runtime(ctx)
    with runtime.session_factory.begin() as session:
        if state == "default":
            clear_switch(session, name)
        else:
            set_switch(session, name, state == "on", runtime.clock.now())
    click.echo(f"{name}: {state}")


def main() -> None:
    """Entry point of the ``gateway`` console script."""
    load_dotenv(Path.cwd() / ".env")
    cli(obj={})
