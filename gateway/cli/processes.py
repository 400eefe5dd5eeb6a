"""``gateway serve`` and ``gateway worker``: the two long-running processes."""

from __future__ import annotations

import errno
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click

from gateway.cli import operations
from gateway.cli.common import runtime_of
from gateway.errors import ConfigError
from gateway.settings import PROJECT_ROOT, Settings, check_metrics_private

CONFIG_NAME = "gunicorn.conf.py"


@click.command()
@click.option("--once", is_flag=True, help="Drain what is due now, then exit.")
@click.option(
    "--purge-daily",
    is_flag=True,
    help="Also run `gateway purge` (GATEWAY_RETENTION) at start and every 24 h.",
)
@click.pass_context
def worker(ctx: click.Context, once: bool, purge_daily: bool) -> None:
    """Process received messages and send replies, until stopped (SIGTERM or Ctrl-C)."""
    runtime = runtime_of(ctx)
    job = runtime.worker()
    if once:
        click.echo(f"done: {job.drain()} items")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    purger = threading.Thread(target=operations.purge_daily, args=(runtime, stop), daemon=True)
    if purge_daily:
        purger.start()
    job.run(stop)
    if purge_daily:
        purger.join(timeout=30)


@click.command()
@click.option("--bind", help="host:port to listen on [default: GATEWAY_BIND, 127.0.0.1:8000]")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="web worker processes [default: GATEWAY_WEB_WORKERS, else 2 per CPU + 1, at most 8]",
)
@click.option(
    "--with-worker/--no-worker",
    default=False,
    help="Also run the background worker as a child process (one-machine setups).",
)
@click.pass_context
def serve(ctx: click.Context, bind: str | None, workers: int | None, with_worker: bool) -> None:
    """Serve the web app with gunicorn, configured by gunicorn.conf.py."""
    from gunicorn.app.base import Application

    settings = runtime_of(ctx).settings
    config_file = _gunicorn_config()
    if bind:  # GATEWAY_BIND was checked with the other settings
        try:
            check_metrics_private(bind, settings.metrics_token, "--bind")
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from exc
    _check_free(bind or settings.bind)

    class Server(Application):  # type: ignore[misc]
        def load_config(self) -> None:
            self.load_config_from_file(str(config_file))
            if bind:
                self.cfg.set("bind", [bind])
            if workers:
                self.cfg.set("workers", workers)
            self.cfg.set("when_ready", lambda arbiter: _banner(arbiter, settings, with_worker))

        def load(self) -> Any:
            from gateway.app import create_app

            return create_app(settings)

    # Built before the worker starts: the config sets PROMETHEUS_MULTIPROC_DIR, which the
    # worker inherits, so its counters show in /metrics beside the web workers'.
    server = Server()
    child = None
    if with_worker:
        child = subprocess.Popen([sys.executable, "-m", "gateway", "worker"])
    try:
        server.run()
    finally:
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _banner(arbiter: Any, settings: Settings, with_worker: bool) -> None:
    """Say, once gunicorn listens, where to point a browser and what to try next."""
    from sqlalchemy.engine import make_url

    urls = ", ".join(
        address if address.startswith("unix:") else f"http://{address}"
        for address in arbiter.cfg.bind
    )
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    worker = "running" if with_worker else "not started here: run `gateway worker`"
    lines = [
        f"8079 gateway ready at {urls}",
        f"  database:          {database}",
        f"  background worker: {worker}",
    ]
    if "demo" in settings.carriers:
        lines.append(
            "  next, in another terminal: .venv/bin/gateway simulate --carrier demo "
            '--from 0912345678 "BH MK 0123456789"'
        )
        if "qt" in settings.services:
            lines.append(
                "  and a keyword service (with `gateway service-stub` running): "
                '.venv/bin/gateway simulate --carrier demo --from 0912345678 "BH QT 0123456789"'
            )
    lines.append("  Ctrl-C stops it; changes to .env take effect after a restart")
    click.echo("\n".join(lines))


def _check_free(address: str) -> None:
    # gunicorn alone says "Can't connect" five times, a second apart, and names no way out.
    host, _, port = address.rpartition(":")
    if address.startswith(("unix:", "fd://")) or not port.isdigit():
        return
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104  (gunicorn reads ":8000" so)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise click.ClickException(f"cannot listen on {address}: {exc.strerror}") from exc
            raise click.ClickException(
                f"{address} is already in use (another gateway?): stop it, or choose another "
                "address with --bind HOST:PORT or GATEWAY_BIND"
            ) from exc


def _gunicorn_config() -> Path:
    # gunicorn's own convention first (a deployment's file in the working directory), then the
    # one beside the code.
    for candidate in (Path.cwd() / CONFIG_NAME, PROJECT_ROOT / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    raise click.ClickException(f"{CONFIG_NAME} not found in {Path.cwd()} or {PROJECT_ROOT}")
