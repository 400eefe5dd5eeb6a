"""``gateway serve`` and ``gateway worker``: the two long-running processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from typing import Any

import click

from gateway.cli.common import runtime_of


@click.command()
@click.option("--once", is_flag=True, help="Drain what is due now, then exit.")
@click.pass_context
def worker(ctx: click.Context, once: bool) -> None:
    """Process received messages and send replies, until stopped (SIGTERM or Ctrl-C)."""
    job = runtime_of(ctx).worker()
    if once:
        click.echo(f"done: {job.drain()} items")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    job.run(stop)


@click.command()
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

    settings = runtime_of(ctx).settings

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
